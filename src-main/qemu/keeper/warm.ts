import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// A keeper is a Node process of its own, and starting one (Node, then its code) takes about as
// long as QEMU takes to come up. So a start begins one at once, "warm": it loads while the
// engine still resolves the VM and prepares its command line, then waits for one line on its
// stdin, the run folder to take. Closing its stdin unused (the start was refused, or the
// process that began it ended) makes it exit having touched nothing.
// Only Node built-ins here: `hangar start` spawns a warm keeper before it loads anything else.

export const WAIT_FOR_RUN_DIR = '--wait-for-run-dir';

/** The built keeper entry: beside this file in the build, or in out/main when running from source (tests). */
export function findKeeperEntry(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Built code may sit in out/main or in out/main/chunks; source code (tests) is in src-main/qemu/keeper.
  const candidates = [path.join(here, 'keeper.js'), path.join(here, '..', 'keeper.js'), path.resolve(here, '..', '..', '..', 'out', 'main', 'keeper.js')];
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}

/** How a keeper process is started: detached, as Node, reporting on stdout. */
export function spawnKeeper(entry: string, args: readonly string[], stdin: 'pipe' | 'ignore'): ChildProcess {
  return spawn(process.execPath, [entry, ...args], {
    detached: true, // its own session: a Ctrl-C in our terminal or our death does not reach it
    stdio: [stdin, 'pipe', 'ignore'],
    // Under Electron, process.execPath is Electron itself: make it behave as Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
}

/** A keeper loading ahead of its VM; null when the build has none (the start then says so). */
export function warmKeeper(entry = findKeeperEntry()): ChildProcess | null {
  if (!entry) return null;
  const child = spawnKeeper(entry, [WAIT_FOR_RUN_DIR], 'pipe');
  // Unused, it must never hold this process open, nor crash it if it is gone when told.
  child.unref();
  child.stdin?.on('error', () => {});
  child.stdout?.on('error', () => {});
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stdin as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** Lets an unused warm keeper go: it exits at the end of its stdin. */
export function discardWarmKeeper(child: ChildProcess): void {
  child.stdin?.end();
  child.stdout?.destroy();
}
