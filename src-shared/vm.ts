import { z } from 'zod';
import { AbsolutePath, CdromDevice, DeviceId, Devices, DiskBus, DiskCache, DiskFormat, duplicateDeviceId, NicDevice, NicModel, PATH_MAX, SharedFolderDevice, UsbDevice } from './devices';
import { Accelerator } from './host';
import { diskSizeProblem } from './limits';
import { limited, PortForward } from './network';
import { VmOs } from './os-family';

// A VM as the user defines it (vm.json, schema 3) and as it is seen running (VmState). The
// definition is data, separate from the QEMU process, as in libvirt: machine settings, and
// the devices in typed lists (devices.ts).

export { DiskBus, NicModel } from './devices';
export { PortForward } from './network';

export const VM_NAME_MAX = 100;
/** The most a request may carry as a name before it is even read: far past any name, far below harm. */
const NAME_INPUT_MAX = 4096;
/** The most any free text Hangar keeps may hold: a problem's words, one log line. */
export const TEXT_MAX = 4000;

/** Letters a name may not hold: controls (C0, C1), line and paragraph separators, and bidi overrides that would make it read otherwise. */
const UNSAFE_IN_NAME = /[\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}]/u;

/** The display name: free text a person chose, never used as a path. */
export const VmName = z
  .string()
  .max(NAME_INPUT_MAX, `A VM name can be at most ${VM_NAME_MAX} characters.`)
  .transform((name) => name.trim())
  .pipe(
    z
      .string()
      .min(1, 'Give the VM a name.')
      .max(VM_NAME_MAX, `A VM name can be at most ${VM_NAME_MAX} characters.`)
      .refine((name) => !UNSAFE_IN_NAME.test(name), 'A VM name cannot contain control characters (such as new lines or tabs) or text-direction marks.'),
  );

/** The folder name of a VM: derived from the name, always safe as one path component. */
export const VmId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'Not a VM id.');
export type VmId = z.infer<typeof VmId>;

export const Firmware = z.enum(['bios', 'uefi']);
export type Firmware = z.infer<typeof Firmware>;
export const MachineType = z.enum(['q35', 'pc']);
export type MachineType = z.infer<typeof MachineType>;
/** 'auto': KVM where this machine can use it, else software emulation (the host check decides). */
export const AcceleratorChoice = z.enum(['auto', 'kvm', 'tcg']);
export type AcceleratorChoice = z.infer<typeof AcceleratorChoice>;

export const MachineSettings = z.strictObject({
  type: MachineType,
  firmware: Firmware,
  cpus: limited('cpus'),
  memoryMiB: limited('memoryMiB'),
  accelerator: AcceleratorChoice.default('auto'),
  /** Free PCIe ports (q35) for disks and NICs added while the VM runs. */
  hotplugPorts: z.number().int().min(0).max(8).default(2),
});
export type MachineSettings = z.infer<typeof MachineSettings>;

/** Whatever sits in a PCI slot: a device's id, or a built-in part ("video", "usb", "scsi", "port0"...). */
const SlotOwner = z.string().regex(/^[a-z][a-z0-9]{0,15}$/);

export const VmConfig = z
  .strictObject({
    schema: z.literal(3),
    id: VmId,
    name: z.string().max(VM_NAME_MAX),
    createdAt: z.string().max(40),
    /** The OS it installs or runs, when known (detected from the ISO): its icon in the library. */
    os: VmOs.nullable(),
    machine: MachineSettings,
    devices: Devices,
    /**
     * The PCI slot of each device and built-in part, given once: a device added or removed
     * never moves another (a guest names its NIC after its slot).
     */
    pciSlots: z.record(SlotOwner, z.number().int().min(1).max(31)),
    /**
     * Devices added while the VM ran, and the hot-plug port each went into. A saved VM
     * resumes with them there, where its saved memory expects them; the next fresh start
     * puts them in their own slots and clears this.
     */
    hotplugged: z.record(DeviceId, SlotOwner).default({}),
  })
  .superRefine((config, context) => {
    const twice = duplicateDeviceId(config.devices);
    if (twice) context.addIssue({ code: 'custom', path: ['devices'], message: `Two devices have the id ${twice}.` });
    const slots = Object.values(config.pciSlots);
    if (new Set(slots).size !== slots.length) context.addIssue({ code: 'custom', path: ['pciSlots'], message: 'Two parts sit in one PCI slot.' });
  });
export type VmConfig = z.infer<typeof VmConfig>;

/** 'saved': not running, its memory kept on disk; starting it resumes where it was. */
export const VmState = z.enum(['stopped', 'starting', 'running', 'paused', 'shutting-down', 'crashed', 'saved']);
export type VmState = z.infer<typeof VmState>;

export const VmProblem = z.strictObject({
  /** What went wrong, in words. */
  message: z.string().max(TEXT_MAX),
  /** The last lines QEMU or the guest printed, for the curious. */
  log: z.array(z.string().max(TEXT_MAX)).max(100),
});
export type VmProblem = z.infer<typeof VmProblem>;

export const VmSummary = z.strictObject({
  id: VmId,
  name: z.string().max(VM_NAME_MAX),
  state: VmState,
  /** Set when the VM's folder cannot be loaded: the VM is shown as broken, its files untouched. */
  broken: z.string().max(TEXT_MAX).nullable(),
  /** Why the VM crashed or failed to start, or what is wrong while it runs. */
  problem: VmProblem.nullable(),
  config: VmConfig.nullable(),
  accelerator: Accelerator.nullable(),
  /** The QEMU process while the VM runs. */
  pid: z.number().int().nullable(),
  /** It runs, but its keeper died: Hangar cannot talk to QEMU, only force it off. */
  orphaned: z.boolean().default(false),
  /** Its memory is kept on disk (saved, or a resume that failed): a start resumes it, force off forgets it. */
  savedState: z.boolean().default(false),
});
export type VmSummary = z.infer<typeof VmSummary>;

/** What a person asks for when creating a VM (wizard, CLI); the engine makes its devices. */
export const NewVmRequest = z.strictObject({
  name: z.string().max(NAME_INPUT_MAX, `A VM name can be at most ${VM_NAME_MAX} characters.`),
  /** An ISO to install from (absolute path), or null for an empty CD drive. */
  iso: z.string().max(PATH_MAX).nullable().default(null),
  /** An existing disk image to import instead of creating an empty disk. */
  importDisk: z.string().max(PATH_MAX).nullable().default(null),
  memoryMiB: limited('memoryMiB').default(2048),
  cpus: limited('cpus').default(2),
  /** Size of the new empty disk in whole GiB; ignored when importing, and 0 (DISK_NONE) means no disk. */
  diskGiB: z
    .number()
    .superRefine((value, context) => {
      const problem = diskSizeProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .default(20),
  firmware: Firmware.default('bios'),
  machine: MachineType.default('q35'),
  diskBus: DiskBus.default('virtio-blk'),
  nicModel: NicModel.default('virtio-net'),
  portForwards: z.array(PortForward).max(16).default([]),
  tpm: z.boolean().default(false),
  /** What the wizard detected; when left out, the engine detects it from the ISO itself. */
  os: VmOs.nullable().default(null),
});
export type NewVmRequest = z.input<typeof NewVmRequest>;

export const VmRef = z.string().min(1).max(200);

/** Machine settings of a VM; fields left out stay as they are. Devices change one by one (DeviceChange). */
export const VmChanges = z
  .strictObject({
    name: z.string().max(NAME_INPUT_MAX, `A VM name can be at most ${VM_NAME_MAX} characters.`),
    cpus: limited('cpus'),
    memoryMiB: limited('memoryMiB'),
    firmware: Firmware,
    machine: MachineType,
    accelerator: AcceleratorChoice,
    /** Device ids, first boots first; devices left out are not booted from. */
    bootOrder: z.array(DeviceId).max(32),
  })
  .partial();
export type VmChanges = z.input<typeof VmChanges>;

/** A device to add. Disks are new and empty (sizeGiB) or imported from an image (importFrom), with the same checks as a new VM's. */
export const NewDevice = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('disk'),
    sizeGiB: limited('diskGiB').nullable().default(null),
    importFrom: AbsolutePath.nullable().default(null),
    bus: DiskBus.default('virtio-blk'),
    cache: DiskCache.default('auto'),
  }),
  z.strictObject({ kind: z.literal('cdrom'), iso: AbsolutePath.nullable().default(null) }),
  z.strictObject({ kind: z.literal('nic'), model: NicModel.default('virtio-net'), portForwards: NicDevice.shape.portForwards }),
  z.strictObject({ kind: z.literal('tpm') }),
  z.strictObject({ kind: z.literal('sharedFolder'), hostPath: SharedFolderDevice.shape.hostPath, tag: SharedFolderDevice.shape.tag, readOnly: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('usb'), vendorId: UsbDevice.shape.vendorId, productId: UsbDevice.shape.productId, label: UsbDevice.shape.label }),
]);
export type NewDevice = z.input<typeof NewDevice>;

/** What may change in one device, by its kind; fields left out stay. A disk grows with resizeDisk. */
export const DeviceChange = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('disk'), bus: DiskBus.optional(), cache: DiskCache.optional(), discard: z.boolean().optional(), readOnly: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('cdrom'), iso: CdromDevice.shape.iso.optional() }),
  z.strictObject({ kind: z.literal('nic'), model: NicModel.optional(), portForwards: z.array(PortForward).max(16).optional() }),
  z.strictObject({ kind: z.literal('sharedFolder'), readOnly: z.boolean().optional() }),
]);
export type DeviceChange = z.input<typeof DeviceChange>;

export const DiskInfo = z.strictObject({
  id: DeviceId,
  /** Where the image is. */
  path: z.string().max(PATH_MAX),
  /** Kept outside the VM folder (an absolute path in vm.json): deleting the VM never touches it. */
  external: z.boolean(),
  format: DiskFormat,
  /** The size the guest sees; null when the image cannot be read now. */
  virtualBytes: z.number().int().nonnegative().nullable(),
  /** What it takes on this machine's disk. */
  allocatedBytes: z.number().int().nonnegative().nullable(),
});
export type DiskInfo = z.infer<typeof DiskInfo>;

export const VmDetails = z.strictObject({
  summary: VmSummary,
  /** The QEMU command line: the one running now, or the one a start would use. */
  argv: z.array(z.string()).nullable(),
  dir: z.string(),
  /** Each disk's image and sizes. */
  disks: z.array(DiskInfo),
  /** Where its disks go when it is deleted with "keep disks". */
  keptDisksDir: z.string(),
});
export type VmDetails = z.infer<typeof VmDetails>;

export const VmProgress = z.strictObject({
  vm: z.string().max(VM_NAME_MAX),
  /** What is happening, in words ("Importing the disk"). */
  step: z.string().max(200),
  percent: z.number().min(0).max(100).nullable(),
});
export type VmProgress = z.infer<typeof VmProgress>;

/** Serial console bytes, base64-encoded so they survive JSON transports intact. */
export const ConsoleChunk = z.strictObject({
  vm: VmId,
  data: z.string(),
  /** Where in the console's stream these bytes start; a viewer skips what its scrollback already had. */
  offset: z.number().int().nonnegative(),
});
export type ConsoleChunk = z.infer<typeof ConsoleChunk>;
