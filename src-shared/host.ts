import { z } from 'zod';

// The host report is also the output of `hangar doctor --json`, a format scripts read,
// so its keys are snake_case and only ever grow.

export const CheckStatus = z.enum(['pass', 'warn', 'fail']);
export type CheckStatus = z.infer<typeof CheckStatus>;

export const CheckGroup = z.enum(['cpu', 'kernel', 'qemu', 'network', 'resources']);
export type CheckGroup = z.infer<typeof CheckGroup>;

export const CHECK_GROUP_TITLES: Record<CheckGroup, string> = {
  cpu: 'CPU',
  kernel: 'Kernel and KVM',
  qemu: 'QEMU and firmware',
  network: 'Networking',
  resources: 'Resources',
};

export const HostCheck = z.strictObject({
  id: z.string().regex(/^[a-z]+\.[a-z0-9_]+$/),
  group: CheckGroup,
  status: CheckStatus,
  summary: z.string().min(1),
  /** More words on what was found, for people who want to know why. */
  detail: z.string().optional(),
  /** A command that fixes the problem on the detected distribution, to copy into a terminal. */
  fix: z.string().optional(),
});
export type HostCheck = z.infer<typeof HostCheck>;

export const Accelerator = z.enum(['kvm', 'tcg']);
export type Accelerator = z.infer<typeof Accelerator>;

export const HostResources = z.strictObject({
  cpu_threads: z.number().int().nonnegative(),
  memory_total_bytes: z.number().int().nonnegative(),
  memory_available_bytes: z.number().int().nonnegative(),
  /** Where new VMs are stored and how much room is left there. */
  vm_store_path: z.string(),
  disk_free_bytes: z.number().int().nonnegative().nullable(),
});
export type HostResources = z.infer<typeof HostResources>;

export const HostReport = z.strictObject({
  accelerator: Accelerator,
  accelerator_reason: z.string(),
  /** False when no VM can start at all (QEMU missing or too old). */
  can_run_vms: z.boolean(),
  distro: z.strictObject({ id: z.string(), name: z.string() }),
  qemu_version: z.string().nullable(),
  resources: HostResources,
  checks: z.array(HostCheck),
  checked_at: z.string(),
});
export type HostReport = z.infer<typeof HostReport>;
