import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHangarService } from '../api/service';
import { runCli } from './commands';

// Entry point of the built CLI (out/main/cli.js), started by bin/hangar.js under plain Node.

const here = path.dirname(fileURLToPath(import.meta.url));

process.exitCode = await runCli(process.argv.slice(2), {
  io: {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    input: process.stdin,
    terminalSize: () => (process.stdout.isTTY ? { cols: process.stdout.columns, rows: process.stdout.rows } : null),
    onTerminalResize: (listener) => {
      process.stdout.on('resize', listener);
      return () => process.stdout.off('resize', listener);
    },
  },
  rendererDir: path.join(here, '..', 'renderer'),
  createService: (door) => createHangarService({ door }),
  untilInterrupted: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
});
