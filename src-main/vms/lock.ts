import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { isProcessAlive } from '../util/process';
import { FILE_CAPS, readCapped } from '../util/read-capped';
import { VM_FILE_NAMES } from './layout';

// A VM is locked while a process changes or runs it. The lock is a symbolic link whose
// target says who holds it ("pid purpose since"), made by symlink(), which fails when the
// name exists: of two processes racing for it exactly one wins, and the lock is whole or
// absent, never an empty file that would block every later start. A short link needs no
// data block, so a full disk still takes it, and a VM can be deleted to free space. A lock
// whose process has died is stale and taken over. (Hangar 0.1 wrote the same facts as JSON
// in a plain file; such a lock, held by an old keeper still running, is read as well.)

export type LockPurpose = 'changing' | 'running' | 'deleting';

export interface LockInfo {
  pid: number;
  purpose: LockPurpose;
  since: string;
}

const LOCK_FILE = VM_FILE_NAMES.lock;

const PURPOSES: readonly LockPurpose[] = ['changing', 'running', 'deleting'];

function lockTarget(info: LockInfo): string {
  return `${info.pid} ${info.purpose} ${info.since}`;
}

function parseTarget(target: string): LockInfo | null {
  const [pid, purpose, since, ...rest] = target.split(' ');
  if (rest.length > 0 || !pid || !/^\d{1,10}$/.test(pid) || !PURPOSES.includes(purpose as LockPurpose) || !since) return null;
  return { pid: Number(pid), purpose: purpose as LockPurpose, since };
}

export async function readLock(vmDir: string): Promise<LockInfo | null> {
  const file = path.join(vmDir, LOCK_FILE);
  try {
    return parseTarget(await fs.readlink(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') return null;
  }
  // Not a link: a lock written by Hangar 0.1.
  try {
    const info = JSON.parse(await readCapped(file, FILE_CAPS.lock)) as LockInfo;
    return typeof info.pid === 'number' && PURPOSES.includes(info.purpose) && typeof info.since === 'string' ? info : null;
  } catch {
    return null;
  }
}

/** The lock if its holder is alive; a stale one is removed (see takeOver). */
export async function liveLock(vmDir: string): Promise<LockInfo | null> {
  const info = await readLock(vmDir);
  if (info && isProcessAlive(info.pid)) return info;
  await takeOver(vmDir, info);
  return null;
}

/**
 * Removes a stale lock. Racers that all saw the same dead holder must not each delete the
 * lock: one of them might already have replaced it with a fresh one. So removals go one at
 * a time through a second O_EXCL file, and the lock is read again under it.
 */
async function takeOver(vmDir: string, seen: LockInfo | null): Promise<void> {
  const file = path.join(vmDir, LOCK_FILE);
  const gate = path.join(vmDir, `${LOCK_FILE}.takeover`);
  try {
    // A link too: whole or absent, and a full disk takes it.
    await fs.symlink(String(process.pid), gate);
  } catch {
    // Someone else is taking over; a gate left by a crash mid-takeover expires.
    const stats = await fs.lstat(gate).catch(() => null);
    if (stats && Date.now() - stats.mtimeMs > 5000) await fs.rm(gate, { force: true });
    return;
  }
  try {
    const now = await readLock(vmDir);
    if (seen && now && now.pid === seen.pid && now.since === seen.since) await fs.rm(file, { force: true });
    else if (!seen && !now) {
      // An unreadable lock (damaged by hand: a link is never half-written) goes once it is old.
      const stats = await fs.lstat(file).catch(() => null);
      if (stats && Date.now() - stats.mtimeMs > 5000) await fs.rm(file, { force: true });
    }
  } finally {
    await fs.rm(gate, { force: true });
  }
}

const PURPOSE_WORDS: Record<LockPurpose, string> = { changing: 'being changed', running: 'running', deleting: 'being deleted' };

export interface VmLock {
  readonly info: LockInfo;
  release(): Promise<void>;
}

export async function acquireLock(vmDir: string, vmName: string, purpose: LockPurpose, pid = process.pid): Promise<VmLock> {
  const file = path.join(vmDir, LOCK_FILE);
  const info: LockInfo = { pid, purpose, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await fs.symlink(lockTarget(info), file);
      return {
        info,
        release: async () => {
          // Only remove the lock if it is still ours.
          const current = await readLock(vmDir);
          if (current?.pid === info.pid && current.since === info.since) await fs.rm(file, { force: true });
        },
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new HangarError('NO_SPACE', `The disk holding "${vmName}" is full, so Hangar cannot even take the VM's lock. Free some space and try again; nothing was changed.`);
      if (code !== 'EEXIST') throw error;
      const holder = await liveLock(vmDir);
      if (holder) throw new HangarError(holder.purpose === 'running' ? 'VM_RUNNING' : 'VM_BUSY', `The VM "${vmName}" is ${PURPOSE_WORDS[holder.purpose]} (process ${holder.pid}).`);
      // A stale lock is being cleared by someone: give them a moment.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
    }
  }
  throw new HangarError('VM_BUSY', `The VM "${vmName}" is locked by another process. Try again.`);
}
