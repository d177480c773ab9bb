import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STALL_SECONDS } from '../../scripts/start';
import { repoRoot } from '../support/paths';

// `npm start` on a fresh clone, offline. Electron's binary is not in npm's package: the
// start script runs Electron's own installer, which downloads it from ELECTRON_MIRROR,
// checks its SHA-256 and unzips it into node_modules/electron/dist. Here a loopback HTTP
// server plays the mirror and serves a stand-in Electron zip whose `electron` is a script
// that records how it was run; the real installer, the real `npm start`, the real
// electron-vite build and preview do the rest. When the mirror cannot be reached, npm start
// must fail within a minute and say why in words, and point at `npm run web`.
//
// All of it happens in a throwaway copy of the project whose node_modules/electron is a
// real copy (the other packages are links to ours): node_modules is shared with every
// worktree and with a developer's own `npm start`, which must never find a stand-in there.

const realElectron = path.join(repoRoot, 'node_modules', 'electron');
const { version } = JSON.parse(readFileSync(path.join(realElectron, 'package.json'), 'utf8')) as { version: string };
const zipName = `electron-v${version}-linux-${process.arch}.zip`;
const STAND_IN_MARK = 'stand-in Electron from Hangar first-start test';
/** A start that cannot download must end within this; npm start is stopped here whatever it is doing. */
const LIMIT_MS = 60_000;
/** Room for the test's own checks after a start that used all of LIMIT_MS. */
const TEST_MS = LIMIT_MS + 15_000;

/** A zip (stored, no compression) whose entries keep their Unix modes, as Electron's own zips do. */
function zip(entries: { name: string; data: Buffer; mode: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, mode } of entries) {
    const fileName = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below counts
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Electron's zip, played by a script that writes its working folder and arguments, one a line, to `record`. */
function standInElectronZip(record: string): Buffer {
  const script = `#!/bin/sh\n# ${STAND_IN_MARK}\n{ pwd; for arg in "$@"; do printf '%s\\n' "$arg"; done; } > '${record}'\n`;
  return zip([
    { name: 'electron', data: Buffer.from(script), mode: 0o755 },
    { name: 'version', data: Buffer.from(version), mode: 0o644 },
    { name: 'LICENSE', data: Buffer.from(`${STAND_IN_MARK}\n`), mode: 0o644 },
  ]);
}

/** A fresh clone's worth of Hangar: sources and configuration, no out/, and an Electron without its binary. */
function throwawayProject(dir: string): void {
  for (const entry of ['package.json', 'electron.vite.config.ts', 'tsconfig.base.json', 'tsconfig.node.json', 'tsconfig.web.json', 'tsconfig.shared.json', 'src-main', 'src-shared', 'src-renderer', 'scripts', 'bin']) {
    cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
  }
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(path.join(repoRoot, 'node_modules'))) {
    if (name !== 'electron') symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(modules, name));
  }
  copyElectronPackage(dir);
}

/** node_modules/electron as npm installs it: the package, no dist/ and no path.txt. */
function copyElectronPackage(dir: string): void {
  const target = path.join(dir, 'node_modules', 'electron');
  rmSync(target, { recursive: true, force: true });
  cpSync(realElectron, target, { recursive: true, filter: (source) => !['dist', 'path.txt'].includes(path.relative(realElectron, source).split(path.sep)[0] ?? '') });
}

interface StartResult {
  code: number | null;
  output: string;
  ms: number;
}

/** The environment for npm in the copy: nothing of a developer's own Electron settings, and a HOME of its own. */
function cleanEnv(home: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), HANGAR_RUNTIME_DIR: path.join(home, 'run'), NO_COLOR: '1', ...extra };
  for (const key of Object.keys(env)) if (/^(npm_config_electron_|ELECTRON_EXEC_PATH$|ELECTRON_OVERRIDE_DIST_PATH$|ELECTRON_RUN_AS_NODE$|HANGAR_HOME$)/i.test(key)) delete env[key];
  return env;
}

/** `npm start` in `cwd`, as a person types it, with Electron's mirror and download cache pointed where the test says. */
function npmStart(cwd: string, mirror: string, cache: string): Promise<StartResult> {
  const env = cleanEnv(path.join(cwd, '..', 'home'), { ELECTRON_MIRROR: mirror, electron_use_remote_checksums: '1', electron_config_cache: cache });
  const started = performance.now();
  return new Promise((resolve) => {
    let output = '';
    const child = spawn('npm', ['start'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    // A hang is a failure to report, not a test that never ends.
    const timer = setTimeout(() => process.kill(-(child.pid ?? 0), 'SIGKILL'), LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: performance.now() - started });
    });
  });
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('npm start on a fresh clone (Electron downloaded by its own installer, offline)', () => {
  let work: string;
  let project: string;
  let cache: string;
  let record: string;
  let mirror: http.Server;
  let mirrorUrl: string;
  let checksum = '';
  const requests: string[] = [];
  const realDistBefore = existsSync(path.join(realElectron, 'dist'));
  const realPathTxtBefore = existsSync(path.join(realElectron, 'path.txt'));

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'hangar-first-start-'));
    project = path.join(work, 'hangar');
    cache = path.join(work, 'electron-cache');
    record = path.join(work, 'electron-ran.txt');
    mkdirSync(project);
    throwawayProject(project);
    const electronZip = standInElectronZip(record);
    checksum = sha256(electronZip);
    // Electron's mirror layout: <mirror>v<version>/<file>, SHASUMS256.txt beside the zips.
    mirror = http.createServer((request, response) => {
      requests.push(request.url ?? '');
      if (request.url?.startsWith('/blocked/')) {
        response.writeHead(403).end('Forbidden by policy');
      } else if (request.url === `/v${version}/${zipName}`) {
        response.writeHead(200, { 'content-type': 'application/zip', 'content-length': electronZip.length });
        response.end(electronZip);
      } else if (request.url === `/v${version}/SHASUMS256.txt`) {
        response.end(`${checksum} *${zipName}\n${sha256(Buffer.from('other'))} *electron-v${version}-win32-x64.zip\n`);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    mirrorUrl = `http://127.0.0.1:${(mirror.address() as net.AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => mirror?.close(resolve));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests.length = 0;
    rmSync(record, { force: true });
  });

  const electronFolder = (): string => path.join(project, 'node_modules', 'electron');

  it('refuses a download whose checksum does not match, says so, and keeps nothing of it', async () => {
    const right = checksum;
    checksum = sha256(Buffer.from('not the zip'));
    try {
      const result = await npmStart(project, mirrorUrl, cache);
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).toContain(`Electron ${version} could not be downloaded: the file from 127.0.0.1:`);
      expect(result.output).toContain("did not match Electron's published SHA-256 checksum");
      expect(result.output).toContain('run `npm run web` to use Hangar in your browser, with the same features');
      expect(requests).toContain(`/v${version}/${zipName}`);
      expect(existsSync(path.join(electronFolder(), 'dist'))).toBe(false);
      expect(existsSync(path.join(electronFolder(), 'path.txt'))).toBe(false);
      expect(existsSync(record)).toBe(false);
    } finally {
      checksum = right;
    }
  }, TEST_MS);

  it('downloads Electron, unpacks it, then builds Hangar and runs that Electron on the built app', async () => {
    const result = await npmStart(project, mirrorUrl, cache);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`Electron ${version} is not downloaded yet`);
    expect(result.output).toContain(`Electron ${version} is ready`);
    expect(requests).toEqual(expect.arrayContaining([`/v${version}/${zipName}`, `/v${version}/SHASUMS256.txt`]));
    // Electron's installer unpacked the stand-in where Electron's own lookup expects it.
    expect(readFileSync(path.join(electronFolder(), 'path.txt'), 'utf8')).toBe('electron');
    expect(readFileSync(path.join(electronFolder(), 'dist', 'electron'), 'utf8')).toContain(STAND_IN_MARK);
    // electron-vite built the app in the copy, then ran Electron in the project folder on
    // `.`, whose package.json "main" is the built main process.
    const [cwd, ...argv] = readFileSync(record, 'utf8').trimEnd().split('\n');
    expect(cwd).toBe(realpathSync(project));
    expect(argv).toEqual(['.']);
    const main = (JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as { main: string }).main;
    expect(main).toBe('out/main/index.js');
    for (const built of [main, 'out/preload/index.cjs', 'out/renderer/index.html']) expect(existsSync(path.join(project, built)), built).toBe(true);
    console.log(`first-start test: npm start downloaded, unpacked, built and ran in ${(result.ms / 1000).toFixed(1)} s`);
  }, TEST_MS);

  it('does not download again once Electron is there', async () => {
    const result = await npmStart(project, mirrorUrl, cache);
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toContain('not downloaded yet');
    expect(requests).toEqual([]);
    expect(readFileSync(record, 'utf8').split('\n')[1]).toBe('.');
  }, TEST_MS);

  it('never touches the real node_modules/electron', () => {
    expect(existsSync(path.join(realElectron, 'dist'))).toBe(realDistBefore);
    expect(existsSync(path.join(realElectron, 'path.txt'))).toBe(realPathTxtBefore);
    if (realDistBefore) expect(readFileSync(path.join(realElectron, 'dist', 'electron')).includes(STAND_IN_MARK)).toBe(false);
  });

  describe('without a reachable download host, it fails within a minute and says what to do', () => {
    const expectWords = (result: StartResult, what: string): void => {
      expect(result.code, result.output).not.toBe(0);
      expect(result.ms).toBeLessThan(LIMIT_MS);
      expect(result.output).toContain(`Electron ${version} could not be downloaded: ${what}`);
      expect(result.output).toContain("Hangar's desktop window needs Electron. Meanwhile, run `npm run web` to use Hangar in your browser, with the same features.");
      // Nothing half-made: the next start tries again from scratch.
      expect(existsSync(path.join(electronFolder(), 'dist'))).toBe(false);
      expect(existsSync(path.join(electronFolder(), 'path.txt'))).toBe(false);
      expect(existsSync(record)).toBe(false);
    };

    it('a host that refuses connections (a closed port)', async () => {
      copyElectronPackage(project);
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const result = await npmStart(project, `http://127.0.0.1:${port}/`, cache);
      expectWords(result, `127.0.0.1:${port} refused the connection: the host is blocked here, or down.`);
      expect(result.output).toContain('set ELECTRON_MIRROR to a mirror you can reach');
    }, TEST_MS);

    it('a host that takes the connection and never answers', async () => {
      copyElectronPackage(project);
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const result = await npmStart(project, `http://127.0.0.1:${port}/`, cache);
        expectWords(result, `127.0.0.1:${port} did not answer for ${STALL_SECONDS} s: the host is blocked here, or the network is down.`);
        expect(sockets.size).toBeGreaterThan(0);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    }, TEST_MS);

    it('a host that forbids the download (HTTP 403, as a blocking proxy answers)', async () => {
      copyElectronPackage(project);
      const result = await npmStart(project, `${mirrorUrl}blocked/`, cache);
      expectWords(result, `${new URL(mirrorUrl).host} answered 403 (Forbidden): a proxy blocks it, or the mirror does not have Electron ${version}.`);
      expect(requests).toContain(`/blocked/v${version}/${zipName}`);
    }, TEST_MS);

    it('a host whose name does not resolve (no network)', async () => {
      copyElectronPackage(project);
      // .invalid never resolves (RFC 6761), as no name does when the network is down.
      const result = await npmStart(project, 'http://electron-mirror.invalid/', cache);
      expectWords(result, 'there is no network: the name electron-mirror.invalid could not be looked up.');
      expect(result.output).toContain('Connect this machine to the internet and run `npm start` again.');
    }, TEST_MS);

    it('and `npm run web`, which the words name, serves Hangar from the same fresh clone', async () => {
      rmSync(path.join(project, 'out'), { recursive: true, force: true });
      const child = spawn('npm', ['run', 'web', '--', '--port', '0'], { cwd: project, env: cleanEnv(path.join(work, 'home'), {}), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`npm run web printed no address in 60 s:\n${output}`)), LIMIT_MS);
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            output += chunk;
            const address = /Hangar is serving on (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(output)?.[1];
            if (address) {
              clearTimeout(timer);
              resolve(address);
            }
          });
          child.on('close', (code) => reject(new Error(`npm run web ended (${code}) before serving:\n${output}`)));
        });
        // The one-time address trades its token for the session cookie, as a browser's first load does.
        const signIn = await fetch(url, { redirect: 'manual' });
        expect(signIn.status).toBe(303);
        const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
        const page = await fetch(new URL('/', url), { headers: { cookie } });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<div id="root">');
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          const closed = new Promise((resolve) => child.once('close', resolve));
          process.kill(-(child.pid ?? 0), 'SIGTERM');
          await closed;
        }
      }
    }, TEST_MS);
  });
});
