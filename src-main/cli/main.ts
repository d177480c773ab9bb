import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HangarService } from '../api/service';
import { wakeKeeperEarly } from '../api/early-start';
import { trace } from '../util/trace';

// Entry point of the built CLI (out/main/cli.js), started by bin/hangar.js under plain Node.
// It imports next to nothing itself: `hangar start` wakes the keeper first when none runs,
// which then loads alongside the rest of the CLI (qemu/keeper/wake.ts).

trace('cli: process began', performance.timeOrigin);
if (process.argv[2] === 'start') wakeKeeperEarly();
const [{ createHangarService }, { runCli }] = await Promise.all([import('../api/service'), import('./commands')]);
trace('cli: loaded');
const here = path.dirname(fileURLToPath(import.meta.url));

// `hangar list | head`: the reader went away. Stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

// Ctrl-C or SIGTERM: `hangar web` stops serving; any other verb lets go of its VMs (they
// keep running) so that whatever it waits for ends now, in words, and the process exits.
const services: HangarService[] = [];
let webService: HangarService | null = null;
let interrupt: () => void = () => {};
const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143);
    signalled = true;
    interrupt();
    for (const service of services) if (service !== webService) service.close();
    // Nothing left to wait for should hold the process; if something still does, end anyway.
    setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), 3000).unref();
  });
}

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
  createService: (door) => {
    const service = createHangarService({ door });
    services.push(service);
    if (door === 'web') webService = service;
    return service;
  },
  untilInterrupted: () => interrupted,
});
trace('cli: done');
// Everything the verb did has been awaited, and stdout and stderr are written synchronously
// to files, pipes and terminals on Linux: nothing is left but closing what it opened (keeper
// connections, file watches), which the exit does at once instead of one by one.
process.exit();
