import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProgram } from '../../src-main/util/run';

// A small, real file system that fills up: the honest way to test "the disk is full".
// Tests run as root in CI; without the right to mount, they fail loudly instead of skipping.

export interface Tmpfs {
  dir: string;
  cleanup(): Promise<void>;
}

/** A tmpfs of `sizeBytes`; with `inodes`, it also holds at most that many files (and runs out of them first). */
export async function withTmpfs(sizeBytes: number, { inodes }: { inodes?: number } = {}): Promise<Tmpfs> {
  if (!Number.isInteger(sizeBytes) || sizeBytes <= 0) throw new Error(`withTmpfs needs a whole number of bytes, not ${sizeBytes}.`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-tmpfs-'));
  const mounted = await runProgram('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700${inodes ? `,nr_inodes=${inodes}` : ''}`, 'tmpfs', dir]);
  if (mounted.code !== 0) {
    await fs.rmdir(dir).catch(() => {});
    const why = (mounted.spawnError ?? mounted.stderr.trim()) || `exit code ${mounted.code}`;
    throw new Error(`Mounting a tmpfs is not permitted here (mount -t tmpfs: ${why}). These tests need root to mount a small file system that fills up.`);
  }
  let cleaned = false;
  return {
    dir,
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      const unmounted = await runProgram('umount', [dir]);
      if (unmounted.code !== 0) throw new Error(`umount ${dir} failed: ${(unmounted.spawnError ?? unmounted.stderr.trim()) || `exit code ${unmounted.code}`}`);
      await fs.rmdir(dir);
    },
  };
}

/** Fills the file system holding `dir` until not one more byte fits; returns the filler's path. */
export async function fillUp(dir: string): Promise<string> {
  const filler = path.join(dir, 'filler');
  const handle = await fs.open(filler, 'wx');
  try {
    // Big blocks first, then ever smaller ones, so the last partial page is used up too.
    for (let size = 1024 * 1024; size >= 1; size = Math.floor(size / 2)) {
      const block = Buffer.alloc(size, 0xaa);
      for (;;) {
        try {
          const { bytesWritten } = await handle.write(block);
          if (bytesWritten < size) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return filler;
}

/** Takes every free inode of the file system holding `dir` (empty files in a folder of their own); returns that folder. */
export async function useUpFiles(dir: string): Promise<string> {
  const folder = path.join(dir, 'files');
  await fs.mkdir(folder);
  for (let n = 0; ; n++) {
    try {
      await (await fs.open(path.join(folder, String(n)), 'wx')).close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return folder;
      throw error;
    }
  }
}
