#!/usr/bin/env node
// The `hangar` command. The code lives in the build (out/main/cli.js); this file only finds it.
import { existsSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = new URL('../out/main/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`hangar: Hangar is not built yet. Run "npm run build" in ${fileURLToPath(new URL('..', import.meta.url))} first.\n`);
  process.exit(1);
}

// V8 keeps the code it compiled for Hangar between runs (Node >= 22.1), in a folder of this
// user's own (never the shared /tmp default, where another user could plant it). The keeper
// processes a start begins inherit it through NODE_COMPILE_CACHE.
if (typeof module.enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE) {
  const cacheHome = process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  const dir = path.join(cacheHome, 'hangar', 'v8');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.NODE_COMPILE_CACHE = dir;
    module.enableCompileCache(dir);
  } catch {
    // Only speed is lost.
  }
}
await import(entry.href);
