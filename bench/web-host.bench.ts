import { fork } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import type { ApiSocket } from '../test/support/api-socket';
import { repoRoot } from '../test/support/paths';
import { ensureTestIso } from '../test/support/test-iso';
import { openApiSocket, runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../test/support/web-host-process';
import { median, record } from './support';

// The real `hangar web` (the built CLI) serving one ordinary client while another fires
// 50,000 listVms at once (bench/web-flooder.js, a process of its own): how long the
// ordinary client's calls on a running VM take during the flood, against the same calls
// with no flood, measured in the same run. Before the per-turn budget (web/caps.ts) three
// such calls were answered during three floods, the longest after 3 s.

const FLOODER = path.join(repoRoot, 'bench', 'web-flooder.js');
const CALLS = 50_000;
const ROUNDS = 3;
const VM = 'bench-guest';

let host: WebHostProcess | undefined;
// The VM forced off and the web host stopped even when a round fails.
afterAll(async () => {
  await tearDownE2e(host, undefined, [VM]);
});

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Forks the flooder, lets it fire, and resolves with its figures once every answer is in. */
async function flood(target: WebHostProcess): Promise<{ fired: () => void; finished: Promise<{ ms: number; failures: number }> }> {
  const child = fork(FLOODER, [`ws://127.0.0.1:${target.port}/api`, target.origin, (await target.session()).header, String(CALLS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const finished = new Promise<{ ms: number; failures: number }>((resolve, reject) => {
    child.on('message', (message: { done?: boolean; ms?: number; failures?: number }) => {
      if (message.done) resolve({ ms: message.ms ?? 0, failures: message.failures ?? 0 });
    });
    child.once('exit', (code) => reject(new Error(`The flooder ended (code ${code}) before every answer was in.`)));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`The flooder ended (code ${code}) before it connected.`)));
  });
  return {
    fired: () => child.send('fire'),
    finished: finished.finally(() => child.kill()),
  };
}

const METHODS = ['getVm', 'pauseVm', 'resumeVm'] as const;
type Times = Record<(typeof METHODS)[number], number[]>;
const noTimes = (): Times => ({ getVm: [], pauseVm: [], resumeVm: [] });

/**
 * What a person at the window does to a running VM, one call after another: look at it,
 * pause it, resume it. A call counts (into `times`) if `counts()` held when it was sent:
 * one sent during a flood and answered only after it is the very wait this measures.
 */
async function timedCalls(client: ApiSocket, times: Times, counts: () => boolean = () => true): Promise<void> {
  for (const method of METHODS) {
    const counted = counts();
    const began = performance.now();
    await client.value(method, { vm: VM }, { timeoutMs: 60_000 });
    if (counted) times[method].push(performance.now() - began);
  }
}

const ms = (value: number): number => Number(value.toFixed(1));
const summary = (values: number[]): { calls: number; median_ms: number; p95_ms: number; max_ms: number } => ({
  calls: values.length,
  median_ms: ms(median(values)),
  p95_ms: ms(percentile(values, 95)),
  max_ms: ms(values.length ? Math.max(...values) : 0),
});

describe('web host', () => {
  it(`another client's calls while one client fires ${CALLS} listVms at once, vs with no flood`, async () => {
    const iso = await ensureTestIso();
    host = await startWebHostProcess();
    runHangar(host, 'create', '--name', 'Bench Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0');
    runHangar(host, 'start', VM);
    const client = await openApiSocket(host);
    const quiet = noTimes();
    const during = noTimes();
    const floodMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let cycle = 0; cycle < 20; cycle++) await timedCalls(client, quiet);
      const flooder = await flood(host);
      let ended = false;
      const finished = flooder.finished.then((figures) => {
        ended = true;
        return figures;
      });
      flooder.fired();
      while (!ended) await timedCalls(client, during, () => !ended);
      const figures = await finished;
      if (figures.failures > 0) throw new Error(`${figures.failures} of the flood's calls failed.`);
      floodMs.push(figures.ms);
    }
    client.close();
    const all = (times: Times): number[] => METHODS.flatMap((method) => times[method]);
    await record('web_host_flood', {
      rounds: ROUNDS,
      flood_calls: CALLS,
      quiet: Object.fromEntries(METHODS.map((method) => [method, summary(quiet[method])])),
      during_flood: Object.fromEntries(METHODS.map((method) => [method, summary(during[method])])),
      ratio_during_to_quiet_median: ms(median(all(during)) / median(all(quiet))),
      ratio_during_to_quiet_p95: ms(percentile(all(during), 95) / percentile(all(quiet), 95)),
      flood_seconds: floodMs.map((value) => Number((value / 1000).toFixed(2))),
      flood_calls_per_second_median: Math.round(CALLS / (median(floodMs) / 1000)),
    });
  }, 600_000);
});
