import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { IPC_EVENT_CHANNEL } from '../../src-shared/wire';
import { createHangarService } from '../api/service';
import { registerIpcHandlers } from './ipc';
import { secureWebPreferences } from './security';

// The Electron shell: a window, IPC wiring and OS glue. Everything else is the service's.

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererUrl = (): string =>
  // electron-vite sets this in development to its dev server.
  process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(path.join(here, '..', 'renderer', 'index.html')).href;

const service = createHangarService({ door: 'electron' });

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
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => app.quit());
