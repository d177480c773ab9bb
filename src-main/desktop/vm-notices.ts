import type { VmState, VmSummary } from '../../src-shared/vm';

// A desktop notification when a VM stops or crashes while the window is not looked at.
// Pure: the shell keeps the last state per VM and shows what this returns.

const LIVE: ReadonlySet<VmState> = new Set(['starting', 'running', 'paused', 'shutting-down']);

export interface Notice {
  title: string;
  body: string;
}

export function noticeFor(previous: VmState | undefined, vm: VmSummary): Notice | null {
  if (previous === undefined || !LIVE.has(previous) || vm.state === previous) return null;
  if (vm.state === 'crashed') return { title: `${vm.name} crashed`, body: vm.problem?.message ?? 'Its QEMU process ended unexpectedly.' };
  if (vm.state === 'stopped') return { title: `${vm.name} stopped`, body: 'The virtual machine shut down.' };
  if (vm.state === 'saved') return { title: `${vm.name} saved`, body: 'Its state is on disk; start it to resume where it was.' };
  return null;
}
