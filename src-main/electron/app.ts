import type * as ElectronModule from 'electron';
import type { BrowserWindow, MenuItemConstructorOptions } from 'electron';
import type { DesktopCommand } from '../../src-shared/desktop';
import type { VmState } from '../../src-shared/vm';
import { IPC_EVENT_CHANNEL } from '../../src-shared/wire';
import type { HangarService } from '../api/service';
import { startScreenBridge, type ScreenBridgeServer } from '../consoles/screen-bridge';
import { filesFromArgv } from '../desktop/launch-args';
import { menuSpec, type MenuAction } from '../desktop/menu';
import { carryOutQuitChoice, liveVms, QUIT_BUTTONS, quitQuestion } from '../desktop/quit';
import { loadSettings, placeWindow, saveSettings, type DesktopSettings } from '../desktop/settings';
import { noticeFor } from '../desktop/vm-notices';
import { registerIpcHandlers } from './ipc';
import { secureWebPreferences } from './security';
import { pageOrigins } from './trust';

// The Electron shell: one window, the IPC doors, and the OS glue (single instance, menu,
// dialogs, notifications, remembered window, quitting with VMs running). The Electron
// module is a parameter so the shell runs in tests against a named stand-in; main.ts
// passes the real one.

export type Electron = typeof ElectronModule;

export interface DesktopOptions {
  service: HangarService;
  /** The built renderer page (a file: URL). */
  rendererUrl: string;
  /** The process environment, read only for ELECTRON_RENDERER_URL, and only by an app that is not packaged. */
  env?: NodeJS.ProcessEnv;
  preloadPath: string;
  /** Where window placement and the remembered quit choice are kept. */
  settingsPath: string;
  /** The process's own command line, for an ISO given at first launch. */
  argv: readonly string[];
  cwd: string;
}

export interface DesktopApp {
  /** Resolves once the window exists (or at once when another instance took over). */
  ready: Promise<void>;
  window(): BrowserWindow | null;
}

const DEFAULT_SIZE = { width: 1200, height: 800 };
const ISO_FILTERS = [
  { name: 'ISO images', extensions: ['iso', 'ISO'] },
  { name: 'All files', extensions: ['*'] },
];

/**
 * The page the window loads and IPC trusts. electron-vite dev names its dev server in
 * ELECTRON_RENDERER_URL; a packaged app never looks there, or whoever sets its environment
 * could point the window, with its IPC bridge, at a page of theirs. Even unpackaged, only
 * a server on this machine.
 */
export function pageUrl(isPackaged: boolean, builtPage: string, env: NodeJS.ProcessEnv = {}): string {
  const devServer = isPackaged ? undefined : env.ELECTRON_RENDERER_URL;
  if (!devServer) return builtPage;
  const url = URL.parse(devServer);
  if (url && url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return url.href;
  console.error(`hangar: ELECTRON_RENDERER_URL is ${devServer}, not an http address on this machine; the window loads the built page instead.`);
  return builtPage;
}

export function startDesktopApp(electron: Electron, options: DesktopOptions): DesktopApp {
  // screen and session are read only once the app is ready: Electron refuses them before.
  const { app, BrowserWindow, Menu, Notification, dialog, ipcMain } = electron;
  const { service } = options;
  const rendererUrl = pageUrl(app.isPackaged, options.rendererUrl, options.env);
  let window: BrowserWindow | null = null;
  let settings: DesktopSettings = { window: null, quitChoice: null };
  let screenBridge: ScreenBridgeServer | null = null;
  let quitting = false;
  /** Commands that came before the page could hear them (an ISO given at launch). */
  const early: DesktopCommand[] = [];
  let pageReady = false;

  const send = (command: DesktopCommand): void => {
    if (window && pageReady) window.webContents.send(IPC_EVENT_CHANNEL, 'desktopCommand', command);
    else early.push(command);
  };
  const openIsoFrom = (argv: readonly string[], cwd: string, skip: number): void => {
    const [iso] = filesFromArgv(argv, cwd, { skip });
    if (iso) send({ command: 'openIso', path: iso });
  };
  // In development the command line is `electron . FILE`: skip the app folder too.
  const argvSkip = app.isPackaged ? 1 : 2;

  // One Hangar per session: a second launch (a file manager's "Open with") hands its ISO over.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return { ready: Promise.resolve(), window: () => null };
  }
  app.on('second-instance', (_event, argv, workingDirectory) => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
    openIsoFrom(argv, workingDirectory, argvSkip);
  });
  openIsoFrom(options.argv, options.cwd, argvSkip);

  app.enableSandbox();
  // Every web contents, not only our window's: no navigation away, no pop-ups, no webviews.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  const remember = async (change: Partial<DesktopSettings>): Promise<void> => {
    settings = { ...settings, ...change };
    await saveSettings(options.settingsPath, settings).catch((error: unknown) => console.error('hangar: could not save the desktop settings:', error));
  };

  const pickIso = async (): Promise<void> => {
    const parent = window;
    const result = parent
      ? await dialog.showOpenDialog(parent, { title: 'Open ISO', properties: ['openFile'], filters: ISO_FILTERS })
      : await dialog.showOpenDialog({ title: 'Open ISO', properties: ['openFile'], filters: ISO_FILTERS });
    const [file] = result.filePaths;
    if (!result.canceled && file) send({ command: 'openIso', path: file });
  };

  const runAction = (action: MenuAction): void => {
    if (action === 'newVm') send({ command: 'newVm' });
    else if (action === 'openIso') void pickIso();
    else if (action === 'showLibrary') send({ command: 'show', screen: 'library' });
    else if (action === 'showHost') send({ command: 'show', screen: 'host' });
    else void remember({ quitChoice: null }).then(buildMenu);
  };

  const buildMenu = (): void => {
    const template: MenuItemConstructorOptions[] = menuSpec({ quitChoiceRemembered: settings.quitChoice !== null }).map((menu) => ({
      label: menu.label,
      submenu: menu.items.map((item): MenuItemConstructorOptions => {
        if ('type' in item) return { type: 'separator' };
        const action = item.action;
        return {
          label: item.label,
          ...(item.accelerator ? { accelerator: item.accelerator } : {}),
          ...(item.role ? { role: item.role } : {}),
          ...(item.enabled === false ? { enabled: false } : {}),
          ...(action ? { click: () => runAction(action) } : {}),
        };
      }),
    }));
    Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  };

  const createWindow = (): BrowserWindow => {
    const placed = placeWindow(settings.window, electron.screen.getAllDisplays().map((display) => display.workArea), DEFAULT_SIZE);
    const created = new BrowserWindow({
      ...placed.bounds,
      minWidth: 720,
      minHeight: 480,
      title: 'Hangar',
      show: false,
      webPreferences: secureWebPreferences(options.preloadPath),
    });
    if (placed.maximized) created.maximize();
    created.once('ready-to-show', () => created.show());
    created.webContents.on('did-finish-load', () => {
      pageReady = true;
      for (const command of early.splice(0)) send(command);
    });
    created.on('close', () => {
      const bounds = created.getNormalBounds();
      void remember({ window: { ...bounds, maximized: created.isMaximized() } });
    });
    created.on('closed', () => {
      if (window === created) window = null;
      pageReady = false;
    });
    void created.loadURL(rendererUrl);
    return created;
  };

  // A desktop notification when a VM stops or crashes while the person looks elsewhere.
  const lastStates = new Map<string, VmState>();
  service.events.on('vmChanged', (vm) => {
    const notice = noticeFor(lastStates.get(vm.id), vm);
    lastStates.set(vm.id, vm.state);
    if (notice && !window?.isFocused() && Notification.isSupported()) new Notification({ title: notice.title, body: notice.body }).show();
  });
  service.events.on('vmRemoved', ({ id }) => lastStates.delete(id));

  // Quitting with VMs running: ask (or do what was remembered), then quit for real.
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    void (async () => {
      const running = await liveVms(service.api).catch(() => []);
      let choice = settings.quitChoice ?? 'keep';
      if (running.length > 0 && settings.quitChoice === null) {
        const question = quitQuestion(running);
        const answer = await dialog.showMessageBox({
          type: 'question',
          title: 'Quit Hangar',
          message: question.message,
          detail: question.detail,
          buttons: QUIT_BUTTONS.map((button) => button.label),
          defaultId: 0,
          cancelId: QUIT_BUTTONS.length - 1,
          checkboxLabel: 'Remember my choice',
          noLink: true,
        });
        const picked = QUIT_BUTTONS[answer.response]?.choice ?? 'cancel';
        if (picked === 'cancel') return;
        choice = picked;
        if (answer.checkboxChecked) await remember({ quitChoice: picked });
      }
      if (running.length > 0) {
        const outcome = await carryOutQuitChoice(service.api, choice, running);
        if (outcome.failures.length > 0) {
          const again = await dialog.showMessageBox({
            type: 'warning',
            title: 'Quit Hangar',
            message: 'Not every VM could be handled.',
            detail: `${outcome.failures.join('\n')}\n\nThose VMs keep running in the background.`,
            buttons: ['Quit Anyway', 'Cancel'],
            defaultId: 1,
            cancelId: 1,
          });
          if (again.response !== 0) return;
        }
      }
      quitting = true;
      app.quit();
    })();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => {
    void screenBridge?.close();
    service.close();
  });

  const ready = app.whenReady().then(async () => {
    settings = await loadSettings(options.settingsPath);
    // The renderer never needs the camera, notifications from pages, or anything else.
    electron.session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    electron.session.defaultSession.setPermissionCheckHandler(() => false);
    registerIpcHandlers(ipcMain, service, () => rendererUrl);
    service.events.onAny((name, payload) => {
      for (const open of BrowserWindow.getAllWindows()) open.webContents.send(IPC_EVENT_CHANNEL, name, payload);
    });
    // VM screens: the same bridge as the web host's, on a loopback port of its own.
    try {
      screenBridge = await startScreenBridge({ tickets: service.screenTickets, allowedOrigins: pageOrigins(rendererUrl) });
      service.setScreenBridge(screenBridge.url);
    } catch (error) {
      console.error('hangar: the screen bridge could not start:', error);
    }
    buildMenu();
    window = createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) window = createWindow();
    });
  });
  return { ready, window: () => window };
}
