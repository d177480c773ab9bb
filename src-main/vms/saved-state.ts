import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { FILE_CAPS, readCapped } from '../util/read-capped';
import { vmLayout } from './layout';
import { acquireLock } from './lock';
import { endedNow, writeLastRun } from './run-record';

// A saved VM: QEMU's migration stream in saved-state.bin (0600) and what resuming needs in
// saved.json. The VM counts as saved while the stream exists; it is written as
// saved-state.bin.partial and renamed only once complete and flushed (keeper/save-restore.ts).

export const SavedState = z.strictObject({
  savedAt: z.string().max(40),
  /** Whether the guest ran or was paused when saved: it resumes the same way. */
  resume: z.enum(['running', 'paused']),
  /** The versioned machine type the stream was made with (pc-q35-7.2, not the alias q35). */
  machine: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .nullable(),
  qemuVersion: z.string().max(40).nullable(),
  bytes: z.number().int().nonnegative(),
});
export type SavedState = z.infer<typeof SavedState>;

/** The VM's saved state, when it has one (its stream file is there). */
export async function readSavedState(vmDir: string): Promise<SavedState | null> {
  const layout = vmLayout(vmDir);
  const stream = await fs.stat(layout.savedState).catch(() => null);
  if (!stream?.isFile()) return null;
  try {
    return SavedState.parse(JSON.parse(await readCapped(layout.savedInfo, FILE_CAPS.record)));
  } catch {
    // saved.json is written before the stream is renamed into place, so only damage gets here:
    // resume anyway (as a running guest, on the machine type the alias names now) rather than lose it.
    return { savedAt: stream.mtime.toISOString(), resume: 'running', machine: null, qemuVersion: null, bytes: stream.size };
  }
}

/** Leftovers of a save cut short (no stream file): not a saved state, just litter. */
export async function removeSaveLeftovers(vmDir: string): Promise<void> {
  const layout = vmLayout(vmDir);
  await Promise.all([layout.savedPartial, layout.savedInfo].map((file) => fs.rm(file, { force: true })));
}

/** Forgets a saved state (force off of a saved VM): it boots afresh next time. */
export async function discardSavedState(vmDir: string, vmName: string): Promise<void> {
  // Under the VM's lock, so a start that is reading the state (another process) is not cut short.
  const lock = await acquireLock(vmDir, vmName, 'changing');
  try {
    const layout = vmLayout(vmDir);
    await fs.rm(layout.savedState, { force: true });
    await Promise.all([fs.rm(layout.savedInfo, { force: true }), fs.rm(layout.savedPartial, { force: true })]);
    await writeLastRun(vmDir, endedNow('stopped'));
  } finally {
    await lock.release();
  }
}
