import type { Accelerator } from '../../src-shared/host';
import type { VmProblem, VmState, VmSummary } from '../../src-shared/vm';
import type { KnownVm } from './library-cache';

// What state a VM is in, from everything that can say so: its keeper (while it runs), a
// start on its way in this process, a QEMU running without its keeper, and the records in
// its folder (how the last run ended, a saved state). Pure: every case is a table row in
// its unit test.

export interface RunFacts {
  /** The keeper's word, when this process is connected to it. */
  keeper: { state: VmState; problem: VmProblem | null; accelerator: Accelerator; qemuPid: number } | null;
  starting: boolean;
  /** The QEMU of a VM whose keeper died, still running. */
  orphanPid: number | null;
}

export const ORPHAN_PROBLEM = "Hangar lost this VM's keeper process; the VM runs on unsupervised. Force it off to take it back.";

export function vmStatus(vm: KnownVm, run: RunFacts): VmSummary {
  const { entry, lastRun, saved } = vm;
  const base = { id: entry.id, name: entry.config?.name ?? entry.id, broken: entry.broken, config: entry.config, orphaned: false, savedState: saved !== null && !run.keeper };
  if (run.keeper) {
    const { state, problem } = run.keeper;
    // The run's last word, heard a moment before the keeper hangs up: already what the records
    // will say once it has, so that the end is told once, not once per source.
    if (state === 'stopped' || state === 'crashed' || state === 'saved') return { ...base, savedState: state === 'saved', state, problem, accelerator: null, pid: null };
    return { ...base, state, problem, accelerator: run.keeper.accelerator, pid: run.keeper.qemuPid };
  }
  // An orphan is what runs, even while a start in this process is asking about it.
  if (run.orphanPid !== null) return { ...base, state: 'running', problem: { message: ORPHAN_PROBLEM, log: [] }, accelerator: null, pid: run.orphanPid, orphaned: true };
  if (run.starting) return { ...base, state: 'starting', problem: null, accelerator: null, pid: null };
  const crashed = lastRun?.state === 'crashed';
  // Saved, unless a resume failed since (then crashed with QEMU's words; the state is kept).
  if (saved && !(crashed && Date.parse(lastRun.endedAt) > Date.parse(saved.savedAt))) return { ...base, state: 'saved', problem: null, accelerator: null, pid: null };
  return { ...base, state: crashed ? 'crashed' : 'stopped', problem: crashed ? lastRun.problem : null, accelerator: null, pid: null };
}
