import { z } from 'zod';

/**
 * The OS families Hangar tells apart; shared by the ISO detection and the VM definition.
 * 'tool': an image that boots by itself and installs nothing (memtest86+, iPXE, GParted…).
 */
export const OsFamily = z.enum(['debian', 'ubuntu', 'fedora', 'arch', 'alpine', 'opensuse', 'windows', 'freebsd', 'other-linux', 'tool', 'other']);
export type OsFamily = z.infer<typeof OsFamily>;

/** What a VM runs, as far as Hangar knows: for its icon and for people. */
export const VmOs = z.strictObject({ family: OsFamily, name: z.string().max(200) });
export type VmOs = z.infer<typeof VmOs>;
