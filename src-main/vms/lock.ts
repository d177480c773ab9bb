import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { isProcessAlive } from '../util/process';
import { FILE_CAPS, readCapped } from '../util/read-capped';
import { VM_FILE_NAMES } from './layout';

// A VM is locked while a process changes or runs it. The lock file is written whole under a
// private name and then linked into place: link() fails when the name exists, so of two
// processes racing for it exactly one wins, and a full disk leaves no lock at all rather
// than an empty one that would block every later start. A lock whose process has died is
// stale and taken over.

export type LockPurpose = 'changing' | 'running' | 'deleting';

export interface LockInfo {
  pid: number;
  purpose: LockPurpose;
  since: string;
}

const LOCK_FILE = VM_FILE_NAMES.lock;

export async function readLock(vmDir: string): Promise<LockInfo | null> {
  try {
    const info = JSON.parse(await readCapped(path.join(vmDir, LOCK_FILE), FILE_CAPS.lock)) as LockInfo;
    return typeof info.pid === 'number' ? info : null;
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
    // Empty: only its existence counts, so a full disk cannot leave half of it behind.
    await (await fs.open(gate, 'wx', 0o600)).close();
  } catch {
    // Someone else is taking over; a gate left by a crash mid-takeover expires.
    const stats = await fs.stat(gate).catch(() => null);
    if (stats && Date.now() - stats.mtimeMs > 5000) await fs.rm(gate, { force: true });
    return;
  }
  try {
    const now = await readLock(vmDir);
    if (seen && now && now.pid === seen.pid && now.since === seen.since) await fs.rm(file, { force: true });
    else if (!seen && !now) {
      // An unreadable lock is either being written right now or left by a crash mid-write.
      const stats = await fs.stat(file).catch(() => null);
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
      await createWhole(file, JSON.stringify(info));
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

/** Creates `file` with `content`, whole or not at all; EEXIST when it exists. */
async function createWhole(file: string, content: string): Promise<void> {
  const temp = `${path.join(path.dirname(file), `.${path.basename(file)}`)}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await fs.writeFile(temp, content, { flag: 'wx', mode: 0o600 });
    await fs.link(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
}
