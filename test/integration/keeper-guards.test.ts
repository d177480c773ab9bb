import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { KeeperClient, KeeperCommandError } from '../../src-main/qemu/keeper/client';
import { inspectRunFolder } from '../../src-main/qemu/supervisor';
import { call, makeSandbox, qemuPidsFor, type Sandbox } from '../support/engine';
import { ensureTestIso } from '../support/test-iso';

// What a real keeper lets through to QEMU, and how a run folder is matched to its QEMU.
// Anything that can reach control.sock may send QMP through the keeper: only the
// arguments Hangar itself sends go on. VMs without an OS: what is tested is the keeper.

let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-guards-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

const refused = async (promise: Promise<unknown>): Promise<KeeperCommandError> => {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KeeperCommandError);
  return error as KeeperCommandError;
};

describe('the keeper', () => {
  it('passes screendump only into its run folder and the CD only as a raw image by absolute path', async () => {
    await call(service, 'createVm', { name: 'Guarded', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'guarded' });
    const runDir = path.join(sandbox.root, 'run', 'guarded');
    const keeper = await KeeperClient.connect(path.join(runDir, 'control.sock'));
    try {
      const outside = path.join(sandbox.root, 'overwritten.png');
      await fs.writeFile(outside, 'precious\n');
      const picture = await refused(keeper.execute('screendump', { filename: outside, format: 'png' }));
      expect(picture).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/refuses screendump: .*run folder/) });
      expect(await fs.readFile(outside, 'utf8')).toBe('precious\n');

      const qcow = await refused(keeper.execute('blockdev-change-medium', { id: 'cd0', filename: iso, format: 'qcow2', 'read-only-mode': 'read-only' }));
      expect(qcow).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('raw') });
      await refused(keeper.execute('blockdev-change-medium', { id: 'cd0', filename: `json:{"driver":"file","filename":"${iso}"}`, format: 'raw', 'read-only-mode': 'read-only' }));
      await refused(keeper.execute('eject', { id: 'usb', force: true }));
      await refused(keeper.execute('quit', { 'no-such-argument': true }));
      // The keeper still serves this client, and the VM runs on.
      expect(await keeper.execute('query-status')).toMatchObject({ status: 'running' });

      // What Hangar sends itself goes through: a picture, a CD in and out.
      const shot = await call(service, 'getScreenshot', { vm: 'guarded' });
      expect(shot.width).toBeGreaterThan(0);
      expect((await call(service, 'changeMedia', { vm: 'guarded', iso })).config?.devices.cdroms[0]?.iso).toBe(iso);
      expect((await call(service, 'changeMedia', { vm: 'guarded', iso: null })).config?.devices.cdroms[0]?.iso).toBeNull();
    } finally {
      keeper.close();
      await call(service, 'stopVm', { vm: 'guarded', force: true, waitSeconds: 30 });
    }
  }, 120_000);
});

describe('the orphan check', () => {
  it("does not take VM foo's stale run folder for foo-2's QEMU", async () => {
    await call(service, 'createVm', { name: 'Foo', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'createVm', { name: 'Foo 2', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: 'foo-2' });
    const runRoot = path.join(sandbox.root, 'run');
    const holderPid = Number((await fs.readFile(path.join(runRoot, 'foo-2', 'holder.pid'), 'utf8')).trim());
    process.kill(holderPid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));

    // foo ran before and its keeper died; the pid it recorded for QEMU now belongs to foo-2's.
    const fooRun = path.join(runRoot, 'foo');
    await fs.mkdir(fooRun, { mode: 0o700 });
    await fs.writeFile(path.join(fooRun, 'holder.pid'), `${holderPid}\n`);
    await fs.writeFile(path.join(fooRun, 'qemu.pid'), `${started.pid}\n`);

    expect(await inspectRunFolder(fooRun, 'foo')).toEqual({ kind: 'none', stale: true, launchedAt: 0 });
    await expect(fs.stat(fooRun)).rejects.toThrow(/ENOENT/);
    expect(await inspectRunFolder(path.join(runRoot, 'foo-2'), 'foo-2')).toEqual({ kind: 'orphan', qemuPid: started.pid });

    const fresh = sandbox.service();
    expect((await call(fresh, 'getVm', { vm: 'foo-2' })).summary).toMatchObject({ state: 'running', pid: started.pid });
    await call(fresh, 'stopVm', { vm: 'foo-2', force: true });
    expect(qemuPidsFor('foo-2')).toEqual([]);
  }, 60_000);
});
