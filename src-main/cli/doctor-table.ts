import { CHECK_GROUP_TITLES, CheckGroup, type CheckStatus, type HostReport } from '../../src-shared/host';

const MARK: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'warn', fail: 'FAIL' };
const COLOR: Record<CheckStatus, string> = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' };

/** The host report as a table a person reads in a terminal. */
export function formatDoctorReport(report: HostReport, color: boolean): string {
  const paint = (status: CheckStatus, text: string): string => (color ? `${COLOR[status]}${text}\x1b[0m` : text);
  const bold = (text: string): string => (color ? `\x1b[1m${text}\x1b[0m` : text);
  const lines: string[] = [];
  lines.push(bold(`Hangar host check — ${report.distro.name}`));
  lines.push('');
  for (const group of CheckGroup.options) {
    const checks = report.checks.filter((check) => check.group === group);
    if (checks.length === 0) continue;
    lines.push(bold(CHECK_GROUP_TITLES[group]));
    for (const check of checks) {
      lines.push(`  ${paint(check.status, MARK[check.status])}  ${check.summary}`);
      if (check.status !== 'pass' && check.detail) lines.push(`        ${check.detail}`);
      if (check.fix) lines.push(`        fix: ${check.fix}`);
    }
    lines.push('');
  }
  const accel = report.accelerator === 'kvm' ? 'KVM (hardware virtualization)' : 'TCG (software emulation)';
  lines.push(bold(`Accelerator for new VMs: ${accel}`));
  lines.push(`  ${report.accelerator_reason}`);
  lines.push('');
  lines.push(
    report.can_run_vms
      ? paint('pass', 'This machine can run VMs.')
      : paint('fail', 'This machine cannot run VMs yet: fix the FAIL lines above.'),
  );
  return lines.join('\n') + '\n';
}
