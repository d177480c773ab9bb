import { spawn, type ChildProcess } from 'node:child_process';
import type { LaunchSpec } from './protocol';

// Starting a VM's holder (qemu/holder/hangar-holder.c): spawned detached, it waits for "go"
// on its stdin (the keeper takes the VM's lock in its name first; a stdin that ends first
// makes it exit having made nothing), then says on stdout whether QEMU runs.

export type HolderStart = { qemuPid: number } | { failed: string };

/** The holder's one line on stdout: QEMU runs (its pid), or why it could not begin. */
function holderStarted(holder: ChildProcess): Promise<HolderStart> {
  return new Promise((resolve) => {
    let text = '';
    const stdout = holder.stdout;
    const settle = (): void => {
      const line = text.split('\n')[0] ?? '';
      const started = /^started (\d{1,10})$/.exec(line);
      if (started) resolve({ qemuPid: Number(started[1]) });
      else resolve({ failed: line.startsWith('failed ') ? line.slice('failed '.length, 500) : 'the VM holder ended without starting QEMU' });
    };
    holder.once('error', (error) => resolve({ failed: error.message }));
    if (!stdout) return settle();
    stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n') || text.length > 4096) {
        stdout.removeAllListeners('data');
        stdout.destroy();
        settle();
      }
    });
    stdout.once('end', settle);
  });
}

/** Spawns the holder for a launch; `started` settles once it has said go's outcome (after "go\n" on its stdin). */
export function spawnHolder(holderBinary: string, spec: LaunchSpec): { holder: ChildProcess; started: Promise<HolderStart> } {
  const holder = spawn(holderBinary, [spec.runDir, spec.vmDir, '--', spec.qemuBinary, ...spec.argv], {
    detached: true, // its own session: nothing that ends the keeper reaches it
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  holder.stdin?.on('error', () => {});
  return { holder, started: holderStarted(holder) };
}
