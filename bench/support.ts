import { promises as fs } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../test/support/paths';

export const resultsDir = path.join(repoRoot, 'bench', 'results');

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 0 ? ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2 : (sorted[middle] ?? 0);
}

/** Merges a benchmark's figures into bench/results/latest.json and prints them. */
export async function record(name: string, figures: Record<string, unknown>): Promise<void> {
  await fs.mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, 'latest.json');
  const all = JSON.parse(await fs.readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  all[name] = { ...figures, measuredAt: new Date().toISOString() };
  await fs.writeFile(file, JSON.stringify(all, null, 2) + '\n');
  console.log(`\n== ${name} ==\n${JSON.stringify(figures, null, 2)}`);
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from the state field (3).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
