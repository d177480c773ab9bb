import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { call, makeSandbox, type Sandbox } from '../test/support/engine';
import { repoRoot } from '../test/support/paths';
import { ensureTestIso } from '../test/support/test-iso';
import { median, record, startQemuByHand, stopQemuByHand } from './support';

// `hangar start` as a user types it (the `hangar` that scripts/link-hangar.sh writes), from
// the command to QEMU running, against QEMU started by hand with the same command line,
// interleaved. Each Hangar start is traced (HANGAR_TRACE, src-main/util/trace.ts), so the
// time splits into its steps. HANGAR_BENCH_BEFORE=/path/to/another/built/clone adds that
// clone's `hangar start` as a third column (the code before a change, measured in the same run).
// Hangar is measured twice per round: with no keeper running (the first start of a session:
// the command starts the keeper) and with the keeper running (another VM runs, a window is
// open, or a VM was stopped less than its idle time ago). Each round also times Node's bare
// start: with QEMU by hand, the least any Node command that starts QEMU could take.

const ROUNDS = 7;
let sandbox: Sandbox;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-bench-start-');
});
afterAll(async () => {
  await sandbox.cleanup();
});

const now = (): number => performance.timeOrigin + performance.now();


/** Runs a command to its end; ms from spawn to exit. */
function timed(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; began: number }> {
  return new Promise((resolve, reject) => {
    const began = now();
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    child.once('exit', (code) => (code === 0 ? resolve({ ms: now() - began, began }) : reject(new Error(`${program} ${args.join(' ')} failed: ${stderr}`))));
  });
}

async function byHand(argv: string[], runDir: string): Promise<number> {
  const run = await startQemuByHand(argv, runDir);
  await stopQemuByHand(run, runDir);
  return run.ms;
}

/** Each traced step's time after the command began, in ms. */
async function steps(traceFile: string, began: number): Promise<Record<string, number>> {
  const lines = (await fs.readFile(traceFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  await fs.rm(traceFile, { force: true });
  const out: Record<string, number> = {};
  for (const line of lines) {
    const [at, , ...step] = line.split(' ');
    out[step.join(' ')] ??= Number(at) - began;
  }
  return out;
}

describe('start breakdown', () => {
  it('hangar start (the command on the PATH) vs QEMU by hand with the same argv', async () => {
    await call(sandbox.service(), 'createVm', { name: 'Breakdown', iso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
    const { argv } = await call(sandbox.service(), 'getVm', { vm: 'breakdown' });
    const binDir = path.join(sandbox.root, 'bin');
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'link-hangar.sh'), binDir], { env: sandbox.env });
    const hangar = path.join(binDir, 'hangar');
    const before = process.env.HANGAR_BENCH_BEFORE;
    const beforeBin = before ? path.join(before, 'bin', 'hangar.js') : null;
    if (beforeBin && !existsSync(beforeBin)) throw new Error(`HANGAR_BENCH_BEFORE: no ${beforeBin}`);
    const traceFile = path.join(sandbox.root, 'trace.log');
    const env = { ...sandbox.env, HANGAR_TRACE: traceFile };
    const stop = () => timed(hangar, ['stop', 'breakdown', '--force'], sandbox.env);
    const runDir = path.join(sandbox.root, 'run', 'breakdown');

    // One of each first, unmeasured: the V8 compile cache and the host-probe cache as a
    // user has them from the second start on.
    await timed(hangar, ['start', 'breakdown'], sandbox.env);
    await stop();
    if (beforeBin) {
      await timed(process.execPath, [beforeBin, 'start', 'breakdown'], sandbox.env);
      await stop();
    }

    const keeperPidFile = path.join(sandbox.root, 'run', 'keeper.pid');
    const endKeeper = async (): Promise<void> => {
      const pid = Number((await fs.readFile(keeperPidFile, 'utf8').catch(() => '')).trim());
      if (!pid) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      while (existsSync(`/proc/${pid}`) && !(await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ' Z ')).includes(') Z ')) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    // Node's own start, with the Node the `hangar` command runs on: no Node command can
    // take less, so with QEMU by hand it is the floor any Node CLI's start stands on.
    const cloneNode = path.join(repoRoot, 'node_modules', 'node', 'bin', 'node');
    const node = existsSync(cloneNode) ? cloneNode : process.execPath;
    const bareNode: number[] = [];
    const hand: number[] = [];
    const cold: number[] = [];
    const coldTraces: Record<string, number>[] = [];
    const after: number[] = [];
    const old: number[] = [];
    const traces: Record<string, number>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      hand.push(await byHand(argv as string[], runDir));
      bareNode.push((await timed(node, ['-e', '0'], sandbox.env)).ms);
      await endKeeper();
      const first = await timed(hangar, ['start', 'breakdown'], env);
      cold.push(first.ms);
      coldTraces.push(await steps(traceFile, first.began));
      await stop();
      // The keeper of the start before still runs (its idle time has not passed).
      const run = await timed(hangar, ['start', 'breakdown'], env);
      after.push(run.ms);
      traces.push(await steps(traceFile, run.began));
      await stop();
      if (beforeBin) {
        old.push((await timed(process.execPath, [beforeBin, 'start', 'breakdown'], sandbox.env)).ms);
        await stop();
      }
    }
    const round = (value: number): number => Math.round(value * 10) / 10;
    const stepMedians = (list: Record<string, number>[]): Record<string, number> => {
      const names = [...new Set(list.flatMap((trace) => Object.keys(trace)))].sort((a, b) => median(list.map((trace) => trace[a] ?? NaN)) - median(list.map((trace) => trace[b] ?? NaN)));
      return Object.fromEntries(names.map((name) => [name, round(median(list.map((trace) => trace[name] ?? NaN)))]));
    };
    await record('start_breakdown', {
      rounds: ROUNDS,
      measured: 'from spawning the command to its exit (it exits once QEMU runs); by hand: from spawning QEMU to QMP query-status "running"; hangar_ms: the keeper runs already, hangar_no_keeper_running_ms: the command starts it; bare_node_ms: `node -e 0` with the Node hangar runs on, and floor_ratio: (bare Node + QEMU by hand) / QEMU by hand, the least any Node command that starts QEMU could take',
      by_hand_ms_median: round(median(hand)),
      hangar_ms_median: round(median(after)),
      ratio_hangar_to_by_hand: Number((median(after) / median(hand)).toFixed(2)),
      bare_node_ms_median: round(median(bareNode)),
      floor_ratio_node_plus_qemu_to_by_hand: Number(((median(bareNode) + median(hand)) / median(hand)).toFixed(2)),
      hangar_no_keeper_running_ms_median: round(median(cold)),
      ratio_hangar_no_keeper_running_to_by_hand: Number((median(cold) / median(hand)).toFixed(2)),
      ...(beforeBin ? { before_ms_median: round(median(old)), ratio_before_to_by_hand: Number((median(old) / median(hand)).toFixed(2)), before: before } : {}),
      per_round_ratio_hangar_to_by_hand: after.map((ms, index) => Number((ms / (hand[index] as number)).toFixed(2))),
      by_hand_ms: hand.map(round),
      hangar_ms: after.map(round),
      hangar_no_keeper_running_ms: cold.map(round),
      ...(beforeBin ? { before_ms: old.map(round) } : {}),
      steps_ms_after_command_median: stepMedians(traces),
      steps_no_keeper_running_ms_after_command_median: stepMedians(coldTraces),
    });
  });
});
