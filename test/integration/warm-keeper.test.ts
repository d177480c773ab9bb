import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discardWarmKeeper, findKeeperEntry, warmKeeper } from '../../src-main/qemu/keeper/warm';
import { createHangarService } from '../../src-main/api/service';
import { call, makeSandbox, qemuPidsFor, type Sandbox } from '../support/engine';
import { ensureTestIso } from '../support/test-iso';

// A start begins its keeper before it knows the VM (qemu/keeper/warm.ts). The keeper it began
// must be the one that keeps the VM, and a start that is refused must leave no process behind.

let sandbox: Sandbox;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-warm-');
});
afterAll(async () => {
  await sandbox.cleanup();
});

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Warm keepers this test process began that still run (other test files have their own). */
function ownWarmKeepers(): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (cmdline.includes('--wait-for-run-dir') && ppid === process.pid) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('a warm keeper', () => {
  it('let go unused, ends at once having touched nothing', async () => {
    const warm = warmKeeper(findKeeperEntry());
    expect(warm).not.toBeNull();
    discardWarmKeeper(warm!);
    expect(await exited(warm!)).toBe(0);
  });

  it('is the keeper of the VM the start was for', async () => {
    const service0 = sandbox.service();
    await call(service0, 'createVm', { name: 'Warm', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    const warm = warmKeeper(findKeeperEntry())!;
    const service = createHangarService({ door: 'cli', env: sandbox.env, warmKeeper: warm });
    try {
      const started = await call(service, 'startVm', { vm: 'warm' });
      expect(started.state).toBe('running');
      const [qemu] = qemuPidsFor('warm');
      expect(qemu).toBeDefined();
      // QEMU's parent is the process begun warm, which therefore still runs.
      expect(Number(readFileSync(`/proc/${qemu}/stat`, 'utf8').split(') ')[1]?.split(' ')[1])).toBe(warm.pid);
      expect(warm.exitCode).toBeNull();
      await call(service, 'stopVm', { vm: 'warm', force: true });
      await exited(warm);
      expect(qemuPidsFor('warm')).toEqual([]);
    } finally {
      service.close();
    }
  }, 120_000);

  it('is let go when the start is refused, and a refused start begins none that stays', async () => {
    // A VM whose ISO has gone: its start is refused only once the VM is known.
    const lostIso = path.join(sandbox.root, 'lost.iso');
    await fs.copyFile(iso, lostIso);
    await call(sandbox.service(), 'createVm', { name: 'Lost', iso: lostIso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    await fs.rm(lostIso);
    const warm = warmKeeper(findKeeperEntry())!;
    const service = createHangarService({ door: 'cli', env: sandbox.env, warmKeeper: warm });
    try {
      await expect(call(service, 'startVm', { vm: 'lost' })).rejects.toMatchObject({ code: 'ISO_NOT_FOUND' });
      expect(await exited(warm)).toBe(0);
      // The service's warm keeper is spent; a second refused start begins its own and lets it go.
      await expect(call(service, 'startVm', { vm: 'lost' })).rejects.toMatchObject({ code: 'ISO_NOT_FOUND' });
      await expect.poll(() => ownWarmKeepers(), { timeout: 10_000 }).toEqual([]);
      expect(qemuPidsFor('lost')).toEqual([]);
    } finally {
      service.close();
    }
  }, 60_000);
});
