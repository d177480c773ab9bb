import { z } from 'zod';

// What Hangar keeps outside the VMs' own folders: ISOs a browser sent to `hangar web`
// (isos/) and the disks of deleted VMs kept on request (kept-disks/<vm-id>/). Listed so a
// person sees where the space goes, and removable one by one.

export const StoredIso = z.strictObject({
  path: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  /** ISO 8601. */
  modifiedAt: z.string(),
  /** The VMs whose CD drive holds it: while any does, it cannot be removed. */
  usedBy: z.array(z.string()),
});
export type StoredIso = z.infer<typeof StoredIso>;

export const KeptDisk = z.strictObject({
  path: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  /** The deleted VM's id, as its kept-disks folder is named ("debian-12", "debian-12-2"). */
  fromVm: z.string(),
  /** When it was kept (ISO 8601). */
  keptAt: z.string(),
});
export type KeptDisk = z.infer<typeof KeptDisk>;

export const StoredFiles = z.strictObject({
  isoDir: z.string(),
  keptDisksDir: z.string(),
  isos: z.array(StoredIso),
  keptDisks: z.array(KeptDisk),
});
export type StoredFiles = z.infer<typeof StoredFiles>;
