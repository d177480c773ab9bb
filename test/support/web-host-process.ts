import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServerFrame } from '../../src-shared/wire';
import { ApiSocket, tryOpenSocket } from './api-socket';
import { processesMentioning } from './engine';
import { hangarBin, repoRoot } from './paths';
import { openWebSession, type WebSessionCookie } from './web-session';

// The real `hangar web`, started as a user starts it: the built CLI in its own process,
// with a HOME of its own so a test never reads or writes the user's VM library.

export const builtCli = path.join(repoRoot, 'out', 'main', 'cli.js');
export const builtIndexHtml = path.join(repoRoot, 'out', 'renderer', 'index.html');

const SERVING_LINE = /^Hangar is serving on (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]+))$/;

export interface WebHostProcess {
  /** The address printed by `hangar web`, with its one-time token. */
  url: string;
  /** http://127.0.0.1:PORT, the origin the page is served from. */
  origin: string;
  port: number;
  token: string;
  /**
   * The session cookie, got by loading `url` on first use (later calls reuse it). After
   * that `url` no longer opens Hangar for a browser that lacks the cookie.
   */
  session(): Promise<WebSessionCookie>;
  /** The process id of `hangar web` itself (bin/hangar.js runs the CLI in-process). */
  pid: number;
  /** The temporary HOME the process runs with. */
  home: string;
  /** Its environment, for running the CLI against the same library. */
  env: NodeJS.ProcessEnv;
  /** Everything the process wrote to stderr so far, for failure messages. */
  stderr(): string;
  /** False once the process has exited, whether stopped or crashed. */
  running(): boolean;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
}

/** Throws a message that says what to do when the tests run without a build. */
export function assertBuilt(): void {
  const missing = [builtIndexHtml, builtCli].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `The e2e tests drive the built app, but ${missing.map((file) => path.relative(repoRoot, file)).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing. ` +
        'Run "npm run build" first (npm test does it).',
    );
  }
}

export async function startWebHostProcess({ startTimeoutMs = 30_000, stopTimeoutMs = 10_000 } = {}): Promise<WebHostProcess> {
  assertBuilt();
  const home = mkdtempSync(path.join(os.tmpdir(), 'hangar-e2e-home-'));
  const dataHome = path.join(home, '.local', 'share');
  mkdirSync(dataHome, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_DATA_HOME: dataHome,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    // Run folders of its own too: VM ids are only unique within one library.
    HANGAR_RUNTIME_DIR: path.join(home, 'run'),
    NO_COLOR: '1',
  };
  // HANGAR_HOME would win over XDG_DATA_HOME and point back at a real library.
  delete env.HANGAR_HOME;

  const child = spawn(process.execPath, [hangarBin, 'web', '--port', '0'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const removeHome = (): void => rmSync(home, { recursive: true, force: true });

  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    removeHome();
    return child.exitCode;
  };

  try {
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hangar web printed no address within ${startTimeoutMs} ms.\nstdout: ${stdout}\nstderr: ${stderr}`)), startTimeoutMs);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        for (const line of stdout.split('\n')) {
          const found = SERVING_LINE.exec(line.trim());
          if (found) {
            clearTimeout(timer);
            resolve(found);
            return;
          }
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`hangar web exited with code ${code} before printing its address.\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
    });
    const [, url = '', port = '', token = ''] = match;
    let session: Promise<WebSessionCookie> | undefined;
    return {
      url,
      session: () => (session ??= openWebSession(url)),
      origin: `http://127.0.0.1:${port}`,
      port: Number(port),
      token,
      pid: child.pid ?? 0,
      home,
      env,
      stderr: () => stderr,
      running: () => child.exitCode === null && child.signalCode === null,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** After an e2e file: the browser closed, its VMs forced off, the web host stopped, nothing left behind. */
export async function tearDownE2e(host: WebHostProcess | undefined, browser: { close(): Promise<void> } | undefined, vmIds: readonly string[]): Promise<void> {
  await browser?.close();
  if (host) for (const vm of vmIds) spawnSync(process.execPath, [hangarBin, 'stop', '--force', vm], { env: host.env });
  await host?.stop();
  for (const pid of processesMentioning(host?.home ?? '/nonexistent')) process.kill(pid, 'SIGKILL');
}

/** Runs the built `hangar` command against the same library as `host`; its output, or an error with its words. */
export function runHangar(host: WebHostProcess, ...args: string[]): string {
  const result = spawnSync(process.execPath, [hangarBin, ...args], { env: host.env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`hangar ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** An API WebSocket to `host`, opened as its page would open it. */
export async function openApiSocket(host: WebHostProcess, keep?: (frame: ServerFrame) => boolean, onFrame?: (frame: ServerFrame) => void): Promise<ApiSocket> {
  const upgrade = await tryOpenSocket(`ws://127.0.0.1:${host.port}/api`, { origin: host.origin, cookie: (await host.session()).header });
  if (!('opened' in upgrade)) throw new Error(`hangar web refused the API socket with HTTP ${upgrade.refused}.`);
  return new ApiSocket(upgrade.opened, keep, onFrame);
}

/** The resident memory of a process, in bytes (VmRSS in /proc/PID/status). */
export function residentBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`/proc/${pid}/status has no VmRSS line: has the process ended?`);
  return Number(kib) * 1024;
}

/** How many files and sockets a process has open. */
export function openFdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Gives a browser the session that Node clients of `host` use (as if it had loaded
 * host.url itself), and returns the address of the page. For a test where both talk to
 * one web host: the printed address opens only once.
 */
export async function shareSession(context: { addCookies(cookies: { name: string; value: string; url: string; httpOnly: boolean; sameSite: 'Strict' }[]): Promise<void> }, host: WebHostProcess): Promise<string> {
  const { name, value } = await host.session();
  await context.addCookies([{ name, value, url: `${host.origin}/`, httpOnly: true, sameSite: 'Strict' }]);
  return `${host.origin}/`;
}
