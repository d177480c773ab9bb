import { describe, expect, it } from 'vitest';
import type { DiskDevice } from '../../../src-shared/devices';
import type { VmConfig } from '../../../src-shared/vm';
import { buildQemuArgv, INHERITED_FDS, optValue, runPaths, type LaunchPlan } from '../../../src-main/qemu/argv';
import { macForVm } from '../../../src-main/vms/ids';
import { assignPciSlots } from '../../../src-main/vms/pci-slots';
import { sampleConfig, withDevices, withMachine } from '../vms/sample';

const base: VmConfig = withMachine(sampleConfig({ id: 'debian-12', createdAt: '2026-11-25T00:00:00.000Z' }), { firmware: 'bios' });

const disk = (id: string, extra: Partial<DiskDevice> = {}): DiskDevice => ({ id, file: `${id}.qcow2`, format: 'qcow2', bus: 'virtio-blk', cache: 'auto', discard: true, readOnly: false, backing: null, bootOrder: null, ...extra });

/** A config with its PCI slots given as the library would give them. */
function slotted(config: VmConfig, previous: Record<string, number> = {}): VmConfig {
  return { ...config, pciSlots: assignPciSlots(config.machine, config.devices, previous) };
}

const plan = (config: VmConfig = base, extra: Partial<LaunchPlan> = {}): LaunchPlan => ({
  config: slotted(config, config.pciSlots),
  vmDir: '/home/ada/.local/share/hangar/vms/debian-12',
  run: runPaths('/run/user/1000/hangar/debian-12'),
  accelerator: 'tcg',
  uefiCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  directIo: new Set(config.devices.disks.map((candidate) => candidate.id)),
  sandbox: true,
  ...extra,
});

/** The value after each occurrence of an option, e.g. every -device. */
const valuesOf = (argv: string[], option: string): string[] => argv.flatMap((arg, index) => (arg === option ? [argv[index + 1] as string] : []));
const devices = (argv: string[]) => valuesOf(argv, '-device').map((text) => JSON.parse(text) as Record<string, unknown>);
const blockdevs = (argv: string[]) => valuesOf(argv, '-blockdev').map((text) => JSON.parse(text) as Record<string, unknown>);

describe('buildQemuArgv', () => {
  it('matches the snapshot for a typical Linux install', () => {
    expect(buildQemuArgv(plan())).toMatchSnapshot();
  });

  it('matches the snapshot for Windows-style devices with UEFI, TPM and SATA', () => {
    const windows = withDevices(withMachine(base, { firmware: 'uefi' }), { tpm: { id: 'tpm' }, disks: [disk('disk0', { file: 'disk-0.qcow2', bus: 'sata', bootOrder: 2 })], nics: [{ ...base.devices.nics[0]!, model: 'e1000', portForwards: [] }] });
    expect(buildQemuArgv(plan(windows))).toMatchSnapshot();
  });

  it('uses -cpu host only with KVM, and a safe model under TCG', () => {
    expect(valuesOf(buildQemuArgv(plan(base, { accelerator: 'kvm' })), '-cpu')).toEqual(['host']);
    expect(valuesOf(buildQemuArgv(plan(base, { accelerator: 'kvm' })), '-machine')[0]).toContain('accel=kvm');
    const tcg = buildQemuArgv(plan());
    expect(valuesOf(tcg, '-cpu')[0]).toMatch(/^qemu64,/);
    expect(valuesOf(tcg, '-machine')[0]).toBe('q35,accel=tcg');
  });

  it('boots in the order the devices give, counting only disks and CD drives with a disc', () => {
    const fromCd = devices(buildQemuArgv(plan()));
    expect(fromCd.find((device) => device.id === 'cd0')?.bootindex).toBe(0);
    expect(fromCd.find((device) => device.id === 'disk0-dev')?.bootindex).toBe(1);
    const installed = withDevices(base, { disks: [disk('disk0', { bootOrder: 1 })], cdroms: [{ id: 'cd0', iso: '/isos/x.iso', bus: 'sata', bootOrder: 2 }] });
    expect(devices(buildQemuArgv(plan(installed))).find((device) => device.id === 'disk0-dev')?.bootindex).toBe(0);
    const emptyCd = withDevices(base, { cdroms: [{ id: 'cd0', iso: null, bus: 'sata', bootOrder: 1 }] });
    expect(devices(buildQemuArgv(plan(emptyCd))).find((device) => device.id === 'disk0-dev')?.bootindex).toBe(0);
  });

  it('keeps an empty CD drive so an ISO can be inserted later', () => {
    const argv = buildQemuArgv(plan(withDevices(base, { cdroms: [{ id: 'cd0', iso: null, bus: 'sata', bootOrder: null }] })));
    expect(devices(argv).find((device) => device.id === 'cd0')).toEqual({ driver: 'ide-cd', id: 'cd0', bus: 'ide.2' });
    expect(argv.join(' ')).not.toContain('cd0-file');
  });

  it('gives a second CD drive the next SATA port and its own nodes', () => {
    const two = withDevices(base, { cdroms: [...base.devices.cdroms, { id: 'cd1', iso: '/isos/drivers.iso', bus: 'sata', bootOrder: null }] });
    const list = devices(buildQemuArgv(plan(two)));
    expect(list.filter((device) => device.driver === 'ide-cd').map((device) => [device.id, device.bus, device.drive])).toEqual([
      ['cd0', 'ide.2', 'cd0-media'],
      ['cd1', 'ide.3', 'cd1-media'],
    ]);
  });

  it('falls back to writeback caching and thread AIO where O_DIRECT is refused, and follows a disk\'s own cache choice', () => {
    const fileOf = (argv: string[]) => (blockdevs(argv)[0] as { file: { aio: string; cache: { direct: boolean } } }).file;
    expect(fileOf(buildQemuArgv(plan(base, { directIo: new Set() })))).toMatchObject({ aio: 'threads', cache: { direct: false } });
    expect(fileOf(buildQemuArgv(plan()))).toMatchObject({ aio: 'native', cache: { direct: true } });
    const writeback = withDevices(base, { disks: [disk('disk0', { cache: 'writeback' })] });
    expect(fileOf(buildQemuArgv(plan(writeback)))).toMatchObject({ aio: 'threads', cache: { direct: false } });
  });

  it('names every disk\'s backing explicitly, so an image header cannot make QEMU open another file', () => {
    const nodes = blockdevs(buildQemuArgv(plan()));
    expect(nodes.find((node) => node['node-name'] === 'disk0')).toHaveProperty('backing', null);
    const layered = withDevices(base, { disks: [disk('disk0', { backing: { file: 'base.qcow2', format: 'qcow2' } })] });
    const backing = blockdevs(buildQemuArgv(plan(layered))).find((node) => node['node-name'] === 'disk0')?.backing as Record<string, unknown>;
    expect(backing).toMatchObject({ driver: 'qcow2', 'node-name': 'disk0-base', 'read-only': true, backing: null, file: { filename: '/home/ada/.local/share/hangar/vms/debian-12/base.qcow2', 'read-only': true } });
    // raw has no backing at all: the option would be refused by QEMU.
    const raw = withDevices(base, { disks: [disk('disk0', { format: 'raw', file: 'data.raw' })] });
    expect(blockdevs(buildQemuArgv(plan(raw)))[0]).not.toHaveProperty('backing');
  });

  it('derives QEMU ids from device ids: removing the first disk leaves the second as it was', () => {
    const two = slotted(withDevices(base, { disks: [disk('disk0', { bootOrder: 2 }), disk('disk1')] }));
    const before = devices(buildQemuArgv(plan(two))).find((device) => device.id === 'disk1-dev');
    const oneLeft = withDevices(two, { disks: [disk('disk1')] });
    const after = devices(buildQemuArgv(plan(oneLeft))).find((device) => device.id === 'disk1-dev');
    expect(after).toEqual(before);
    expect(blockdevs(buildQemuArgv(plan(oneLeft))).map((node) => node['node-name'])).toContain('disk1');
  });

  it('keeps every PCI slot when a device comes or goes (a guest names its NIC after its slot)', () => {
    const first = slotted(base);
    const nicSlot = devices(buildQemuArgv(plan(first))).find((device) => device.id === 'nic0')?.addr;
    const added = withDevices(first, { disks: [...first.devices.disks, disk('disk1')] });
    expect(devices(buildQemuArgv(plan(added))).find((device) => device.id === 'nic0')?.addr).toBe(nicSlot);
    const removed = withDevices(first, { disks: [] });
    expect(devices(buildQemuArgv(plan(removed))).find((device) => device.id === 'nic0')?.addr).toBe(nicSlot);
  });

  it('gives two NICs their own backends, forwards and MACs', () => {
    const two = withDevices(base, { nics: [...base.devices.nics, { id: 'nic1', model: 'e1000', network: 'user', mac: '52:54:00:aa:bb:cc', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }] }] });
    const argv = buildQemuArgv(plan(two));
    expect(valuesOf(argv, '-netdev')).toEqual(['user,id=nic0-net,hostfwd=tcp:127.0.0.1:2222-:22', 'user,id=nic1-net,hostfwd=tcp:127.0.0.1:8080-:80']);
    expect(devices(argv).filter((device) => String(device.id).startsWith('nic')).map((device) => [device.driver, device.netdev, device.mac])).toEqual([
      ['virtio-net-pci', 'nic0-net', '52:54:00:12:34:56'],
      ['e1000', 'nic1-net', '52:54:00:aa:bb:cc'],
    ]);
  });

  it('keeps free hot-plug ports on q35, and puts a device added while running in the port it went to', () => {
    const argv = buildQemuArgv(plan());
    expect(devices(argv).filter((device) => device.driver === 'pcie-root-port').map((device) => device.id)).toEqual(['port0', 'port1']);
    const hot = { ...withDevices(base, { disks: [...base.devices.disks, disk('disk1')] }), hotplugged: { disk1: 'port0' } };
    expect(devices(buildQemuArgv(plan(hot))).find((device) => device.id === 'disk1-dev')).toMatchObject({ bus: 'port0' });
    expect(devices(buildQemuArgv(plan(withMachine(base, { type: 'pc', hotplugPorts: 0 })))).some((device) => device.driver === 'pcie-root-port')).toBe(false);
  });

  it('shares a folder over 9p and passes a USB device by its ids', () => {
    const shared = withDevices(base, { sharedFolders: [{ id: 'fs0', hostPath: '/home/ada/share,it', tag: 'share', readOnly: true }], usb: [{ id: 'usb0', vendorId: '046d', productId: 'c52b', label: 'Receiver' }] });
    const argv = buildQemuArgv(plan(shared));
    expect(valuesOf(argv, '-fsdev')).toEqual(['local,id=fs0-fs,path=/home/ada/share,,it,security_model=none,readonly=on']);
    expect(devices(argv).find((device) => device.id === 'fs0')).toMatchObject({ driver: 'virtio-9p-pci', fsdev: 'fs0-fs', mount_tag: 'share' });
    expect(devices(argv).find((device) => device.id === 'usb0')).toEqual({ driver: 'usb-host', id: 'usb0', bus: 'usb.0', vendorid: 0x046d, productid: 0xc52b });
  });

  it('puts a path with commas and spaces in JSON or escapes it, never letting it add options', () => {
    const evil = withDevices({ ...base, name: 'evil,process=x' }, { cdroms: [{ id: 'cd0', iso: '/isos/a,b c.iso', bus: 'sata', bootOrder: 1 }] });
    const argv = buildQemuArgv(plan(evil, { run: runPaths('/run/a,b') }));
    expect(valuesOf(argv, '-name')).toEqual(['guest=evil,,process=x,process=hangar-debian-12']);
    expect(blockdevs(argv).some((node) => node.filename === '/isos/a,b c.iso')).toBe(true);
    expect(valuesOf(argv, '-chardev')[0]).toBe('socket,id=qmp,path=/run/a,,b/qmp.sock,server=on,wait=off');
  });

  it('hands the monitor and serial port over as inherited descriptors for a start, and as socket files for a by-hand preview', () => {
    const chardevs = (argv: string[]) => valuesOf(argv, '-chardev');
    const inherited = buildQemuArgv(plan(base, { channels: 'inherited' }));
    expect(chardevs(inherited)).toEqual([`socket,id=qmp,fd=${INHERITED_FDS.qmp}`, `socket,id=serial0,fd=${INHERITED_FDS.serial}`]);
    // Nothing to poll for: no socket file for the monitor or the serial port.
    expect(inherited.join(' ')).not.toMatch(/qmp\.sock|serial\.sock/);
    const preview = chardevs(buildQemuArgv(plan()));
    expect(preview[0]).toMatch(/^socket,id=qmp,path=\/run\/user\/1000\/hangar\/debian-12\/[^,]+,server=on,wait=off$/);
    expect(preview[1]).toMatch(/^socket,id=serial0,path=.+,server=on,wait=on$/);
    // Everything else is the same command line.
    const rest = (argv: string[]) => argv.filter((arg) => !arg.startsWith('socket,'));
    expect(rest(inherited)).toEqual(rest(buildQemuArgv(plan())));
  });

  it('sandboxes QEMU only where seccomp is available', () => {
    expect(buildQemuArgv(plan()).includes('-sandbox')).toBe(true);
    expect(buildQemuArgv(plan(base, { sandbox: false })).includes('-sandbox')).toBe(false);
    expect(buildQemuArgv(plan()).includes('-daemonize')).toBe(false);
  });

  it('puts IDE disks and the CD on the two IDE buses of the old pc machine', () => {
    const pc = withDevices(withMachine(base, { type: 'pc', hotplugPorts: 0 }), { disks: [disk('disk0', { bus: 'ide' }), disk('disk1', { bus: 'ide' })], cdroms: [{ id: 'cd0', iso: '/isos/x.iso', bus: 'ide', bootOrder: 1 }] });
    const list = devices(buildQemuArgv(plan(pc)));
    expect(list.filter((device) => device.driver === 'ide-hd').map((device) => [device.bus, device.unit])).toEqual([
      ['ide.0', 0],
      ['ide.0', 1],
    ]);
    expect(list.find((device) => device.id === 'cd0')?.bus).toBe('ide.1');
  });

  it('refuses a UEFI plan without firmware', () => {
    expect(() => buildQemuArgv(plan(withMachine(base, { firmware: 'uefi' }), { uefiCode: null }))).toThrow(/firmware/);
  });

  it('gave each VM of schema 2 a stable MAC in QEMU range (kept by the migration)', () => {
    expect(macForVm('debian-12')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(macForVm('debian-12')).toBe(macForVm('debian-12'));
    expect(macForVm('debian-12')).not.toBe(macForVm('debian-13'));
  });

  it('escapes commas the QEMU way', () => {
    expect(optValue('a,b,,c')).toBe('a,,b,,,,c');
  });
});
