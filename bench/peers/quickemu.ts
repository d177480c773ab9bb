import path from 'node:path';

// quickemu is not packaged for Debian bookworm and the bench has no network, so its QEMU
// command line is RECORDED here, derived by reading (not copying) its published script:
// github.com/quickemu-project/quickemu, file `quickemu`, VERSION="4.9.9", commit
// 2d9f6c94589906fa9a028258efefa42afa3de848 (2026-04-30), function vm_boot() and the
// configure_* functions it calls. The guest's .conf is what quickget writes for a Linux ISO,
// plus the bench's sizes: guest_os="linux", iso=..., ram="256M", cpu_cores="1",
// disk_size="1G", and boot="legacy" (see LEGACY_WHY). Everything else is quickemu's default:
// display gtk (virtio-vga 1280x800), usb_controller ehci with a usb keyboard and tablet,
// intel-hda + hda-micro sound, virtio-net with user networking and an ssh forward,
// monitor and serial on unix sockets.
//
// Adapted to this machine, each change named:
// - TCG: quickemu picks KVM and `-cpu host` when the host has no "QEMU"/"VirtualBox" DMI
//   vendor; it has its own TCG branch (used for foreign guests and inside QEMU hosts):
//   `-accel tcg,tb-size=512,thread=multi` (512 since the host has >= 16 GB RAM; 256
//   otherwise) and `-cpu qemu64`. Here /dev/kvm guests hang, so that TCG branch is used.
// - `-display gtk,...` -> `-display none` (no desktop here; the device stays virtio-vga).
// - its SPICE USB redirection and smartcard passthrough (spicevmc chardevs) are left out:
//   this QEMU build has no spicevmc chardev; the plain devices of that group stay.
// - `-audiodev alsa` stays: QEMU starts without a sound card, complaining on stderr.
// - `-qmp` is added, only so the bench can ask QEMU whether it runs (quickemu has none).
// What is NOT measured: the quickemu bash script itself (lscpu, qemu -device help probes,
// qemu-img info, `sleep 0.25` after the spawn) - the bench runs its QEMU command directly.

export const QUICKEMU_SOURCE = {
  repository: 'https://github.com/quickemu-project/quickemu',
  version: '4.9.9',
  commit: '2d9f6c94589906fa9a028258efefa42afa3de848',
  file: 'quickemu (vm_boot, configure_cpu, configure_bios, configure_display, configure_ports)',
};

/** Why boot="legacy": quickemu's default boot="efi" does not boot this guest at 256 MiB. */
export const LEGACY_WHY =
  'quickemu defaults to boot="efi" (OVMF_CODE_4M.fd, q35). Tried by hand with this argv: GRUB (EFI) says "error: out of memory" loading the test kernel+initrd at 256 MiB and never reaches the marker, so the bench uses quickemu\'s boot="legacy" (which switches the machine to "pc", i440fx, CD on IDE).';

export interface QuickemuPaths {
  vmDir: string;
  name: string;
  iso: string;
  /** qcow2 made as quickemu makes it (see quickemuDiskArgs). */
  disk: string;
  sshPort: number;
  memory: string;
  cpus: number;
}

/** qemu-img create arguments quickemu uses for a new disk (configure_storage, qcow2, preallocation off). */
export function quickemuDiskArgs(disk: string, size: string): string[] {
  return ['create', '-q', '-f', 'qcow2', '-o', 'lazy_refcounts=on,preallocation=off,nocow=on', disk, size];
}

export function quickemuSockets(p: Pick<QuickemuPaths, 'vmDir' | 'name'>): { serial: string; monitor: string; qmp: string } {
  return {
    serial: path.join(p.vmDir, `${p.name}-serial.socket`),
    monitor: path.join(p.vmDir, `${p.name}-monitor.socket`),
    qmp: path.join(p.vmDir, 'bench-qmp.socket'),
  };
}

/** The argv, in vm_boot()'s order. */
export function quickemuArgv(p: QuickemuPaths): string[] {
  const sockets = quickemuSockets(p);
  return [
    '/usr/bin/qemu-system-x86_64',
    '-name', `${p.name},process=${p.name},debug-threads=on`,
    '-accel', 'tcg,tb-size=512,thread=multi',
    // boot="legacy" makes MACHINE_TYPE "pc"; smm off and vmport off are quickemu's x86 defaults.
    '-machine', 'pc,smm=off,vmport=off',
    '-global', 'kvm-pit.lost_tick_policy=discard',
    '-cpu', 'qemu64',
    '-smp', `cores=${p.cpus},threads=1,sockets=1`,
    '-m', p.memory,
    '-device', 'virtio-balloon',
    '-pidfile', path.join(p.vmDir, `${p.name}.pid`),
    '-rtc', 'base=utc,clock=host',
    '-device', 'virtio-vga,xres=1280,yres=800',
    '-display', 'none',
    '-device', 'virtio-rng-pci,rng=rng0',
    '-object', 'rng-random,id=rng0,filename=/dev/urandom',
    '-device', 'qemu-xhci,id=spicepass',
    '-device', 'pci-ohci,id=smartpass',
    '-device', 'usb-ccid',
    '-device', 'usb-ehci,id=input',
    '-device', 'usb-kbd,bus=input.0',
    '-k', 'en-us',
    '-device', 'usb-tablet,bus=input.0',
    '-audiodev', 'alsa,id=audio0',
    '-device', 'intel-hda',
    '-device', 'hda-micro,audiodev=audio0',
    '-device', 'virtio-net-pci,netdev=nic',
    '-netdev', `user,hostname=${p.name},hostfwd=tcp::${p.sshPort}-:22,id=nic`,
    '-drive', `media=cdrom,index=0,file=${p.iso}`,
    '-device', 'virtio-blk-pci,drive=SystemDisk',
    '-drive', `id=SystemDisk,if=none,format=qcow2,file=${p.disk},discard=unmap,detect-zeroes=unmap,cache=writeback,aio=threads`,
    '-monitor', `unix:${sockets.monitor},server,nowait`,
    '-serial', `unix:${sockets.serial},server,nowait`,
    '-qmp', `unix:${sockets.qmp},server=on,wait=off`,
  ];
}
