import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ScreenTickets, startScreenBridge, type ScreenBridgeServer } from '../../../src-main/consoles/screen-bridge';
import { pageOrigins } from '../../../src-main/electron/trust';
import { SCREEN_TICKET_TTL_MS } from '../../../src-shared/screen';

// The screen bridge's tickets, and the bridge itself between a real WebSocket and a real
// unix socket server that stands where QEMU's VNC server would be.

describe('screen tickets', () => {
  it('open their screen once, and never again', () => {
    const tickets = new ScreenTickets();
    const ticket = tickets.issue({ socketPath: '/run/a/vnc.sock' });
    expect(tickets.redeem(ticket)).toEqual({ socketPath: '/run/a/vnc.sock' });
    expect(tickets.redeem(ticket)).toBeNull();
    expect(tickets.outstanding).toBe(0);
  });

  it('refuse unknown, empty and altered tickets', () => {
    const tickets = new ScreenTickets();
    const ticket = tickets.issue({ socketPath: '/run/a/vnc.sock' });
    const altered = (ticket[0] === 'A' ? 'B' : 'A') + ticket.slice(1);
    expect(tickets.redeem(altered)).toBeNull();
    expect(tickets.redeem('')).toBeNull();
    expect(tickets.redeem('not-a-ticket')).toBeNull();
    // Failed attempts do not use up the real one.
    expect(tickets.redeem(ticket)).toEqual({ socketPath: '/run/a/vnc.sock' });
  });

  it(`expire ${SCREEN_TICKET_TTL_MS / 1000} s after they are issued`, () => {
    let now = 1_000_000;
    const tickets = new ScreenTickets(SCREEN_TICKET_TTL_MS, () => now);
    const early = tickets.issue({ socketPath: '/run/early/vnc.sock' });
    const late = tickets.issue({ socketPath: '/run/late/vnc.sock' });
    now += SCREEN_TICKET_TTL_MS - 1;
    expect(tickets.redeem(early)).toEqual({ socketPath: '/run/early/vnc.sock' });
    now += 1;
    expect(tickets.redeem(late)).toBeNull();
  });

  it('forget expired tickets, so unused ones do not pile up', () => {
    let now = 0;
    const tickets = new ScreenTickets(1000, () => now);
    for (let index = 0; index < 50; index++) tickets.issue({ socketPath: `/run/${index}/vnc.sock` });
    expect(tickets.outstanding).toBe(50);
    now = 1000;
    tickets.issue({ socketPath: '/run/new/vnc.sock' });
    expect(tickets.outstanding).toBe(1);
  });

  it('are long, random and safe in an address', () => {
    const tickets = new ScreenTickets();
    const issued = Array.from({ length: 200 }, () => tickets.issue({ socketPath: '/x' }));
    expect(new Set(issued).size).toBe(issued.length);
    for (const ticket of issued) expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('the Origin of the Electron page', () => {
  it('is its own origin in development and the file origin when built', () => {
    expect(pageOrigins('http://localhost:5173/')).toEqual(['http://localhost:5173']);
    expect(pageOrigins('file:///opt/hangar/out/renderer/index.html')).toEqual(['file://', 'null']);
  });
});

const GREETING = 'RFB 003.008\n';

describe('the bridge between a WebSocket and a VNC unix socket', () => {
  let dir: string;
  let socketPath: string;
  let vncServer: net.Server;
  const vncClients: net.Socket[] = [];
  const tickets = new ScreenTickets();
  let bridge: ScreenBridgeServer;
  const origin = 'http://localhost:5173';
  const open: WebSocket[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hangar-screen-bridge-'));
    socketPath = path.join(dir, 'vnc.sock');
    vncServer = net.createServer((socket) => {
      vncClients.push(socket);
      socket.write(GREETING);
    });
    await new Promise<void>((resolve) => vncServer.listen(socketPath, resolve));
    bridge = await startScreenBridge({ tickets, allowedOrigins: [origin] });
  });
  afterEach(() => {
    for (const socket of open.splice(0)) socket.terminate();
    for (const socket of vncClients.splice(0)) socket.destroy();
  });
  afterAll(async () => {
    await bridge.close();
    await new Promise((resolve) => vncServer.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const connect = (url: string, options: WebSocket.ClientOptions = { origin }): WebSocket => {
    const socket = new WebSocket(url, options);
    open.push(socket);
    return socket;
  };
  const firstMessage = (socket: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
    new Promise((resolve, reject) => {
      socket.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary }));
      socket.once('error', reject);
    });
  const refusal = (socket: WebSocket): Promise<number> =>
    new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.once('open', () => reject(new Error('The bridge let the WebSocket in.')));
      socket.once('error', () => {});
    });
  const closed = (socket: WebSocket): Promise<{ code: number; reason: string }> => new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const nextVncClient = async (): Promise<net.Socket> => {
    await expect.poll(() => vncClients.length).toBeGreaterThan(0);
    return vncClients[vncClients.length - 1] as net.Socket;
  };

  it('listens on loopback only and says where', () => {
    expect(bridge.url).toBe(`ws://127.0.0.1:${bridge.port}/screen`);
  });

  it('carries the VNC greeting to the browser and the browser bytes to VNC, as binary frames', async () => {
    const socket = connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`);
    const greeting = await firstMessage(socket);
    expect(greeting.isBinary).toBe(true);
    expect(greeting.data.toString('latin1')).toBe(GREETING);
    const vnc = await nextVncClient();
    const received = new Promise<string>((resolve) => vnc.once('data', (chunk) => resolve(chunk.toString('latin1'))));
    socket.send(Buffer.from(GREETING, 'latin1'));
    await expect(received).resolves.toBe(GREETING);
  });

  it('ends the WebSocket when the VM side ends, and the VM side when the WebSocket ends', async () => {
    const first = connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`);
    await firstMessage(first);
    const ended = closed(first);
    (await nextVncClient()).end();
    await expect(ended).resolves.toMatchObject({ code: 1000, reason: 'The VM screen closed.' });

    vncClients.splice(0);
    const second = connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`);
    await firstMessage(second);
    const vnc = await nextVncClient();
    const vncClosed = new Promise<void>((resolve) => vnc.once('close', () => resolve()));
    second.close();
    await vncClosed;
  });

  it('refuses text frames', async () => {
    const socket = connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`);
    await firstMessage(socket);
    const ended = closed(socket);
    socket.send('hello');
    await expect(ended).resolves.toMatchObject({ code: 1003 });
  });

  it('says the VM is not running when its socket is gone', async () => {
    const socket = connect(`${bridge.url}?ticket=${tickets.issue({ socketPath: path.join(dir, 'gone.sock') })}`);
    await expect(closed(socket)).resolves.toEqual({ code: 1011, reason: 'The VM is not running.' });
  });

  it('refuses a missing, unknown or reused ticket, another origin, another host name and another path', async () => {
    await expect(refusal(connect(bridge.url))).resolves.toBe(401);
    await expect(refusal(connect(`${bridge.url}?ticket=${'A'.repeat(43)}`))).resolves.toBe(401);
    const ticket = tickets.issue({ socketPath });
    await firstMessage(connect(`${bridge.url}?ticket=${ticket}`));
    await expect(refusal(connect(`${bridge.url}?ticket=${ticket}`))).resolves.toBe(401);
    await expect(refusal(connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`, { origin: 'http://evil.example' }))).resolves.toBe(403);
    await expect(refusal(connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`, { origin: undefined }))).resolves.toBe(403);
    await expect(refusal(connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`, { origin, headers: { Host: `rebound.example:${bridge.port}` } }))).resolves.toBe(421);
    await expect(refusal(connect(`ws://127.0.0.1:${bridge.port}/api?ticket=${tickets.issue({ socketPath })}`))).resolves.toBe(404);
  });

  it('stops reading the VM while the browser does not keep up, and loses nothing', async () => {
    const total = 64 * 1024 * 1024;
    const socket = connect(`${bridge.url}?ticket=${tickets.issue({ socketPath })}`);
    await firstMessage(socket);
    socket.pause(); // a browser that reads nothing for a while
    const vnc = await nextVncClient();
    const expected = createHash('sha256');
    let written = 0;
    const pump = (): void => {
      while (written < total) {
        const chunk = Buffer.alloc(64 * 1024, written / (64 * 1024));
        expected.update(chunk);
        written += chunk.length;
        if (!vnc.write(chunk)) return void vnc.once('drain', pump);
      }
    };
    pump();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Everything the VM side could hand over is bounded by the bridge's high-water mark
    // plus the kernel's socket buffers, far below what was offered.
    const handedOver = written - vnc.writableLength;
    expect(handedOver).toBeLessThan(total / 2);

    const got = createHash('sha256');
    let received = 0;
    const all = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        got.update(data as Buffer);
        received += (data as Buffer).length;
        if (received >= total) resolve();
      }),
    );
    socket.resume();
    await all;
    expect(received).toBe(total);
    expect(got.digest('hex')).toBe(expected.digest('hex'));
  }, 60_000);
});
