import { describe, expect, it } from 'vitest';
import { ORPHAN_PROBLEM, vmStatus, type RunFacts } from '../../../src-main/connection/vm-status';
import type { KnownVm } from '../../../src-main/connection/library-cache';
import type { LastRun } from '../../../src-main/vms/run-record';
import type { SavedState } from '../../../src-main/vms/saved-state';

// A VM's state from everything that can say so; one row per way it can be.

const entry = { id: 'vm-1', dir: '/nowhere/vm-1', config: null, broken: null };
const saved: SavedState = { savedAt: '2026-12-01T10:00:00.000Z', resume: 'running', machine: 'pc-q35-7.2', qemuVersion: '7.2.0', bytes: 1 };
const crash = (endedAt: string): LastRun => ({ state: 'crashed', problem: { message: 'QEMU ended: boom', log: ['boom'] }, endedAt, exitCode: 1, signal: null });
const keeper = { state: 'paused' as const, problem: null, accelerator: 'tcg' as const, qemuPid: 42 };
const nothing: RunFacts = { keeper: null, starting: false, orphanPid: null };

const rows: [string, KnownVm, RunFacts, { state: string; orphaned?: boolean; savedState?: boolean; pid?: number | null; problem?: string | null }][] = [
  ['never run', { entry, lastRun: null, saved: null }, nothing, { state: 'stopped', pid: null, problem: null }],
  ['its keeper speaks', { entry, lastRun: crash('2026-12-01T09:00:00.000Z'), saved: null }, { ...nothing, keeper }, { state: 'paused', pid: 42, problem: null }],
  ['a start on its way here', { entry, lastRun: null, saved: null }, { ...nothing, starting: true }, { state: 'starting' }],
  ['its keeper died, QEMU runs on', { entry, lastRun: null, saved: null }, { ...nothing, orphanPid: 7 }, { state: 'running', orphaned: true, pid: 7, problem: ORPHAN_PROBLEM }],
  // A start asked of an orphan must see the orphan, or it would start a second QEMU over it.
  ['an orphan while a start here asks', { entry, lastRun: null, saved: null }, { ...nothing, starting: true, orphanPid: 7 }, { state: 'running', orphaned: true }],
  ['saved', { entry, lastRun: null, saved }, nothing, { state: 'saved', savedState: true }],
  ['saved, and resuming now', { entry, lastRun: null, saved }, { ...nothing, keeper: { ...keeper, state: 'running' } }, { state: 'running', savedState: false }],
  ['a resume that failed after the save', { entry, lastRun: crash('2026-12-01T11:00:00.000Z'), saved }, nothing, { state: 'crashed', savedState: true, problem: 'QEMU ended: boom' }],
  ['crashed before it was saved', { entry, lastRun: crash('2026-12-01T09:00:00.000Z'), saved }, nothing, { state: 'saved', savedState: true }],
  ['crashed', { entry, lastRun: crash('2026-12-01T09:00:00.000Z'), saved: null }, nothing, { state: 'crashed', problem: 'QEMU ended: boom' }],
  ['ended cleanly', { entry, lastRun: { ...crash('2026-12-01T09:00:00.000Z'), state: 'stopped', problem: null }, saved: null }, nothing, { state: 'stopped', problem: null }],
];

describe('a VM state from its facts', () => {
  it.each(rows)('%s', (_name, vm, run, expected) => {
    const summary = vmStatus(vm, run);
    expect(summary.state).toBe(expected.state);
    expect(summary.orphaned).toBe(expected.orphaned ?? false);
    if (expected.savedState !== undefined) expect(summary.savedState).toBe(expected.savedState);
    if (expected.pid !== undefined) expect(summary.pid).toBe(expected.pid);
    if (expected.problem !== undefined) expect(summary.problem?.message ?? null).toBe(expected.problem);
  });
});
