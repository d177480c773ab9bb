import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runPaths } from '../src-main/qemu/argv';
import type { HangarService } from '../src-main/api/service';
import { call, followConsole, makeSandbox, qemuPidsFor, type Sandbox } from '../test/support/engine';
import { ensureTestIso } from '../test/support/test-iso';
import { cpuSeconds, median, record, startQemuByHand, stopQemuByHand } from './support';

// The engine against its own baseline, measured in the same run: QEMU started by hand
// with the very argv Hangar uses, and the serial socket read directly.

const ROUNDS = 5;
let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-bench-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

describe('engine benchmarks', () => {
  it('start-to-running latency: Hangar vs QEMU by hand with the same argv', async () => {
    await call(service, 'createVm', { name: 'Latency', iso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
    const { argv } = await call(service, 'getVm', { vm: 'latency' });
    const runDir = runPaths(path.join(sandbox.root, 'run', 'latency')).runDir;
    const hangar: number[] = [];
    const byHand: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate, so drift on this noisy machine hits both sides alike.
      const began = performance.now();
      await call(service, 'startVm', { vm: 'latency' });
      hangar.push(performance.now() - began);
      await call(service, 'stopVm', { vm: 'latency', force: true, waitSeconds: 30 });
      const run = await startQemuByHand(argv as string[], runDir);
      byHand.push(run.ms);
      await stopQemuByHand(run, runDir);
    }
    await record('start_latency', {
      rounds: ROUNDS,
      hangar_ms_median: Math.round(median(hangar)),
      by_hand_ms_median: Math.round(median(byHand)),
      ratio_hangar_to_by_hand: Number((median(hangar) / median(byHand)).toFixed(2)),
      hangar_ms: hangar.map(Math.round),
      by_hand_ms: byHand.map(Math.round),
    });
  });

  it('serial console throughput: through the engine to an API viewer vs the chardev socket directly', async () => {
    const BYTES = 400_000;
    const command = `head -c ${BYTES} /dev/zero | tr '\\0' x; echo; echo BULK-DONE\n`;
    // Through Hangar: keeper -> console socket -> service -> consoleOutput events (base64).
    await call(service, 'createVm', { name: 'Serial', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'serial' });
    const viewer = await followConsole(service, 'serial');
    await viewer.waitFor(/HANGAR-TEST-GUEST-READY/, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = viewer.text().length;
    let began = performance.now();
    await viewer.type(command);
    await viewer.waitFor(/\nBULK-DONE/, 300_000);
    const hangarSeconds = (performance.now() - began) / 1000;
    const hangarBytes = viewer.text().length - before;
    viewer.stop();
    await call(service, 'stopVm', { vm: 'serial', force: true, waitSeconds: 30 });
    // Asked once stopped: a running VM's argv is its holder's (channels as inherited fds).
    const { argv } = await call(service, 'getVm', { vm: 'serial' });

    // Directly: the same argv by hand, reading QEMU's serial socket ourselves.
    const runDir = path.join(sandbox.root, 'run', 'serial');
    const run = await startQemuByHand(argv as string[], runDir);
    const serial = run.serial;
    let text = '';
    const waitFor = (pattern: RegExp): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (pattern.test(text)) {
            serial.off('data', onData);
            resolve();
          }
        };
        const onData = (chunk: Buffer): void => {
          text += chunk.toString('latin1');
          check();
        };
        serial.on('data', onData);
        check();
      });
    await waitFor(/HANGAR-TEST-GUEST-READY/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    serial.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
    const directBefore = text.length;
    began = performance.now();
    serial.write(command);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (/\nBULK-DONE/.test(text.slice(directBefore))) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const directSeconds = (performance.now() - began) / 1000;
    const directBytes = text.length - directBefore;
    await stopQemuByHand(run, runDir);

    const hangarRate = hangarBytes / hangarSeconds;
    const directRate = directBytes / directSeconds;
    await record('serial_throughput', {
      bytes: BYTES,
      hangar_bytes_per_second: Math.round(hangarRate),
      direct_bytes_per_second: Math.round(directRate),
      ratio_hangar_to_direct: Number((hangarRate / directRate).toFixed(2)),
      note: 'Both sides are bounded by the emulated 16550 UART under TCG; the ratio shows what the keeper and API add.',
    });
  });

  it('engine CPU time while 10 VMs idle for 60 s', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 10; index++) {
      const vm = await call(service, 'createVm', { name: `Idle ${index}`, iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
      ids.push(vm.id);
    }
    const started = await Promise.all(ids.map((vm) => call(service, 'startVm', { vm })));
    // The supervision: the holders and the one keeper.
    const keeperPids = [...(await Promise.all(ids.map(async (id) => Number((await fs.readFile(path.join(sandbox.root, 'run', id, 'holder.pid'), 'utf8')).trim())))), Number((await fs.readFile(path.join(sandbox.root, 'run', 'keeper.pid'), 'utf8')).trim())];
    const qemuPids = started.map((vm) => vm.pid as number);
    await new Promise((resolve) => setTimeout(resolve, 5000)); // past the firmware's own start
    const sum = async (pids: number[]): Promise<number> => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
    const keepers0 = await sum(keeperPids);
    const qemus0 = await sum(qemuPids);
    const self0 = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    const self = process.cpuUsage(self0);
    const keepers = (await sum(keeperPids)) - keepers0;
    const qemus = (await sum(qemuPids)) - qemus0;
    const engine = keepers + (self.user + self.system) / 1e6;
    await Promise.all(ids.map((vm) => call(service, 'stopVm', { vm, force: true, waitSeconds: 30 })));
    if (ids.some((id) => qemuPidsFor(id).length > 0)) throw new Error('idle VMs left running');
    await record('idle_cpu', {
      vms: ids.length,
      seconds: 60,
      engine_cpu_seconds: Number(engine.toFixed(3)),
      keepers_cpu_seconds: Number(keepers.toFixed(3)),
      service_process_cpu_seconds: Number(((self.user + self.system) / 1e6).toFixed(3)),
      qemu_cpu_seconds: Number(qemus.toFixed(3)),
      ratio_engine_to_qemu: Number((engine / qemus).toFixed(4)),
      engine_percent_of_one_core: Number(((engine / 60) * 100).toFixed(3)),
    });
  });
});
