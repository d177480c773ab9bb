import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as electron from 'electron';
import { createHangarService } from '../api/service';
import { settingsFile } from '../desktop/settings';
import { startDesktopApp } from './app';

// The desktop app's entry: the real Electron, the real service, the built page.

const here = path.dirname(fileURLToPath(import.meta.url));

startDesktopApp(electron, {
  service: createHangarService({ door: 'electron' }),
  // electron-vite sets this in development to its dev server.
  rendererUrl: process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(path.join(here, '..', 'renderer', 'index.html')).href,
  preloadPath: path.join(here, '..', 'preload', 'index.cjs'),
  settingsPath: settingsFile(),
  argv: process.argv,
  cwd: process.cwd(),
});
