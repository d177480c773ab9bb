import { z } from 'zod';
import { DISK_NONE, diskSizeProblem } from './limits';
import { OsFamily } from './os-family';
import { DiskBus, Firmware, NicModel } from './vm';

// What an ISO installs and the VM settings that suit it: the new-VM wizard's prefill.

export { OsFamily } from './os-family';

export const OsDefaults = z.strictObject({
  memoryMiB: z.number().int().min(64),
  /** DISK_NONE (0) for tools, which boot and work in memory. */
  diskGiB: z.number().superRefine((value, context) => {
    const problem = diskSizeProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  }),
  cpus: z.number().int().min(1).max(256),
  firmware: Firmware,
  tpm: z.boolean(),
  diskBus: DiskBus,
  nicModel: NicModel,
});
export type OsDefaults = z.infer<typeof OsDefaults>;

export const IsoOs = z.strictObject({
  family: OsFamily,
  /** For people: "Ubuntu 24.04", "Debian 12", "Windows 10 or 11", "Other Linux". */
  name: z.string(),
  /** The release as the image states it ("24.04.1", "12.7.0", "41"), or null when it does not say. */
  version: z.string().nullable(),
});
export type IsoOs = z.infer<typeof IsoOs>;

export const IsoInfo = z.strictObject({
  path: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  volumeId: z.string(),
  systemId: z.string(),
  publisher: z.string(),
  applicationId: z.string(),
  /** Has an El Torito boot entry (BIOS or UEFI). */
  bootable: z.boolean(),
  /** Has an El Torito boot entry for BIOS. */
  biosBootable: z.boolean(),
  /** Has an El Torito EFI boot entry or /EFI/BOOT/BOOTX64.EFI. */
  uefiBootable: z.boolean(),
  os: IsoOs,
  defaults: OsDefaults,
  /** Short words on what was found, e.g. 'volume id "Ubuntu 24.04.1 LTS amd64"', 'has /casper'. */
  evidence: z.array(z.string()),
});
export type IsoInfo = z.infer<typeof IsoInfo>;

const LINUX = { cpus: 2, firmware: 'bios', tpm: false, diskBus: 'virtio-blk', nicModel: 'virtio-net' } as const;
// Windows installers have no virtio drivers until their ISO is attached: emulated SATA and e1000.
const WINDOWS = { cpus: 2, memoryMiB: 4096, diskGiB: 64, diskBus: 'sata', nicModel: 'e1000' } as const;

/** Desktop-sized settings for a family; `version` matters only for Windows ("11", "10", "8.1", "7"). */
export function defaultsFor(family: OsFamily, version?: string | null): OsDefaults {
  switch (family) {
    case 'ubuntu':
    case 'fedora':
    case 'opensuse':
      // Their desktop installers (GNOME, KDE) want 4 GiB to run the live session comfortably.
      return { ...LINUX, memoryMiB: 4096, diskGiB: 25 };
    case 'alpine':
      return { ...LINUX, cpus: 1, memoryMiB: 512, diskGiB: 8 };
    case 'windows':
      return windowsDefaults(version ?? null);
    case 'debian':
    case 'arch':
    case 'freebsd':
    case 'other-linux':
    case 'other':
      return { ...LINUX, memoryMiB: 2048, diskGiB: 20 };
    case 'tool':
      // They run from the CD in memory; the live Linux ones (GParted, SystemRescue) want about 1 GiB.
      return { ...LINUX, cpus: 1, memoryMiB: 1024, diskGiB: DISK_NONE };
  }
}

function windowsDefaults(version: string | null): OsDefaults {
  const major = version === null ? Number.NaN : Number.parseFloat(version);
  // Unknown or 11: UEFI with a TPM, which Windows 11 requires and Windows 10 accepts.
  if (Number.isNaN(major) || (major >= 11 && major < 2000)) return { ...WINDOWS, firmware: 'uefi', tpm: true };
  if (major >= 2000) return { ...WINDOWS, firmware: 'uefi', tpm: false }; // Windows Server by year
  if (major >= 10) return { ...WINDOWS, firmware: 'bios', tpm: false };
  return { ...WINDOWS, memoryMiB: 2048, diskGiB: 40, firmware: 'bios', tpm: false }; // 7, 8, 8.1
}

/** Which firmware can start an ISO, for people: "BIOS and UEFI", "BIOS", "UEFI", or null for neither. */
export function bootsWith(iso: Pick<IsoInfo, 'biosBootable' | 'uefiBootable'>): string | null {
  if (iso.biosBootable && iso.uefiBootable) return 'BIOS and UEFI';
  return iso.biosBootable ? 'BIOS' : iso.uefiBootable ? 'UEFI' : null;
}

/**
 * Why a firmware will not start this ISO, in words, or null when it will (or when the ISO
 * boots with neither, which the wizard says elsewhere). QEMU would not say: OVMF stops at
 * "No bootable option or device was found", SeaBIOS at "No bootable device".
 */
export function firmwareProblem(firmware: Firmware, iso: Pick<IsoInfo, 'biosBootable' | 'uefiBootable'>): string | null {
  if (firmware === 'uefi' && iso.biosBootable && !iso.uefiBootable) {
    return 'This ISO boots only with BIOS: with UEFI the VM would stop at “No bootable option or device was found”. Choose BIOS.';
  }
  if (firmware === 'bios' && iso.uefiBootable && !iso.biosBootable) {
    return 'This ISO boots only with UEFI: with BIOS the VM would find no bootable device. Choose UEFI.';
  }
  return null;
}
