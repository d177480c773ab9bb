import { promises as fs, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKeeperEntry } from '../../src-main/qemu/keeper/wake';
import { launchKeeper } from '../../src-main/qemu/supervisor';
import { readLastRun } from '../../src-main/vms/run-record';
import { IDLE_MS } from '../../src-main/qemu/keeper/daemon';
import { isProcessAlive } from '../../src-main/util/process';
import { call, followConsole, makeSandbox, qemuPidsFor, type Sandbox } from '../support/engine';
import { TEST_GUEST_READY, ensureTestIso } from '../support/test-iso';

// The keeper is one Node process per user (qemu/keeper/daemon.ts); under it each VM has a
// holder in C, QEMU's parent. What the split must keep: VMs outlive the keeper, a new keeper
// takes them up again, and every run's end is recorded with its exit status, keeper or not.

let sandbox: Sandbox;
let iso: string;
let runRoot: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-keeper-');
  runRoot = path.join(sandbox.root, 'run');
});
afterAll(async () => {
  await sandbox.cleanup();
});

const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
const commandOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const keeperPid = async (): Promise<number> => Number((await fs.readFile(path.join(runRoot, 'keeper.pid'), 'utf8')).trim());
const holderPid = async (vm: string): Promise<number> => Number((await fs.readFile(path.join(runRoot, vm, 'holder.pid'), 'utf8')).trim());

function keeperWord(): Promise<string> {
  const child = spawn(process.execPath, [findKeeperEntry()!, runRoot], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  child.unref();
  return new Promise((resolve) => {
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stdout.on('end', () => resolve(text.trim()));
  });
}

describe('the keeper', () => {
  it('is started by the first start, runs each QEMU under a holder of its own, and is one for all VMs', async () => {
    const service = sandbox.service();
    await call(service, 'createVm', { name: 'One', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'createVm', { name: 'Two', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'one' });
    await call(service, 'startVm', { vm: 'two' });
    const keeper = await keeperPid();
    expect(commandOf(keeper).some((arg) => arg.endsWith('keeper.js'))).toBe(true);
    for (const vm of ['one', 'two']) {
      const [qemu] = qemuPidsFor(vm);
      const holder = await holderPid(vm);
      expect(parentOf(qemu!)).toBe(holder);
      expect(path.basename(commandOf(holder)[0]!)).toBe('hangar-holder');
      expect(parentOf(holder)).toBe(keeper);
    }
    // A second keeper started by hand finds the first one serving and goes.
    expect(await keeperWord()).toBe('other');
    await call(service, 'stopVm', { vm: 'one', force: true, waitSeconds: 20 });
    await call(service, 'stopVm', { vm: 'two', force: true, waitSeconds: 20 });
    service.close();
  }, 120_000);

  it('dies without losing a VM: the next Hangar process finds it running and a new keeper takes it up', async () => {
    const service = sandbox.service();
    await call(service, 'createVm', { name: 'Survivor', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: 'survivor' });
    const boot = await followConsole(service, 'survivor');
    await boot.waitFor(new RegExp(TEST_GUEST_READY), 180_000);
    boot.stop();
    service.close();
    const first = await keeperPid();
    process.kill(first, 'SIGKILL');
    await expect.poll(() => isProcessAlive(first)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const fresh = sandbox.service();
    const { summary } = await call(fresh, 'getVm', { vm: 'survivor' });
    expect(summary).toMatchObject({ state: 'running', pid: started.pid, problem: null });
    const second = await keeperPid();
    expect(second).not.toBe(first);
    // The console (the holder's) kept the boot, and the guest still answers.
    const console = await followConsole(fresh, 'survivor');
    await console.waitFor(new RegExp(TEST_GUEST_READY), 10_000);
    await call(fresh, 'sendConsoleInput', { vm: 'survivor', data: Buffer.from('echo still-$((6*7))\n').toString('base64') });
    await console.waitFor(/still-42/, 30_000);
    console.stop();
    // QMP goes through the new keeper: a pause is seen as such.
    expect((await call(fresh, 'pauseVm', { vm: 'survivor' })).state).toBe('paused');
    expect((await call(fresh, 'resumeVm', { vm: 'survivor' })).state).toBe('running');
    const stopped = await call(fresh, 'stopVm', { vm: 'survivor', force: true, waitSeconds: 20 });
    expect(stopped.state).toBe('stopped');
    expect(qemuPidsFor('survivor')).toEqual([]);
    await expect(fs.stat(path.join(runRoot, 'survivor'))).rejects.toThrow(/ENOENT/);
    fresh.close();
  }, 240_000);

  it('ends once nobody is connected, even with VMs running: the holder records how the run ended', async () => {
    const service = sandbox.service();
    await call(service, 'createVm', { name: 'Alone', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: 'alone' });
    const keeper = await keeperPid();
    service.close();
    await expect.poll(() => isProcessAlive(keeper), { timeout: IDLE_MS + 10_000, interval: 250 }).toBe(false);
    expect(qemuPidsFor('alone')).toEqual([started.pid]);
    process.kill(started.pid as number, 'SIGKILL');
    const vmDir = path.join(sandbox.root, 'data', 'vms', 'alone');
    await expect.poll(async () => (await readLastRun(vmDir))?.signal, { timeout: 10_000 }).toBe('SIGKILL');
    const record = await readLastRun(vmDir);
    expect(record).toMatchObject({ state: 'crashed', exitCode: null, signal: 'SIGKILL' });
    expect(record?.problem?.message).toMatch(/SIGKILL/);
    await expect(fs.stat(path.join(runRoot, 'alone'))).rejects.toThrow(/ENOENT/);

    const fresh = sandbox.service();
    const { summary } = await call(fresh, 'getVm', { vm: 'alone' });
    expect(summary.state).toBe('crashed');
    expect(summary.problem?.message).toMatch(/SIGKILL/);
    fresh.close();
  }, IDLE_MS + 120_000);

  it('ends once nobody asks, leaving no socket or pid file behind', async () => {
    const service = sandbox.service();
    await call(service, 'createVm', { name: 'Brief', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'brief' });
    const keeper = await keeperPid();
    await call(service, 'stopVm', { vm: 'brief', force: true, waitSeconds: 20 });
    service.close();
    expect(isProcessAlive(keeper)).toBe(true);
    await expect.poll(() => isProcessAlive(keeper), { timeout: IDLE_MS + 10_000, interval: 250 }).toBe(false);
    expect((await fs.readdir(runRoot)).filter((name) => name.startsWith('keeper'))).toEqual([]);
  }, IDLE_MS + 60_000);
});

describe('a keeper asked to end (SIGTERM, a logout)', () => {
  it('goes at once leaving no socket or pid file, and its VMs run on to be taken up by the next', async () => {
    const service = sandbox.service();
    await call(service, 'createVm', { name: 'Termed', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: 'termed' });
    service.close();
    const keeper = await keeperPid();
    process.kill(keeper, 'SIGTERM');
    await expect.poll(() => isProcessAlive(keeper), { timeout: 10_000 }).toBe(false);
    expect((await fs.readdir(runRoot)).filter((name) => name.startsWith('keeper'))).toEqual([]);
    expect(qemuPidsFor('termed')).toEqual([started.pid]);
    const fresh = sandbox.service();
    expect((await call(fresh, 'getVm', { vm: 'termed' })).summary).toMatchObject({ state: 'running', pid: started.pid, problem: null });
    await call(fresh, 'stopVm', { vm: 'termed', force: true, waitSeconds: 20 });
    fresh.close();
  }, 60_000);
});

describe('a keeper that cannot start', () => {
  it('fails the start in words and leaves no run folder behind', async () => {
    // A runtime folder of its own: in this sandbox's a keeper may still run from the tests before.
    const runDir = path.join(await fs.mkdtemp(path.join(sandbox.root, 'lonely-run-')), 'never');
    const spec = { vmId: 'never', vmName: 'Never', vmDir: path.join(sandbox.root, 'data', 'vms', 'never'), runDir, qemuBinary: '/usr/bin/qemu-system-x86_64', argv: [], accelerator: 'tcg' as const, swtpm: null, restore: null };
    await expect(launchKeeper(spec, path.join(sandbox.root, 'no-such-keeper.js'))).rejects.toMatchObject({ message: expect.stringMatching(/The VM keeper could not start/) });
    await expect(fs.stat(runDir)).rejects.toThrow(/ENOENT/);
  }, 30_000);
});

describe('after an upgrade', () => {
  it("a VM run by an earlier release's per-VM keeper is seen running, and a stop reaches that keeper", async () => {
    const service = sandbox.service();
    await call(service, 'createVm', { name: 'Upgraded', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    service.close();
    // A stand-in for the earlier release's keeper (its code is not in this tree): its run
    // folder (keeper.pid, launch.json, control.sock) and its control protocol as that release
    // spoke it (the hello names only keeperPid); it answers itself and records what it is asked.
    const runDir = path.join(runRoot, 'upgraded');
    await fs.mkdir(runDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(path.join(runDir, 'keeper.pid'), `${process.pid}\n`);
    await fs.writeFile(path.join(runDir, 'launch.json'), '{}');
    const asked: string[] = [];
    const server = net.createServer((client) => {
      const hello = { type: 'hello', vmId: 'upgraded', keeperPid: process.pid, qemuPid: process.pid, state: 'running', problem: null, startedAt: new Date().toISOString(), accelerator: 'tcg', argv: ['/usr/bin/qemu-system-x86_64'] };
      client.write(JSON.stringify(hello) + '\n');
      let text = '';
      client.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n')) {
          const request = JSON.parse(text.slice(0, end)) as { id: number; execute: string };
          text = text.slice(end + 1);
          asked.push(request.execute);
          client.write(JSON.stringify({ type: 'reply', id: request.id, ok: true, value: request.execute === 'query-status' ? { status: 'running' } : {} }) + '\n');
          if (request.execute === 'system_powerdown') client.write(JSON.stringify({ type: 'state', state: 'shutting-down', problem: null }) + '\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(path.join(runDir, 'control.sock'), resolve));
    try {
      const fresh = sandbox.service();
      expect((await call(fresh, 'getVm', { vm: 'upgraded' })).summary).toMatchObject({ state: 'running', pid: process.pid, orphaned: false });
      expect((await call(fresh, 'stopVm', { vm: 'upgraded' })).state).toBe('shutting-down');
      expect(asked).toContain('system_powerdown');
      fresh.close();
    } finally {
      server.close();
    }
  }, 60_000);
});
