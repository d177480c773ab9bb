import { runKeeper } from './keeper';

// Entry of the keeper process (out/main/keeper.js): `keeper.js <run-dir>`. It reports
// ready or failed as one JSON line on stdout, then lives as long as QEMU does.

const runDir = process.argv[2];
if (!runDir) {
  process.stderr.write('usage: keeper.js <run-dir>\n');
  process.exit(2);
}

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
