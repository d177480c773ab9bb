import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-shared/errors';
import { acquireLock, liveLock, readLock, type VmLock } from '../../../src-main/vms/lock';
import { VmLibrary } from '../../../src-main/vms/library';
import { sampleDraft } from './sample';
import { refusal } from '../../support/refusal';

let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-lock-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fs.rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has certainly ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

/** A process that stays alive for the test (killed afterwards). */
async function liveChild(): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('spawn', () => resolve());
  });
  return child.pid!;
}


const lockFile = (): string => path.join(dir, 'lock');
const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('acquireLock', () => {
  it('makes a lock (a link naming our pid, purpose and time) and release removes it', async () => {
    const lock = await acquireLock(dir, 'Debian', 'changing');
    expect(lock.info.pid).toBe(process.pid);
    expect(lock.info.purpose).toBe('changing');
    // Whole or absent by construction, and no data block needed: a full disk still takes it.
    expect((await fs.lstat(lockFile())).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(lockFile())).toBe(`${process.pid} changing ${lock.info.since}`);
    expect(await readLock(dir)).toEqual(lock.info);
    await lock.release();
    await expect(fs.access(lockFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    ['changing', 'VM_BUSY', 'being changed'],
    ['deleting', 'VM_BUSY', 'being deleted'],
    ['running', 'VM_RUNNING', 'running'],
  ] as const)('a second lock while one is held for %s is refused with %s, naming purpose and pid', async (purpose, code, words) => {
    const first = await acquireLock(dir, 'Debian', purpose);
    const error = await refusal(acquireLock(dir, 'Debian', 'changing'));
    expect(error.code).toBe(code);
    expect(error.message).toBe(`The VM "Debian" is ${words} (process ${process.pid}).`);
    // The refused attempt did not disturb the holder's lock.
    expect(await readLock(dir)).toEqual(first.info);
    await first.release();
  });

  it('can be taken again after release', async () => {
    const first = await acquireLock(dir, 'Debian', 'changing');
    await first.release();
    const second = await acquireLock(dir, 'Debian', 'running');
    expect(await readLock(dir)).toEqual(second.info);
    await second.release();
    expect(await readLock(dir)).toBeNull();
  });

  it('release leaves alone a lock that is no longer ours', async () => {
    const first = await acquireLock(dir, 'Debian', 'changing');
    const other = { pid: await liveChild(), purpose: 'running', since: new Date().toISOString() };
    // Replaced meanwhile, here by a lock as Hangar 0.1 wrote them (JSON in a plain file): read too.
    await fs.rm(lockFile());
    await fs.writeFile(lockFile(), JSON.stringify(other));
    await first.release();
    expect(await readLock(dir)).toEqual(other);
  });

  it('takes over a lock left by a process that has died', async () => {
    const pid = await deadPid();
    await fs.writeFile(lockFile(), JSON.stringify({ pid, purpose: 'running', since: '2020-01-01T00:00:00.000Z' }));
    const lock = await acquireLock(dir, 'Debian', 'changing');
    expect(await readLock(dir)).toEqual(lock.info);
    expect(lock.info.pid).toBe(process.pid);
    await lock.release();
  });

  it('is blocked by a lock held by a live process, and free once it dies', async () => {
    const pid = await liveChild();
    const held = await acquireLock(dir, 'Debian', 'running', pid);
    expect(held.info.pid).toBe(pid);
    expect((await readLock(dir))?.pid).toBe(pid);

    const error = await refusal(acquireLock(dir, 'Debian', 'changing'));
    expect(error.code).toBe('VM_RUNNING');
    expect(error.message).toBe(`The VM "Debian" is running (process ${pid}).`);
    expect(await liveLock(dir)).toEqual(held.info);

    const child = children.find((candidate) => candidate.pid === pid)!;
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGKILL');
    });
    const mine = await acquireLock(dir, 'Debian', 'changing');
    expect(mine.info.pid).toBe(process.pid);
    await mine.release();
  });

  it('leaves a fresh unreadable lock alone (it may be being written) and clears an old one', async () => {
    await fs.writeFile(lockFile(), '');
    expect(await liveLock(dir)).toBeNull();
    await expect(fs.readFile(lockFile(), 'utf8')).resolves.toBe('');
    const error = await refusal(acquireLock(dir, 'Debian', 'changing'));
    expect(error.code).toBe('VM_BUSY');
    expect(error.message).toBe('The VM "Debian" is locked by another process. Try again.');

    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lockFile(), old, old);
    expect(await liveLock(dir)).toBeNull();
    await expect(fs.access(lockFile())).rejects.toMatchObject({ code: 'ENOENT' });
    await (await acquireLock(dir, 'Debian', 'changing')).release();
  });

  // Started together, or a fraction of a millisecond apart so that their steps interleave.
  it.each([0, 0.2, 1])('of 20 racing acquirers (started %s ms apart) exactly one wins; the others are told the VM is busy', async (stagger) => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => later(index * stagger).then(() => acquireLock(dir, 'Debian', 'changing'))));
    const winners = results.filter((result): result is PromiseFulfilledResult<VmLock> => result.status === 'fulfilled');
    const losers = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) {
      expect(loser.reason).toBeInstanceOf(HangarError);
      expect((loser.reason as HangarError).code).toBe('VM_BUSY');
    }
    expect(await readLock(dir)).toEqual(winners[0]!.value.info);
  });

  // Regression (was a bug): taking over a stale lock is read-then-rm, so a racer that read the stale
  // lock removes the fresh lock another racer has just made, and both believe they hold it.
  //
  it('of 20 racing acquirers over a dead process\'s lock exactly one wins', async () => {
    const pid = await deadPid();
    for (let trial = 0; trial < 5; trial++) {
      await fs.writeFile(lockFile(), JSON.stringify({ pid, purpose: 'running', since: '2020-01-01T00:00:00.000Z' }));
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => later(index * 0.2).then(() => acquireLock(dir, 'Debian', 'changing'))));
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      await fs.rm(lockFile(), { force: true });
    }
  });
});

describe('VmLibrary.update and the lock', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-lock-lib-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('whileRunning passes a running lock (and leaves it in place)', async () => {
    const library = new VmLibrary(root);
    const config = await library.create(sampleDraft());
    const running = await acquireLock(library.vmDir(config.id), config.name, 'running', await liveChild());
    const updated = await library.update(config.id, (current) => ({ ...current, os: null }), { whileRunning: true });
    expect(updated.os).toBeNull();
    expect((await library.get(config.id)).config.os).toBeNull();
    expect(await readLock(library.vmDir(config.id))).toEqual(running.info);
  });

  it('without whileRunning a running VM is refused with VM_RUNNING and not changed', async () => {
    const library = new VmLibrary(root);
    const config = await library.create(sampleDraft());
    const pid = await liveChild();
    await acquireLock(library.vmDir(config.id), config.name, 'running', pid);
    const error = await refusal(library.update(config.id, (current) => ({ ...current, os: null })));
    expect(error.code).toBe('VM_RUNNING');
    expect(error.message).toBe(`The VM "Debian 12" is running (process ${pid}).`);
    expect((await library.get(config.id)).config.os).toEqual({ family: 'debian', name: 'Debian 12' });
  });

  it.each(['changing', 'deleting'] as const)('whileRunning does not pass a %s lock: VM_BUSY, nothing changed', async (purpose) => {
    const library = new VmLibrary(root);
    const config = await library.create(sampleDraft());
    const pid = await liveChild();
    const held = await acquireLock(library.vmDir(config.id), config.name, purpose, pid);
    const error = await refusal(library.update(config.id, (current) => ({ ...current, os: null }), { whileRunning: true }));
    expect(error.code).toBe('VM_BUSY');
    expect(error.message).toContain(`(process ${pid})`);
    expect((await library.get(config.id)).config.os).toEqual({ family: 'debian', name: 'Debian 12' });
    expect(await readLock(library.vmDir(config.id))).toEqual(held.info);
  });

  it('releases its own lock after the change, and after a failed change', async () => {
    const library = new VmLibrary(root);
    const config = await library.create(sampleDraft());
    await library.update(config.id, (current) => ({ ...current, machine: { ...current.machine, cpus: 4 } }));
    expect(await readLock(library.vmDir(config.id))).toBeNull();
    await expect(
      library.update(config.id, () => {
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await readLock(library.vmDir(config.id))).toBeNull();
  });
});
