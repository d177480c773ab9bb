import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectSocket } from '../../util/connect-socket';

// Reaching the keeper (one per user, keeper/daemon.ts): connect to keeper.sock, and when no
// keeper answers, start one, detached, and wait for its word. `hangar start` wakes it first
// thing (wakeKeeper), so that the keeper's Node starts while the CLI still loads.
// Only Node built-ins here: the CLI imports this before anything else.

/** The built keeper entry: beside this file in the build, or in out/main when running from source (tests). */
export function findKeeperEntry(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Built code may sit in out/main or in out/main/chunks; source code (tests) is in src-main/qemu/keeper.
  const candidates = [path.join(here, 'keeper.js'), path.join(here, '..', 'keeper.js'), path.resolve(here, '..', '..', '..', 'out', 'main', 'keeper.js')];
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}

export const keeperSocket = (runtimeRoot: string): string => path.join(runtimeRoot, 'keeper.sock');
export const keeperPidFile = (runtimeRoot: string): string => path.join(runtimeRoot, 'keeper.pid');

/** A keeper being started by this process: its first word ("serving", "other" or "failed ..."). */
let waking: { root: string; word: Promise<string> } | null = null;

function spawnKeeper(entry: string, runtimeRoot: string): Promise<string> {
  // The runtime folder on its command line: `ps` shows whose VMs it keeps.
  const child = spawn(process.execPath, [entry, runtimeRoot], {
    detached: true, // its own session: a Ctrl-C in our terminal or our death does not reach it
    stdio: ['ignore', 'pipe', 'ignore'],
    // Under Electron, process.execPath is Electron itself: make it behave as Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  child.unref();
  const stdout = child.stdout;
  (stdout as { unref?: () => void } | null)?.unref?.();
  return new Promise((resolve) => {
    let text = '';
    child.once('error', (error) => resolve(`failed ${error.message}`));
    stdout?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stdout?.on('error', () => {});
    stdout?.once('end', () => resolve(text.split('\n')[0] || 'failed the keeper ended without a word'));
  });
}

/** Whether a keeper seems to run for this runtime folder: its socket is there and its pid lives (a killed keeper leaves both). */
function keeperSeemsAlive(runtimeRoot: string): boolean {
  if (!existsSync(keeperSocket(runtimeRoot))) return false;
  try {
    process.kill(Number(readFileSync(keeperPidFile(runtimeRoot), 'utf8').trim()) || -1, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts a keeper now unless one seems to run already; the start's word is awaited by connectKeeper. */
export function wakeKeeper(runtimeRoot: string, entry = findKeeperEntry()): void {
  if (!entry || waking?.root === runtimeRoot || keeperSeemsAlive(runtimeRoot)) return;
  waking = { root: runtimeRoot, word: spawnKeeper(entry, runtimeRoot) };
}

/** A connection to the keeper, started when none answers. Rejects with its words when it cannot start. */
export async function connectKeeper(runtimeRoot: string, entry = findKeeperEntry()): Promise<net.Socket> {
  const file = keeperSocket(runtimeRoot);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await connectSocket(file);
    } catch {
      // none answers (yet)
    }
    if (waking?.root !== runtimeRoot) {
      if (!entry) throw new Error('Hangar is not built completely (keeper.js is missing). Run "npm run build".');
      waking = { root: runtimeRoot, word: spawnKeeper(entry, runtimeRoot) };
    }
    const word = await waking.word;
    waking = null;
    if (word.startsWith('failed')) throw new Error(`The VM keeper could not start: ${word.slice('failed '.length)}`);
  }
  return connectSocket(file);
}
