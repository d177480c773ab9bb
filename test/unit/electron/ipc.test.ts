import { describe, expect, it } from 'vitest';
import { ipcChannelFor } from '../../../src-shared/wire';
import { createHangarService } from '../../../src-main/api/service';
import { registerIpcHandlers } from '../../../src-main/electron/ipc';
import { secureWebPreferences } from '../../../src-main/electron/security';
import { isTrustedFrame } from '../../../src-main/electron/trust';
import { FakeIpcMain } from '../../support/fake-electron';

const APP = 'file:///opt/hangar/resources/app.asar/out/renderer/index.html';

describe('isTrustedFrame', () => {
  it.each([
    ['the app page', { url: APP, parent: null }, true],
    ['the app page with a hash', { url: `${APP}#/host`, parent: null }, true],
    ['another local file', { url: 'file:///tmp/evil.html', parent: null }, false],
    ['a web page', { url: 'https://example.com/', parent: null }, false],
    ['a sub-frame of the app page', { url: APP, parent: {} }, false],
    ['no frame (destroyed)', null, false],
    ['a garbage URL', { url: 'not a url', parent: null }, false],
  ])('%s -> %s', (_what, frame, trusted) => {
    expect(isTrustedFrame(frame, APP)).toBe(trusted);
  });

  it('trusts the dev server page only at its own origin', () => {
    expect(isTrustedFrame({ url: 'http://localhost:5173/', parent: null }, 'http://localhost:5173/')).toBe(true);
    expect(isTrustedFrame({ url: 'http://localhost:5174/', parent: null }, 'http://localhost:5173/')).toBe(false);
  });
});

describe('registerIpcHandlers (with a fake ipcMain)', () => {
  const ipcMain = new FakeIpcMain();
  const unregister = registerIpcHandlers(ipcMain, createHangarService({ door: 'electron' }), () => APP);

  it('answers the app page', async () => {
    expect(await ipcMain.invoke(ipcChannelFor('getAppInfo'), { url: APP, parent: null }, {})).toMatchObject({ ok: true, value: { door: 'electron' } });
  });

  it('refuses any other sender with UNAUTHORIZED', async () => {
    expect(await ipcMain.invoke(ipcChannelFor('getAppInfo'), { url: 'https://example.com/', parent: null }, {})).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
  });

  it('validates the payload', async () => {
    expect(await ipcMain.invoke(ipcChannelFor('getAppInfo'), { url: APP, parent: null }, { extra: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('removes every handler it registered', () => {
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
  });
});

describe('secureWebPreferences', () => {
  it('isolates and sandboxes the renderer without Node', () => {
    expect(secureWebPreferences('/x/preload.cjs')).toMatchObject({
      preload: '/x/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
});
