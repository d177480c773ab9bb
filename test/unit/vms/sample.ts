import type { VmConfig } from '../../../src-shared/vm';
import type { NewVm } from '../../../src-main/vms/library';

/** A complete, valid version-3 vm.json, as Hangar writes it. */
export function sampleConfig(overrides: Partial<VmConfig> = {}): VmConfig {
  return {
    schema: 3,
    id: 'debian-12',
    name: 'Debian 12',
    createdAt: '2025-01-02T03:04:05.000Z',
    os: { family: 'debian', name: 'Debian 12' },
    machine: { type: 'q35', firmware: 'uefi', cpus: 2, memoryMiB: 2048, accelerator: 'auto', hotplugPorts: 2 },
    devices: {
      disks: [{ id: 'disk0', file: 'disk.qcow2', format: 'qcow2', bus: 'virtio-blk', cache: 'auto', discard: true, readOnly: false, backing: null, bootOrder: 2 }],
      cdroms: [{ id: 'cd0', iso: '/isos/debian-12.iso', bus: 'sata', bootOrder: 1 }],
      nics: [{ id: 'nic0', model: 'virtio-net', network: 'user', mac: '52:54:00:12:34:56', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 }] }],
      sharedFolders: [],
      usb: [],
      tpm: null,
    },
    pciSlots: { video: 1, usb: 2, disk0: 3, nic0: 4, rng: 5, balloon: 6, panic: 7, port0: 8, port1: 9 },
    hotplugged: {},
    ...overrides,
  };
}

/** What VmLibrary.create takes: a definition without schema, id, creation time and slots. */
export function sampleDraft(overrides: Partial<NewVm> = {}): NewVm {
  return { ...omit(sampleConfig(), 'schema', 'id', 'createdAt', 'pciSlots', 'hotplugged'), ...overrides };
}

/** The sample with its devices changed. */
export function withDevices(config: VmConfig, devices: Partial<VmConfig['devices']>): VmConfig {
  return { ...config, devices: { ...config.devices, ...devices } };
}

/** The sample with its machine settings changed. */
export function withMachine(config: VmConfig, machine: Partial<VmConfig['machine']>): VmConfig {
  return { ...config, machine: { ...config.machine, ...machine } };
}

/** A copy of `value` without the given keys. */
export function omit<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  const copy: Partial<T> = { ...value };
  for (const key of keys) delete copy[key];
  return copy as Omit<T, K>;
}
