import { describe, expect, it } from 'vitest';
import { VmState, type VmSummary } from '../../../src-shared/vm';
import { mayI } from '../../../src-shared/vm-rules';
import { vmControls } from '../../../src-renderer/store/vm-controls';

// The buttons a VM offers, on its page and in its library row, for every state; whether one
// may be pressed is the engine's own rule.

const vm = (state: VmState, extra: Partial<VmSummary> = {}): VmSummary => ({ id: 'vm', name: 'VM', state, broken: null, problem: null, config: null, accelerator: null, pid: null, orphaned: false, savedState: state === 'saved', ...extra });
const idle = { busy: false, shutdownIgnored: false };
const labels = (state: VmState, context = idle) => vmControls(vm(state), context).map((control) => control.label);
const rowLabels = (state: VmState, context = idle) =>
  vmControls(vm(state), context)
    .filter((control) => control.inRow)
    .map((control) => control.label);
const enabled = (state: VmState, busy: boolean) =>
  vmControls(vm(state), { busy, shutdownIgnored: false })
    .filter((control) => control.enabled)
    .map((control) => control.label);

describe('vmControls', () => {
  it.each([
    { state: 'stopped', page: ['Start', 'Delete…'], row: ['Start'] },
    { state: 'crashed', page: ['Start', 'Delete…'], row: ['Start'] },
    { state: 'saved', page: ['Resume', 'Discard saved state', 'Delete…'], row: ['Resume'] },
    { state: 'starting', page: ['Start', 'Delete…'], row: ['Start'] },
    { state: 'running', page: ['Shut down', 'Force off', 'Save state', 'Pause', 'Reset'], row: ['Shut down'] },
    { state: 'paused', page: ['Shut down', 'Force off', 'Save state', 'Resume', 'Reset'], row: ['Shut down'] },
    // Waiting for the guest to power off, the row offers the way out as the page does.
    { state: 'shutting-down', page: ['Shut down', 'Force off', 'Reset'], row: ['Shut down', 'Force off'] },
  ] as const)('$state: the page offers $page, the row $row', ({ state, page, row }) => {
    expect(labels(state)).toEqual(page);
    expect(rowLabels(state)).toEqual(row);
  });

  it('after the guest ignored the power button, the row offers Force off too', () => {
    expect(rowLabels('running', { busy: false, shutdownIgnored: true })).toEqual(['Shut down', 'Force off']);
  });

  it('while an action is on its way only Force off of a VM shutting down stays enabled', () => {
    expect(enabled('running', true)).toEqual([]);
    expect(enabled('stopped', true)).toEqual([]);
    expect(enabled('shutting-down', true)).toEqual(['Force off']);
    expect(enabled('shutting-down', false)).toEqual(['Force off', 'Reset']);
    // The engine refuses to delete (or start again) a VM that is starting; so does the window.
    expect(enabled('starting', false)).toEqual([]);
  });

  it('enables a button exactly when the engine\'s rule allows it, and says why not', () => {
    for (const state of VmState.options) {
      for (const control of vmControls(vm(state), idle)) {
        const verdict = mayI(control.rule, vm(state));
        expect(control.enabled, `${control.label} when ${state}`).toBe(verdict.ok);
        if (!verdict.ok) expect(control.title).toBe(verdict.reason);
      }
    }
  });

  it('a VM running without its keeper offers force off, in its row too, and nothing else', () => {
    const controls = vmControls(vm('running', { orphaned: true }), idle);
    expect(controls.filter((control) => control.enabled).map((control) => control.label)).toEqual(['Force off']);
    expect(controls.filter((control) => control.inRow).map((control) => control.label)).toEqual(['Shut down', 'Force off']);
  });
});
