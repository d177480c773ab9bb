import { promises as fs } from 'node:fs';

// How much room is left on the file system that holds a folder, for the checks that refuse
// to start writing something that cannot fit (disks, imports, uploaded ISOs).

/** Bytes an unprivileged user may still write under `dir` (statfs's available blocks, not the root-reserved ones). */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await fs.statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}
