import { promises as fs } from 'node:fs';
import net from 'node:net';
import { QmpClient } from '../../src-main/qemu/qmp';

// How the peer benchmark sees a guest: its serial port as a unix socket (read until the
// marker), and QEMU's own QMP answer that it is running.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects to a unix socket that may not exist yet, retrying every 5 ms until the deadline. */
export async function connectWhenThere(socketPath: string, timeoutMs = 30_000): Promise<net.Socket> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const socket = await new Promise<net.Socket | null>((resolve) => {
      const candidate = net.createConnection(socketPath);
      candidate.once('connect', () => resolve(candidate));
      candidate.once('error', () => {
        candidate.destroy();
        resolve(null);
      });
    });
    if (socket) return socket;
    if (performance.now() > deadline) throw new Error(`${socketPath} did not accept a connection within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export interface MarkerWatch {
  /** performance.now() when the marker arrived. */
  seen: Promise<number>;
  stop(): void;
}

/** Reads a connected serial socket until `marker` has arrived (split across chunks or not). */
export function watchForMarker(socket: net.Socket, marker: string, timeoutMs = 120_000): MarkerWatch {
  let tail = '';
  let timer: NodeJS.Timeout | undefined;
  const seen = new Promise<number>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`No ${marker} on the serial port within ${timeoutMs} ms. It showed:\n${tail}`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('latin1')).slice(-4096);
      if (tail.includes(marker)) {
        clearTimeout(timer);
        resolve(performance.now());
      }
    });
    socket.once('close', () => reject(new Error(`The serial port closed before ${marker}. It showed:\n${tail}`)));
  });
  seen.catch(() => {}); // read by the caller; not an unhandled rejection meanwhile
  return {
    seen,
    stop() {
      clearTimeout(timer);
      socket.destroy();
    },
  };
}

/** QMP on a socket QEMU is making: connect as soon as it listens, then ask until it says running. */
export async function qmpUntilRunning(socketPath: string, timeoutMs = 30_000): Promise<QmpClient> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const qmp = await QmpClient.connect(socketPath, 5000).catch(() => null);
    if (qmp) {
      for (;;) {
        const { status } = await qmp.execute<{ status: string }>('query-status');
        if (status === 'running') return qmp;
        if (performance.now() > deadline) throw new Error(`QEMU is ${status}, not running, after ${timeoutMs} ms`);
        await sleep(5);
      }
    }
    if (performance.now() > deadline) throw new Error(`No QMP on ${socketPath} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** RSS and PSS (MiB) of processes, from /proc/PID/smaps_rollup; a process gone meanwhile counts 0. */
export async function memoryOf(pids: readonly number[]): Promise<{ rssMiB: number; pssMiB: number; processes: number }> {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const pid of pids) {
    const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    if (!text) continue;
    processes++;
    rss += Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
  }
  return { rssMiB: Number((rss / 1024).toFixed(1)), pssMiB: Number((pss / 1024).toFixed(1)), processes };
}
