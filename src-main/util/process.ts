import { promises as fs, readFileSync } from 'node:fs';

/**
 * Whether a process with this pid runs (signal 0 checks without touching it). A zombie does
 * not: a killed keeper stays one until its parent reaps it, which in a container whose init
 * never reaps can be a long while, and taking it for alive would hide its orphaned QEMU.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces and parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    // No /proc entry any more: gone. (Where /proc is missing, kill(0) alone has spoken.)
    return false;
  }
}

/** The process's command line as an argument list, or null when it is gone. */
export async function processArgv(pid: number): Promise<string[] | null> {
  try {
    const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, index, all) => part !== '' || index < all.length - 1);
  } catch {
    return null;
  }
}
