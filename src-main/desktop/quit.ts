import type { HangarHandlers } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import type { VmState, VmSummary } from '../../src-shared/vm';
import type { QuitChoice } from './settings';

// Quitting the window while VMs run: keep them running (any Hangar finds them again),
// save their state to disk, or shut them all down. The shell asks; this carries it out
// through the same API as every door.

const LIVE: ReadonlySet<VmState> = new Set(['starting', 'running', 'paused', 'shutting-down']);
/** How long shutting down waits for a guest to power off before pulling the plug. */
const SHUTDOWN_WAIT_SECONDS = 60;

export async function liveVms(api: Pick<HangarHandlers, 'listVms'>): Promise<VmSummary[]> {
  return (await api.listVms({})).filter((vm) => LIVE.has(vm.state));
}

export interface QuitOutcome {
  /** What could not be done, one sentence per VM; empty when all went well. */
  failures: string[];
}

export async function carryOutQuitChoice(api: Pick<HangarHandlers, 'saveVm' | 'stopVm'>, choice: QuitChoice, vms: readonly VmSummary[]): Promise<QuitOutcome> {
  if (choice === 'keep') return { failures: [] };
  const results = await Promise.allSettled(
    vms.map(async (vm) => {
      if (choice === 'save') {
        await api.saveVm({ vm: vm.id });
        return;
      }
      try {
        await api.stopVm({ vm: vm.id, force: false, waitSeconds: SHUTDOWN_WAIT_SECONDS });
      } catch (error) {
        // A guest that ignores the power button would keep Hangar from quitting: force it off.
        if (!(error instanceof HangarError && error.code === 'TIMEOUT')) throw error;
        await api.stopVm({ vm: vm.id, force: true, waitSeconds: 30 });
      }
    }),
  );
  const failures = results.flatMap((result, index) => (result.status === 'rejected' ? [`${vms[index]?.name ?? 'A VM'}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`] : []));
  return { failures };
}

/** The question, in words, for the dialog. */
export function quitQuestion(vms: readonly VmSummary[]): { message: string; detail: string } {
  const names = vms.map((vm) => vm.name);
  const listed = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
  return {
    message: vms.length === 1 ? `${names[0]} is still running.` : `${vms.length} virtual machines are still running.`,
    detail: `${listed}\n\nKept running, they go on in the background and Hangar finds them again when it starts. Saved, they stop now and resume where they were when you start them.`,
  };
}

export const QUIT_BUTTONS: readonly { choice: QuitChoice | 'cancel'; label: string }[] = [
  { choice: 'keep', label: 'Keep Running in the Background' },
  { choice: 'save', label: 'Save and Quit' },
  { choice: 'shutdown', label: 'Shut Down and Quit' },
  { choice: 'cancel', label: 'Cancel' },
];
