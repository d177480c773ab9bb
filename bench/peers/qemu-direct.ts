import { spawn, type ChildProcess } from 'node:child_process';
import type { QmpClient } from '../../src-main/qemu/qmp';
import { TEST_GUEST_READY } from '../../test/support/test-iso';
import { connectWhenThere, qmpUntilRunning, watchForMarker } from './serial-marker';

// A QEMU command line run directly by the bench (no manager in between): the baseline of
// the peer benchmark and of the boot-option variants.

export interface Sample {
  startMs: number;
  bootMs: number;
}

async function quitQemu(qmp: QmpClient, child: ChildProcess): Promise<void> {
  const exited = child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve();
  await qmp.execute('quit').catch(() => {});
  qmp.close();
  await exited;
}

/** Spawns a QEMU argv; serial and QMP are read as soon as QEMU makes their sockets. start: spawn -> QMP running; boot: spawn -> marker. */
export async function runQemuDirectly(argv: readonly string[], sockets: { serial: string; qmp: string }): Promise<Sample> {
  const began = performance.now();
  const [binary, ...args] = argv as [string, ...string[]];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-2000)));
  try {
    // A QEMU that refuses its argv exits at once: say so instead of waiting for its sockets.
    const exited = new Promise<never>((_resolve, reject) => child.once('exit', (code) => reject(new Error(`QEMU exited (${code}) before it ran`))));
    exited.catch(() => {});
    const [serial, qmp] = await Promise.race([Promise.all([connectWhenThere(sockets.serial), qmpUntilRunning(sockets.qmp)]), exited]);
    const startMs = performance.now() - began;
    const watch = watchForMarker(serial, TEST_GUEST_READY);
    const bootMs = (await watch.seen) - began;
    watch.stop();
    await quitQemu(qmp, child);
    return { startMs, bootMs };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${String(error)}\nQEMU said: ${stderr}`, { cause: error });
  }
}
