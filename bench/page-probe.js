/* global window, document, requestAnimationFrame, MutationObserver */
// Injected by bench/ui.bench.ts into every page before the app's own scripts run
// (Playwright init script: not subject to the page's CSP, and it changes no app code).
// It only watches: the DOM, the frames on the app's WebSocket, and the Enter key. The
// numbers are performance.now() values, i.e. milliseconds since this navigation started.
(() => {
  if (window.top !== window || window.__hangarBench) return;

  // A person who has looked at the Host screen once: on this TCG machine the app would
  // otherwise switch to it by itself on the first visit of each origin (host-slice.ts),
  // racing the library's first paint.
  try {
    localStorage.setItem('hangar.hostReviewed', 'bench');
  } catch {
    // storage unavailable: the Host screen may take over, and the library wait times out
  }

  /** Resolves (with the time) in the next task: after whatever rendering is under way now has finished. */
  const nextTask = () =>
    new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => resolve(performance.now());
      channel.port2.postMessage(null);
    });

  /**
   * Resolves after the next frame has been painted: requestAnimationFrame runs just before
   * the browser styles, lays out and paints a frame, and a task queued from there runs once
   * that paint is done. For DOM changed by an ordinary task (React commits in one).
   */
  const afterNextPaint = () => new Promise((resolve) => requestAnimationFrame(() => void nextTask().then(resolve)));

  /**
   * When `text` is first in root's text (seenMs), and when the frame showing it was painted
   * (paintedMs). xterm's DOM renderer changes its rows inside its own requestAnimationFrame
   * callback, so that frame is painted right after: the next task marks it (asking for
   * another animation frame would add one frame, ~17 ms, to every terminal figure).
   */
  const whenTextShown = (root, text, { changedInFrame }) =>
    new Promise((resolve) => {
      let observer = null;
      const check = () => {
        if (!(root.textContent ?? '').includes(text)) return false;
        observer?.disconnect();
        const seenMs = performance.now();
        void (changedInFrame ? nextTask() : afterNextPaint()).then((paintedMs) => resolve({ seenMs, paintedMs }));
        return true;
      };
      if (check()) return;
      observer = new MutationObserver(check);
      observer.observe(root, { childList: true, subtree: true, characterData: true });
    });

  // --- The WebSocket: when the listVms answer arrives, and the console bytes of a burst. ---
  const state = { socketCreatedMs: null, socketOpenMs: null, listVmsCallId: null, listVmsReplyMs: null, listVmsReplyChars: null, lastConsoleFrameMs: 0, burst: null, scrollback: null };
  const CONSOLE_EVENT = '{"type":"event","name":"consoleOutput",';
  const NativeWebSocket = window.WebSocket;
  // Only the API's socket (/api): a VM screen opens sockets of its own.
  class WatchedWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.watched = new URL(this.url).pathname === '/api';
      if (!this.watched) return;
      state.socketCreatedMs ??= performance.now();
      this.addEventListener('open', () => (state.socketOpenMs ??= performance.now()));
      // Added before the app adds its own listener, so it sees each frame first.
      this.addEventListener('message', (message) => onFrame(message.data));
    }
    send(data) {
      if (this.watched && state.listVmsCallId === null && typeof data === 'string' && data.includes('"method":"listVms"')) state.listVmsCallId = JSON.parse(data).id;
      // The console pane asks for its scrollback once its terminal is open: watch its rows from now.
      const scrollback = state.scrollback;
      if (this.watched && scrollback && scrollback.callId === null && typeof data === 'string' && data.includes('"method":"attachConsole"')) {
        scrollback.callId = JSON.parse(data).id;
        const rows = paneRows();
        if (!rows) throw new Error('The console pane asked for its scrollback before its terminal was open.');
        scrollback.shown = whenTextShown(rows, scrollback.marker, { changedInFrame: true });
      }
      super.send(data);
    }
  }
  window.WebSocket = WatchedWebSocket;

  function onFrame(data) {
    if (typeof data !== 'string') return;
    // The scrollback's answer: only its time and the frame here (the clock runs from now), read later.
    const scrollback = state.scrollback;
    if (scrollback && scrollback.callId !== null && scrollback.replyMs === null && data.startsWith(`{"type":"reply","id":${scrollback.callId},`)) {
      scrollback.replyMs = performance.now();
      scrollback.frame = data;
      return;
    }
    if (state.listVmsReplyMs === null && state.listVmsCallId !== null && data.startsWith(`{"type":"reply","id":${state.listVmsCallId},`)) {
      state.listVmsReplyMs = performance.now();
      state.listVmsReplyChars = data.length;
      return;
    }
    if (!data.startsWith(CONSOLE_EVENT)) return;
    state.lastConsoleFrameMs = performance.now();
    const burst = state.burst;
    if (!burst || burst.startedMs === null || burst.arrivedMs !== null) return;
    // The payload's data is base64 (no quotes or escapes inside); cut it out without a JSON parse.
    const start = data.indexOf('"data":"') + 8;
    const base64 = data.slice(start, data.indexOf('"', start));
    const text = atob(base64);
    burst.chunks.push(base64);
    burst.bytes += text.length;
    const seen = burst.tail + text;
    if (seen.includes(burst.marker)) burst.arrivedMs = performance.now();
    burst.tail = seen.slice(-burst.marker.length);
  }

  // The burst starts when Enter goes down (capture phase: before xterm sees the key).
  window.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Enter' && state.burst && state.burst.startedMs === null) state.burst.startedMs = performance.now();
    },
    true,
  );

  // --- The library's first paint: a VM row, or the empty-library message. ---
  const libraryPainted = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const found = document.querySelector('.vm-row, .empty-library');
      if (!found) return;
      observer.disconnect();
      const seenMs = performance.now();
      void afterNextPaint().then((paintedMs) => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        resolve({
          matched: found.classList.contains('vm-row') ? 'vm-row' : 'empty-library',
          seenMs,
          paintedMs,
          fcpMs: fcp ? fcp.startTime : null,
          socketCreatedMs: state.socketCreatedMs,
          socketOpenMs: state.socketOpenMs,
          listVmsReplyMs: state.listVmsReplyMs,
          listVmsReplyChars: state.listVmsReplyChars,
          rowsInDom: document.querySelectorAll('.vm-row').length,
        });
      });
    });
    observer.observe(document, { childList: true, subtree: true });
  });

  const paneRows = () => document.querySelector('[data-testid="serial-terminal"] .xterm-rows');

  window.__hangarBench = {
    libraryPainted,

    /** Resolves once no console bytes have come for `ms` (and a frame has been painted since). */
    async quiet(ms) {
      for (;;) {
        const idle = performance.now() - state.lastConsoleFrameMs;
        if (idle >= ms) break;
        await new Promise((resolve) => setTimeout(resolve, ms - idle));
      }
      await afterNextPaint();
    },

    /** Resolves when the serial pane's rows show `text`. */
    async paneShows(text) {
      for (;;) {
        const rows = paneRows();
        if (rows) return void (await whenTextShown(rows, text, { changedInFrame: true }));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },

    /** Starts watching for a burst that ends with `marker`; the clock starts at the next Enter. */
    armBurst(marker) {
      const rows = paneRows();
      if (!rows) throw new Error('The serial pane has no .xterm-rows: is the console open?');
      const burst = { marker, startedMs: null, arrivedMs: null, bytes: 0, chunks: [], tail: '' };
      state.burst = burst;
      burst.shown = whenTextShown(rows, marker, { changedInFrame: true });
    },

    /** The armed burst, once its marker is painted in the pane. */
    async burstResult() {
      const burst = state.burst;
      const { seenMs, paintedMs } = await burst.shown;
      return { bytes: burst.bytes, chunks: burst.chunks.length, startedMs: burst.startedMs, arrivedMs: burst.arrivedMs, seenMs, paintedMs, paneRows: paneRows()?.children.length ?? null };
    },

    /**
     * Arms the scrollback measure for the console pane about to open: the clock starts when
     * the answer to its attachConsole call reaches the page (before the app sees it) and stops
     * when the frame showing `marker`, the scrollback's last line, is painted in the pane.
     */
    armScrollback(marker) {
      state.scrollback = { marker, callId: null, replyMs: null, frame: null, shown: null };
    },

    /** The armed scrollback measure, once the pane shows its marker. */
    async scrollbackResult() {
      const scrollback = state.scrollback;
      for (;;) {
        if (scrollback.shown) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const { seenMs, paintedMs } = await scrollback.shown;
      const { result } = JSON.parse(scrollback.frame);
      return { bytes: atob(result.value.scrollback).length, replyMs: scrollback.replyMs, seenMs, paintedMs, paneRows: paneRows()?.children.length ?? null };
    },

    /**
     * The baseline: a second xterm.js (the same package, loaded as its UMD build), with the
     * pane's options and size, on top of the pane in this page, written the very chunks of
     * the last burst (or the last scrollback, as one chunk) as fast as xterm takes them. No engine, socket or store in between.
     */
    async writeDirect(source = 'burst') {
      const burst = source === 'scrollback' ? { marker: state.scrollback.marker, chunks: [JSON.parse(state.scrollback.frame).result.value.scrollback] } : state.burst;
      const pane = document.querySelector('[data-testid="serial-terminal"]');
      const rect = pane.getBoundingClientRect();
      const host = document.createElement('div');
      host.className = pane.className;
      Object.assign(host.style, { position: 'fixed', left: `${rect.left}px`, top: `${rect.top}px`, width: `${rect.width}px`, height: `${rect.height}px`, boxSizing: 'border-box', zIndex: '1000' });
      document.body.appendChild(host);
      // The pane's own options (src-renderer/components/terminal-look.ts and the console pane).
      const terminal = new window.Terminal({ convertEol: false, scrollback: 5000, fontSize: 14, lineHeight: 1.2, cursorBlink: true, screenReaderMode: false });
      const fit = new window.FitAddon.FitAddon();
      terminal.loadAddon(fit);
      terminal.open(host);
      fit.fit();
      // Decoded beforehand: the pane decodes too, but that is the store's work, not xterm's.
      const chunks = burst.chunks.map((base64) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0)));
      await afterNextPaint();
      await afterNextPaint();
      const shown = whenTextShown(host.querySelector('.xterm-rows'), burst.marker, { changedInFrame: true });
      const startedMs = performance.now();
      for (const chunk of chunks) terminal.write(chunk);
      const { seenMs, paintedMs } = await shown;
      const result = { bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0), startedMs, seenMs, paintedMs, cols: terminal.cols, rows: terminal.rows };
      terminal.dispose();
      host.remove();
      return result;
    },
  };
})();
