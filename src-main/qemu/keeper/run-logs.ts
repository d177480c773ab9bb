import { promises as fs } from 'node:fs';
import { vmLayout } from '../../vms/layout';

// What a run has said, for the words of its problem: QEMU's stderr of this run (qemu.log
// holds every run, each begun by a "--- <time> start:" line the keeper writes), and the last
// lines the guest printed (serial.log, which the holder writes). Tails only: both are capped.

const STDERR_TAIL_BYTES = 64 * 1024;
const SERIAL_TAIL_BYTES = 8 * 1024;

async function tail(file: string, bytes: number): Promise<string> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

export async function readRunLogs(vmDir: string): Promise<{ stderr: string; serial: string }> {
  const layout = vmLayout(vmDir);
  const [qemuLog, serial] = await Promise.all([tail(layout.qemuLog, STDERR_TAIL_BYTES), tail(layout.serialLog, SERIAL_TAIL_BYTES)]);
  const start = qemuLog.lastIndexOf('\n--- ');
  const thisRun = start === -1 ? qemuLog : qemuLog.slice(qemuLog.indexOf('\n', start + 1) + 1);
  return { stderr: thisRun, serial };
}
