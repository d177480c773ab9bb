import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleViewers } from '../../../src-main/qemu/keeper/console-viewers';

// The keeper's console viewers over real unix sockets: output gathered into few writes,
// a viewer that stops reading cut off once it holds its allowance, one that pauses for a
// moment kept, and the others never disturbed.

let dir: string;
let server: net.Server;
let viewers: ConsoleViewers;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-viewers-'));
});
afterEach(async () => {
  viewers?.closeAll();
  server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A listening console.sock whose connections join `viewers` with this scrollback. */
async function listen(scrollback: Buffer): Promise<string> {
  const file = path.join(dir, 'console.sock');
  server = net.createServer((socket) => viewers.add(socket, scrollback));
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return file;
}

interface TestViewer {
  socket: net.Socket;
  reads: number;
  bytes(): Buffer;
  closed: Promise<void>;
}

async function connect(file: string): Promise<TestViewer> {
  const socket = net.createConnection(file);
  const parts: Buffer[] = [];
  const viewer: TestViewer = { socket, reads: 0, bytes: () => Buffer.concat(parts), closed: new Promise((resolve) => socket.once('close', () => resolve())) };
  socket.on('data', (chunk: Buffer) => {
    viewer.reads++;
    parts.push(chunk);
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  // The keeper side has added it once the framed scrollback arrived.
  while (viewer.bytes().length < 4) await sleep(5);
  return viewer;
}

const framed = (scrollback: Buffer, live: Buffer): Buffer => {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(scrollback.length);
  return Buffer.concat([header, scrollback, live]);
};

/** A serial port's way of talking: a few bytes at a time. */
function trickle(text: Buffer, pieceBytes = 3): void {
  for (let at = 0; at < text.length; at += pieceBytes) viewers.broadcast(text.subarray(at, at + pieceBytes));
}

describe('console viewers', () => {
  it('get the scrollback, then every byte once, in few writes', async () => {
    viewers = new ConsoleViewers();
    const file = await listen(Buffer.from('boot log\n'));
    const one = await connect(file);
    const live = Buffer.from('x'.repeat(30_000));
    trickle(live);
    await sleep(100);
    const two = await connect(file);
    trickle(Buffer.from('after\n'));
    await sleep(100);
    expect(one.bytes().equals(framed(Buffer.from('boot log\n'), Buffer.concat([live, Buffer.from('after\n')])))).toBe(true);
    expect(two.bytes().equals(framed(Buffer.from('boot log\n'), Buffer.from('after\n')))).toBe(true);
    // 10,000 serial chunks arrived as a handful of reads, not one each.
    expect(one.reads).toBeLessThan(20);
  });

  it('cut off a viewer that stops reading once it holds its allowance; the others read on', async () => {
    const allowance = 256 * 1024;
    viewers = new ConsoleViewers(allowance);
    const file = await listen(Buffer.alloc(0));
    const stalled = await connect(file);
    const reading = await connect(file);
    stalled.socket.pause();
    const sent: Buffer[] = [];
    let cut = false;
    void stalled.closed.then(() => (cut = true));
    // Far more than the allowance and the kernel's socket buffers together.
    for (let round = 0; round < 400 && !cut; round++) {
      const piece = Buffer.from(`${String(round).padStart(6, '0')}${'-'.repeat(9994)}`);
      sent.push(piece);
      trickle(piece, 50);
      await sleep(2);
    }
    await sleep(100);
    // The stalled one's socket is closed by the other side while it still has not read.
    stalled.socket.resume();
    await stalled.closed;
    expect(viewers.count).toBe(1);
    expect(reading.socket.destroyed).toBe(false);
    const total = sent.reduce((sum, piece) => sum + piece.length, 0);
    expect(total).toBeGreaterThan(allowance); // not cut before it held its allowance
    const got = stalled.bytes().length - 4;
    expect(got).toBeLessThan(total);
    expect(reading.bytes().subarray(4).equals(Buffer.concat(sent))).toBe(true);
  });

  it('keep a viewer that pauses for a moment, and it catches up on everything', async () => {
    viewers = new ConsoleViewers(256 * 1024);
    const file = await listen(Buffer.alloc(0));
    const pausing = await connect(file);
    pausing.socket.pause();
    const burst = Buffer.from('y'.repeat(200 * 1024));
    trickle(burst, 512);
    await sleep(50);
    pausing.socket.resume();
    await sleep(100);
    expect(viewers.count).toBe(1);
    expect(pausing.socket.destroyed).toBe(false);
    expect(pausing.bytes().subarray(4).equals(burst)).toBe(true);
  });
});
