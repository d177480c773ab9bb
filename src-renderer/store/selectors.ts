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

/** VMs in the order people look for them: by name. */
export function sortedVms(vms: Record<string, VmSummary>): VmSummary[] {
  return Object.values(vms).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }));
}
