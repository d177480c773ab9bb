import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SCREEN_PATH, SCREEN_TICKET_TTL_MS } from '../../src-shared/screen';
import { listenOnLoopback, LOOPBACK } from '../util/listen';

// The screen bridge: QEMU 7.2 serves VNC on a unix socket but refuses a WebSocket there,
// and noVNC speaks only WebSocket. So a process with a loopback port (the web host, the
// Electron main process) carries the bytes between the two. Anyone on this machine can
// reach a loopback port, so the WebSocket opens only with a ticket the service handed out
// through an authenticated API call: random, single use, and valid for 30 seconds.

export const SCREEN_BRIDGE_ADDRESS = LOOPBACK;
/** noVNC sends in 10 KiB pieces; a large clipboard may need more, nothing needs this much. */
const MAX_SCREEN_FRAME_BYTES = 4 * 1024 * 1024;
/** Stop reading QEMU's screen while this much waits for a slow browser; go on below the low mark. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;

export interface ScreenTarget {
  /** The VM's VNC unix socket. */
  socketPath: string;
}

/** One-time tickets for the bridge: openScreen issues one, the bridge redeems it once. */
export class ScreenTickets {
  // Kept by their hash, so looking one up takes no longer for a near miss than for a far one.
  private readonly tickets = new Map<string, ScreenTarget & { expires: number }>();

  constructor(
    private readonly ttlMs = SCREEN_TICKET_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  issue(target: ScreenTarget): string {
    this.prune();
    const ticket = randomBytes(32).toString('base64url');
    this.tickets.set(hashOf(ticket), { ...target, expires: this.now() + this.ttlMs });
    return ticket;
  }

  /** The screen a ticket opens, or null when it is unknown, used already, or too old. */
  redeem(ticket: string): ScreenTarget | null {
    const key = hashOf(ticket);
    const found = this.tickets.get(key);
    this.tickets.delete(key);
    this.prune();
    if (!found || found.expires <= this.now()) return null;
    return { socketPath: found.socketPath };
  }

  /** Tickets issued and not yet redeemed or expired. */
  get outstanding(): number {
    this.prune();
    return this.tickets.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, ticket] of this.tickets) if (ticket.expires <= now) this.tickets.delete(key);
  }
}

const hashOf = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

/**
 * Carries one noVNC WebSocket to a VNC unix socket and back: binary frames only, each side
 * paused while the other cannot keep up, and when either side ends, both end.
 */
export function bridgeScreen(client: WebSocket, socketPath: string): void {
  const vnc = net.createConnection(socketPath);
  let ended = false;
  const endBoth = (code: number, reason: string): void => {
    if (ended) return;
    ended = true;
    vnc.destroy();
    if (client.readyState === client.OPEN || client.readyState === client.CONNECTING) client.close(code, reason);
  };

  // Guest to browser.
  const sent = (error?: Error): void => {
    if (error) return endBoth(1011, 'The browser stopped taking the screen.');
    if (vnc.isPaused() && client.bufferedAmount <= LOW_WATER_BYTES) vnc.resume();
  };
  vnc.on('data', (chunk: Buffer) => {
    client.send(chunk, { binary: true }, sent);
    if (client.bufferedAmount > HIGH_WATER_BYTES) vnc.pause();
  });

  // Browser to guest.
  client.on('message', (data, isBinary) => {
    if (!isBinary) return endBoth(1003, 'The screen takes binary frames only.');
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!vnc.write(bytes)) client.pause();
  });
  vnc.on('drain', () => client.resume());

  vnc.on('error', (error: NodeJS.ErrnoException) => endBoth(1011, error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'The VM is not running.' : 'The VM screen failed.'));
  vnc.on('close', () => endBoth(1000, 'The VM screen closed.'));
  client.on('close', () => endBoth(1000, ''));
  client.on('error', () => {
    endBoth(1011, '');
    client.terminate();
  });
}

export interface ScreenDoorChecks {
  /** Host headers this door answers to (DNS rebinding). */
  allowedHosts(): readonly string[];
  /** Origins of the pages that may open a screen (other web pages may not). */
  allowedOrigins(): readonly string[];
}

export interface ScreenUpgrade {
  /** Handles an HTTP upgrade on SCREEN_PATH: checks, redeems the ticket, bridges. */
  handle(request: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every bridged screen. */
  close(): void;
}

export function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** The one way a door opens a screen: the same checks as its API, then the ticket. */
export function screenUpgrade(tickets: ScreenTickets, checks: ScreenDoorChecks): ScreenUpgrade {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_SCREEN_FRAME_BYTES });
  return {
    handle(request, socket, head) {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== SCREEN_PATH) return refuseUpgrade(socket, '404 Not Found');
      if (!checks.allowedHosts().includes(request.headers.host ?? '')) return refuseUpgrade(socket, '421 Misdirected Request');
      if (!checks.allowedOrigins().includes(request.headers.origin ?? '')) return refuseUpgrade(socket, '403 Forbidden');
      const target = tickets.redeem(url.searchParams.get('ticket') ?? '');
      if (!target) return refuseUpgrade(socket, '401 Unauthorized');
      server.handleUpgrade(request, socket, head, (client) => bridgeScreen(client, target.socketPath));
    },
    close() {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}

export interface ScreenBridgeServer {
  port: number;
  /** ws://127.0.0.1:PORT/screen, to which openScreen adds ?ticket=… */
  url: string;
  close(): Promise<void>;
}

/** A loopback port that serves only screens, for a door without an HTTP server of its own (Electron). */
export async function startScreenBridge({ tickets, allowedOrigins, port = 0 }: { tickets: ScreenTickets; allowedOrigins: readonly string[]; port?: number }): Promise<ScreenBridgeServer> {
  let boundPort = port;
  const upgrade = screenUpgrade(tickets, {
    allowedHosts: () => [`${SCREEN_BRIDGE_ADDRESS}:${boundPort}`],
    allowedOrigins: () => allowedOrigins,
  });
  const server = http.createServer((_request, response) => {
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Only VM screens are served here.\n');
  });
  server.on('upgrade', (request, socket, head) => upgrade.handle(request, socket, head));
  boundPort = await listenOnLoopback(server, port);
  return {
    port: boundPort,
    url: `ws://${SCREEN_BRIDGE_ADDRESS}:${boundPort}${SCREEN_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        upgrade.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
