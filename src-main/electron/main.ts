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
  rendererUrl: pathToFileURL(path.join(here, '..', 'renderer', 'index.html')).href,
  // For electron-vite dev's ELECTRON_RENDERER_URL, which only an unpackaged app reads.
  env: process.env,
  preloadPath: path.join(here, '..', 'preload', 'index.cjs'),
  settingsPath: settingsFile(),
  argv: process.argv,
  cwd: process.cwd(),
});
