import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleCursor } from '../../src-shared/console-stream';
import type { ServerFrame } from '../../src-shared/wire';
import { API_CLIENTS } from '../../src-main/web/caps';
import { isEvent, isReply, type ApiSocket } from '../support/api-socket';
import { ensureTestIso, TEST_GUEST_READY } from '../support/test-iso';
import { openApiSocket, openFdsOf, residentBytes, runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// The real `hangar web` (the built CLI, a child process) against clients that do not play
// nice: one that asks for a flooding serial console and never reads, one that fires 20,000
// calls at once, too many at once. Each time another, ordinary client must keep working,
// and the host's memory and descriptors must stay bounded.

/** What a never-reading client may add to the web host's resident memory (ARCHITECTURE.md, "One contract, three doors"). */
const RSS_BOUND_BYTES = 64 * 1024 * 1024;
const VM = 'flood-guest';
const MiB = 1024 * 1024;

let host: WebHostProcess;
/** An ordinary client: reads everything, follows the guest's console. */
let watcher: ApiSocket;
let consoleText = '';
let consoleBytes = 0;

const isConsoleOutput = (frame: ServerFrame): boolean => frame.type === 'event' && frame.name === 'consoleOutput';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const base64 = (text: string): string => Buffer.from(text).toString('base64');

async function until(probe: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s. hangar web's stderr:\n${host.stderr()}`);
    await sleep(100);
  }
}

/** Programs named `name` that run under `ancestor` (its children, theirs, …). */
function programsUnder(ancestor: number, name: string): number[] {
  const parentOf = new Map<number, number>();
  const commOf = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const close = stat.lastIndexOf(')');
      parentOf.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
      commOf.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let parent = parentOf.get(pid); parent !== undefined && parent > 1; parent = parentOf.get(parent)) if (parent === ancestor) return true;
    return false;
  };
  return [...commOf].filter(([pid, comm]) => comm === name && under(pid)).map(([pid]) => pid);
}

const typeOnConsole = (keys: string): Promise<unknown> => watcher.value('sendConsoleInput', { vm: VM, data: base64(keys) });

/** Milliseconds the watcher waits for an answer to `method`. */
async function timed(method: string, input: unknown): Promise<number> {
  const started = Date.now();
  await watcher.value(method, input, { timeoutMs: 60_000 });
  return Date.now() - started;
}

beforeAll(async () => {
  const iso = await ensureTestIso();
  host = await startWebHostProcess();
  runHangar(host, 'create', '--name', 'Flood Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0');
  runHangar(host, 'start', VM);
  const cursor = new ConsoleCursor();
  const show = (parts: Uint8Array[]): void => {
    for (const part of parts) {
      consoleBytes += part.length;
      consoleText = (consoleText + Buffer.from(part).toString('latin1')).slice(-64 * 1024);
    }
  };
  // Console output is followed, not kept, and terminal output (which it should never get)
  // not kept either: a flood would fill the test's own memory.
  watcher = await openApiSocket(
    host,
    (frame) => !isConsoleOutput(frame) && !(frame.type === 'event' && frame.name === 'terminalOutput'),
    (frame) => {
      if (frame.type === 'event' && frame.name === 'consoleOutput') {
        const chunk = frame.payload as { vm: string; data: string; offset: number };
        if (chunk.vm === VM) show(cursor.receive(Buffer.from(chunk.data, 'base64'), chunk.offset));
      }
    },
  );
  const attached = (await watcher.value('attachConsole', { vm: VM })) as { scrollback: string; end: number };
  show(cursor.start(Buffer.from(attached.scrollback, 'base64'), attached.end));
  await until(() => consoleText.includes(TEST_GUEST_READY), 'The test guest booting', 180_000);
}, 300_000);

afterAll(async () => {
  watcher?.close();
  await tearDownE2e(host, undefined, [VM]);
});

describe('hangar web under hostile clients', () => {
  it("sends a console's bytes only to its viewers and a terminal's only to the client that opened it", async () => {
    const bystander = await openApiSocket(host);
    const opener = await openApiSocket(host);
    try {
      await typeOnConsole('echo ROUTED-$((6*7))\n');
      await until(() => consoleText.includes('ROUTED-42'), 'The echo on the console', 30_000);

      const { terminal } = (await opener.value('openTerminal', { target: { kind: 'host' }, cols: 80, rows: 24 })) as { terminal: string };
      await opener.value('writeTerminal', { terminal, data: base64('echo TERM-$((6*7)); exit\n') });
      await opener.waitFor(isEvent('terminalExited'));
      const printed = opener
        .events('terminalOutput')
        .map((event) => Buffer.from((event.payload as { data: string }).data, 'base64').toString('utf8'))
        .join('');
      expect(printed).toContain('TERM-42');

      // Events for everyone still reach everyone.
      await opener.value('checkHost', {});
      await bystander.waitFor(isEvent('hostChecked'));
      await watcher.waitFor(isEvent('hostChecked'));

      expect(bystander.eventNames.filter((name) => name !== 'hostChecked' && name !== 'vmChanged')).toEqual([]);
      expect(opener.eventNames.filter((name) => name === 'consoleOutput')).toEqual([]);
      expect(watcher.eventNames.filter((name) => name.startsWith('terminal'))).toEqual([]);
    } finally {
      bystander.close();
      opener.close();
    }
  }, 120_000);

  it('closes a client that attached a flooding console and never reads, with memory bounded, while another keeps working', async () => {
    const pid = host.pid;
    const floodFrom = consoleBytes;
    await typeOnConsole('yes 0123456789abcdef0123456789abcdef\n');
    // Once the flood has filled the scrollback, every attachConsole answer carries all of it.
    await until(() => consoleBytes - floodFrom > 300 * 1024, 'A scrollback full of flood', 240_000);
    const { scrollback } = (await watcher.value('attachConsole', { vm: VM })) as { scrollback: string };
    const answerBytes = scrollback.length;
    expect(answerBytes).toBeGreaterThan(256 * 1024);

    let baseline = 0;
    for (let sample = 0; sample < 10; sample++) {
      baseline = Math.max(baseline, residentBytes(pid));
      await sleep(200);
    }
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(residentBytes(pid)), 200);
    const started = Date.now();
    const bytesBefore = consoleBytes;
    const report = (): string => {
      const peak = Math.max(...samples);
      return `web host RSS: baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - baseline) / MiB).toFixed(1)} MiB) over ${((Date.now() - started) / 1000).toFixed(0)} s; ${((consoleBytes - bytesBefore) / MiB).toFixed(1)} MiB of console output meanwhile; MiB above the baseline every 200 ms: ${samples.map((rss) => ((rss - baseline) / MiB).toFixed(0)).join(' ')}`;
    };

    // It follows the flooding console, runs `yes` in a terminal of its own, then reads
    // nothing more, and keeps asking for the console's whole scrollback: all it asks for
    // would be many times the bound.
    const slow = await openApiSocket(host);
    await slow.value('attachConsole', { vm: VM });
    const { terminal } = (await slow.value('openTerminal', { target: { kind: 'host' }, cols: 80, rows: 24 })) as { terminal: string };
    slow.stopReading();
    slow.send({ type: 'call', id: 0, method: 'writeTerminal', input: { terminal, data: base64('yes 0123456789abcdef0123456789abcdef\n') } });
    await until(() => programsUnder(pid, 'yes').length > 0, "yes running in the slow client's terminal", 10_000);
    const ATTACHES = 800;
    expect(ATTACHES * answerBytes).toBeGreaterThan(3 * RSS_BOUND_BYTES);
    let asking: NodeJS.Timeout | undefined;
    void (async () => {
      for (let id = 1; id <= ATTACHES; id++) {
        slow.send({ type: 'call', id, method: 'attachConsole', input: { vm: VM } });
        await new Promise((resolve) => (asking = setTimeout(resolve, 10)));
      }
    })();
    try {
      await until(() => /closed a client that is not reading/.test(host.stderr()), 'Closing the never-reading client', 120_000);
      const closedAfter = Date.now() - started;
      // Its terminal was its own: it ends with it.
      await until(() => programsUnder(pid, 'yes').length === 0, "The closed client's terminal ending", 10_000);
      // Still flooding: the host goes on serving the ordinary client, and its memory stays put.
      const latencies: number[] = [];
      for (let round = 0; round < 5; round++) {
        latencies.push(await timed('listVms', {}));
        await sleep(1000);
      }
      clearInterval(sampler);
      console.log(`${report()}; the slow client was closed after ${(closedAfter / 1000).toFixed(1)} s; listVms meanwhile: ${latencies.join(', ')} ms`);
      expect(Math.max(...samples) - baseline).toBeLessThan(RSS_BOUND_BYTES);
      expect(Math.max(...latencies)).toBeLessThan(5000);
      // Once it reads again, it finds its connection closed.
      (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
      await expect(Promise.race([slow.closed.then(() => 'closed'), sleep(30_000).then(() => 'still open')])).resolves.toBe('closed');
    } catch (error) {
      console.log(report());
      throw error;
    } finally {
      clearInterval(sampler);
      clearTimeout(asking);
      slow.close();
      await typeOnConsole('\x03');
    }
  }, 400_000);

  it(`refuses a client beyond ${API_CLIENTS} in words, and takes one again when another leaves`, async () => {
    const opened: ApiSocket[] = [];
    try {
      // The watcher is one of them.
      for (let count = 1; count < API_CLIENTS; count++) opened.push(await openApiSocket(host));
      for (const client of opened) await client.value('getAppInfo', {});
      const extra = await openApiSocket(host);
      opened.push(extra);
      const refused = await extra.closed;
      expect(refused.code).toBe(1013);
      expect(refused.reason).toMatch(new RegExp(`^Hangar serves at most ${API_CLIENTS} windows at once`));
      opened.shift()?.close();
      let again: ApiSocket | null = null;
      for (let attempt = 0; attempt < 50 && !again; attempt++) {
        const candidate = await openApiSocket(host);
        opened.push(candidate);
        const outcome = await Promise.race([candidate.call('getAppInfo', {}).then(() => 'served'), candidate.closed.then(() => 'closed')]);
        if (outcome === 'served') again = candidate;
        else await sleep(100);
      }
      expect(again).not.toBeNull();
    } finally {
      for (const client of opened) client.close();
    }
  }, 120_000);

  it("answers another client's calls promptly while one fires 50,000 listVms at once", async () => {
    const pid = host.pid;
    await sleep(1000);
    const fdsBefore = openFdsOf(pid);
    let replies = 0;
    let failures = 0;
    const flooder = await openApiSocket(
      host,
      () => false,
      (frame) => {
        if (!isReply(frame)) return;
        replies++;
        if (!frame.result.ok) failures++;
      },
    );
    const fdSamples: number[] = [];
    const sampler = setInterval(() => fdSamples.push(openFdsOf(pid)), 100);
    try {
      // 20,000 as the finding had it; more while the library answers from memory too fast for
      // the other client's calls to land inside the flood (which is what this measures).
      const CALLS = 50_000;
      for (let id = 0; id < CALLS; id++) flooder.send({ type: 'call', id, method: 'listVms', input: {} });
      const latencies: Record<string, number> = {};
      // How many flood answers had arrived when each of the other client's answers did.
      const floodRepliesThen: Record<string, number> = {};
      const calls: [string, unknown][] = [['getVm', { vm: VM }], ['pauseVm', { vm: VM }], ['resumeVm', { vm: VM }], ['listVms', {}]];
      for (const [method, input] of calls) {
        latencies[method] = await timed(method, input);
        floodRepliesThen[method] = replies;
      }
      await until(() => replies === CALLS, 'All the answers', 240_000);
      clearInterval(sampler);
      console.log(`${CALLS} listVms: the other client waited ${JSON.stringify(latencies)} ms, answered after ${JSON.stringify(floodRepliesThen)} flood answers; open fds ${fdsBefore} before, at most ${Math.max(...fdSamples)} during`);
      expect(failures).toBe(0);
      // Served alongside the flood, not after it: each call is answered while the flood still
      // runs (it takes seconds), within a second. Before the per-turn budget (caps.ts) one turn of
      // the event loop could serve 30,000 flood calls, and these waited 1-6 s, often to its end.
      for (const [method, ms] of Object.entries(latencies)) {
        expect(floodRepliesThen[method], `${method} answered during the flood`).toBeLessThan(CALLS);
        expect(ms, method).toBeLessThan(1000);
      }
      expect(Math.max(...fdSamples) - fdsBefore).toBeLessThan(64);
    } finally {
      clearInterval(sampler);
      flooder.close();
    }
  }, 300_000);
});
