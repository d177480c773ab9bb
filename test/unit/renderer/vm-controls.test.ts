import { describe, expect, it } from 'vitest';
import { VmState } from '../../../src-shared/vm';
import { isLive, vmControls } from '../../../src-renderer/store/vm-controls';

// The buttons a VM offers, on its page and in its library row, for every state.

const labels = (state: VmState, context = { busy: false, shutdownIgnored: false }) => vmControls(state, context).map((control) => control.label);
const rowLabels = (state: VmState, context = { busy: false, shutdownIgnored: false }) =>
  vmControls(state, context)
    .filter((control) => control.inRow)
    .map((control) => control.label);
const enabled = (state: VmState, busy: boolean) =>
  vmControls(state, { busy, shutdownIgnored: false })
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

  it('covers every state', () => {
    for (const state of VmState.options) expect(labels(state).length).toBeGreaterThan(0);
  });

  it('after the guest ignored the power button, the row offers Force off too', () => {
    expect(rowLabels('running', { busy: false, shutdownIgnored: true })).toEqual(['Shut down', 'Force off']);
  });

  it('while an action is on its way only Force off of a VM shutting down stays enabled', () => {
    expect(enabled('running', true)).toEqual([]);
    expect(enabled('stopped', true)).toEqual([]);
    expect(enabled('shutting-down', true)).toEqual(['Force off']);
    expect(enabled('shutting-down', false)).toEqual(['Force off', 'Reset']);
    expect(enabled('starting', false)).toEqual(['Delete…']);
  });

  it('calls a VM live while QEMU runs, shutting down included', () => {
    expect(VmState.options.filter(isLive)).toEqual(['running', 'paused', 'shutting-down']);
  });
});
