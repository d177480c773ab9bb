import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { methodNames } from '../../../src-shared/contract';
import { ipcChannelFor, type CallResult, type HangarBridge } from '../../../src-shared/wire';
import { createHangarService } from '../../../src-main/api/service';
import { commands } from '../../../src-main/cli/commands';
import { registerIpcHandlers } from '../../../src-main/electron/ipc';
import { startWebHost, type WebHost } from '../../../src-main/web/server';
import { FakeIpcMain, fakePreloadElectron } from '../../support/fake-electron';
import { openWebSession } from '../../support/web-session';

// Every contract method is served by every door: none missing, none extra.

const sorted = (names: readonly string[]): string[] => [...names].sort();
const NOT_IN_CONTRACT = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'launchMissiles'];

describe('the service', () => {
  it('implements exactly the contract', () => {
    const { api } = createHangarService({ door: 'cli' });
    expect(sorted(Object.keys(api))).toEqual(sorted(methodNames));
  });
});

describe('door 1: Electron IPC (against a fake ipcMain, since Electron cannot run here)', () => {
  it('registers one handler per contract method and nothing else', () => {
    const ipcMain = new FakeIpcMain();
    registerIpcHandlers(ipcMain, createHangarService({ door: 'electron' }), () => 'file:///app/out/renderer/index.html');
    expect(sorted([...ipcMain.handlers.keys()])).toEqual(sorted(methodNames.map(ipcChannelFor)));
  });

  it('the preload forwards every contract method to its channel and refuses others', async () => {
    const fake = fakePreloadElectron();
    vi.doMock('electron', () => fake.module);
    await import('../../../src-main/electron/preload');
    vi.doUnmock('electron');
    const bridge = fake.exposed.get('hangar') as HangarBridge;
    expect([...fake.exposed.keys()]).toEqual(['hangar']);
    expect(Object.isFrozen(bridge)).toBe(true);
    for (const method of methodNames) await bridge.invoke(method, {});
    expect(fake.invoked.map((call) => call.channel)).toEqual(methodNames.map(ipcChannelFor));
    for (const name of NOT_IN_CONTRACT) {
      const result = await bridge.invoke(name, {});
      expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    }
    expect(fake.invoked).toHaveLength(methodNames.length);
  });
});

describe('door 2: the web host WebSocket', () => {
  let host: WebHost;
  let socket: WebSocket;
  let nextId = 1;
  const call = (method: string, input: unknown): Promise<CallResult> => {
    const id = nextId++;
    return new Promise((resolve) => {
      const onMessage = (data: WebSocket.RawData): void => {
        const frame = JSON.parse(data.toString()) as { type: string; id?: number; result?: CallResult };
        if (frame.type === 'reply' && frame.id === id) {
          socket.off('message', onMessage);
          resolve(frame.result as CallResult);
        }
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ type: 'call', id, method, input }));
    });
  };

  beforeAll(async () => {
    rendererDir = await mkdtemp(path.join(os.tmpdir(), 'hangar-renderer-'));
    await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
    // A library and run folder of its own, so nothing touches the user's VMs.
    const home = await mkdtemp(path.join(os.tmpdir(), 'hangar-home-'));
    cleanups.push(home);
    const env = { ...process.env, HANGAR_HOME: path.join(home, 'data'), HANGAR_RUNTIME_DIR: path.join(home, 'run') };
    host = await startWebHost({ service: createHangarService({ door: 'web', env }), rendererDir });
    const { header: cookie } = await openWebSession(host.url);
    socket = new WebSocket(`ws://127.0.0.1:${host.port}/api`, { origin: `http://127.0.0.1:${host.port}`, headers: { Cookie: cookie } });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  });
  let rendererDir: string;
  const cleanups: string[] = [];
  afterAll(async () => {
    socket.close();
    await host.close();
    for (const dir of [rendererDir, ...cleanups]) await rm(dir, { recursive: true, force: true });
  });

  // An empty input is valid for some methods and a BAD_REQUEST for others; either way the
  // method was found and served, which is what this door must prove.
  it.each(methodNames)('serves %s', async (method) => {
    const result = await call(method, {});
    expect(result.ok || result.error.code).not.toBe('UNKNOWN_METHOD');
    if (!result.ok) expect(result.error.code).toBe('BAD_REQUEST');
  });

  it.each(NOT_IN_CONTRACT)('refuses %s, which is not in the contract', async (method) => {
    expect(await call(method, {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
  });
});

describe('door 3: the CLI', () => {
  it('serves every contract method through exactly one verb', () => {
    const served = commands.flatMap((command) => command.methods);
    expect(sorted(served)).toEqual(sorted(methodNames));
    expect(new Set(served).size).toBe(served.length);
  });
});
