import type { VmState } from '../../src-shared/vm';

const WORDS: Record<VmState, string> = {
  stopped: 'Stopped',
  starting: 'Starting…',
  running: 'Running',
  paused: 'Paused',
  'shutting-down': 'Shutting down…',
  crashed: 'Crashed',
  saved: 'Saved',
};

export function VmStateBadge({ state, broken }: { state: VmState; broken?: boolean }) {
  return <span className={`vm-state vm-state-${broken ? 'broken' : state}`}>{broken ? 'Broken' : WORDS[state]}</span>;
}
