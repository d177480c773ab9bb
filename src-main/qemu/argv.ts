import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Accelerator } from '../../src-shared/host';
import type { VmConfig, VmDisk } from '../../src-shared/vm';

// From a VM definition to QEMU's command line: a pure function, snapshot-tested. The
// result is an argument array, never a shell string. Block devices and devices are
// written as JSON, so a path with a comma in it cannot change their meaning; the few
// key=value options left escape commas the QEMU way (",,").

export interface RunPaths {
  runDir: string;
  qmpSocket: string;
  serialSocket: string;
  vncSocket: string;
  tpmSocket: string;
  pidFile: string;
}

export function runPaths(runDir: string): RunPaths {
  return {
    runDir,
    qmpSocket: path.join(runDir, 'qmp.sock'),
    serialSocket: path.join(runDir, 'serial.sock'),
    vncSocket: path.join(runDir, 'vnc.sock'),
    tpmSocket: path.join(runDir, 'swtpm.sock'),
    pidFile: path.join(runDir, 'qemu.pid'),
  };
}

export interface VmFiles {
  vmDir: string;
  serialLog: string;
  uefiVars: string;
}

export function vmFiles(vmDir: string): VmFiles {
  return { vmDir, serialLog: path.join(vmDir, 'serial.log'), uefiVars: path.join(vmDir, 'uefi-vars.fd') };
}

export interface LaunchPlan {
  config: VmConfig;
  vmDir: string;
  run: RunPaths;
  accelerator: Accelerator;
  /** The UEFI firmware code file, when config.firmware is 'uefi'. */
  uefiCode: string | null;
  /** Whether the file system under the VM's disks supports O_DIRECT. */
  directIo: boolean;
  /** Whether this QEMU was built with seccomp (-sandbox). */
  sandbox: boolean;
  /**
   * The versioned machine type (pc-q35-7.2) a saved state was made with: resuming needs
   * that one, whatever the alias (q35) means in the QEMU installed now.
   */
  pinnedMachine?: string | null;
}

/** Escapes a value inside QEMU's key=value option syntax. */
export const optValue = (value: string): string => value.replaceAll(',', ',,');

const json = (value: Record<string, unknown>): string => JSON.stringify(value);

/** A stable, locally administered MAC address per VM (52:54:00 is QEMU's prefix). */
export function macForVm(id: string): string {
  const hash = createHash('sha256').update(id).digest();
  return ['52', '54', '00', ...[0, 1, 2].map((index) => (hash[index] ?? 0).toString(16).padStart(2, '0'))].join(':');
}

export function diskPath(vmDir: string, disk: VmDisk): string {
  return path.isAbsolute(disk.file) ? disk.file : path.join(vmDir, disk.file);
}

/** x86-64-v2, which current distributions (RHEL 9 and its kin) require, all emulated by TCG. */
const TCG_CPU = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16';

export function buildQemuArgv(plan: LaunchPlan): string[] {
  const { config, vmDir, run, accelerator } = plan;
  const files = vmFiles(vmDir);
  const args: string[] = [];
  const push = (...items: string[]): void => void args.push(...items);

  push('-name', `guest=${optValue(config.name)},process=hangar-${config.id}`);
  // Only what we ask for: no user config files, no default devices.
  push('-no-user-config', '-nodefaults');
  push('-msg', 'timestamp=on');

  const machine = [plan.pinnedMachine ?? config.machine, `accel=${accelerator}`];
  if (config.firmware === 'uefi') machine.push('pflash0=uefi-code', 'pflash1=uefi-vars');
  push('-machine', machine.join(','));
  push('-cpu', accelerator === 'kvm' ? 'host' : TCG_CPU);
  // One socket: some guests (Windows desktop editions) use at most two.
  push('-smp', `${config.cpus},sockets=1,cores=${config.cpus},threads=1`);
  push('-m', `${config.memoryMiB}M`);

  if (config.firmware === 'uefi') {
    if (!plan.uefiCode) throw new Error('A UEFI VM needs the firmware code file.');
    push('-blockdev', json({ driver: 'file', filename: plan.uefiCode, 'node-name': 'uefi-code', 'read-only': true }));
    push('-blockdev', json({ driver: 'file', filename: files.uefiVars, 'node-name': 'uefi-vars' }));
  }

  // Control, console and screen: private unix sockets in the run folder (0700).
  push('-chardev', `socket,id=qmp,path=${optValue(run.qmpSocket)},server=on,wait=off`);
  push('-mon', 'chardev=qmp,mode=control');
  // wait=on: QEMU waits for the keeper to connect before the guest runs, so no boot line is
  // lost; the keeper writes serial.log (capped and rotated) from what it reads.
  push('-chardev', `socket,id=serial0,path=${optValue(run.serialSocket)},server=on,wait=on`);
  push('-serial', 'chardev:serial0');
  // QEMU 7.2 cannot serve a WebSocket on a unix socket; Hangar bridges this one for noVNC.
  push('-vnc', `unix:${optValue(run.vncSocket)}`);
  push('-device', json({ driver: 'VGA', id: 'video0' }));
  push('-device', json({ driver: 'qemu-xhci', id: 'usb' }));
  push('-device', json({ driver: 'usb-tablet', id: 'tablet', bus: 'usb.0' }));
  push('-pidfile', run.pidFile);

  const bootFromCd = config.bootFrom === 'cdrom' && config.cdrom !== null;
  let nextBoot = bootFromCd ? 1 : 0;
  let scsiController = false;
  let ideUnit = 0;
  config.disks.forEach((disk, index) => {
    const node = `disk${index}`;
    // Cache: with O_DIRECT (cache.direct) the host page cache is bypassed, so memory is not
    // spent twice and data reaches the disk when the guest flushes; where the file system
    // refuses O_DIRECT (tmpfs, some FUSE) writeback caching still honours guest flushes,
    // so both are safe for guests that flush (all modern ones). aio=native is Linux AIO,
    // the fastest with O_DIRECT; it needs O_DIRECT, so threads otherwise.
    push(
      '-blockdev',
      json({
        driver: disk.format,
        'node-name': node,
        discard: 'unmap',
        'detect-zeroes': 'unmap',
        file: { driver: 'file', filename: diskPath(vmDir, disk), aio: plan.directIo ? 'native' : 'threads', cache: { direct: plan.directIo, 'no-flush': false } },
      }),
    );
    const bootindex = nextBoot++;
    switch (disk.bus) {
      case 'virtio-blk':
        push('-device', json({ driver: 'virtio-blk-pci', id: `${node}-dev`, drive: node, bootindex }));
        break;
      case 'virtio-scsi':
        if (!scsiController) push('-device', json({ driver: 'virtio-scsi-pci', id: 'scsi0' }));
        scsiController = true;
        push('-device', json({ driver: 'scsi-hd', id: `${node}-dev`, drive: node, bus: 'scsi0.0', bootindex }));
        break;
      case 'sata':
      case 'ide':
        // q35 has six AHCI ports (ide.0 to ide.5, one disk each); the old pc machine has two
        // IDE buses with two units each, and keeps ide.1 for the CD drive.
        push('-device', json({ driver: 'ide-hd', id: `${node}-dev`, drive: node, ...(config.machine === 'q35' ? { bus: `ide.${ideUnit}` } : { bus: 'ide.0', unit: ideUnit }), bootindex }));
        ideUnit++;
        break;
    }
  });

  // The CD drive always exists, so an ISO can be inserted while the VM runs.
  const cdDevice: Record<string, unknown> = { driver: 'ide-cd', id: 'cd0', bus: config.machine === 'q35' ? `ide.${Math.max(ideUnit, 2)}` : 'ide.1' };
  if (config.cdrom !== null) {
    push('-blockdev', json({ driver: 'file', filename: config.cdrom, 'node-name': 'cd0-file', 'read-only': true }));
    push('-blockdev', json({ driver: 'raw', 'node-name': 'cd0-media', file: 'cd0-file', 'read-only': true }));
    cdDevice.drive = 'cd0-media';
    cdDevice.bootindex = bootFromCd ? 0 : nextBoot++;
  }
  push('-device', json(cdDevice));

  const forwards = config.nic.portForwards.map((forward) => `,hostfwd=${forward.protocol}:${forward.hostAddress}:${forward.hostPort}-:${forward.guestPort}`).join('');
  push('-netdev', `user,id=net0${forwards}`);
  push('-device', json({ driver: config.nic.model === 'virtio-net' ? 'virtio-net-pci' : 'e1000', id: 'nic0', netdev: 'net0', mac: macForVm(config.id) }));
  push('-object', json({ 'qom-type': 'rng-random', id: 'rng0', filename: '/dev/urandom' }));
  push('-device', json({ driver: 'virtio-rng-pci', id: 'rng0-dev', rng: 'rng0' }));
  push('-device', json({ driver: 'virtio-balloon-pci', id: 'balloon0' }));
  // Lets a crashing guest kernel tell QEMU (GUEST_PANICKED) instead of hanging silently.
  push('-device', json({ driver: 'pvpanic-pci', id: 'panic0' }));

  if (config.tpm) {
    push('-chardev', `socket,id=tpm-chr,path=${optValue(run.tpmSocket)}`);
    push('-tpmdev', 'emulator,id=tpm0,chardev=tpm-chr');
    push('-device', json({ driver: config.machine === 'q35' ? 'tpm-crb' : 'tpm-tis', id: 'tpm-dev', tpmdev: 'tpm0' }));
  }

  // No daemonize: Hangar's keeper process is QEMU's parent and records how it ended.
  if (plan.sandbox) push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  return args;
}
