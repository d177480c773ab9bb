import { z } from 'zod';
import { Accelerator } from './host';
import { diskSizeProblem, numberProblem, type LimitName } from './limits';
import { VmOs } from './os-family';

// A VM as the user defines it (vm.json) and as it is seen running (VmState). The definition
// is data, separate from the QEMU process, as in libvirt.

export const VM_NAME_MAX = 100;

/** The display name: free text a person chose, never used as a path. */
export const VmName = z
  .string()
  .transform((name) => name.trim())
  .pipe(
    z
      .string()
      .min(1, 'Give the VM a name.')
      .max(VM_NAME_MAX, `A VM name can be at most ${VM_NAME_MAX} characters.`)
      // Control characters (C0 and C1) and Unicode line and paragraph separators: a name is one line.
      .regex(/^[^\p{Cc}\p{Zl}\p{Zp}]*$/u, 'A VM name cannot contain control characters (such as new lines or tabs).'),
  );

/** The folder name of a VM: derived from the name, always safe as one path component. */
export const VmId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'Not a VM id.');
export type VmId = z.infer<typeof VmId>;

export const DiskBus = z.enum(['virtio-blk', 'virtio-scsi', 'sata', 'ide']);
export type DiskBus = z.infer<typeof DiskBus>;
export const DiskFormat = z.enum(['qcow2', 'raw']);
export const NicModel = z.enum(['virtio-net', 'e1000']);
export type NicModel = z.infer<typeof NicModel>;
export const Firmware = z.enum(['bios', 'uefi']);
export type Firmware = z.infer<typeof Firmware>;
export const MachineType = z.enum(['q35', 'pc']);

/** A number within its LIMITS entry, refused in the same words the wizard shows. */
const limited = (name: LimitName) =>
  z.number().superRefine((value, context) => {
    const problem = numberProblem(name, value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

export const PortForward = z.strictObject({
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  hostAddress: z.union([z.literal('127.0.0.1'), z.literal('0.0.0.0')]).default('127.0.0.1'),
  hostPort: limited('hostPort'),
  guestPort: limited('guestPort'),
});
export type PortForward = z.infer<typeof PortForward>;

export const VmDisk = z.strictObject({
  /** A file name inside the VM folder, or an absolute path to a disk kept elsewhere. */
  file: z.string().min(1),
  format: DiskFormat,
  bus: DiskBus,
});
export type VmDisk = z.infer<typeof VmDisk>;

export const VmConfig = z.strictObject({
  schema: z.literal(2),
  id: VmId,
  name: z.string(),
  createdAt: z.string(),
  machine: MachineType,
  firmware: Firmware,
  cpus: limited('cpus'),
  memoryMiB: limited('memoryMiB'),
  disks: z.array(VmDisk).max(8),
  /** The ISO in the CD drive, as an absolute path; null when empty. */
  cdrom: z.string().nullable(),
  /** Boot from the CD until the OS is installed, then from the disk. */
  bootFrom: z.enum(['cdrom', 'disk']),
  nic: z.strictObject({ model: NicModel, portForwards: z.array(PortForward).max(16) }),
  tpm: z.boolean(),
  /** The OS it installs or runs, when known (detected from the ISO): its icon in the library. */
  os: VmOs.nullable(),
});
export type VmConfig = z.infer<typeof VmConfig>;

/** 'saved': not running, its memory kept on disk; starting it resumes where it was. */
export const VmState = z.enum(['stopped', 'starting', 'running', 'paused', 'shutting-down', 'crashed', 'saved']);
export type VmState = z.infer<typeof VmState>;

export const VmProblem = z.strictObject({
  /** What went wrong, in words. */
  message: z.string(),
  /** The last lines QEMU or the guest printed, for the curious. */
  log: z.array(z.string()),
});
export type VmProblem = z.infer<typeof VmProblem>;

export const VmSummary = z.strictObject({
  id: VmId,
  name: z.string(),
  state: VmState,
  /** Set when the VM's folder cannot be loaded: the VM is shown as broken, its files untouched. */
  broken: z.string().nullable(),
  /** Why the VM crashed or failed to start. */
  problem: VmProblem.nullable(),
  config: VmConfig.nullable(),
  accelerator: Accelerator.nullable(),
  /** The QEMU process while the VM runs. */
  pid: z.number().int().nullable(),
});
export type VmSummary = z.infer<typeof VmSummary>;

/** What a person asks for when creating a VM (wizard, CLI); the engine fills in the rest. */
export const NewVmRequest = z.strictObject({
  name: z.string(),
  /** An ISO to install from (absolute path), or null for an empty CD drive. */
  iso: z.string().nullable().default(null),
  /** An existing disk image to import instead of creating an empty disk. */
  importDisk: z.string().nullable().default(null),
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

/** What may change in a stopped VM's definition; fields left out stay as they are. */
export const VmChanges = z
  .strictObject({
    name: z.string(),
    cpus: limited('cpus'),
    memoryMiB: limited('memoryMiB'),
    firmware: Firmware,
    tpm: z.boolean(),
    diskBus: DiskBus,
    nicModel: NicModel,
    portForwards: z.array(PortForward).max(16),
    bootFrom: z.enum(['cdrom', 'disk']),
  })
  .partial();
export type VmChanges = z.input<typeof VmChanges>;

export const VmDetails = z.strictObject({
  summary: VmSummary,
  /** The QEMU command line: the one running now, or the one a start would use. */
  argv: z.array(z.string()).nullable(),
  dir: z.string(),
});
export type VmDetails = z.infer<typeof VmDetails>;

export const VmProgress = z.strictObject({
  vm: z.string(),
  /** What is happening, in words ("Importing the disk"). */
  step: z.string(),
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
