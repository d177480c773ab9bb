import type net from 'node:net';
import WebSocket from 'ws';
import { ServerFrame } from '../../src-shared/wire';

// A client of the web host's API WebSocket from Node, the way another program (or a test
// standing in for a page) talks to it: raw frames, kept for a test to wait on.

export type Upgrade = { opened: WebSocket } | { refused: number };

/** Tries to open a WebSocket; reports the HTTP status when the server refuses the upgrade. */
export function tryOpenSocket(url: string, { origin, host, cookie }: { origin?: string; host?: string; cookie?: string } = {}): Promise<Upgrade> {
  const headers: Record<string, string> = { ...(host === undefined ? {} : { Host: host }), ...(cookie === undefined ? {} : { Cookie: cookie }) };
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { ...(origin === undefined ? {} : { origin }), headers, handshakeTimeout: 10_000 });
    socket.once('open', () => resolve({ opened: socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ refused: response.statusCode ?? 0 });
      response.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

type Reply = Extract<ServerFrame, { type: 'reply' }>;
type Event = Extract<ServerFrame, { type: 'event' }>;

/** An open API socket that keeps the frames it receives (all, or those `keep` picks), for a test to wait on. */
export class ApiSocket {
  readonly frames: ServerFrame[] = [];
  /** Every event's name as it arrived, kept even when the frame itself is not. */
  readonly eventNames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];
  private nextId = 1_000_000;

  constructor(
    readonly socket: WebSocket,
    private readonly keep: (frame: ServerFrame) => boolean = () => true,
    /** Sees every frame, kept or not (e.g. to follow console output without keeping it). */
    private readonly onFrame: (frame: ServerFrame) => void = () => {},
  ) {
    socket.on('message', (data) => {
      const frame = ServerFrame.parse(JSON.parse(String(data)));
      if (frame.type === 'event') this.eventNames.push(frame.name);
      this.onFrame(frame);
      if (this.keep(frame)) this.frames.push(frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    // A server that drops this client makes writes fail; the close above is what a test looks at.
    socket.on('error', (error) => this.errors.push(error));
  }

  readonly errors: Error[] = [];

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or still to come) that matches. */
  async waitFor<T extends ServerFrame>(matches: (frame: ServerFrame) => frame is T, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(matches);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No matching frame within ${timeoutMs} ms; received: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** One call; the id is picked here unless given. */
  async call(method: string, input: unknown, { id = this.nextId++, timeoutMs = 30_000 } = {}): Promise<Reply['result']> {
    this.send({ type: 'call', id, method, input });
    const reply = await this.waitFor((frame): frame is Reply => frame.type === 'reply' && frame.id === id, timeoutMs);
    return reply.result;
  }

  /** Like call, but throws the error's words, and returns the value. */
  async value(method: string, input: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> {
    const result = await this.call(method, input, options);
    if (!result.ok) throw new Error(`${method}: ${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  events(name: string): Event[] {
    return this.frames.filter((frame): frame is Event => frame.type === 'event' && frame.name === name);
  }

  /** Stops reading: what the server sends piles up in the kernel, then in the server. */
  stopReading(): void {
    (this.socket as unknown as { _socket: net.Socket })._socket.pause();
  }

  close(): void {
    this.socket.terminate();
  }
}

export const isReply = (frame: ServerFrame): frame is Reply => frame.type === 'reply';
export const isEvent =
  (name: string) =>
  (frame: ServerFrame): frame is Event =>
    frame.type === 'event' && frame.name === name;
