import type { CheckStatus } from '../../src-shared/host';

const WORDS: Record<CheckStatus, string> = { pass: 'OK', warn: 'Warning', fail: 'Problem' };

export function StatusBadge({ status }: { status: CheckStatus }) {
  return <span className={`status-badge status-${status}`}>{WORDS[status]}</span>;
}
