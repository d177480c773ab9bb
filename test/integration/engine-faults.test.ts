import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { createHangarService } from '../../src-main/api/service';
import { call, followConsole, makeSandbox, qemuPidsFor, waitForVm, type Sandbox, runCli, type CliRun } from '../support/engine';
import { hangarBin } from '../support/paths';
import { refusal } from '../support/refusal';
import { ensureTestIso } from '../support/test-iso';
import { fillUp, useUpFiles, withTmpfs } from '../support/tmpfs';

// What the fault-injection run of issue 9 found in the engine: a keeper's death told as a
// stop, a crash told twice, a start that would not let go of Ctrl-C, locks left half-made by
// a full disk, disk paths that reach into another VM, files too large to read, and a CLI
// that dies of a closed pipe. Each with real QEMU, real keepers, a real full file system.

const MARKER = /HANGAR-TEST-GUEST-READY/;
let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-faults-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

const vmsDir = (env = sandbox.env): string => path.join(env.HANGAR_HOME as string, 'vms');

const hangar = (env: Record<string, string | undefined>, ...args: string[]): CliRun => runCli(env, args);

describe('what a watching window is told', () => {
  it("a keeper killed while QEMU runs on is told as running without its keeper, never as stopped", async () => {
    await call(service, 'createVm', { name: 'Lost Keeper', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'lost-keeper' });
    // Another process's window, watching.
    const window = createHangarService({ door: 'web', env: sandbox.env });
    try {
      await call(window, 'listVms', {});
      const told: { state: string; orphaned: boolean }[] = [];
      window.events.on('vmChanged', (vm) => {
        if (vm.id === 'lost-keeper') told.push({ state: vm.state, orphaned: vm.orphaned });
      });
      const holderPid = Number((await fs.readFile(path.join(sandbox.env.HANGAR_RUNTIME_DIR as string, 'lost-keeper', 'holder.pid'), 'utf8')).trim());
      process.kill(holderPid, 'SIGKILL');
      const orphaned = await waitForVm(window, 'lost-keeper', () => told.some((entry) => entry.orphaned), 30_000);
      expect(orphaned.state).toBe('running');
      expect((await call(window, 'getVm', { vm: 'lost-keeper' })).summary).toMatchObject({ state: 'running', orphaned: true, problem: { message: expect.stringContaining("lost this VM's keeper") } });
      expect(told.map((entry) => entry.state)).not.toContain('stopped');
      expect(qemuPidsFor('lost-keeper')).toHaveLength(1);
      await call(window, 'stopVm', { vm: 'lost-keeper', force: true });
      expect(qemuPidsFor('lost-keeper')).toEqual([]);
    } finally {
      window.close();
    }
  }, 120_000);

  it('one death of QEMU is told once as crashed', async () => {
    await call(service, 'createVm', { name: 'Once', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'once' });
    const window = createHangarService({ door: 'web', env: sandbox.env });
    try {
      await call(window, 'listVms', {});
      const states: string[] = [];
      window.events.on('vmChanged', (vm) => {
        if (vm.id === 'once') states.push(vm.state);
      });
      const [qemu] = qemuPidsFor('once');
      process.kill(qemu as number, 'SIGKILL');
      await waitForVm(window, 'once', (state) => state === 'crashed', 30_000);
      // Whatever else arrives late (the keeper hanging up, the folder's records) says nothing new.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(states.filter((state) => state === 'crashed')).toHaveLength(1);
    } finally {
      window.close();
    }
  }, 120_000);
});

describe('the hangar command', () => {
  it('a SIGTERM (or Ctrl-C) at the start of "hangar start" ends it at once, in words', async () => {
    await call(service, 'createVm', { name: 'Impatient', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    const child = spawn(process.execPath, [hangarBin, 'start', 'impatient'], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const killedAt = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(code).not.toBe(0);
    expect(stderr).not.toMatch(/\n\s+at /);
    // Whatever got as far as starting is a whole VM that any Hangar finds again.
    await call(service, 'stopVm', { vm: 'impatient', force: true }).catch(() => {});
  }, 60_000);

  it('"hangar list | head" ends quietly when the reader goes away', async () => {
    for (let n = 0; n < 3; n++) await call(service, 'createVm', { name: `Listed ${n}`, memoryMiB: 128, cpus: 1, diskGiB: 0 });
    const child = spawn(process.execPath, [hangarBin, 'list'], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader closes before a byte arrives: every write the command makes meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 60_000);
});

describe('a full disk', () => {
  it('with no byte free, a VM still starts (its lock needs none) and says its serial log is not kept; a delete frees the space', async () => {
    const disk = await withTmpfs(32 * 1024 * 1024);
    const env = { ...sandbox.env, HANGAR_HOME: disk.dir };
    const full = createHangarService({ door: 'cli', env });
    try {
      await call(full, 'createVm', { name: 'Full', iso, memoryMiB: 128, cpus: 1, diskGiB: 0 });
      const filler = await fillUp(disk.dir);
      const started = hangar(env, 'start', 'full');
      expect(started).toMatchObject({ code: 0, stderr: '' });
      const running = await waitForVm(full, 'full', () => true);
      expect(running.state).toBe('running');
      await expect.poll(async () => (await call(full, 'getVm', { vm: 'full' })).summary.problem?.message ?? '', { timeout: 60_000 }).toMatch(/serial/i);
      expect(hangar(env, 'stop', 'full', '--force')).toMatchObject({ code: 0 });
      const files = await fs.readdir(path.join(vmsDir(env), 'full'));
      expect(files.filter((file) => /lock/.test(file))).toEqual([]);
      // Deleting frees space, so it must work on a full disk.
      expect(hangar(env, 'delete', 'full')).toMatchObject({ code: 0, stderr: '' });
      expect(await fs.readdir(vmsDir(env))).toEqual([]);
      await fs.rm(filler);
    } finally {
      full.close();
      await disk.cleanup();
    }
  }, 180_000);

  it('with no file free, a start says so in words and leaves no lock, half-made or whole, to block the next', async () => {
    const disk = await withTmpfs(32 * 1024 * 1024, { inodes: 400 });
    const env = { ...sandbox.env, HANGAR_HOME: disk.dir };
    const full = createHangarService({ door: 'cli', env });
    try {
      await call(full, 'createVm', { name: 'No Inodes', iso, memoryMiB: 128, cpus: 1, diskGiB: 0 });
      const spent = await useUpFiles(disk.dir);
      for (const verb of ['start', 'delete']) {
        const refused = hangar(env, verb, 'no-inodes');
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(new RegExp(`^hangar ${verb}: The disk holding "No Inodes" is full.*Free some space and try again`));
        expect(refused.stderr).not.toMatch(/ENOSPC|\n\s+at /);
        expect((await fs.readdir(path.join(vmsDir(env), 'no-inodes'))).filter((file) => /lock/.test(file))).toEqual([]);
      }
      // Once there is room again, the next start is not blocked by anything left behind.
      await fs.rm(spent, { recursive: true });
      expect(hangar(env, 'start', 'no-inodes')).toMatchObject({ code: 0 });
      expect(hangar(env, 'stop', 'no-inodes', '--force')).toMatchObject({ code: 0 });
    } finally {
      full.close();
      await disk.cleanup();
    }
  }, 180_000);
});

describe('disk paths in a vm.json', () => {
  it("a relative path into another VM's folder makes the VM broken, and deleting it never moves the other's disk", async () => {
    await call(service, 'createVm', { name: 'Victim', iso, memoryMiB: 128, cpus: 1, diskGiB: 1 });
    await call(service, 'createVm', { name: 'Thief', memoryMiB: 128, cpus: 1, diskGiB: 0 });
    const thief = path.join(vmsDir(), 'thief', 'vm.json');
    const config = JSON.parse(await fs.readFile(thief, 'utf8')) as { devices: { disks: unknown[] } };
    const victimDisk = JSON.parse(await fs.readFile(path.join(vmsDir(), 'victim', 'vm.json'), 'utf8')).devices.disks[0];
    config.devices.disks = [{ ...victimDisk, file: '../victim/disk-0.qcow2' }];
    await fs.writeFile(thief, JSON.stringify(config));
    // This process learns of the edit by inotify, as a window would.
    await expect.poll(async () => (await call(service, 'getVm', { vm: 'thief' })).summary.broken ?? '').toMatch(/file/);
    await refusal(call(service, 'startVm', { vm: 'thief' }));
    expect(hangar(sandbox.env, 'delete', 'thief', '--keep-disks')).toMatchObject({ code: 0 });
    await expect(fs.stat(path.join(vmsDir(), 'victim', 'disk-0.qcow2'))).resolves.toBeTruthy();
    expect((await call(service, 'getVm', { vm: 'victim' })).summary.broken).toBeNull();
  }, 60_000);

  it('an absolute path is a disk kept elsewhere: shown as such, never moved or removed with the VM', async () => {
    const outside = path.join(sandbox.root, 'outside.qcow2');
    expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', outside, '64M']).status).toBe(0);
    await call(service, 'createVm', { name: 'Outsider', memoryMiB: 128, cpus: 1, diskGiB: 1 });
    const file = path.join(vmsDir(), 'outsider', 'vm.json');
    const config = JSON.parse(await fs.readFile(file, 'utf8')) as { devices: { disks: { file: string }[] } };
    config.devices.disks = [{ ...config.devices.disks[0]!, file: outside }];
    await fs.writeFile(file, JSON.stringify(config));
    await expect.poll(async () => (await call(service, 'getVm', { vm: 'outsider' })).disks[0]?.path).toBe(outside);
    const details = await call(service, 'getVm', { vm: 'outsider' });
    expect(details.disks).toMatchObject([{ id: 'disk0', path: outside, external: true, virtualBytes: 64 * 1024 * 1024 }]);
    expect(hangar(sandbox.env, 'info', 'outsider').stdout).toContain('(kept outside the VM folder)');
    await call(service, 'deleteVm', { vm: 'outsider', keepDisks: true });
    await expect(fs.stat(outside)).resolves.toBeTruthy();
  }, 60_000);
});

describe('files too large to be what they claim', () => {
  it('a 50 MB vm.json is shown broken at once, and listing stays small and quick', async () => {
    await call(service, 'createVm', { name: 'Huge', memoryMiB: 128, cpus: 1, diskGiB: 0 });
    const file = path.join(vmsDir(), 'huge', 'vm.json');
    const config = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(file, JSON.stringify({ ...config, name: 'x'.repeat(50 * 1024 * 1024) }));
    // And a run record over its cap is passed over, not read.
    await fs.writeFile(path.join(vmsDir(), 'huge', 'last-run.json'), JSON.stringify({ state: 'crashed', problem: { message: 'y'.repeat(8 * 1024 * 1024), log: [] }, endedAt: new Date().toISOString(), exitCode: 1, signal: null }));
    const started = Date.now();
    const listed = hangar(sandbox.env, 'list', '--json');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(listed.code).toBe(0);
    expect(listed.stdout.length).toBeLessThan(1024 * 1024);
    const huge = (JSON.parse(listed.stdout) as { id: string; broken: string | null; state: string }[]).find((vm) => vm.id === 'huge');
    expect(huge).toMatchObject({ state: 'stopped', broken: expect.stringContaining('larger than any VM definition can be') });
  }, 60_000);
});

describe('the running library, other processes, one machine', () => {
  it('a VM started by another process is seen starting here even while this one lists in a loop', async () => {
    await call(service, 'createVm', { name: 'Busy Watch', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    const window = createHangarService({ door: 'web', env: sandbox.env });
    let listing = true;
    try {
      await call(window, 'listVms', {});
      // Lists at the same time as the new run folder appears: an attach begun before the
      // socket existed must not swallow the one the socket's arrival starts.
      const loop = (async () => {
        while (listing) await call(window, 'listVms', {});
      })();
      const running = waitForVm(window, 'busy-watch', (state) => state === 'running', 60_000);
      expect(hangar(sandbox.env, 'start', 'busy-watch').code).toBe(0);
      await running;
      listing = false;
      await loop;
      const console = await followConsole(window, 'busy-watch');
      await console.waitFor(MARKER, 120_000);
      console.stop();
    } finally {
      listing = false;
      window.close();
      await call(service, 'stopVm', { vm: 'busy-watch', force: true }).catch(() => {});
    }
  }, 180_000);
});
