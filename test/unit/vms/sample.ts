import type { VmConfig } from '../../../src-shared/vm';
import type { NewVm } from '../../../src-main/vms/library';

/** A complete, valid version-2 vm.json, as Hangar writes it. */
export function sampleConfig(overrides: Partial<VmConfig> = {}): VmConfig {
  return {
    schema: 2,
    id: 'debian-12',
    name: 'Debian 12',
    createdAt: '2025-01-02T03:04:05.000Z',
    machine: 'q35',
    firmware: 'uefi',
    cpus: 2,
    memoryMiB: 2048,
    disks: [{ file: 'disk.qcow2', format: 'qcow2', bus: 'virtio-blk' }],
    cdrom: '/isos/debian-12.iso',
    bootFrom: 'cdrom',
    nic: { model: 'virtio-net', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 }] },
    tpm: false,
    os: { family: 'debian', name: 'Debian 12' },
    ...overrides,
  };
}

/** What VmLibrary.create takes: a definition without schema, id and creation time. */
export function sampleDraft(overrides: Partial<NewVm> = {}): NewVm {
  return { ...omit(sampleConfig(), 'schema', 'id', 'createdAt'), ...overrides };
}

/** A copy of `value` without the given keys. */
export function omit<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  const copy: Partial<T> = { ...value };
  for (const key of keys) delete copy[key];
  return copy as Omit<T, K>;
}
