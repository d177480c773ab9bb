import type { DiskDevice, NicDevice, UsbDevice } from '../../src-shared/devices';
import type { MachineType } from '../../src-shared/vm';
import { diskDevice, diskNodes, nicBackend, nicDevice, qemuIds, usbDevice, type PciPlace } from './devices';

// Devices added to and removed from a running VM over QMP: the same QEMU objects as on the
// command line (devices.ts), added in order (backend, then device) and removed in reverse,
// a removal waiting for the guest to let go (DEVICE_DELETED) before the backend goes.

export interface HotplugPeer {
  execute(command: HotplugCommand, args: Record<string, unknown>): Promise<unknown>;
  /** Resolves with the event's data when QEMU sends `name` with data matching; rejects after timeoutMs. */
  waitForEvent(name: string, matches: (data: Record<string, unknown> | undefined) => boolean, timeoutMs: number): Promise<void>;
}

export const HOTPLUG_COMMANDS = ['blockdev-add', 'blockdev-del', 'device_add', 'device_del', 'netdev_add', 'netdev_del', 'block_resize', 'query-pci'] as const;
export type HotplugCommand = (typeof HOTPLUG_COMMANDS)[number];

/** How long a guest may take to release a device (Linux waits 5 s after the eject button). */
const RELEASE_MS = 30_000;

interface PciDevice {
  qdev_id?: string;
  pci_bridge?: { devices?: PciDevice[] };
}

/** A free hot-plug port (pcie-root-port with nothing behind it), or null when all are taken. */
export async function freePort(peer: HotplugPeer, ports: readonly string[]): Promise<string | null> {
  const buses = (await peer.execute('query-pci', {})) as { devices?: PciDevice[] }[];
  const used = new Set<string>();
  const all = new Set<string>();
  for (const bus of buses) {
    for (const device of bus.devices ?? []) {
      if (!device.qdev_id || !ports.includes(device.qdev_id)) continue;
      all.add(device.qdev_id);
      if ((device.pci_bridge?.devices ?? []).length > 0) used.add(device.qdev_id);
    }
  }
  return ports.find((port) => all.has(port) && !used.has(port)) ?? null;
}

export async function plugDisk(peer: HotplugPeer, disk: DiskDevice, at: { vmDir: string; direct: boolean; machine: MachineType; place: PciPlace }): Promise<void> {
  await peer.execute('blockdev-add', diskNodes(disk, at.vmDir, at.direct));
  try {
    await peer.execute('device_add', diskDevice(disk, { machine: at.machine, bootindex: null, place: at.place, ideUnit: 0 }));
  } catch (error) {
    await peer.execute('blockdev-del', { 'node-name': qemuIds.diskNode(disk) }).catch(() => {});
    throw error;
  }
}

export async function unplugDisk(peer: HotplugPeer, disk: DiskDevice): Promise<void> {
  await unplug(peer, qemuIds.diskDevice(disk));
  await peer.execute('blockdev-del', { 'node-name': qemuIds.diskNode(disk) });
}

export async function plugNic(peer: HotplugPeer, nic: NicDevice, place: PciPlace): Promise<void> {
  await peer.execute('netdev_add', nicBackend(nic));
  try {
    await peer.execute('device_add', nicDevice(nic, place));
  } catch (error) {
    await peer.execute('netdev_del', { id: qemuIds.nicBackend(nic) }).catch(() => {});
    throw error;
  }
}

export async function unplugNic(peer: HotplugPeer, nic: NicDevice): Promise<void> {
  await unplug(peer, qemuIds.nicDevice(nic));
  await peer.execute('netdev_del', { id: qemuIds.nicBackend(nic) });
}

export async function plugUsb(peer: HotplugPeer, usb: UsbDevice): Promise<void> {
  await peer.execute('device_add', usbDevice(usb));
}

export async function unplugUsb(peer: HotplugPeer, usb: UsbDevice): Promise<void> {
  await unplug(peer, qemuIds.usbDevice(usb));
}

export async function growDisk(peer: HotplugPeer, disk: DiskDevice, bytes: number): Promise<void> {
  await peer.execute('block_resize', { 'node-name': qemuIds.diskNode(disk), size: bytes });
}

/** Asks the guest to let go of a device and waits until QEMU says it is gone. */
async function unplug(peer: HotplugPeer, id: string): Promise<void> {
  const released = peer.waitForEvent('DEVICE_DELETED', (data) => data?.device === id, RELEASE_MS);
  released.catch(() => {});
  await peer.execute('device_del', { id });
  await released;
}
