import { formatBytes } from '../../src-shared/format';
import type { StoredFiles } from '../../src-shared/storage';

// `hangar storage` for people: the kept ISOs and disks, where they are and what they take.

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`).join('');
}

export function formatStoredFiles(stored: StoredFiles): string {
  let text = `ISO images in ${stored.isoDir}:\n`;
  text += stored.isos.length === 0 ? '  none\n' : table(stored.isos.map((iso) => [iso.path, formatBytes(iso.sizeBytes), iso.usedBy.length > 0 ? `in the CD drive of ${iso.usedBy.join(', ')}` : 'not used by any VM']));
  text += `\nDisks kept from deleted VMs in ${stored.keptDisksDir}:\n`;
  text += stored.keptDisks.length === 0 ? '  none\n' : table(stored.keptDisks.map((disk) => [disk.path, formatBytes(disk.sizeBytes), `from ${disk.fromVm}, kept ${disk.keptAt.slice(0, 10)}`]));
  if (stored.isos.length + stored.keptDisks.length > 0) text += '\nRemove one with: hangar storage remove PATH\n';
  return text;
}
