import { spawnSync } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHangarService, type HangarService } from '../../src-main/api/service';
import { dispatch } from '../../src-main/api/dispatch';
import type { MethodName, MethodOutput } from '../../src-shared/contract';
import { ConsoleCursor } from '../../src-shared/console-stream';
import { HangarError } from '../../src-shared/errors';
import { hangarBin } from './paths';

// Helpers for tests that run real VMs through the real service: an isolated library and
// run folder per test file, a console reader, and a view of the processes in /proc.

export interface Sandbox {
  root: string;
  env: Record<string, string | undefined>;
  service(): HangarService;
  cleanup(): Promise<void>;
}

export async function makeSandbox(prefix = 'hangar-engine-'): Promise<Sandbox> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // XDG_CACHE_HOME too: the host-probe and compile caches of a test stay in its folder.
  const env = { ...process.env, HANGAR_HOME: path.join(root, 'data'), HANGAR_RUNTIME_DIR: path.join(root, 'run'), XDG_CACHE_HOME: path.join(root, 'cache') };
  const services: HangarService[] = [];
  return {
    root,
    env,
    service() {
      const service = createHangarService({ door: 'cli', env });
      services.push(service);
      return service;
    },
    async cleanup() {
      for (const service of services) service.close();
      // Whatever a failed test left running: its keeper, holders and QEMUs die with the folder.
      for (const pid of processesMentioning(root)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Calls a method the way a door does (validated), throwing its HangarError on failure. */
export async function call<M extends MethodName>(service: HangarService, method: M, input: unknown): Promise<MethodOutput<M>> {
  const result = await dispatch(service.api, method, input);
  if (!result.ok) throw HangarError.fromInfo(result.error);
  return result.value as MethodOutput<M>;
}

/** Pids of processes whose command line mentions `text` (e.g. a sandbox folder). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The holders and QEMUs of VMs under `root` (a sandbox): what runs because a VM does, not the per-user keeper, which outlives its VMs a while. */
export function vmProcessesUnder(root: string): number[] {
  return processesMentioning(root).filter((pid) => {
    try {
      return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith('/keeper.js'));
    } catch {
      return false;
    }
  });
}

export function qemuPidsFor(vmId: string): number[] {
  return processesMentioning(`process=hangar-${vmId}`).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/qemu-system');
    } catch {
      return false;
    }
  });
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Follows one VM's serial console through the API and waits for text in it. */
export async function followConsole(service: HangarService, vm: string): Promise<{ text(): string; waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>; type(text: string): Promise<void>; stop(): void }> {
  let text = '';
  const waiters = new Set<() => void>();
  const cursor = new ConsoleCursor();
  const show = (parts: Uint8Array[]): void => {
    for (const part of parts) text += Buffer.from(part).toString('latin1');
    for (const wake of waiters) wake();
  };
  const stop = service.events.on('consoleOutput', (chunk) => {
    if (chunk.vm === vm) show(cursor.receive(Buffer.from(chunk.data, 'base64'), chunk.offset));
  });
  const { scrollback, end } = await call(service, 'attachConsole', { vm });
  show(cursor.start(Buffer.from(scrollback, 'base64'), end));
  return {
    text: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(text);
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match[0]);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`No ${pattern} on the console within ${timeoutMs} ms. It shows:\n${text.slice(-2000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async type(keys) {
      await call(service, 'sendConsoleInput', { vm, data: Buffer.from(keys).toString('base64') });
    },
    stop,
  };
}

/** Waits for a vmChanged event that satisfies the predicate (or a current state that does). */
export function waitForVm(service: HangarService, vm: string, predicate: (state: string) => boolean, timeoutMs = 60_000): Promise<MethodOutput<'getVm'>['summary']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${vm} did not reach the expected state within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = service.events.on('vmChanged', (summary) => {
      if ((summary.id === vm || summary.name === vm) && predicate(summary.state)) {
        clearTimeout(timer);
        stop();
        resolve(summary);
      }
    });
    void call(service, 'getVm', { vm }).then(({ summary }) => {
      if (predicate(summary.state)) {
        clearTimeout(timer);
        stop();
        resolve(summary);
      }
    });
  });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built hangar command against a library (a sandbox's env), run to its end, with no input. */
export function runCli(env: Record<string, string | undefined>, args: readonly string[], timeoutMs = 120_000): CliRun {
  const result = spawnSync(process.execPath, [hangarBin, ...args], { env, encoding: 'utf8', timeout: timeoutMs, input: '' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
