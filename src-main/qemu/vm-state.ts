import type { VmState } from '../../src-shared/vm';
import type { QmpEvent } from './qmp';

// One state machine for a running VM, fed only by what QEMU tells us (QMP events and
// query-status) and by how its process ended. Pure, so every transition is tested.

export interface Tracker {
  state: VmState;
  /** QEMU said it is shutting down (guest powered off, or we asked it to quit). */
  shutdownSeen: boolean;
  /** Why the VM is in trouble, in words; null when all is well. */
  problem: string | null;
  /** Its state is on disk (the keeper saved it): ending now leaves it saved, not stopped. */
  saved: boolean;
}

export type TrackerInput =
  | { type: 'qmp-event'; event: QmpEvent }
  | { type: 'status'; status: string }
  | { type: 'exited'; code: number | null; signal: string | null }
  /** The keeper wrote the VM's state to disk and is about to quit QEMU. */
  | { type: 'saved' };

export const initialTracker = (): Tracker => ({ state: 'starting', shutdownSeen: false, problem: null, saved: false });

/** QMP query-status names -> our states. */
export function stateForStatus(status: string): VmState {
  switch (status) {
    case 'running':
      return 'running';
    case 'shutdown':
      return 'shutting-down';
    case 'guest-panicked':
    case 'internal-error':
      return 'crashed';
    default:
      // paused, prelaunch, suspended, io-error, inmigrate, postmigrate, finish-migrate, ...
      return 'paused';
  }
}

export function track(current: Tracker, input: TrackerInput): Tracker {
  const next = { ...current };
  if (input.type === 'status') {
    // Once QEMU said SHUTDOWN it is on its way out, whatever the status says meanwhile;
    // after only a POWERDOWN (button pressed) the guest may have ignored it and run on.
    if (current.shutdownSeen && input.status === 'running') return next;
    next.state = stateForStatus(input.status);
    return next;
  }
  if (input.type === 'saved') {
    next.saved = true;
    return next;
  }
  if (input.type === 'exited') {
    const clean = next.shutdownSeen && input.code === 0;
    // Whatever way QEMU ended after a save, the state on disk is whole: the VM is saved.
    if (next.saved) {
      next.state = 'saved';
      next.problem = null;
      return next;
    }
    next.state = clean ? 'stopped' : 'crashed';
    if (!clean && !next.problem) {
      next.problem = input.signal
        ? `QEMU was killed by ${input.signal}.`
        : input.code === 0
          ? 'QEMU exited without shutting the VM down.'
          : `QEMU stopped with exit code ${input.code ?? 'unknown'}.`;
    }
    return next;
  }
  const { event, data } = input.event;
  switch (event) {
    case 'STOP':
      if (!next.shutdownSeen && next.state !== 'crashed') next.state = 'paused';
      break;
    case 'RESUME':
      next.state = 'running';
      next.problem = null;
      break;
    case 'POWERDOWN':
      next.state = 'shutting-down';
      break;
    case 'SHUTDOWN':
      next.shutdownSeen = true;
      next.state = 'shutting-down';
      break;
    case 'GUEST_PANICKED':
      next.state = 'crashed';
      next.problem = 'The guest operating system crashed (kernel panic).';
      break;
    case 'BLOCK_IO_ERROR': {
      const reason = typeof data?.reason === 'string' ? data.reason : 'an I/O error';
      next.problem =
        data?.nospace === true
          ? 'The VM paused because the disk holding its image is full. Free space, then resume it.'
          : `The VM's disk reported ${reason}.`;
      if (data?.action === 'stop') next.state = 'paused';
      break;
    }
    default:
      break;
  }
  return next;
}
