#!/usr/bin/env node
// The `hangar` command. The code lives in the build (out/main/cli.js); this file only finds it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../out/main/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`hangar: Hangar is not built yet. Run "npm run build" in ${fileURLToPath(new URL('..', import.meta.url))} first.\n`);
  process.exit(1);
}
await import(entry.href);
