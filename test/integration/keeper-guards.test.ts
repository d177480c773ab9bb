import { promises as fs } from 'node:fs';
import net from 'node:net';
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

describe("the keeper's answers", () => {
  it('tell the state a command caused before the command\'s reply, so whoever asked sees it when the answer comes', async () => {
    // A client reads its reply and then the VM's state (the engine publishes it right away):
    // a reply that overtook the state change made "resume" answer "paused" (seen in CI).
    await call(service, 'createVm', { name: 'Ordered', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'ordered' });
    const socket = net.createConnection(path.join(sandbox.root, 'run', 'ordered', 'control.sock'));
    const lines: { type: string; id?: number; state?: string }[] = [];
    let pending = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) lines.push(JSON.parse(line) as { type: string; id?: number; state?: string });
    });
    const replied = async (id: number): Promise<void> => {
      while (!lines.some((line) => line.type === 'reply' && line.id === id)) await new Promise((resolve) => setTimeout(resolve, 2));
    };
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      for (let round = 0; round < 20; round++) {
        for (const [index, [execute, state]] of ([['stop', 'paused'], ['cont', 'running']] as const).entries()) {
          const id = round * 2 + index;
          socket.write(`${JSON.stringify({ type: 'qmp', id, execute })}\n`);
          await replied(id);
          const reply = lines.findIndex((line) => line.type === 'reply' && line.id === id);
          const told = lines.findIndex((line) => line.type === 'state' && line.state === state);
          expect(told, `${execute} (round ${round}): the ${state} state before the reply`).toBeGreaterThanOrEqual(0);
          expect(told, `${execute} (round ${round}): the ${state} state before the reply`).toBeLessThan(reply);
          lines.length = 0;
        }
      }
    } finally {
      socket.destroy();
      await call(service, 'stopVm', { vm: 'ordered', force: true, waitSeconds: 30 });
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
