import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { call, followConsole, makeSandbox, type Sandbox } from '../support/engine';
import { hangarBin } from '../support/paths';
import { ensureTestIso, TEST_GUEST_READY } from '../support/test-iso';

// The keeper under a serial flood: a `hangar console` that stops reading (SIGSTOP) must not
// grow the keeper's memory, serial.log must stay under its cap while it rotates, and the
// stalled viewer, once it runs again, is told it was cut off while the VM runs on. The
// guest floods its own ttyS0 with `yes`; everything here is real (QEMU, the built keeper
// and the built hangar command).

/** What ARCHITECTURE.md promises: the keeper's resident memory during a stalled viewer. */
const KEEPER_RSS_BOUND_MIB = 96;
/** The VM's holder relays every byte with fixed buffers: a few MiB, whatever the flood. */
const HOLDER_RSS_BOUND_MIB = 8;
const LOG_CAP = 2 * 1024 * 1024;
/** The stall lasts this long at least, and until the keeper has cut the viewer off. */
const STALL_MS = 30_000;
const STALL_LIMIT_MS = 240_000;
const FELL_BEHIND = 'the console fell behind and was disconnected; the VM keeps running';
const FLOOD_LINE = '0123456789abcdef'.repeat(4);

let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-flood-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** How many viewers the keeper has on console.sock: its accepted connections, as the kernel lists them. */
function consoleViewers(socketPath: string): number {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${socketPath}`) && line.split(/\s+/)[5] === '03').length;
}

async function sizeOf(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => null))?.size ?? 0;
}

/** Detaches a `hangar console` with Ctrl-] and returns its exit code (it must end by itself). */
async function detach(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.write('\x1d');
  const timeout = sleep(15_000).then(() => 'still running 15 s after Ctrl-]');
  return Promise.race([exited, timeout]) as Promise<number | null>;
}

/** The built `hangar console VM`, its output kept as a short tail (the flood is megabytes). */
function startConsoleCli(vm: string): { child: ChildProcessWithoutNullStreams; seen(text: string): boolean; received(): number; waitFor(text: string, timeoutMs: number): Promise<void> } {
  const child = spawn(process.execPath, [hangarBin, 'console', vm], { env: sandbox.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let tail = '';
  let received = 0;
  const found = new Set<string>();
  const watched = new Set<string>([FELL_BEHIND, 'Connected to', FLOOD_LINE, 'Detached', 'flood-42-over']);
  const take = (chunk: Buffer): void => {
    received += chunk.length;
    tail = (tail + chunk.toString('latin1')).slice(-64 * 1024);
    for (const text of watched) if (tail.includes(text)) found.add(text);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return {
    child,
    seen: (text) => found.has(text),
    received: () => received,
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!found.has(text)) {
        if (Date.now() > deadline) throw new Error(`hangar console did not print "${text}" within ${timeoutMs} ms. Its last output:\n${tail.slice(-1500)}`);
        await sleep(100);
      }
    },
  };
}

describe('a serial flood', () => {
  it('a stalled console viewer costs the keeper a bounded amount of memory, and serial.log stays under its cap', async () => {
    await call(service, 'createVm', { name: 'Flood', iso, memoryMiB: 128, cpus: 1, diskGiB: 0 });
    const vmDir = path.join(sandbox.root, 'data', 'vms', 'flood');
    const serialLog = path.join(vmDir, 'serial.log');
    const oldLog = path.join(vmDir, 'serial.log.1');
    // Earlier runs logged almost a whole file: this run's output must rotate it.
    await fs.writeFile(serialLog, 'an earlier run\n'.repeat(Math.floor((LOG_CAP - 64 * 1024) / 15)), { mode: 0o600 });
    await call(service, 'startVm', { vm: 'flood' });
    const boot = await followConsole(service, 'flood');
    await boot.waitFor(new RegExp(TEST_GUEST_READY), 180_000);
    boot.stop();

    // This process is a second viewer that keeps reading: it must not notice the stalled one.
    let othersReceived = 0;
    const stopCounting = service.events.on('consoleOutput', (chunk) => {
      if (chunk.vm === 'flood') othersReceived += Buffer.from(chunk.data, 'base64').length;
    });
    await call(service, 'attachConsole', { vm: 'flood' });

    const cli = startConsoleCli('flood');
    await cli.waitFor('Connected to', 30_000);
    const holderPid = Number((await fs.readFile(path.join(sandbox.root, 'run', 'flood', 'holder.pid'), 'utf8')).trim());
    const keeperPid = Number((await fs.readFile(path.join(sandbox.root, 'run', 'keeper.pid'), 'utf8')).trim());
    const consoleSocket = path.join(sandbox.root, 'run', 'flood', 'console.sock');
    expect(consoleViewers(consoleSocket)).toBe(2);

    await call(service, 'sendConsoleInput', { vm: 'flood', data: Buffer.from(`yes ${FLOOD_LINE}\n`).toString('base64') });
    await cli.waitFor(FLOOD_LINE, 30_000);
    await sleep(2000);
    const baseline = rssMiB(keeperPid);
    const holderBaseline = rssMiB(holderPid);
    const floodStart = othersReceived;

    cli.child.kill('SIGSTOP');
    const startedAt = Date.now();
    let peakRss = baseline;
    let holderPeak = holderBaseline;
    let peakLog = 0;
    let peakOldLog = 0;
    let cutAfter: number | null = null;
    while (Date.now() - startedAt < STALL_MS || (cutAfter === null && Date.now() - startedAt < STALL_LIMIT_MS)) {
      await sleep(250);
      peakRss = Math.max(peakRss, rssMiB(keeperPid));
      holderPeak = Math.max(holderPeak, rssMiB(holderPid));
      peakLog = Math.max(peakLog, await sizeOf(serialLog));
      peakOldLog = Math.max(peakOldLog, await sizeOf(oldLog));
      if (cutAfter === null && consoleViewers(consoleSocket) < 2) cutAfter = othersReceived - floodStart;
    }
    const stalledMs = Date.now() - startedAt;
    const flooded = othersReceived - floodStart;
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);
    console.log(
      `serial flood: ${mib(flooded)} MiB in ${(stalledMs / 1000).toFixed(0)} s (${(flooded / stalledMs / 1.024).toFixed(0)} KiB/s); stalled viewer cut after ${cutAfter === null ? 'never' : `${mib(cutAfter)} MiB`}; ` +
        `keeper RSS ${baseline.toFixed(1)} MiB before the stall, at most ${peakRss.toFixed(1)} MiB during it; holder RSS ${holderBaseline.toFixed(1)} → at most ${holderPeak.toFixed(1)} MiB; serial.log at most ${peakLog} bytes, serial.log.1 at most ${peakOldLog} bytes`,
    );

    // The keeper cut the stalled viewer off, and only it: this process still reads.
    expect(cutAfter).not.toBeNull();
    expect(consoleViewers(consoleSocket)).toBe(1);
    expect(peakRss).toBeLessThan(KEEPER_RSS_BOUND_MIB);
    expect(holderPeak).toBeLessThan(HOLDER_RSS_BOUND_MIB);
    expect(peakLog).toBeLessThanOrEqual(LOG_CAP);
    expect(peakOldLog).toBeLessThanOrEqual(LOG_CAP);
    expect(peakOldLog).toBeGreaterThan(0); // it rotated
    expect((await fs.stat(serialLog)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(oldLog)).mode & 0o777).toBe(0o600);

    // Running again, the viewer learns why its output stopped, and is not told the VM stopped.
    cli.child.kill('SIGCONT');
    await cli.waitFor(FELL_BEHIND, 60_000);
    expect((await call(service, 'getVm', { vm: 'flood' })).summary.state).toBe('running');

    // Stop the flood; the guest answers both viewers, the reattached CLI included.
    await call(service, 'sendConsoleInput', { vm: 'flood', data: Buffer.from('\x03').toString('base64') });
    stopCounting();
    const after = await followConsole(service, 'flood');
    await after.type('echo flood-$((40+2))-over\n');
    await after.waitFor(/flood-42-over/, 60_000);
    after.stop();
    await cli.waitFor('flood-42-over', 30_000); // the CLI follows on after the gap
    expect(await detach(cli.child)).toBe(0);
    expect(cli.seen('Detached')).toBe(true);
    expect((await call(service, 'getVm', { vm: 'flood' })).summary).toMatchObject({ state: 'running', problem: null });
    expect(await sizeOf(serialLog)).toBeLessThanOrEqual(LOG_CAP);
  }, 420_000);

  it('a viewer that pauses for a moment is not cut off', async () => {
    const cli = startConsoleCli('flood');
    await cli.waitFor('Connected to', 30_000);
    await call(service, 'sendConsoleInput', { vm: 'flood', data: Buffer.from(`yes ${FLOOD_LINE}\n`).toString('base64') });
    await cli.waitFor(FLOOD_LINE, 30_000);
    // Half a second of stall: far less than a viewer's allowance at this machine's flood rate.
    cli.child.kill('SIGSTOP');
    await sleep(500);
    cli.child.kill('SIGCONT');
    const before = cli.received();
    await sleep(5000);
    expect(cli.received()).toBeGreaterThan(before);
    expect(cli.seen(FELL_BEHIND)).toBe(false);
    await call(service, 'sendConsoleInput', { vm: 'flood', data: Buffer.from('\x03').toString('base64') });
    expect(await detach(cli.child)).toBe(0);
    await call(service, 'stopVm', { vm: 'flood', force: true, waitSeconds: 30 });
  }, 120_000);
});
