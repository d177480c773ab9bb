import type { CdromDevice, DiskDevice, NicDevice, SharedFolderDevice, UsbDevice } from '../../src-shared/devices';
import type { MachineType } from '../../src-shared/vm';
import { diskPath } from '../vms/layout';

// Each device of a VM as the objects QEMU is given: block nodes (-blockdev, blockdev-add),
// the device (-device, device_add), a network backend. Written once, here, for both the
// command line and hot-plug over QMP, so a device added while the VM runs is the same
// device it becomes at the next start. QEMU's ids come from the device's own id, never
// from its position in a list.

export type QemuObject = Record<string, unknown>;

/** The QEMU ids a device is known by. */
export const qemuIds = {
  /** A disk's format node is its id (disk0), as under schema 2; its device is disk0-dev. */
  diskNode: (disk: Pick<DiskDevice, 'id'>) => disk.id,
  diskFileNode: (disk: Pick<DiskDevice, 'id'>) => `${disk.id}-file`,
  diskBaseNode: (disk: Pick<DiskDevice, 'id'>) => `${disk.id}-base`,
  diskDevice: (disk: Pick<DiskDevice, 'id'>) => `${disk.id}-dev`,
  /** A CD drive's device is its id (cd0); its medium is cd0-media over cd0-file. */
  cdDevice: (cd: Pick<CdromDevice, 'id'>) => cd.id,
  cdMediaNode: (cd: Pick<CdromDevice, 'id'>) => `${cd.id}-media`,
  cdFileNode: (cd: Pick<CdromDevice, 'id'>) => `${cd.id}-file`,
  nicDevice: (nic: Pick<NicDevice, 'id'>) => nic.id,
  nicBackend: (nic: Pick<NicDevice, 'id'>) => `${nic.id}-net`,
  folderDevice: (folder: Pick<SharedFolderDevice, 'id'>) => folder.id,
  folderBackend: (folder: Pick<SharedFolderDevice, 'id'>) => `${folder.id}-fs`,
  usbDevice: (usb: Pick<UsbDevice, 'id'>) => usb.id,
  /** The one virtio-scsi controller every virtio-scsi disk sits on. */
  scsiController: 'scsi0',
} as const;

/** Where a PCI device sits: a slot of the root bus, or a free hot-plug port. */
export type PciPlace = { slot: number } | { port: string } | null;

/** The PCI address options of a device in that place. */
export function pciPlace(place: PciPlace): QemuObject {
  if (!place) return {};
  return 'slot' in place ? { addr: `0x${place.slot.toString(16)}` } : { bus: place.port };
}

/**
 * A disk's block nodes, file first: format over file, with its backing named explicitly
 * (null when it has none), so a backing file written into a qcow2 header is never opened.
 * `direct` is O_DIRECT (cache.direct): the host page cache is bypassed, so memory is not
 * spent twice and data reaches the disk when the guest flushes; where the file system
 * refuses O_DIRECT (tmpfs, some FUSE) writeback caching still honours guest flushes.
 * aio=native is Linux AIO, the fastest with O_DIRECT, which it needs: threads otherwise.
 */
export function diskNodes(disk: DiskDevice, vmDir: string, direct: boolean): QemuObject {
  const readOnly = disk.readOnly ? { 'read-only': true } : {};
  const file = { driver: 'file', filename: diskPath(vmDir, disk), aio: direct ? 'native' : 'threads', cache: { direct, 'no-flush': false }, ...readOnly };
  const base: QemuObject = { driver: disk.format, 'node-name': qemuIds.diskNode(disk), discard: disk.discard ? 'unmap' : 'ignore', 'detect-zeroes': disk.discard ? 'unmap' : 'off', ...readOnly };
  // Only qcow2 can have a backing file; raw has no such option.
  if (disk.format === 'qcow2') {
    base.backing = disk.backing
      ? { driver: disk.backing.format, 'node-name': qemuIds.diskBaseNode(disk), 'read-only': true, ...(disk.backing.format === 'qcow2' ? { backing: null } : {}), file: { driver: 'file', filename: diskPath(vmDir, disk.backing), 'read-only': true } }
      : null;
  }
  return { ...base, file };
}

export interface DiskPlacement {
  machine: MachineType;
  /** Its rank among the devices booted from (0 first), or null. */
  bootindex: number | null;
  place: PciPlace;
  /** For SATA and IDE disks: their unit, counted over the VM's SATA and IDE disks. */
  ideUnit: number;
}

/** The guest-visible device of a disk. */
export function diskDevice(disk: DiskDevice, at: DiskPlacement): QemuObject {
  const common = { id: qemuIds.diskDevice(disk), drive: qemuIds.diskNode(disk), ...(at.bootindex !== null ? { bootindex: at.bootindex } : {}) };
  switch (disk.bus) {
    case 'virtio-blk':
      return { driver: 'virtio-blk-pci', ...common, ...pciPlace(at.place) };
    case 'virtio-scsi':
      return { driver: 'scsi-hd', ...common, bus: `${qemuIds.scsiController}.0` };
    case 'sata':
    case 'ide':
      // q35 has six AHCI ports (ide.0 to ide.5, one disk each); the old pc machine has two
      // IDE buses with two units each, and keeps ide.1 for CD drives.
      return { driver: 'ide-hd', ...common, ...(at.machine === 'q35' ? { bus: `ide.${at.ideUnit}` } : { bus: 'ide.0', unit: at.ideUnit }) };
  }
}

/** A CD drive's medium (two read-only nodes), or nothing when it is empty. */
export function cdNodes(cd: CdromDevice): QemuObject[] {
  if (cd.iso === null) return [];
  return [
    { driver: 'file', filename: cd.iso, 'node-name': qemuIds.cdFileNode(cd), 'read-only': true },
    { driver: 'raw', 'node-name': qemuIds.cdMediaNode(cd), file: qemuIds.cdFileNode(cd), 'read-only': true },
  ];
}

/**
 * A CD drive. The drive always exists, empty or not, so an ISO can go in while the VM runs.
 * On q35 the first drive sits on AHCI port 2 or the first port after the disks, the others
 * after it; on pc, on the second IDE bus.
 */
export function cdDevice(cd: CdromDevice, at: { machine: MachineType; bootindex: number | null; position: number; ideUnitsUsed: number }): QemuObject {
  const device: QemuObject = { driver: 'ide-cd', id: qemuIds.cdDevice(cd) };
  if (at.machine === 'q35') device.bus = `ide.${Math.max(at.ideUnitsUsed, 2) + at.position}`;
  else {
    device.bus = 'ide.1';
    if (at.position > 0) device.unit = at.position;
  }
  if (cd.iso !== null) device.drive = qemuIds.cdMediaNode(cd);
  if (cd.iso !== null && at.bootindex !== null) device.bootindex = at.bootindex;
  return device;
}

/** A NIC's user-mode (NAT) backend, for -netdev, with its port forwards. */
export function nicBackendOption(nic: NicDevice): string {
  const forwards = nic.portForwards.map((forward) => `,hostfwd=${forward.protocol}:${forward.hostAddress}:${forward.hostPort}-:${forward.guestPort}`).join('');
  return `user,id=${qemuIds.nicBackend(nic)}${forwards}`;
}

/** The same backend as QMP netdev_add takes it. */
export function nicBackend(nic: NicDevice): QemuObject {
  const hostfwd = nic.portForwards.map((forward) => ({ str: `${forward.protocol}:${forward.hostAddress}:${forward.hostPort}-:${forward.guestPort}` }));
  return { type: 'user', id: qemuIds.nicBackend(nic), ...(hostfwd.length > 0 ? { hostfwd } : {}) };
}

export function nicDevice(nic: NicDevice, place: PciPlace): QemuObject {
  return { driver: nic.model === 'virtio-net' ? 'virtio-net-pci' : 'e1000', id: qemuIds.nicDevice(nic), netdev: qemuIds.nicBackend(nic), mac: nic.mac, ...pciPlace(place) };
}

/** A folder of this machine the guest mounts over 9p (mount -t 9p -o trans=virtio TAG /mnt). */
export function folderDevice(folder: SharedFolderDevice, place: PciPlace): QemuObject {
  return { driver: 'virtio-9p-pci', id: qemuIds.folderDevice(folder), fsdev: qemuIds.folderBackend(folder), mount_tag: folder.tag, ...pciPlace(place) };
}

/** A USB device of this machine, by vendor and product id, on the VM's xHCI controller. */
export function usbDevice(usb: UsbDevice): QemuObject {
  return { driver: 'usb-host', id: qemuIds.usbDevice(usb), bus: 'usb.0', vendorid: Number.parseInt(usb.vendorId, 16), productid: Number.parseInt(usb.productId, 16) };
}
