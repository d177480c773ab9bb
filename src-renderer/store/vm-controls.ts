import type { VmState } from '../../src-shared/vm';
import type { VmAction } from './vms-slice';

// Which buttons a VM offers in each state, and which of them its library row shows as well:
// one table for the VM page and the library, so the two never disagree.

export type VmCommand = { kind: 'action'; action: VmAction } | { kind: 'stop'; force: boolean } | { kind: 'delete' };

export interface VmControl {
  label: string;
  command: VmCommand;
  enabled: boolean;
  /** A longer explanation, shown on hover. */
  title?: string;
  danger?: boolean;
  /** Offered in the library row too, not only on the VM page. */
  inRow: boolean;
}

export interface VmControlContext {
  /** An action on the VM is on its way. */
  busy: boolean;
  /** The guest ignored the last press of its power button. */
  shutdownIgnored: boolean;
}

const LIVE: ReadonlySet<VmState> = new Set(['running', 'paused', 'shutting-down']);

/** QEMU runs: the console and the screen are there, and the VM can be shut down. */
export const isLive = (state: VmState): boolean => LIVE.has(state);

export function vmControls(state: VmState, { busy, shutdownIgnored }: VmControlContext): VmControl[] {
  if (!isLive(state)) {
    return [
      { label: state === 'saved' ? 'Resume' : 'Start', command: { kind: 'action', action: 'startVm' }, enabled: !busy && state !== 'starting', inRow: true },
      ...(state === 'saved' ? [{ label: 'Discard saved state', command: { kind: 'stop', force: true } as const, enabled: !busy, title: 'Forget the saved state: the VM boots afresh next time', inRow: false }] : []),
      { label: 'Delete…', command: { kind: 'delete' }, enabled: !busy, danger: true, inRow: false },
    ];
  }
  const shuttingDown = state === 'shutting-down';
  return [
    { label: 'Shut down', command: { kind: 'stop', force: false }, enabled: !busy && !shuttingDown, inRow: true },
    // While the guest is asked to power off (the shutdown call is busy waiting) force off is the way out.
    { label: 'Force off', command: { kind: 'stop', force: true }, enabled: !busy || shuttingDown, inRow: shuttingDown || shutdownIgnored },
    ...(state === 'shutting-down'
      ? []
      : [
          { label: 'Save state', command: { kind: 'action', action: 'saveVm' } as const, enabled: !busy, title: 'Save its memory to disk and stop it; Resume continues where it was', inRow: false },
          state === 'running'
            ? { label: 'Pause', command: { kind: 'action', action: 'pauseVm' } as const, enabled: !busy, inRow: false }
            : { label: 'Resume', command: { kind: 'action', action: 'resumeVm' } as const, enabled: !busy, inRow: false },
        ]),
    { label: 'Reset', command: { kind: 'action', action: 'resetVm' }, enabled: !busy, inRow: false },
  ];
}
