import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runPaths } from '../src-main/qemu/argv';
import { QmpClient } from '../src-main/qemu/qmp';
import { repoRoot } from '../test/support/paths';

export const resultsDir = path.join(repoRoot, 'bench', 'results');

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 0 ? ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2 : (sorted[middle] ?? 0);
}

/** Merges a benchmark's figures into bench/results/latest.json and prints them. */
export async function record(name: string, figures: Record<string, unknown>): Promise<void> {
  await fs.mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, 'latest.json');
  const all = JSON.parse(await fs.readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  all[name] = { ...figures, measuredAt: new Date().toISOString() };
  await fs.writeFile(file, JSON.stringify(all, null, 2) + '\n');
  console.log(`\n== ${name} ==\n${JSON.stringify(figures, null, 2)}`);
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from the state field (3).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * QEMU started by hand with a VM's socket-files argv (what `hangar info` prints), as a person
 * would run it: connect to its serial socket (it holds the guest until someone does, wait=on)
 * and its monitor, polling for both, until QMP says running. `ms` is spawn to running.
 */
export async function startQemuByHand(argv: readonly string[], runDir: string): Promise<{ ms: number; qmp: QmpClient; serial: net.Socket; child: ChildProcess }> {
  await fs.mkdir(runDir, { recursive: true, mode: 0o700 });
  const began = performance.now();
  const [binary, ...args] = argv as [string, ...string[]];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-4000)));
  const paths = runPaths(runDir);
  const poll = async <T>(connect: () => Promise<T>): Promise<T> => {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`QEMU by hand ended at its start: ${stderr.trim() || `exit ${child.exitCode ?? child.signalCode}`}`);
      const done = await connect().catch(() => null);
      if (done) return done;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const serial = await poll(
    () =>
      new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection(paths.serialSocket);
        socket.once('connect', () => resolve(socket)).once('error', reject);
      }),
  );
  serial.on('error', () => {});
  const qmp = await poll(() => QmpClient.connect(paths.qmpSocket, 5000));
  const status = await qmp.execute<{ status: string }>('query-status');
  if (status.status !== 'running') throw new Error(`QEMU by hand is ${status.status}`);
  return { ms: performance.now() - began, qmp, serial, child };
}

export async function stopQemuByHand(run: { qmp: QmpClient; serial: net.Socket; child: ChildProcess }, runDir: string): Promise<void> {
  const exited = new Promise((resolve) => run.child.once('exit', resolve));
  await run.qmp.execute('quit').catch(() => {});
  await exited;
  run.serial.destroy();
  await fs.rm(runDir, { recursive: true, force: true });
}
