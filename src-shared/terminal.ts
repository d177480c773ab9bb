import { z } from 'zod';
import { VmRef } from './vm';

// Terminals on the host (node-pty in the main process): a shell, or ssh into a VM.

export const TerminalId = z.string().regex(/^term-[0-9a-f]{16}$/, 'Not a terminal id.');
export type TerminalId = z.infer<typeof TerminalId>;

/** A user name ssh can log in as; it cannot start with "-", so it is never read as an option. */
export const SshUser = z.string().regex(/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/, 'A user name starts with a letter or "_" and has at most 32 letters, digits, ".", "_" or "-".');

export const TerminalTarget = z.discriminatedUnion('kind', [
  /** The user's login shell on this machine, in their home folder. */
  z.strictObject({ kind: z.literal('host') }),
  /** ssh to 127.0.0.1 on the VM's forwarded guest port 22. */
  z.strictObject({ kind: z.literal('ssh'), vm: VmRef, user: SshUser }),
]);
export type TerminalTarget = z.infer<typeof TerminalTarget>;

export const TerminalSize = { cols: z.number().int().min(2).max(1000), rows: z.number().int().min(1).max(500) };

/** Bytes a terminal printed (base64, as console bytes travel). */
export const TerminalChunk = z.strictObject({ terminal: TerminalId, data: z.base64() });
export type TerminalChunk = z.infer<typeof TerminalChunk>;

export const TerminalExited = z.strictObject({
  terminal: TerminalId,
  /** Null when a signal ended it. */
  exitCode: z.number().int().nullable(),
  /** The signal's name ("SIGHUP"), or null. */
  signal: z.string().max(32).nullable(),
});
export type TerminalExited = z.infer<typeof TerminalExited>;
