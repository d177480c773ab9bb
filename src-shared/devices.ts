import { z } from 'zod';
import { PortForward } from './network';

// A VM's hardware as a list of devices, each with an id given once and never changed:
// QEMU's node and device ids are derived from it, so removing disk1 never renames disk2.
// After virt-manager's virtinst device classes and cockpit-machines' VM types, cut to what
// a desktop VM manager uses.

/** "disk0", "cd1", "nic0", "tpm": lower-case letters then digits, unique within a VM. */
export const DeviceId = z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'A device id is a few lower-case letters and digits, such as disk1.');
export type DeviceId = z.infer<typeof DeviceId>;

export const DeviceKind = z.enum(['disk', 'cdrom', 'nic', 'sharedFolder', 'usb', 'tpm']);
export type DeviceKind = z.infer<typeof DeviceKind>;

/** The id prefix of each kind: a new device takes the first free number after it. */
export const ID_PREFIX: Record<DeviceKind, string> = { disk: 'disk', cdrom: 'cd', nic: 'nic', sharedFolder: 'fs', usb: 'usb', tpm: 'tpm' };

export const PATH_MAX = 4096;
const FILE_NAME_MAX = 255;

/** An absolute path with nothing to resolve: no "." or ".." parts, no doubled slashes, no NUL. */
export const AbsolutePath = z
  .string()
  .max(PATH_MAX, `A path can be at most ${PATH_MAX} characters.`)
  .refine((value) => value.startsWith('/') && !value.includes('\0') && !/\/\.{1,2}(\/|$)|\/\//.test(value), 'Give a full path (starting with /, without . or .. parts).');

/**
 * Where a disk image is: a plain file name inside the VM folder ("disk-0.qcow2"), or an
 * absolute path to a disk kept elsewhere. Never a relative path with a folder in it, so
 * no vm.json can point one VM at another's disks ("../victim/disk-0.qcow2").
 */
export const DiskFile = z.union([
  z
    .string()
    .max(FILE_NAME_MAX)
    .regex(/^[^/\0]+$/, 'A disk inside the VM folder is a plain file name.')
    .refine((name) => !name.startsWith('.'), 'A disk file name cannot start with a dot.'),
  AbsolutePath,
]);

export const DiskBus = z.enum(['virtio-blk', 'virtio-scsi', 'sata', 'ide']);
export type DiskBus = z.infer<typeof DiskBus>;
export const DiskFormat = z.enum(['qcow2', 'raw']);
export type DiskFormat = z.infer<typeof DiskFormat>;
/** 'auto': O_DIRECT where the file system takes it (no double caching), else the page cache. */
export const DiskCache = z.enum(['auto', 'writeback', 'none']);
export type DiskCache = z.infer<typeof DiskCache>;
export const NicModel = z.enum(['virtio-net', 'e1000']);
export type NicModel = z.infer<typeof NicModel>;

/** Rank in the firmware's boot menu, 1 first; null: never booted from. */
export const BootOrder = z.number().int().min(1).max(64).nullable();

export const DiskDevice = z.strictObject({
  id: DeviceId,
  file: DiskFile,
  format: DiskFormat,
  bus: DiskBus,
  cache: DiskCache.default('auto'),
  /** Pass the guest's TRIM on to the image, so deleted files give space back. */
  discard: z.boolean().default(true),
  readOnly: z.boolean().default(false),
  /**
   * The image this disk is a copy-on-write layer over (the next issues' snapshots and linked
   * clones). QEMU is always told this explicitly, null included, so a backing file written
   * into an image's header is never opened.
   */
  backing: z.strictObject({ file: DiskFile, format: DiskFormat }).nullable().default(null),
  bootOrder: BootOrder.default(null),
});
export type DiskDevice = z.infer<typeof DiskDevice>;

export const CdromDevice = z.strictObject({
  id: DeviceId,
  /** The ISO in the drive, as an absolute path; null when empty. */
  iso: AbsolutePath.nullable(),
  /** q35 machines have SATA (AHCI) ports; the old pc machine has IDE. */
  bus: z.enum(['sata', 'ide']),
  bootOrder: BootOrder.default(null),
});
export type CdromDevice = z.infer<typeof CdromDevice>;

export const MacAddress = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'A MAC address is six pairs of lower-case hex digits, such as 52:54:00:12:34:56.');

export const NicDevice = z.strictObject({
  id: DeviceId,
  model: NicModel,
  /** How the VM reaches the network. 'user': NAT through this machine, no privileges needed. */
  network: z.enum(['user']).default('user'),
  mac: MacAddress,
  portForwards: z.array(PortForward).max(16).default([]),
});
export type NicDevice = z.infer<typeof NicDevice>;

export const SharedFolderDevice = z.strictObject({
  id: DeviceId,
  hostPath: AbsolutePath,
  /** What the guest mounts it by: mount -t 9p TAG /mnt. */
  tag: z.string().regex(/^[A-Za-z0-9_-]{1,31}$/, 'A mount tag is up to 31 letters, digits, "_" or "-".'),
  readOnly: z.boolean().default(false),
});
export type SharedFolderDevice = z.infer<typeof SharedFolderDevice>;

const UsbId = z.string().regex(/^[0-9a-f]{4}$/, 'A USB vendor or product id is four lower-case hex digits.');
/** A USB device of this machine passed to the VM, found by its vendor and product ids. */
export const UsbDevice = z.strictObject({
  id: DeviceId,
  vendorId: UsbId,
  productId: UsbId,
  /** How people know it ("Logitech USB Receiver"). */
  label: z.string().max(100),
});
export type UsbDevice = z.infer<typeof UsbDevice>;

/** A TPM 2.0 emulated by swtpm (Windows 11 wants one). Its state lives in the VM folder. */
export const TpmDevice = z.strictObject({ id: DeviceId });
export type TpmDevice = z.infer<typeof TpmDevice>;

export const Devices = z.strictObject({
  disks: z.array(DiskDevice).max(16),
  cdroms: z.array(CdromDevice).max(4),
  nics: z.array(NicDevice).max(8),
  sharedFolders: z.array(SharedFolderDevice).max(8).default([]),
  usb: z.array(UsbDevice).max(8).default([]),
  tpm: TpmDevice.nullable(),
});
export type Devices = z.infer<typeof Devices>;

/** Every device of a VM with its kind, in the order the lists hold them. */
export function allDevices(devices: Devices): { kind: DeviceKind; device: { id: string } }[] {
  return [
    ...devices.disks.map((device) => ({ kind: 'disk' as const, device })),
    ...devices.cdroms.map((device) => ({ kind: 'cdrom' as const, device })),
    ...devices.nics.map((device) => ({ kind: 'nic' as const, device })),
    ...devices.sharedFolders.map((device) => ({ kind: 'sharedFolder' as const, device })),
    ...devices.usb.map((device) => ({ kind: 'usb' as const, device })),
    ...(devices.tpm ? [{ kind: 'tpm' as const, device: devices.tpm }] : []),
  ];
}

/** The id a new device of this kind gets: its prefix and the first number no device of the VM has. */
export function nextDeviceId(devices: Devices, kind: DeviceKind): string {
  const prefix = ID_PREFIX[kind];
  const taken = new Set(allDevices(devices).map(({ device }) => device.id));
  if (kind === 'tpm' && !taken.has('tpm')) return 'tpm';
  for (let n = 0; ; n++) if (!taken.has(`${prefix}${n}`)) return `${prefix}${n}`;
}

/** Ids must be unique within a VM; returns the first one used twice, or null. */
export function duplicateDeviceId(devices: Devices): string | null {
  const seen = new Set<string>();
  for (const { device } of allDevices(devices)) {
    if (seen.has(device.id)) return device.id;
    seen.add(device.id);
  }
  return null;
}

/** The ids of the devices booted from (disks and CD drives), first first. */
export function bootOrderOf(devices: Pick<Devices, 'disks' | 'cdroms'>): string[] {
  return [...devices.disks, ...devices.cdroms]
    .filter((device): device is typeof device & { bootOrder: number } => device.bootOrder !== null)
    .sort((a, b) => a.bootOrder - b.bootOrder)
    .map((device) => device.id);
}

/** The boot order with the first disk (or CD drive) moved to the front, the others as they were. */
export function bootFirstFrom(devices: Pick<Devices, 'disks' | 'cdroms'>, kind: 'disk' | 'cdrom'): string[] {
  const first = (kind === 'disk' ? devices.disks : devices.cdroms)[0]?.id;
  const order = bootOrderOf(devices);
  if (!first) return order;
  return [first, ...order.filter((id) => id !== first)];
}
