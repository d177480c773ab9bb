// `npm start`: Hangar's desktop window on a fresh clone. Electron ≥ 43 downloads its binary
// on first use instead of at `npm ci`, and `electron-vite preview` only reads
// node_modules/electron/path.txt, so without this script a fresh clone stops at "Error:
// Electron uninstall". Here: when the binary is missing, Electron's own installer
// (install-electron) downloads it, with a watchdog so a dead network fails in seconds, not
// minutes; a failure is said in words, with what to do instead (`npm run web`). Then
// `electron-vite preview` builds Hangar and opens the window on that binary.
// Run by the project's Node 22 (node_modules/.bin/node, first on npm's PATH), which runs
// TypeScript by stripping the types: only erasable syntax here, and no imports of ours.

import { spawn, type ChildProcess } from 'node:child_process';
import dns from 'node:dns/promises';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Nothing arrived for this long: the download host is not answering. Well under a minute, yet long for a live connection. */
export const STALL_SECONDS = 20;
/** How long each look at a failed host (name lookup, TCP connect) may take. */
const PROBE_MS = 5_000;
const SAY = 'npm start:';
const INSTEAD = 'Meanwhile, run `npm run web` to use Hangar in your browser, with the same features.';

export interface ElectronPackage {
  dir: string;
  version: string;
  /** Where the installer puts the binary: dist/<path.txt> (dist/electron on Linux). */
  binary: string;
  /** The binary is there, for this version (the same test as Electron's install.js). */
  installed: boolean;
}

/** The electron package this project resolves (node_modules/electron), and whether its binary is downloaded. */
export function electronPackage(root: string): ElectronPackage {
  const require = createRequire(path.join(root, 'package.json'));
  return electronIn(path.dirname(require.resolve('electron/package.json')));
}

function electronIn(dir: string): ElectronPackage {
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  const read = (file: string): string | null => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return null;
    }
  };
  const binary = path.join(dir, 'dist', read('path.txt') ?? 'electron');
  const installed = read('path.txt') !== null && read(path.join('dist', 'version'))?.trim().replace(/^v/, '') === version && existsSync(binary);
  return { dir, version, binary, installed };
}

/** Why a download failed, as far as the installer's words and a look at the host tell. */
export type DownloadFailure =
  | { kind: 'no-network'; host: string }
  | { kind: 'refused'; host: string }
  | { kind: 'no-answer'; host: string; seconds: number }
  | { kind: 'http'; host: string; status: string }
  | { kind: 'checksum'; host: string }
  | { kind: 'other'; detail: string };

/** What the installer's output says, before any look at the network. */
export type InstallerVerdict = { kind: 'checksum' } | { kind: 'http'; status: string } | { kind: 'connect' } | { kind: 'other'; detail: string };

/** The address @electron/get downloaded from (its debug line, which the installer prints with DEBUG set). */
export function downloadUrl(output: string): string | null {
  return /Downloading (\S+) to /.exec(output)?.[1] ?? null;
}

/** Reads Electron's installer's error (it prints the error's stack and exits 1). */
export function judgeInstallerOutput(output: string): InstallerVerdict {
  // sumchecker's ChecksumMismatchError and NoChecksumFoundError.
  if (/did not match expected checksum|No checksum found in checksum file/.test(output)) return { kind: 'checksum' };
  const http = /Response code (\d{3} \([^)]*\))/.exec(output);
  if (http?.[1]) return { kind: 'http', status: http[1] };
  // fetch() says only "fetch failed"; its cause (refused, no such host) is not printed.
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH|ConnectTimeoutError/.test(output)) return { kind: 'connect' };
  const lines = output.split('\n').filter((line) => line.trim() !== '' && !line.includes('@electron/get:'));
  const detail = lines.find((line) => /^\w*Error\b/.test(line.trim())) ?? lines[0] ?? 'it printed nothing';
  return { kind: 'other', detail: detail.trim() };
}

const hostOf = (url: string | null): string => {
  if (!url) return "Electron's download host";
  try {
    return new URL(url).host;
  } catch {
    return "Electron's download host";
  }
};

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);

/** The installer could not connect: look whether the host's name resolves and whether it takes a TCP connection. */
async function probeHost(url: string | null): Promise<DownloadFailure> {
  const host = hostOf(url);
  if (!url) return { kind: 'no-network', host };
  const { hostname, port, protocol } = new URL(url);
  const name = hostname.replace(/^\[|\]$/g, '');
  const found = await withTimeout(dns.lookup(name).then(() => true, () => false), PROBE_MS);
  if (found !== true) return { kind: 'no-network', host };
  const connected = await withTimeout(
    new Promise<'connected' | 'refused'>((resolve) => {
      const socket = net.connect({ host: name, port: Number(port) || (protocol === 'http:' ? 80 : 443) });
      socket.setTimeout(PROBE_MS, () => socket.destroy());
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', () => resolve('refused'));
    }),
    PROBE_MS,
  );
  if (connected === 'refused') return { kind: 'refused', host };
  if (connected === 'timeout') return { kind: 'no-answer', host, seconds: PROBE_MS / 1000 };
  return { kind: 'other', detail: `${host} takes connections, yet the download failed ("fetch failed"): a proxy or TLS interception may be in the way` };
}

/** The words for a failed download: what happened, what to do, and what works without Electron. */
export function explainFailure(version: string, failure: DownloadFailure): string {
  const again = 'and run `npm start` again';
  const mirror = `or set ELECTRON_MIRROR to a mirror you can reach (https://www.electronjs.org/docs/latest/tutorial/installation#mirror) ${again}`;
  const [what, todo] = ((): [string, string] => {
    switch (failure.kind) {
      case 'no-network':
        return [`there is no network: the name ${failure.host} could not be looked up`, `Connect this machine to the internet ${again}.`];
      case 'refused':
        return [`${failure.host} refused the connection: the host is blocked here, or down`, `Allow ${failure.host} through the firewall or proxy, ${mirror}.`];
      case 'no-answer':
        return [`${failure.host} did not answer for ${failure.seconds} s: the host is blocked here, or the network is down`, `Check the network, allow ${failure.host} through the firewall or proxy, ${mirror}.`];
      case 'http':
        return [`${failure.host} answered ${failure.status}: a proxy blocks it, or the mirror does not have Electron ${version}`, `Allow ${failure.host} through the proxy, ${mirror}.`];
      case 'checksum':
        return [
          `the file from ${failure.host} did not match Electron's published SHA-256 checksum, so it was thrown away (something on the way altered it, or the mirror serves another build)`,
          `Run \`npm start\` again; if it fails the same way, download from another network or mirror.`,
        ];
      case 'other':
        return [`Electron's installer failed: ${failure.detail}`, `Fix what it says ${again}.`];
    }
  })();
  return [`${SAY} Electron ${version} could not be downloaded: ${what}.`, todo, `Hangar's desktop window needs Electron. ${INSTEAD}`].join('\n');
}

/** Bytes in the files under a folder, 0 when it is not there (files may vanish while we count). */
function bytesUnder(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    try {
      total += entry.isDirectory() ? bytesUnder(full) : statSync(full).size;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * Runs Electron's own installer (install.js, the `install-electron` command) for this
 * package. It prints nothing while it downloads and its fetch has no time limit, so a
 * watchdog counts the bytes arriving (its download folder, then the extracted files) and
 * stops it after STALL_SECONDS without any: a slow link keeps going, a dead one fails fast.
 */
export async function installElectron(electron: ElectronPackage): Promise<DownloadFailure | null> {
  // A private folder for the download (the installer takes os.tmpdir(), i.e. TMPDIR), so
  // its progress can be measured and nothing of it stays behind.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'hangar-electron-'));
  const dist = path.join(electron.dir, 'dist');
  let output = '';
  let stalled = false;
  let child: ChildProcess | null = null;
  const stop = (signal: NodeJS.Signals): void => {
    child?.kill('SIGKILL');
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const cleanUp = (): void => {
    rmSync(scratch, { recursive: true, force: true });
    // Half-extracted files would be taken for Electron later: keep a whole binary or none.
    if (!electronIn(electron.dir).installed) {
      rmSync(dist, { recursive: true, force: true });
      rmSync(path.join(electron.dir, 'path.txt'), { force: true });
    }
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const code = await new Promise<number | null>((resolve) => {
      child = spawn(process.execPath, [path.join(electron.dir, 'install.js')], {
        env: { ...process.env, TMPDIR: scratch, DEBUG: [process.env.DEBUG, '@electron/get:index'].filter(Boolean).join(',') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      let seen = 0;
      let quietSince = Date.now();
      let shownAt = Date.now();
      const watchdog = setInterval(() => {
        const now = bytesUnder(scratch) + bytesUnder(dist);
        if (now !== seen) {
          seen = now;
          quietSince = Date.now();
          if (Date.now() - shownAt >= 5_000) {
            shownAt = Date.now();
            console.log(`${SAY} … ${megabytes(now)}`);
          }
        } else if (Date.now() - quietSince >= STALL_SECONDS * 1000) {
          stalled = true;
          child?.kill('SIGKILL');
        }
      }, 500);
      child.on('error', (error) => {
        output += `\n${error.message}`;
      });
      child.on('close', (exitCode) => {
        clearInterval(watchdog);
        resolve(exitCode);
      });
    });
    const url = downloadUrl(output);
    if (stalled) return { kind: 'no-answer', host: hostOf(url), seconds: STALL_SECONDS };
    if (code === 0 && electronIn(electron.dir).installed) return null;
    if (code === 0) return { kind: 'other', detail: `it finished, yet ${electron.binary} is not there` };
    const verdict = judgeInstallerOutput(output);
    if (verdict.kind === 'checksum') return { kind: 'checksum', host: hostOf(url) };
    if (verdict.kind === 'http') return { kind: 'http', host: hostOf(url), status: verdict.status };
    if (verdict.kind === 'connect') return await probeHost(url);
    return verdict;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    cleanUp();
  }
}

/** `electron-vite preview` (build, then open the window) on the given Electron binary; resolves to its exit code. */
function preview(root: string, binary: string, args: readonly string[]): Promise<number> {
  const require = createRequire(path.join(root, 'package.json'));
  const bin = path.join(path.dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
  // ELECTRON_EXEC_PATH is electron-vite's own setting: it runs this binary instead of
  // looking for one from its own install folder.
  const child = spawn(process.execPath, [bin, 'preview', ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, ELECTRON_EXEC_PATH: binary } });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`${SAY} electron-vite could not start: ${error.message}. Run \`npm ci\`, then \`npm start\` again.`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const chosen = process.env.ELECTRON_EXEC_PATH;
  if (chosen) {
    // Someone picked their own Electron: use it, download nothing.
    if (!existsSync(chosen)) {
      console.error(`${SAY} ELECTRON_EXEC_PATH names ${chosen}, which does not exist. Unset it to use the project's Electron, or point it at an Electron binary.\n${INSTEAD}`);
      return 1;
    }
    return preview(root, chosen, process.argv.slice(2));
  }
  let electron: ElectronPackage;
  try {
    electron = electronPackage(root);
  } catch {
    console.error(`${SAY} the electron package is missing from node_modules. Run \`npm ci\`, then \`npm start\` again.\n${INSTEAD}`);
    return 1;
  }
  if (!electron.installed) {
    console.log(`${SAY} Electron ${electron.version} is not downloaded yet (it downloads on first use, not at \`npm ci\`). Downloading it now with Electron's installer; this needs the internet once.`);
    const started = Date.now();
    const failure = await installElectron(electron);
    if (failure) {
      console.error(explainFailure(electron.version, failure));
      return 1;
    }
    console.log(`${SAY} Electron ${electron.version} is ready (${((Date.now() - started) / 1000).toFixed(1)} s).`);
  }
  return preview(root, electron.binary, process.argv.slice(2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${SAY} ${error instanceof Error ? error.message : String(error)}\n${INSTEAD}`);
      process.exit(1);
    },
  );
}
