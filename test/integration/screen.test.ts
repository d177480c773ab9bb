import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { HangarService } from '../../src-main/api/service';
import { KeeperClient } from '../../src-main/qemu/keeper/client';
import { keeperFiles } from '../../src-main/qemu/keeper/protocol';
import { takeScreenshot } from '../../src-main/qemu/screendump';
import { startWebHost, type WebHost } from '../../src-main/web/server';
import { call, followConsole, makeSandbox, type Sandbox, runCli, type CliRun } from '../support/engine';
import { decodePng, distinctColours } from '../support/png';
import { refusal } from '../support/refusal';
import { ensureTestIso, TEST_GUEST_READY } from '../support/test-iso';

// A running VM's screen through a real web host and real QEMU (TCG): openScreen's one-time
// address carries VNC both ways (the RFB handshake down to ServerInit), the wrong ones are
// refused, and getScreenshot is a real picture of what the guest printed.

let sandbox: Sandbox;
let service: HangarService;
let host: WebHost;
let rendererDir: string;
let origin: string;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  const iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-screen-');
  service = sandbox.service();
  rendererDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-renderer-'));
  await fs.writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
  host = await startWebHost({ service, rendererDir });
  origin = `http://127.0.0.1:${host.port}`;
  await call(service, 'createVm', { name: 'Screen Guest', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
});

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await host?.close();
  await sandbox?.cleanup();
  if (rendererDir) await fs.rm(rendererDir, { recursive: true, force: true });
});

function open(url: string, options: WebSocket.ClientOptions = { origin }): WebSocket {
  const socket = new WebSocket(url, options);
  sockets.push(socket);
  return socket;
}

const hangar = (...args: string[]): CliRun => runCli(sandbox.env, args);

/** The HTTP status a refused upgrade answered with. */
function refusedWith(socket: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('open', () => reject(new Error('The screen opened where it should have been refused.')));
    socket.once('error', () => {});
  });
}

/** Reads an RFB byte stream from WebSocket frames, however QEMU's writes were cut into them. */
function rfbReader(socket: WebSocket): { read(count: number): Promise<Buffer>; binaryOnly(): boolean } {
  let buffered = Buffer.alloc(0);
  let allBinary = true;
  let waiter: (() => void) | null = null;
  socket.on('message', (data, isBinary) => {
    allBinary &&= isBinary;
    buffered = Buffer.concat([buffered, data as Buffer]);
    waiter?.();
  });
  return {
    async read(count) {
      const deadline = Date.now() + 20_000;
      while (buffered.length < count) {
        if (Date.now() > deadline) throw new Error(`Waited for ${count} bytes of RFB, got ${buffered.length}.`);
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 200);
        });
      }
      const taken = buffered.subarray(0, count);
      buffered = buffered.subarray(count);
      return Buffer.from(taken);
    },
    binaryOnly: () => allBinary,
  };
}

describe("a VM's screen", () => {
  it('is refused in words while the VM is not running', async () => {
    const error = await refusal(call(service, 'openScreen', { vm: 'screen-guest' }));
    expect(error.code).toBe('VM_NOT_RUNNING');
    expect(error.message).toBe('"Screen Guest" is stopped, not running.');
    expect((await refusal(call(service, 'getScreenshot', { vm: 'Screen Guest' }))).code).toBe('VM_NOT_RUNNING');
  });

  it('opens once per ticket through the web host and speaks VNC both ways; pictures show what the guest printed', async () => {
    await call(service, 'startVm', { vm: 'screen-guest' });
    const console = await followConsole(service, 'screen-guest');
    await console.waitFor(new RegExp(TEST_GUEST_READY), 120_000);
    console.stop();

    const screen = await call(service, 'openScreen', { vm: 'screen-guest' });
    expect(screen.socketPath).toBe(path.join(sandbox.root, 'run', 'screen-guest', 'vnc.sock'));
    expect((await fs.stat(screen.socketPath)).isSocket()).toBe(true);
    expect(screen.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${host.port}/screen\\?ticket=[A-Za-z0-9_-]{43}$`));
    const url = screen.url as string;

    // The RFB handshake with QEMU's VNC server, through the bridge.
    const socket = open(url);
    const rfb = rfbReader(socket);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    expect((await rfb.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    socket.send(Buffer.from('RFB 003.008\n', 'latin1'));
    const [typeCount = 0] = await rfb.read(1);
    const securityTypes = [...(await rfb.read(typeCount))];
    expect(securityTypes).toContain(1); // None: the socket is private to this user
    socket.send(Buffer.from([1]));
    expect((await rfb.read(4)).readUInt32BE(0)).toBe(0); // SecurityResult OK
    socket.send(Buffer.from([1])); // ClientInit, shared
    const serverInit = await rfb.read(24);
    const vncSize = { width: serverInit.readUInt16BE(0), height: serverInit.readUInt16BE(2) };
    const nameLength = serverInit.readUInt32BE(20);
    expect((await rfb.read(nameLength)).toString('utf8')).toContain('Screen Guest');
    expect(rfb.binaryOnly()).toBe(true);

    // The ticket is spent; other pages and ticketless requests are refused.
    expect(await refusedWith(open(url))).toBe(401);
    expect(await refusedWith(open(`ws://127.0.0.1:${host.port}/screen`))).toBe(401);
    const fresh = (await call(service, 'openScreen', { vm: 'screen-guest' })).url as string;
    expect(await refusedWith(open(fresh, { origin: 'http://evil.example' }))).toBe(403);
    expect(await refusedWith(open(fresh, { origin, headers: { Host: `attacker.example:${host.port}` } }))).toBe(421);
    // The printed address's token is no ticket.
    expect(await refusedWith(open(`ws://127.0.0.1:${host.port}/screen?ticket=${new URL(host.url).searchParams.get('token') ?? ''}`))).toBe(401);

    // The picture: the same size as the VNC screen, and not one flat colour.
    const shot = await call(service, 'getScreenshot', { vm: 'screen-guest' });
    const picture = decodePng(Buffer.from(shot.png, 'base64'));
    expect({ width: shot.width, height: shot.height }).toEqual({ width: picture.width, height: picture.height });
    expect({ width: shot.width, height: shot.height }).toEqual(vncSize);
    expect(distinctColours(picture)).toBeGreaterThan(1);
    // Nothing is left in the run folder.
    expect((await fs.readdir(path.dirname(screen.socketPath))).filter((name) => name.startsWith('screenshot-'))).toEqual([]);

    // The CLI: no bridge, so no address and no ticket; the socket and how to open it.
    expect(JSON.parse(hangar('screen', 'screen-guest', '--json').stdout)).toEqual({ url: null, socketPath: screen.socketPath });
    expect(hangar('screen', 'Screen Guest').stdout).toContain(`remote-viewer vnc+unix://${screen.socketPath}`);
    const saved = path.join(sandbox.root, 'shot.png');
    const shotCommand = hangar('screenshot', 'screen-guest', saved);
    expect(shotCommand).toMatchObject({ code: 0, stdout: `Saved screen-guest's screen (${shot.width}×${shot.height}) to ${saved}\n` });
    expect(distinctColours(decodePng(await fs.readFile(saved)))).toBeGreaterThan(1);

    // When the VM goes, its screen closes with it.
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await call(service, 'stopVm', { vm: 'screen-guest', force: true, waitSeconds: 30 });
    expect(await closed).toBe(1000);
    expect((await refusal(call(service, 'openScreen', { vm: 'screen-guest' }))).message).toBe('"Screen Guest" is stopped, not running.');
    expect(hangar('screen', 'screen-guest')).toMatchObject({ code: 1, stderr: 'hangar screen: "Screen Guest" is stopped, not running.\n' });
    expect(hangar('screenshot', 'screen-guest', saved)).toMatchObject({ code: 1, stderr: 'hangar screenshot: "Screen Guest" is stopped, not running.\n' });
  }, 240_000);

  it("QEMU writes the picture into a 0600 file that Hangar made, in the VM's private run folder", async () => {
    await call(service, 'startVm', { vm: 'screen-guest' });
    const runDir = path.join(sandbox.root, 'run', 'screen-guest');
    const keeper = await KeeperClient.connect(keeperFiles(runDir).control);
    try {
      const seen: { file: string; mode: number; size: number }[] = [];
      const shot = await takeScreenshot(
        {
          async screendump(args) {
            const answer = await keeper.execute('screendump', args);
            const stat = await fs.stat(args.filename);
            seen.push({ file: args.filename, mode: stat.mode & 0o777, size: stat.size });
            return answer;
          },
        },
        runDir,
      );
      expect(seen).toHaveLength(1);
      expect(path.dirname(seen[0]?.file ?? '')).toBe(runDir);
      expect(seen[0]?.mode).toBe(0o600);
      expect(seen[0]?.size).toBe(shot.png.length);
      expect((await fs.stat(runDir)).mode & 0o777).toBe(0o700);
      await expect(fs.stat(seen[0]?.file ?? '')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      keeper.close();
      await call(service, 'stopVm', { vm: 'screen-guest', force: true, waitSeconds: 30 });
    }
  }, 120_000);
});
