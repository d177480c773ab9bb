import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHangarService, type HangarService } from '../src-main/api/service';
import { launchChromium, type ChromiumSession } from '../test/support/chromium';
import { call, processesMentioning } from '../test/support/engine';
import { repoRoot } from '../test/support/paths';
import { ensureTestIso, TEST_GUEST_READY } from '../test/support/test-iso';
import { shareSession, startWebHostProcess, type WebHostProcess } from '../test/support/web-host-process';
import { cpuSeconds, median, record } from './support';

// The UI in Debian's Chromium against the real `hangar web` (the built CLI), each figure
// against a baseline measured in the same run: the library's first paint with 500 VMs
// against an empty library, and the serial pane's throughput against xterm.js fed the same
// bytes directly in the same page (and against the rate the engine delivers them at).
// bench/page-probe.js, injected before the app's scripts, does the timing inside the page.

const PROBE = path.join(repoRoot, 'bench', 'page-probe.js');
const XTERM_UMD = path.join(repoRoot, 'node_modules', '@xterm', 'xterm', 'lib', 'xterm.js');
const FIT_UMD = path.join(repoRoot, 'node_modules', '@xterm', 'addon-fit', 'lib', 'addon-fit.js');

/** What bench/page-probe.js puts on the page's globalThis. */
interface LibraryPaint {
  matched: 'vm-row' | 'empty-library';
  seenMs: number;
  paintedMs: number;
  fcpMs: number | null;
  socketCreatedMs: number | null;
  socketOpenMs: number | null;
  listVmsReplyMs: number | null;
  listVmsReplyChars: number | null;
  rowsInDom: number;
}
interface BurstResult {
  bytes: number;
  chunks: number;
  startedMs: number | null;
  arrivedMs: number | null;
  seenMs: number;
  paintedMs: number;
  paneRows: number | null;
}
interface ScrollbackResult {
  bytes: number;
  replyMs: number;
  seenMs: number;
  paintedMs: number;
  paneRows: number | null;
}
interface DirectResult {
  bytes: number;
  startedMs: number;
  seenMs: number;
  paintedMs: number;
  cols: number;
  rows: number;
}
interface Probe {
  libraryPainted: Promise<LibraryPaint>;
  quiet(ms: number): Promise<void>;
  paneShows(text: string): Promise<void>;
  armBurst(marker: string): void;
  burstResult(): Promise<BurstResult>;
  armScrollback(marker: string): void;
  scrollbackResult(): Promise<ScrollbackResult>;
  writeDirect(source?: 'burst' | 'scrollback'): Promise<DirectResult>;
}
type WithProbe = { __hangarBench: Probe };

const round1 = (value: number): number => Math.round(value * 10) / 10;
const benchStart = performance.now();
/** A line on stderr per step, so a stall shows where it is. */
const step = (what: string): void => void process.stderr.write(`[ui.bench +${((performance.now() - benchStart) / 1000).toFixed(1)} s] ${what}\n`);

/** Rejects with `what` when `promise` takes longer than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));

const hosts: WebHostProcess[] = [];
const browsers: ChromiumSession[] = [];

afterAll(async () => {
  for (const browser of browsers) await browser.close().catch(() => {});
  for (const host of hosts) {
    await host.stop();
    // The serial benchmark's keeper, holder and QEMU live in the host's HOME: they go with it.
    for (const pid of processesMentioning(host.home)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
});

/** A service in this process on the same library and run folder as the web host. */
function serviceFor(host: WebHostProcess): HangarService {
  return createHangarService({ door: 'cli', env: host.env });
}

async function browserWith(initScripts: string[]): Promise<BrowserContext> {
  const browser = await launchChromium();
  browsers.push(browser);
  for (const script of initScripts) await browser.context.addInitScript({ path: script });
  return browser.context;
}

/** A fresh page of the window, the errors it reports, and a step with its own time limit. */
async function benchPage(context: BrowserContext): Promise<{ page: Page; pageErrors: string[]; inPage: <T>(what: string, ms: number, run: () => Promise<T>) => Promise<T> }> {
  const page: Page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => void (message.type() === 'error' && pageErrors.push(message.text())));
  return { page, pageErrors, inPage: (what, ms, run) => within(ms, `page: ${what}`, run()) };
}

describe('UI benchmarks', () => {
  it('library first paint: 500 VMs vs an empty library', async () => {
    const VMS = 500;
    const ROUNDS = 9;
    const empty = await startWebHostProcess();
    hosts.push(empty);
    const full = await startWebHostProcess();
    hosts.push(full);

    // 500 real VMs, defined through the service as `hangar create` does (no disk, no ISO:
    // nothing but vm.json), in the library the second web host serves. Its engine opens on
    // the first call from a page, and every listVms reads the library from disk again.
    // Each definition reads the whole library (twice), so four at a time: distinct names
    // give distinct ids, and the library stages each VM under its own folder.
    const service = serviceFor(full);
    const definedAt = performance.now();
    let next = 0;
    const define = async (): Promise<void> => {
      for (let index = next++; index < VMS; index = next++) {
        await call(service, 'createVm', { name: `Bench VM ${String(index + 1).padStart(3, '0')}`, iso: null, memoryMiB: 256 + 256 * (index % 8), cpus: 1 + (index % 2), diskGiB: 0 });
      }
    };
    await Promise.all([define(), define(), define(), define()]);
    const listed = await call(service, 'listVms', {});
    if (listed.length !== VMS) throw new Error(`The library holds ${listed.length} VMs, not ${VMS}.`);
    const defineSeconds = (performance.now() - definedAt) / 1000;
    service.close();
    step(`library: ${VMS} VMs defined in ${defineSeconds.toFixed(1)} s`);

    // Only the probe: the terminal benchmark's extra scripts would slow every load alike.
    const context = await browserWith([PROBE]);
    // Fresh page each round, in one browser (the HTTP cache is out of it: the host sends
    // no-store). The first round of each host is a warm-up (browser start, the host's engine
    // opening) and is not counted; then the two alternate, so drift on this noisy machine
    // hits both alike.
    const load = async (host: WebHostProcess): Promise<LibraryPaint> => {
      const page = await context.newPage();
      try {
        await page.goto(host.url, { waitUntil: 'domcontentloaded' });
        const paint = await Promise.race([
          page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.libraryPainted),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('The library did not paint within 60 s.')), 60_000)),
        ]);
        return paint;
      } catch (error) {
        throw new Error(`${String(error)}\n${await page.locator('main').innerText().catch(() => '(no main)')}\n${host.stderr()}`, { cause: error });
      } finally {
        await page.close();
      }
    };
    await load(empty);
    await load(full);
    step('library: warm-up loads done');
    const emptyRounds: LibraryPaint[] = [];
    const fullRounds: LibraryPaint[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        emptyRounds.push(await load(empty));
        fullRounds.push(await load(full));
      } else {
        fullRounds.push(await load(full));
        emptyRounds.push(await load(empty));
      }
    }
    if (emptyRounds.some((paint) => paint.matched !== 'empty-library')) throw new Error('The empty library showed VM rows.');
    if (fullRounds.some((paint) => paint.matched !== 'vm-row')) throw new Error('The library of 500 VMs painted no VM row first.');

    const med = (rounds: LibraryPaint[], pick: (paint: LibraryPaint) => number | null): number | null => {
      const values = rounds.map(pick).filter((value): value is number => value !== null);
      return values.length > 0 ? round1(median(values)) : null;
    };
    const summary = (rounds: LibraryPaint[]) => ({
      painted_ms_median: med(rounds, (paint) => paint.paintedMs),
      painted_ms: rounds.map((paint) => round1(paint.paintedMs)),
      in_dom_ms_median: med(rounds, (paint) => paint.seenMs),
      first_contentful_paint_ms_median: med(rounds, (paint) => paint.fcpMs),
      // When the app's script made its WebSocket, and when that opened: the library is asked for then.
      socket_created_ms_median: med(rounds, (paint) => paint.socketCreatedMs),
      socket_open_ms_median: med(rounds, (paint) => paint.socketOpenMs),
      list_vms_reply_ms_median: med(rounds, (paint) => paint.listVmsReplyMs),
      // From the listVms answer's arrival to the painted rows: the renderer's own share.
      reply_to_paint_ms_median: med(rounds, (paint) => (paint.listVmsReplyMs === null ? null : paint.paintedMs - paint.listVmsReplyMs)),
      list_vms_reply_chars: rounds[0]?.listVmsReplyChars ?? null,
      rows_in_dom: rounds[0]?.rowsInDom ?? null,
    });
    const fullSummary = summary(fullRounds);
    const emptySummary = summary(emptyRounds);
    await record('library_first_paint', {
      rounds: ROUNDS,
      vms: VMS,
      vms_500: fullSummary,
      empty: emptySummary,
      ratio_500_to_empty: ratio(fullSummary.painted_ms_median ?? NaN, emptySummary.painted_ms_median ?? NaN),
      ratio_500_to_empty_reply_to_paint: ratio(fullSummary.reply_to_paint_ms_median ?? NaN, emptySummary.reply_to_paint_ms_median ?? NaN),
      define_500_vms_seconds: round1(defineSeconds),
      measures:
        'ms from navigation start until the frame showing the first VM row (500 VMs) or the empty-library message was painted: ' +
        'a MutationObserver installed before the app sees the element, then requestAnimationFrame and a task after it mark that frame painted.',
    });
  });

  it('serial pane throughput: a guest burst painted in the pane vs xterm.js alone, and vs the same burst read in Node', async () => {
    const ROUNDS = 3;
    const BYTES = Number(process.env.HANGAR_BENCH_BURST_BYTES ?? 1024 * 1024);
    const VM_NAME = 'Serial Bench';
    const iso = await ensureTestIso();
    const host = await startWebHostProcess();
    hosts.push(host);

    const service = serviceFor(host);
    const vm = await call(service, 'createVm', { name: VM_NAME, iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: vm.id });
    step('serial: VM started, waiting for the guest');
    // CPU seconds of the guest's QEMU and its holder (which relays the console) over each burst: whether the guest got
    // less CPU while the browser worked (2 cores here) or was held up further on.
    const qemuPid = started.pid as number;
    const holderPid = Number((await fs.readFile(path.join(host.env.HANGAR_RUNTIME_DIR as string, vm.id, 'holder.pid'), 'utf8')).trim());
    const cpuNow = async (): Promise<{ qemu: number; holder: number; at: number }> => ({ qemu: await cpuSeconds(qemuPid), holder: await cpuSeconds(holderPid), at: performance.now() });
    const cpuShare = (before: { qemu: number; holder: number; at: number }, after: { qemu: number; holder: number; at: number }) => {
      const wall = (after.at - before.at) / 1000;
      return { qemu: (after.qemu - before.qemu) / wall, holder: (after.holder - before.holder) / wall };
    };
    const shares: Record<'engine_api' | 'web_host_websocket' | 'pane', { qemu: number; holder: number }[]> = { engine_api: [], web_host_websocket: [], pane: [] };
    // Boot, and give the shell a 64-character line to print (lines of 65 bytes, 66 on the wire
    // with the tty's CR): the burst's command then stays short of busybox's line width.
    const reader = await engineApiReader(service, vm.id);
    await reader.waitFor(TEST_GUEST_READY, 180_000);
    await reader.type('L=0123456789abcdef; L=$L$L$L$L; echo SETUP-$((6*7))\r');
    await reader.waitFor('SETUP-42', 30_000);
    reader.stop();
    service.close();
    const burstCommand = (marker: string): string => `yes $L|head -c ${BYTES};printf '%s-%s\\n' BURST ${marker}`;
    // The guest's UART under TCG runs at some 100-150 kB/s: allow it ten times longer.
    const burstTimeoutMs = 60_000 + (BYTES / 100_000) * 10_000;

    const context = await browserWith([XTERM_UMD, FIT_UMD, PROBE]);
    const engineApi: { bytes: number; seconds: number; chunks: number }[] = [];
    const webSocket: { bytes: number; seconds: number; chunks: number }[] = [];
    const ui: { bytes: number; seconds: number; arrivalSeconds: number }[] = [];
    const direct: { bytes: number; seconds: number }[] = [];
    const shape: { paneRows: number | null; directCols: number; directRows: number; chunks: number }[] = [];

    // The same command read in Node, without a browser: through the engine API (a service of
    // this process, as a second viewer), and through the web host's WebSocket (what the page
    // would receive, minus the page). No page is open meanwhile.
    const nodeRound = async (kind: 'engine API' | 'web host WebSocket', round: number): Promise<void> => {
      const own = kind === 'engine API' ? serviceFor(host) : null;
      const viewer = own ? await engineApiReader(own, vm.id) : await webSocketReader(host, vm.id);
      const tag = `${kind === 'engine API' ? 'E' : 'W'}${round}`;
      try {
        await viewer.type(burstCommand(tag));
        await viewer.waitFor(`BURST ${tag}`, 30_000); // the echo of the command line
        await viewer.quiet(500);
        const before = await cpuNow();
        const result = await within(burstTimeoutMs, `${kind} burst ${round}`, viewer.burst(`BURST-${tag}`, () => viewer.type('\r')));
        shares[kind === 'engine API' ? 'engine_api' : 'web_host_websocket'].push(cpuShare(before, await cpuNow()));
        (kind === 'engine API' ? engineApi : webSocket).push(result);
        step(`serial: ${kind} round ${round}: ${result.bytes} bytes in ${result.chunks} chunks, ${result.seconds.toFixed(2)} s`);
      } finally {
        viewer.stop();
        own?.close();
      }
    };

    // The pane: a fresh page, the VM screen, the command typed into the terminal; the clock
    // starts when Enter goes down and stops when the frame showing the end marker is painted.
    // Then, in the same page, the baseline: xterm.js written the same chunks directly.
    const uiRound = async (round: number): Promise<void> => {
      const { page, pageErrors, inPage } = await benchPage(context);
      try {
        // The Node readers of this host use its session too: the printed address opens only once.
        await page.goto(await shareSession(context, host));
        await page.getByRole('button', { name: `Open ${VM_NAME}` }).click({ timeout: 30_000 });
        // The VM screen may open on another of its tabs (when it has tabs).
        const consoleTab = page.getByRole('tab', { name: 'Serial console' });
        if ((await consoleTab.count()) > 0) await consoleTab.click();
        const terminal = page.getByTestId('serial-terminal');
        await terminal.locator('.xterm-rows').waitFor({ timeout: 30_000 });
        await inPage('scrollback written', 60_000, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.quiet(1000)));
        await terminal.click();
        // One input event, as a paste or an IME would send it: typed key by key, the keys reach
        // the guest out of order (each becomes its own sendConsoleInput call, and the web host
        // does not keep their order), and the command line arrives garbled.
        await page.keyboard.insertText(burstCommand(`U${round}`));
        await inPage('command echoed', 30_000, () => page.evaluate((text) => (globalThis as unknown as WithProbe).__hangarBench.paneShows(text), `BURST U${round}`));
        await inPage('echo done', 30_000, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.quiet(500)));
        await page.evaluate((marker) => (globalThis as unknown as WithProbe).__hangarBench.armBurst(marker), `BURST-U${round}`);
        const before = await cpuNow();
        await page.keyboard.press('Enter');
        const burst = await inPage(`burst ${round}`, burstTimeoutMs, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.burstResult()));
        shares.pane.push(cpuShare(before, await cpuNow()));
        if (burst.startedMs === null || burst.arrivedMs === null) throw new Error(`The burst was not seen whole: ${JSON.stringify(burst)}`);
        ui.push({ bytes: burst.bytes, seconds: (burst.paintedMs - burst.startedMs) / 1000, arrivalSeconds: (burst.arrivedMs - burst.startedMs) / 1000 });
        await inPage('prompt after the burst', 30_000, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.quiet(500)));
        const baseline = await inPage(`direct write ${round}`, burstTimeoutMs, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.writeDirect()));
        direct.push({ bytes: baseline.bytes, seconds: (baseline.paintedMs - baseline.startedMs) / 1000 });
        shape.push({ paneRows: burst.paneRows, directCols: baseline.cols, directRows: baseline.rows, chunks: burst.chunks });
        step(`serial: pane round ${round}: ${burst.bytes} bytes painted in ${ui.at(-1)?.seconds.toFixed(2)} s (arrived ${ui.at(-1)?.arrivalSeconds.toFixed(2)} s); direct ${direct.at(-1)?.seconds.toFixed(2)} s`);
      } catch (error) {
        const shown = await page.locator('main').innerText({ timeout: 2000 }).catch(() => '(no main)');
        throw new Error(`${String(error)}\nThe page shows:\n${shown.slice(-1500)}\nPage errors: ${pageErrors.join('\n') || 'none'}`, { cause: error });
      } finally {
        await page.close();
      }
    };

    // Once anyone has watched the console through `hangar web`, the host keeps following it
    // (and encoding every chunk) for as long as it runs: be in that state for every round.
    const warmUp = await webSocketReader(host, vm.id);
    warmUp.stop();
    // Rotated, so each kind runs first, second and third once: drift hits all alike.
    const kinds = [(round: number) => nodeRound('engine API', round), (round: number) => nodeRound('web host WebSocket', round), uiRound];
    for (let round = 0; round < ROUNDS; round++) {
      for (let index = 0; index < kinds.length; index++) await kinds[(round + index) % kinds.length]?.(round);
    }

    // The pane at full speed, which no guest reaches through a UART under TCG: a fresh page
    // opens the console of the VM whose scrollback the bursts filled (256 KiB), and the pane
    // writes it at once. The clock runs from the moment the attachConsole answer reaches the
    // page until the frame showing the scrollback's last line is painted: the answer's parse
    // and check, its decoding and xterm's work. Then, in the same page, xterm.js alone is
    // written the same bytes. Its last line is printed by arithmetic, so the command's echo
    // does not hold the marker.
    const SCROLLBACK_ROUNDS = 5;
    const marker = 'SCROLLBACK-END-1042';
    const ender = serviceFor(host);
    const endReader = await engineApiReader(ender, vm.id);
    await endReader.type("echo SCROLLBACK-END-$((1000+42))\r");
    await endReader.waitFor(marker, 30_000);
    await endReader.quiet(500);
    endReader.stop();
    ender.close();
    const scrollbackPane: { bytes: number; seconds: number }[] = [];
    const scrollbackDirect: { bytes: number; seconds: number }[] = [];
    const scrollbackRound = async (round: number): Promise<void> => {
      const { page, pageErrors, inPage } = await benchPage(context);
      try {
        await page.goto(await shareSession(context, host));
        await page.evaluate((text) => (globalThis as unknown as WithProbe).__hangarBench.armScrollback(text), marker);
        await page.getByRole('button', { name: `Open ${VM_NAME}` }).click({ timeout: 30_000 });
        const consoleTab = page.getByRole('tab', { name: 'Serial console' });
        if ((await consoleTab.count()) > 0) await consoleTab.click();
        const shown = await inPage('scrollback painted', 60_000, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.scrollbackResult()));
        scrollbackPane.push({ bytes: shown.bytes, seconds: (shown.paintedMs - shown.replyMs) / 1000 });
        await inPage('quiet after the scrollback', 30_000, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.quiet(300)));
        const baseline = await inPage(`direct write ${round}`, 60_000, () => page.evaluate(() => (globalThis as unknown as WithProbe).__hangarBench.writeDirect('scrollback')));
        scrollbackDirect.push({ bytes: baseline.bytes, seconds: (baseline.paintedMs - baseline.startedMs) / 1000 });
        step(`serial: scrollback round ${round}: ${shown.bytes} bytes painted in the pane in ${scrollbackPane.at(-1)?.seconds.toFixed(3)} s, xterm.js alone ${scrollbackDirect.at(-1)?.seconds.toFixed(3)} s`);
      } catch (error) {
        const text = await page.locator('main').innerText({ timeout: 2000 }).catch(() => '(no main)');
        throw new Error(`${String(error)}\nThe page shows:\n${text.slice(-1500)}\nPage errors: ${pageErrors.join('\n') || 'none'}`, { cause: error });
      } finally {
        await page.close();
      }
    };
    for (let round = 0; round < SCROLLBACK_ROUNDS; round++) await scrollbackRound(round);

    const stopper = serviceFor(host);
    await call(stopper, 'stopVm', { vm: vm.id, force: true, waitSeconds: 30 }).catch(() => {});
    stopper.close();

    const rate = (samples: { bytes: number; seconds: number }[]): number => median(samples.map((sample) => sample.bytes / sample.seconds));
    const uiRate = rate(ui);
    const directRate = rate(direct);
    const engineRate = rate(engineApi);
    const webSocketRate = rate(webSocket);
    const scrollbackRate = rate(scrollbackPane);
    const scrollbackDirectRate = rate(scrollbackDirect);
    const arrivalRate = median(ui.map((sample) => sample.bytes / sample.arrivalSeconds));
    const seconds = (samples: { seconds: number }[]): number[] => samples.map((sample) => Number(sample.seconds.toFixed(3)));
    await record('serial_pane_throughput', {
      rounds: ROUNDS,
      payload_bytes: BYTES,
      wire_bytes_per_burst: ui[0]?.bytes ?? null,
      // The pane itself, fed a full scrollback at once, against xterm.js alone: the goal's figure.
      ratio_pane_to_xterm_direct: ratio(scrollbackRate, scrollbackDirectRate),
      scrollback: {
        rounds: SCROLLBACK_ROUNDS,
        bytes: scrollbackPane[0]?.bytes ?? null,
        pane_bytes_per_second: Math.round(scrollbackRate),
        xterm_direct_bytes_per_second: Math.round(scrollbackDirectRate),
        pane_seconds: seconds(scrollbackPane),
        xterm_direct_seconds: seconds(scrollbackDirect),
      },
      // The live bursts, bounded by the guest's UART: the whole path's rate.
      pane_bytes_per_second: Math.round(uiRate),
      xterm_direct_bytes_per_second: Math.round(directRate),
      ratio_live_pane_to_xterm_direct: ratio(uiRate, directRate),
      pane_arrival_bytes_per_second: Math.round(arrivalRate),
      web_host_websocket_bytes_per_second: Math.round(webSocketRate),
      engine_api_bytes_per_second: Math.round(engineRate),
      ratio_pane_to_engine_api: ratio(uiRate, engineRate),
      ratio_pane_to_web_host_websocket: ratio(uiRate, webSocketRate),
      ratio_web_host_websocket_to_engine_api: ratio(webSocketRate, engineRate),
      ratio_pane_arrival_to_pane: ratio(arrivalRate, uiRate),
      chunks_per_burst: { engine_api: engineApi.map((sample) => sample.chunks), web_host_websocket: webSocket.map((sample) => sample.chunks), pane: shape.map((sample) => sample.chunks) },
      pane_seconds: seconds(ui),
      pane_arrival_seconds: ui.map((sample) => Number(sample.arrivalSeconds.toFixed(3))),
      xterm_direct_seconds: seconds(direct),
      web_host_websocket_seconds: seconds(webSocket),
      engine_api_seconds: seconds(engineApi),
      // Cores' worth of CPU (1 = one core busy) the guest's QEMU and its holder used during the bursts.
      qemu_cpu_share_median: Object.fromEntries(Object.entries(shares).map(([kind, list]) => [kind, Number(median(list.map((share) => share.qemu)).toFixed(3))])),
      holder_cpu_share_median: Object.fromEntries(Object.entries(shares).map(([kind, list]) => [kind, Number(median(list.map((share) => share.holder)).toFixed(3))])),
      terminal: shape.map(({ paneRows, directCols, directRows }) => ({ paneRows, directCols, directRows })),
      measures:
        'Bytes from Enter until the end marker, per second. pane: typed in the VM screen, guest -> holder -> web host -> WebSocket -> store -> xterm (DOM renderer), ' +
        'until the frame showing the marker is painted; pane_arrival: the same burst until the marker reached the page; ' +
        'xterm_direct: a second xterm.js in the same page, same options and size, written the same chunks at once (the baseline); ' +
        'web_host_websocket and engine_api: the same command read in Node through the web host WebSocket and through the service API, no browser running. ' +
        "The guest's UART under TCG bounds all but xterm_direct. " +
        'scrollback (and ratio_pane_to_xterm_direct): a fresh page opens the console of the VM, whose 256 KiB scrollback the pane writes at once, from the attachConsole answer reaching the page until the frame showing its last line is painted, ' +
        'against xterm.js alone in the same page written the same bytes as one chunk.',
    });
  });
});

interface ConsoleReader {
  type(keys: string): Promise<void>;
  waitFor(marker: string, timeoutMs: number): Promise<void>;
  /** Resolves once no console bytes have come for `ms`. */
  quiet(ms: number): Promise<void>;
  /** Times a burst: from just before `begin` until the chunk with `marker`; bytes and chunks in between. */
  burst(marker: string, begin: () => Promise<void>): Promise<{ bytes: number; seconds: number; chunks: number }>;
  stop(): void;
}

/**
 * Looks for markers in console text as it comes. Like followConsole in test/support/engine.ts,
 * but it keeps only a short tail, so each chunk costs the same (followConsole re-scans and
 * re-flattens the whole text each time, which at a megabyte slows the reader by itself).
 */
function consoleWatcher(type: (keys: string) => Promise<void>, stop: () => void): ConsoleReader & { feed(text: string): void } {
  let tail = '';
  let lastChunkAt = performance.now();
  let watcher: ((text: string) => void) | null = null;
  const watchFor = (marker: string, onChunk: (bytes: number) => void = () => {}): Promise<void> =>
    new Promise((resolve) => {
      if (tail.includes(marker)) return resolve();
      let seen = tail.slice(-marker.length);
      watcher = (text) => {
        onChunk(text.length);
        const window = seen + text;
        if (window.includes(marker)) {
          watcher = null;
          resolve();
        }
        seen = window.slice(-marker.length);
      };
    });
  return {
    feed(text) {
      lastChunkAt = performance.now();
      tail = (tail + text).slice(-4096);
      watcher?.(text);
    },
    type,
    async waitFor(marker, timeoutMs) {
      try {
        await within(timeoutMs, `${marker} on the console`, watchFor(marker));
      } catch (error) {
        throw new Error(`${String(error)}. The console ends with:\n${tail.slice(-1000)}`, { cause: error });
      } finally {
        watcher = null;
      }
    },
    async quiet(ms) {
      for (;;) {
        const idle = performance.now() - lastChunkAt;
        if (idle >= ms) return;
        await new Promise((resolve) => setTimeout(resolve, ms - idle));
      }
    },
    async burst(marker, begin) {
      let bytes = 0;
      let chunks = 0;
      tail = '';
      const done = watchFor(marker, (count) => {
        bytes += count;
        chunks += 1;
      });
      const began = performance.now();
      await begin();
      await done;
      return { bytes, chunks, seconds: (performance.now() - began) / 1000 };
    },
    stop,
  };
}

/** One VM's console through the service API (consoleOutput events), as the CLI and tests read it. */
async function engineApiReader(service: HangarService, vm: string): Promise<ConsoleReader> {
  let stopEvents = (): void => {};
  const reader = consoleWatcher(
    async (keys) => void (await call(service, 'sendConsoleInput', { vm, data: Buffer.from(keys).toString('base64') })),
    () => stopEvents(),
  );
  stopEvents = service.events.on('consoleOutput', (chunk) => {
    if (chunk.vm === vm) reader.feed(Buffer.from(chunk.data, 'base64').toString('latin1'));
  });
  const { scrollback } = await call(service, 'attachConsole', { vm });
  reader.feed(Buffer.from(scrollback, 'base64').toString('latin1'));
  return reader;
}

/** One VM's console through the web host's WebSocket, from Node: the frames a page gets. */
async function webSocketReader(host: WebHostProcess, vm: string): Promise<ConsoleReader> {
  const socket = new WebSocket(`ws://127.0.0.1:${host.port}/api`, { origin: host.origin, headers: { Cookie: (await host.session()).header } });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: { ok: boolean; error?: { message: string } }) => void>();
  const invoke = (method: string, input: unknown): Promise<void> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (result) => (result.ok ? resolve() : reject(new Error(`${method}: ${result.error?.message ?? 'failed'}`))));
      socket.send(JSON.stringify({ type: 'call', id, method, input }));
    });
  const reader = consoleWatcher(
    (keys) => invoke('sendConsoleInput', { vm, data: Buffer.from(keys).toString('base64') }),
    () => socket.close(),
  );
  socket.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as { type: 'reply'; id: number; result: { ok: boolean } } | { type: 'event'; name: string; payload: { vm?: string; data?: string } };
    if (frame.type === 'reply') {
      pending.get(frame.id)?.(frame.result);
      pending.delete(frame.id);
    } else if (frame.name === 'consoleOutput' && frame.payload.vm === vm) {
      reader.feed(Buffer.from(frame.payload.data ?? '', 'base64').toString('latin1'));
    }
  });
  await invoke('attachConsole', { vm }); // the live bytes from now on; its scrollback is not needed here
  return reader;
}
