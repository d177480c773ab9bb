import { z } from 'zod';
import { VmProblem } from '../../src-shared/vm';
import { atomicWriteFile } from '../util/atomic-write';
import { FILE_CAPS, readCapped } from '../util/read-capped';
import { vmLayout } from './layout';

// How a VM's last run ended (last-run.json in its folder): written by its keeper when QEMU
// ends, or by whoever finds a run that ended unrecorded; kept across restarts, so a crash is
// still explained after the machine rebooted.

export const LastRun = z.strictObject({
  state: z.enum(['stopped', 'crashed', 'saved']),
  problem: VmProblem.nullable(),
  endedAt: z.string().max(40),
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
});
export type LastRun = z.infer<typeof LastRun>;

/** The record, or null when there is none or it cannot be read (it only explains; it never decides). */
export async function readLastRun(vmDir: string): Promise<LastRun | null> {
  try {
    return LastRun.parse(JSON.parse(await readCapped(vmLayout(vmDir).lastRun, FILE_CAPS.record)));
  } catch {
    return null;
  }
}

/** Writes the record; a full disk costs the record, never the caller (it says so by returning false). */
export async function writeLastRun(vmDir: string, record: LastRun): Promise<boolean> {
  try {
    await atomicWriteFile(vmLayout(vmDir).lastRun, JSON.stringify(LastRun.parse(record), null, 2) + '\n');
    return true;
  } catch {
    return false;
  }
}

/** A run that ended now, for the given reason. */
export function endedNow(state: LastRun['state'], problem: LastRun['problem'] = null): LastRun {
  return { state, problem, endedAt: new Date().toISOString(), exitCode: null, signal: null };
}
