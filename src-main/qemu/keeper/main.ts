import path from 'node:path';
import { trace } from '../../util/trace';
import { runKeeper } from './keeper';
import { WAIT_FOR_RUN_DIR } from './warm';

// Entry of the keeper process (out/main/keeper.js): `keeper.js <run-dir>`, or warm
// (`keeper.js --wait-for-run-dir`, see warm.ts): loaded first, told its run folder on stdin.
// It reports ready or failed as one JSON line on stdout, then lives as long as QEMU does.

trace('keeper: process began', performance.timeOrigin);
trace('keeper: loaded');

/** The one line a warm keeper is told; null when its stdin ends first (it is not needed). */
function readRunDir(): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const done = (value: string | null): void => {
      process.stdin.removeAllListeners('data');
      process.stdin.destroy();
      resolve(value);
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end !== -1) done(text.slice(0, end));
      else if (text.length > 4096) done(null);
    });
    process.stdin.on('end', () => done(null));
    process.stdin.on('error', () => done(null));
  });
}

const runDir = process.argv[2] === WAIT_FOR_RUN_DIR ? await readRunDir() : process.argv[2];
if (runDir === undefined) {
  process.stderr.write('usage: keeper.js <run-dir> | keeper.js --wait-for-run-dir\n');
  process.exit(2);
}
// Warm and let go: nothing was touched.
if (runDir === null) process.exit(0);
if (!path.isAbsolute(runDir) || runDir.includes('\0')) {
  process.stderr.write('keeper.js: the run folder must be an absolute path.\n');
  process.exit(2);
}
trace('keeper: told its run folder');

let reported = false;
await runKeeper(runDir, (message) => {
  if (reported) return;
  reported = true;
  // Whoever started us may be gone by now; never die of a closed pipe.
  process.stdout.on('error', () => {});
  process.stdout.write(JSON.stringify(message) + '\n');
  process.stdout.end();
});
process.exit(0);
