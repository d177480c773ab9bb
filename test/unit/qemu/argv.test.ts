import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../../../src-shared/vm';
import { buildQemuArgv, macForVm, optValue, runPaths, type LaunchPlan } from '../../../src-main/qemu/argv';

const base: VmConfig = {
  schema: 2,
  id: 'debian-12',
  name: 'Debian 12',
  createdAt: '2026-11-25T00:00:00.000Z',
  machine: 'q35',
  firmware: 'bios',
  cpus: 2,
  memoryMiB: 2048,
  disks: [{ file: 'disk-0.qcow2', format: 'qcow2', bus: 'virtio-blk' }],
  cdrom: '/isos/debian-12.iso',
  bootFrom: 'cdrom',
  nic: { model: 'virtio-net', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 }] },
  tpm: false,
  os: { family: 'debian', name: 'Debian 12' },
};

const plan = (config: Partial<VmConfig> = {}, extra: Partial<LaunchPlan> = {}): LaunchPlan => ({
  config: { ...base, ...config },
  vmDir: '/home/ada/.local/share/hangar/vms/debian-12',
  run: runPaths('/run/user/1000/hangar/debian-12'),
  accelerator: 'tcg',
  uefiCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  directIo: true,
  sandbox: true,
  ...extra,
});

/** The value after each occurrence of an option, e.g. every -device. */
const valuesOf = (argv: string[], option: string): string[] => argv.flatMap((arg, index) => (arg === option ? [argv[index + 1] as string] : []));
const devices = (argv: string[]) => valuesOf(argv, '-device').map((text) => JSON.parse(text) as Record<string, unknown>);

describe('buildQemuArgv', () => {
  it('matches the snapshot for a typical Linux install', () => {
    expect(buildQemuArgv(plan())).toMatchSnapshot();
  });

  it('matches the snapshot for Windows-style devices with UEFI, TPM and SATA', () => {
    expect(buildQemuArgv(plan({ firmware: 'uefi', tpm: true, disks: [{ file: 'disk-0.qcow2', format: 'qcow2', bus: 'sata' }], nic: { model: 'e1000', portForwards: [] } }))).toMatchSnapshot();
  });

  it('uses -cpu host only with KVM, and a safe model under TCG', () => {
    expect(valuesOf(buildQemuArgv(plan({}, { accelerator: 'kvm' })), '-cpu')).toEqual(['host']);
    expect(valuesOf(buildQemuArgv(plan({}, { accelerator: 'kvm' })), '-machine')[0]).toContain('accel=kvm');
    const tcg = buildQemuArgv(plan());
    expect(valuesOf(tcg, '-cpu')[0]).toMatch(/^qemu64,/);
    expect(valuesOf(tcg, '-machine')[0]).toBe('q35,accel=tcg');
  });

  it('boots from the CD until the OS is installed, then from the disk', () => {
    const fromCd = devices(buildQemuArgv(plan()));
    expect(fromCd.find((device) => device.id === 'cd0')?.bootindex).toBe(0);
    expect(fromCd.find((device) => device.id === 'disk0-dev')?.bootindex).toBe(1);
    const fromDisk = devices(buildQemuArgv(plan({ bootFrom: 'disk' })));
    expect(fromDisk.find((device) => device.id === 'disk0-dev')?.bootindex).toBe(0);
    expect(fromDisk.find((device) => device.id === 'cd0')?.bootindex).toBe(1);
  });

  it('keeps an empty CD drive so an ISO can be inserted later', () => {
    const argv = buildQemuArgv(plan({ cdrom: null, bootFrom: 'disk' }));
    expect(devices(argv).find((device) => device.id === 'cd0')).toEqual({ driver: 'ide-cd', id: 'cd0', bus: 'ide.2' });
    expect(argv.join(' ')).not.toContain('cd0-file');
  });

  it('falls back to writeback caching and thread AIO where O_DIRECT is refused', () => {
    const disk = JSON.parse(valuesOf(buildQemuArgv(plan({}, { directIo: false })), '-blockdev')[0] as string) as { file: { aio: string; cache: { direct: boolean } } };
    expect(disk.file).toMatchObject({ aio: 'threads', cache: { direct: false } });
    const direct = JSON.parse(valuesOf(buildQemuArgv(plan()), '-blockdev')[0] as string) as { file: { aio: string; cache: { direct: boolean } } };
    expect(direct.file).toMatchObject({ aio: 'native', cache: { direct: true } });
  });

  it('forwards host ports on loopback', () => {
    expect(valuesOf(buildQemuArgv(plan()), '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22']);
  });

  it('puts a path with commas and spaces in JSON or escapes it, never letting it add options', () => {
    const argv = buildQemuArgv(plan({ name: 'evil,process=x', cdrom: '/isos/a,b c.iso' }, { run: runPaths('/run/a,b') }));
    expect(valuesOf(argv, '-name')).toEqual(['guest=evil,,process=x,process=hangar-debian-12']);
    expect(valuesOf(argv, '-blockdev').map((text) => JSON.parse(text) as { filename?: string }).some((node) => node.filename === '/isos/a,b c.iso')).toBe(true);
    expect(valuesOf(argv, '-chardev')[0]).toBe('socket,id=qmp,path=/run/a,,b/qmp.sock,server=on,wait=off');
  });

  it('sandboxes QEMU only where seccomp is available', () => {
    expect(buildQemuArgv(plan()).includes('-sandbox')).toBe(true);
    expect(buildQemuArgv(plan({}, { sandbox: false })).includes('-sandbox')).toBe(false);
    expect(buildQemuArgv(plan()).includes('-daemonize')).toBe(false);
  });

  it('puts IDE disks and the CD on the two IDE buses of the old pc machine', () => {
    const list = devices(buildQemuArgv(plan({ machine: 'pc', disks: [{ file: 'a.qcow2', format: 'qcow2', bus: 'ide' }, { file: 'b.qcow2', format: 'qcow2', bus: 'ide' }] })));
    expect(list.filter((device) => device.driver === 'ide-hd').map((device) => [device.bus, device.unit])).toEqual([
      ['ide.0', 0],
      ['ide.0', 1],
    ]);
    expect(list.find((device) => device.id === 'cd0')?.bus).toBe('ide.1');
  });

  it('refuses a UEFI plan without firmware', () => {
    expect(() => buildQemuArgv(plan({ firmware: 'uefi' }, { uefiCode: null }))).toThrow(/firmware/);
  });

  it('gives each VM a stable MAC in QEMU range', () => {
    expect(macForVm('debian-12')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(macForVm('debian-12')).toBe(macForVm('debian-12'));
    expect(macForVm('debian-12')).not.toBe(macForVm('debian-13'));
  });

  it('escapes commas the QEMU way', () => {
    expect(optValue('a,b,,c')).toBe('a,,b,,,,c');
  });
});
