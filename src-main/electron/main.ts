import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { IPC_EVENT_CHANNEL } from '../../src-shared/wire';
import { createHangarService } from '../api/service';
import { startScreenBridge, type ScreenBridgeServer } from '../consoles/screen-bridge';
import { registerIpcHandlers } from './ipc';
import { secureWebPreferences } from './security';
import { pageOrigins } from './trust';

// The Electron shell: a window, IPC wiring and OS glue. Everything else is the service's.

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererUrl = (): string =>
  // electron-vite sets this in development to its dev server.
  process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(path.join(here, '..', 'renderer', 'index.html')).href;

const service = createHangarService({ door: 'electron' });
let screenBridge: ScreenBridgeServer | null = null;

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    title: 'Hangar',
    show: false,
    webPreferences: secureWebPreferences(path.join(here, '..', 'preload', 'index.cjs')),
  });
  window.once('ready-to-show', () => window.show());
  // The window only ever shows Hangar's own page: no navigation, no pop-ups.
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void window.loadURL(rendererUrl());
  return window;
}

app.enableSandbox();

void app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  registerIpcHandlers(ipcMain, service, rendererUrl);
  service.events.onAny((name, payload) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send(IPC_EVENT_CHANNEL, name, payload);
  });
  // VM screens: the same bridge as the web host's, on a loopback port of its own.
  void startScreenBridge({ tickets: service.screenTickets, allowedOrigins: pageOrigins(rendererUrl()) }).then(
    (bridge) => {
      screenBridge = bridge;
      service.setScreenBridge(bridge.url);
    },
    (error: unknown) => console.error('hangar: the screen bridge could not start:', error),
  );
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => void screenBridge?.close());
