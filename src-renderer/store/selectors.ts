import { CheckGroup, type CheckStatus, type HostCheck } from '../../src-shared/host';
import type { VmSummary } from '../../src-shared/vm';
import type { AppState } from './index';

export const selectHostReport = (state: AppState) => state.hostReport;

/** The checks of each group, in the order the Host screen shows them. */
export function groupChecks(checks: readonly HostCheck[]): { group: CheckGroup; checks: HostCheck[] }[] {
  return CheckGroup.options.map((group) => ({ group, checks: checks.filter((check) => check.group === group) })).filter((entry) => entry.checks.length > 0);
}

export function countByStatus(checks: readonly HostCheck[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const check of checks) counts[check.status]++;
  return counts;
}

// One collator for every comparison: localeCompare with options builds one per call, which
// made sorting a library of 500 VMs take 20-40 ms of the window's first paint.
const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
/** The last library sorted, and its order: the library screen renders again for many reasons, the VMs change more rarely. */
let lastSorted: { vms: Record<string, VmSummary>; list: VmSummary[] } | null = null;

/** VMs in the order people look for them: by name. The same array for the same record. */
export function sortedVms(vms: Record<string, VmSummary>): VmSummary[] {
  if (lastSorted?.vms !== vms) lastSorted = { vms, list: Object.values(vms).sort((a, b) => byName.compare(a.name, b.name)) };
  return lastSorted.list;
}
