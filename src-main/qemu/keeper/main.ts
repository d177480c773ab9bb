import path from 'node:path';
import { trace } from '../../util/trace';
import { findHolderBinary } from '../holder/paths';
import { runtimeRoot } from '../supervisor';
import { runKeeperDaemon } from './daemon';

// Entry of the keeper process (`out/main/keeper.js RUNTIME_FOLDER`), one per user: started detached by a
// Hangar process that found no keeper on keeper.sock (keeper/spawn.ts). It says on stdout
// whether it serves ("serving") or another keeper already does ("other"), then lives while
// VMs run or requests come.

trace('keeper: process began', performance.timeOrigin);
const say = (line: string): void => {
  // Whoever started us may be gone by now; never die of a closed pipe.
  process.stdout.on('error', () => {});
  process.stdout.write(`${line}\n`);
  process.stdout.end();
};

const root = process.argv[2];
if (!root || !path.isAbsolute(root) || root.includes('\0')) {
  process.stderr.write('usage: keeper.js <runtime-folder>\n');
  process.exit(2);
}
const holder = findHolderBinary();
if (!holder) {
  say('failed Hangar is not built completely (the VM holder is missing). Run "npm run build".');
  process.exit(1);
}
process.umask(0o077);
// Logging out ends the holders by their own signal; the keeper just goes (nothing is lost).
process.on('SIGHUP', () => {});
const daemon = await runKeeperDaemon(await runtimeRoot({ HANGAR_RUNTIME_DIR: root }), holder, (serving) => say(serving ? 'serving' : 'other'));
// Asked to end: leave no socket behind, so the next Hangar process starts a keeper at once
// instead of first trying a socket nobody listens on.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => daemon.stop());
await daemon.ended;
process.exit(0);
