import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { methodNames } from '../../../src-shared/contract';
import { IPC_EVENT_CHANNEL, ipcChannelFor } from '../../../src-shared/wire';
import { createHangarService, type HangarService } from '../../../src-main/api/service';
import { startDesktopApp, type Electron } from '../../../src-main/electron/app';
import { fakeElectronMain, fakeEvent, FakeWebContents, type FakeBrowserWindow } from '../../support/fake-electron';

// The Electron shell, run against the named stand-in of Electron's main-process API
// (Electron cannot run here) with the real service behind it: security options, single
// instance, the ISO a launch hands over, the menu, the remembered window, notifications.

const RENDERER = 'file:///opt/hangar/resources/app.asar/out/renderer/index.html';
let home: string;
let service: HangarService;
let settingsPath: string;

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'hangar-shell-'));
  settingsPath = path.join(home, 'config', 'hangar', 'desktop.json');
  service = createHangarService({ door: 'electron', env: { ...process.env, HANGAR_HOME: path.join(home, 'data'), HANGAR_RUNTIME_DIR: path.join(home, 'run') } });
});
afterEach(async () => {
  service.close();
  await rm(home, { recursive: true, force: true });
});

async function start(fake = fakeElectronMain(), argv: string[] = ['/opt/hangar/hangar-desktop']) {
  const desktop = startDesktopApp(fake.module as unknown as Electron, { service, rendererUrl: RENDERER, preloadPath: '/opt/hangar/preload.cjs', settingsPath, argv, cwd: '/home/ada/Downloads' });
  await desktop.ready;
  const window = fake.windows()[0] as FakeBrowserWindow;
  return { fake, desktop, window };
}

const desktopCommands = (window: FakeBrowserWindow): unknown[] => window.webContents.sent.filter((sent) => sent.channel === IPC_EVENT_CHANNEL && sent.args[0] === 'desktopCommand').map((sent) => sent.args[1]);

describe('the window', () => {
  it('is isolated and sandboxed, loads only the app page, and every contract method has exactly one handler', async () => {
    const { fake, window } = await start();
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, preload: '/opt/hangar/preload.cjs' });
    expect(window.loadedUrl).toBe(RENDERER);
    expect(fake.app.sandboxed).toBe(true);
    expect([...fake.ipcMain.handlers.keys()].sort()).toEqual(methodNames.map(ipcChannelFor).sort());
  });

  it('refuses navigation, pop-ups, webviews and every permission, for any web contents', async () => {
    const { fake } = await start();
    const contents = new FakeWebContents();
    fake.app.emit('web-contents-created', fakeEvent(), contents);
    const navigate = fakeEvent();
    contents.emit('will-navigate', navigate);
    const webview = fakeEvent();
    contents.emit('will-attach-webview', webview);
    expect(navigate.defaultPrevented).toBe(true);
    expect(webview.defaultPrevented).toBe(true);
    expect(contents.windowOpenHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    const granted: boolean[] = [];
    fake.permissions.request?.(contents, 'media', (answer) => granted.push(answer));
    fake.permissions.request?.(contents, 'notifications', (answer) => granted.push(answer));
    expect(granted).toEqual([false, false]);
    expect(fake.permissions.check?.(contents, 'clipboard-read')).toBe(false);
  });

  it('answers IPC only from the app page itself', async () => {
    const { fake } = await start();
    await expect(fake.ipcMain.invoke(ipcChannelFor('getAppInfo'), { url: RENDERER, parent: null }, {})).resolves.toMatchObject({ ok: true, value: { door: 'electron' } });
    await expect(fake.ipcMain.invoke(ipcChannelFor('getAppInfo'), { url: 'https://example.com/', parent: null }, {})).resolves.toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
  });
});

describe("the page's address", () => {
  const DEV_SERVER = 'http://localhost:5173/';
  const open = async (packaged: boolean, devServer: string) => {
    const fake = fakeElectronMain({ packaged });
    const desktop = startDesktopApp(fake.module as unknown as Electron, { service, rendererUrl: RENDERER, preloadPath: '/p.cjs', settingsPath, argv: ['hangar-desktop'], cwd: '/', env: { ELECTRON_RENDERER_URL: devServer } });
    await desktop.ready;
    const trusts = async (url: string) => ((await fake.ipcMain.invoke(ipcChannelFor('getAppInfo'), { url, parent: null }, {})) as { ok: boolean }).ok;
    return { loaded: (fake.windows()[0] as FakeBrowserWindow).loadedUrl, trusts };
  };

  it('a packaged app ignores ELECTRON_RENDERER_URL: it loads and trusts only its own built page', async () => {
    const { loaded, trusts } = await open(true, DEV_SERVER);
    expect(loaded).toBe(RENDERER);
    expect(await trusts(RENDERER)).toBe(true);
    expect(await trusts(DEV_SERVER)).toBe(false);
  });

  it("an unpackaged app (electron-vite dev) loads and trusts the dev server it names, on this machine only", async () => {
    const dev = await open(false, DEV_SERVER);
    expect(dev.loaded).toBe(DEV_SERVER);
    expect(await dev.trusts(DEV_SERVER)).toBe(true);
    expect(await dev.trusts(RENDERER)).toBe(false);
    service.close();
    service = createHangarService({ door: 'electron', env: { ...process.env, HANGAR_HOME: path.join(home, 'data'), HANGAR_RUNTIME_DIR: path.join(home, 'run') } });
    const elsewhere = await open(false, 'https://example.com/');
    expect(elsewhere.loaded).toBe(RENDERER);
    expect(await elsewhere.trusts('https://example.com/')).toBe(false);
  });
});

describe('one Hangar at a time', () => {
  it('a second launch while one runs quits at once, without a window', async () => {
    const fake = fakeElectronMain({ singleInstance: false });
    const desktop = startDesktopApp(fake.module as unknown as Electron, { service, rendererUrl: RENDERER, preloadPath: '/p.cjs', settingsPath, argv: ['/opt/hangar/hangar-desktop', 'x.iso'], cwd: '/tmp' });
    await desktop.ready;
    expect(fake.app.quitCalls).toBe(1);
    expect(fake.windows()).toEqual([]);
  });

  it('the running one takes the ISO a second launch names, and comes to the front', async () => {
    const { fake, window } = await start();
    window.minimized = true;
    window.webContents.emit('did-finish-load');
    fake.app.emit('second-instance', fakeEvent(), ['/opt/hangar/hangar-desktop', '--no-sandbox', 'debian-12.iso'], '/home/ada/Downloads');
    expect(desktopCommands(window)).toEqual([{ command: 'openIso', path: '/home/ada/Downloads/debian-12.iso' }]);
    expect(window.isMinimized()).toBe(false);
    expect(window.isFocused()).toBe(true);
  });

  it('an ISO given at first launch reaches the page once it has loaded', async () => {
    const { window } = await start(fakeElectronMain(), ['/opt/hangar/hangar-desktop', 'file:///srv/isos/Fedora%2041.iso']);
    expect(desktopCommands(window)).toEqual([]);
    window.webContents.emit('did-finish-load');
    expect(desktopCommands(window)).toEqual([{ command: 'openIso', path: '/srv/isos/Fedora 41.iso' }]);
  });
});

describe('the menu', () => {
  it('has the usual menus and shortcuts, and its items reach the page', async () => {
    const { fake, window } = await start();
    window.webContents.emit('did-finish-load');
    const [menu] = fake.menus;
    const template = menu?.template as { label: string; submenu: { label?: string; accelerator?: string; role?: string; click?: () => void }[] }[];
    expect(template.map((entry) => entry.label)).toEqual(['&File', '&Edit', '&View', '&Help']);
    const item = (label: string) => template.flatMap((entry) => entry.submenu).find((candidate) => candidate.label === label);
    expect(item('New Virtual Machine…')?.accelerator).toBe('CmdOrCtrl+N');
    expect(item('Quit')).toMatchObject({ accelerator: 'CmdOrCtrl+Q', role: 'quit' });
    expect(item('Copy')?.role).toBe('copy');
    item('New Virtual Machine…')?.click?.();
    item('Host Check')?.click?.();
    fake.answers.openFile = ['/srv/isos/alpine.iso'];
    item('Open ISO…')?.click?.();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fake.dialogs[0]).toMatchObject({ kind: 'open', options: { properties: ['openFile'] } });
    expect(desktopCommands(window)).toEqual([{ command: 'newVm' }, { command: 'show', screen: 'host' }, { command: 'openIso', path: '/srv/isos/alpine.iso' }]);
  });
});

describe('the remembered window', () => {
  it('opens where it was closed, and a window that would be off-screen comes back onto one', async () => {
    const first = await start();
    first.window.bounds = { x: 300, y: 200, width: 1000, height: 700 };
    first.window.close();
    await expect.poll(async () => JSON.parse(await readFile(settingsPath, 'utf8').catch(() => '{}')).window).toEqual({ x: 300, y: 200, width: 1000, height: 700, maximized: false });

    const again = await start();
    expect(again.window.options).toMatchObject({ x: 300, y: 200, width: 1000, height: 700 });

    await writeFile(settingsPath, JSON.stringify({ window: { x: 5000, y: 3000, width: 1000, height: 700, maximized: true }, quitChoice: null }));
    const moved = await start(fakeElectronMain({ displays: [{ x: 0, y: 0, width: 1280, height: 800 }] }));
    expect(moved.window.options.x).toBeUndefined();
    expect(moved.window.options).toMatchObject({ width: 1000, height: 700 });
    expect(moved.window.isMaximized()).toBe(true);
  });

  it('starts with defaults when its settings file is damaged', async () => {
    await mkdir(path.dirname(settingsPath), { recursive: true });
    await writeFile(settingsPath, '{ not json');
    const { window } = await start();
    expect(window.options).toMatchObject({ width: 1200, height: 800 });
  });
});

describe('notifications', () => {
  const vm = (state: string, problem: string | null = null) => ({
    id: 'debian-12',
    name: 'Debian 12',
    state,
    broken: null,
    problem: problem ? { message: problem, log: [] } : null,
    config: null,
    accelerator: null,
    pid: null,
  });

  it('says when a VM stops or crashes while the window is not focused, and keeps quiet otherwise', async () => {
    const { fake, window } = await start();
    service.events.emit('vmChanged', vm('running') as never);
    service.events.emit('vmChanged', vm('crashed', 'QEMU was killed (SIGKILL).') as never);
    expect(fake.notifications).toEqual([{ title: 'Debian 12 crashed', body: 'QEMU was killed (SIGKILL).' }]);
    window.focused = true;
    service.events.emit('vmChanged', vm('running') as never);
    service.events.emit('vmChanged', vm('stopped') as never);
    expect(fake.notifications).toHaveLength(1);
  });
});

describe('quitting', () => {
  it('with no VM running quits without asking', async () => {
    const { fake } = await start();
    fake.app.quit();
    await expect.poll(() => fake.app.quitCalls).toBe(2);
    expect(fake.dialogs).toEqual([]);
  });
});
