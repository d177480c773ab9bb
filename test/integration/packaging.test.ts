import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as asar from '@electron/asar';
import { Arch, build, Platform } from 'electron-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config, { DESKTOP_FILE, HANGAR_COMMAND, readDesktopEntry } from '../../electron-builder.config';
import { repoRoot } from '../support/paths';

// electron-builder packs the built app with electron-builder.config.ts, offline: the real
// packager, the real AppImage and deb targets, and a stand-in for Electron's distribution.
// Each target is stopped (effectiveOptionComputed, electron-builder's own hook for this)
// after it has computed its desktop entry and its file list, and before it would fetch
// and run its tools (mksquashfs and the AppImage runtime, fpm), which need the internet.
// `npm run dist` runs the same configuration to the end.

/**
 * A stand-in for Electron's Linux distribution (electron-vX-linux-x64.zip, unpacked), which
 * cannot be downloaded here. electron-builder copies a folder given as `electronDist`,
 * renames its `electron` to the executable name and puts the app in resources/; nothing in
 * this test runs it. Electron's LICENSE comes along as LICENSE.electron.txt.
 */
function makeStandInElectron(dir: string): void {
  mkdirSync(path.join(dir, 'resources'), { recursive: true });
  mkdirSync(path.join(dir, 'locales'), { recursive: true });
  const script = '#!/bin/sh\necho "stand-in Electron from Hangar\'s packaging test, not Electron" >&2\nexit 1\n';
  // Electron's binary carries its fuses after a sentinel, which @electron/fuses finds and
  // rewrites; the stand-in carries one too. Every fuse starts opposite to what Hangar
  // wants, so each one the test reads was set by the configuration, not left as it came.
  const wire = FUSES.map(([, wanted]) => (wanted ? '0' : '1')).join('');
  writeFileSync(path.join(dir, 'electron'), Buffer.concat([Buffer.from(script), Buffer.from(`# ${FUSE_SENTINEL}`), Buffer.from([1, FUSES.length]), Buffer.from(`${wire}\n`)]), { mode: 0o755 });
  writeFileSync(path.join(dir, 'LICENSE'), 'Stand-in for Electron\'s LICENSE (packaging test).\n');
}

/** @electron/fuses' marker, followed by the wire's version (1), its length, then one byte per fuse: '1' on, '0' off. */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's fuses in wire order (FuseV1Options), and what Hangar's package must carry. */
const FUSES: [string, boolean][] = [
  ['RunAsNode', true],
  ['EnableCookieEncryption', true],
  ['EnableNodeOptionsEnvironmentVariable', false],
  ['EnableNodeCliInspectArguments', false],
  ['EnableEmbeddedAsarIntegrityValidation', false],
  ['OnlyLoadAppFromAsar', true],
  ['LoadBrowserProcessSpecificV8Snapshot', false],
  ['GrantFileProtocolExtraPrivileges', true],
];

/** The fuses as a program's bytes carry them, by name. */
function readFuses(program: Buffer): Record<string, boolean | string> {
  const at = program.indexOf(FUSE_SENTINEL);
  if (at < 0) throw new Error('no fuse sentinel in the program');
  const wire = program.subarray(at + FUSE_SENTINEL.length);
  expect(wire[0], 'fuse wire version').toBe(1);
  return Object.fromEntries(FUSES.map(([name], index) => {
    const state = String.fromCharCode(wire[2 + index] ?? 0);
    return [name, state === '1' ? true : state === '0' ? false : `unexpected ${JSON.stringify(state)}`];
  }));
}

const without = (entry: Map<string, string>, ...keys: string[]): Record<string, string> => Object.fromEntries([...entry].filter(([key]) => !keys.includes(key)));

/** The packages a built file imports by name (not node: builtins, electron or relative paths). */
function bareImports(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'./][^"']*)["']/g)) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('node:') || specifier === 'electron') continue;
    names.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier));
  }
  return [...names];
}

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));

describe('packaging (electron-builder.config.ts), offline', () => {
  let work: string;
  let unpacked: string;
  let appAsar: string;
  let listing: string[];
  let debArgs: string[] = [];
  let debDesktop = '';
  let appImageDesktop = '';
  let appImageDesktopFileName = '';
  let seconds = 0;
  const source = readDesktopEntry(readFileSync(DESKTOP_FILE, 'utf8'));

  beforeAll(async () => {
    for (const built of ['out/main/index.js', 'out/main/keeper.js', 'out/holder/hangar-holder', 'out/preload/index.cjs', 'out/renderer/index.html']) {
      if (!existsSync(path.join(repoRoot, built))) throw new Error(`${built} is missing. Build first: npm run build (npm test does it).`);
    }
    work = mkdtempSync(path.join(os.tmpdir(), 'hangar-packaging-'));
    const electronDist = path.join(work, 'stand-in-electron');
    makeStandInElectron(electronDist);
    // The icons as `npm run dist` makes them, into this run's own resources folder.
    const buildResources = path.join(work, 'build');
    const icons = spawnSync('bash', [path.join(repoRoot, 'scripts', 'build-icons.sh'), path.join(buildResources, 'icons')], { encoding: 'utf8' });
    if (icons.status !== 0) throw new Error(`scripts/build-icons.sh failed: ${icons.stderr}`);

    const started = performance.now();
    await build({
      projectDir: repoRoot,
      targets: Platform.LINUX.createTarget(['AppImage', 'deb'], Arch.x64),
      publish: 'never',
      config: { ...config, electronDist, directories: { ...config.directories, buildResources, output: path.join(work, 'dist') } },
      effectiveOptionComputed: (computed: unknown) => {
        if (Array.isArray(computed)) {
          // deb: fpm's arguments, and the desktop file (a temporary file, read now).
          const [args, desktopFile] = computed as [string[], string];
          debArgs = args;
          debDesktop = readFileSync(desktopFile, 'utf8');
        } else {
          ({ desktop: appImageDesktop, desktopFileName: appImageDesktopFileName } = computed as { desktop: string; desktopFileName: string });
        }
        return Promise.resolve(true); // stop this target here
      },
    });
    seconds = (performance.now() - started) / 1000;
    unpacked = path.join(work, 'dist', 'linux-unpacked');
    appAsar = path.join(unpacked, 'resources', 'app.asar');
    listing = asar.listPackage(appAsar, { isPack: false }).map((entry) => entry.replace(/^\//, ''));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs in reasonable time', () => {
    console.log(`packaging test: electron-builder packed the app in ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(90);
  });

  it('names the program hangar-desktop: the stand-in Electron, renamed', () => {
    const program = path.join(unpacked, 'hangar-desktop');
    expect(statSync(program).mode & 0o111).not.toBe(0);
    expect(readFileSync(program, 'utf8')).toContain('stand-in Electron');
    expect(existsSync(path.join(unpacked, 'electron'))).toBe(false);
    expect(existsSync(path.join(unpacked, 'LICENSE.electron.txt'))).toBe(true);
  });

  it("sets Electron's fuses in the program: run-as-Node kept for the keeper, the other ways in turned off", () => {
    expect(readFuses(readFileSync(path.join(unpacked, 'hangar-desktop')))).toEqual(Object.fromEntries(FUSES));
  });

  it('puts the built app in resources/app.asar', () => {
    for (const file of ['out/main/index.js', 'out/main/keeper.js', 'out/main/cli.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'package.json']) {
      expect(listing, file).toContain(file);
    }
    const rendererAssets = listing.filter((file) => file.startsWith('out/renderer/assets/'));
    expect(rendererAssets.some((file) => file.endsWith('.js'))).toBe(true);
  });

  it('leaves sources, tests, caches and TypeScript out', () => {
    const topLevel = new Set(listing.map((file) => file.split('/')[0]));
    expect([...topLevel].sort()).toEqual(['node_modules', 'out', 'package.json']);
    expect(listing.filter((file) => /\.(ts|tsx|mts|cts|map)$/.test(file))).toEqual([]);
    expect(listing.filter((file) => /(^|\/)(\.cache|test-results)(\/|$)/.test(file))).toEqual([]);
  });

  it("carries package.json with the app's entry and without the dev dependencies", () => {
    const manifest = JSON.parse(asar.extractFile(appAsar, 'package.json').toString('utf8')) as Record<string, unknown>;
    expect(manifest.main).toBe('out/main/index.js');
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.desktopName).toBe(`${source.get('StartupWMClass')}.desktop`);
  });

  it('packs every package the main process imports, and not the ones bundled into the renderer', () => {
    const mainFiles = filesUnder(path.join(repoRoot, 'out', 'main')).filter((file) => file.endsWith('.js'));
    const imported = [...new Set(mainFiles.flatMap((file) => bareImports(readFileSync(file, 'utf8'))))].sort();
    expect(imported).toContain('node-pty');
    for (const name of imported) expect(listing, `${name}, imported by out/main`).toContain(`node_modules/${name}/package.json`);
    for (const name of ['react', 'react-dom', '@xterm/xterm', '@novnc/novnc', 'zustand', 'electron', 'vite', 'typescript']) {
      expect(listing, name).not.toContain(`node_modules/${name}/package.json`);
    }
  });

  it('carries the VM holder as a program of its own in resources/holder, not inside the archive', () => {
    const holder = path.join(unpacked, 'resources', 'holder', 'hangar-holder');
    expect(statSync(holder).mode & 0o111).not.toBe(0);
    expect(readFileSync(holder).equals(readFileSync(path.join(repoRoot, 'out', 'holder', 'hangar-holder')))).toBe(true);
    expect(listing.filter((file) => file.startsWith('out/holder'))).toEqual([]);
  });

  it("keeps node-pty's native addon outside the archive, in app.asar.unpacked", () => {
    const addon = 'node_modules/node-pty/build/Release/pty.node';
    expect(asar.statFile(appAsar, addon)).toMatchObject({ unpacked: true });
    const onDisk = path.join(unpacked, 'resources', 'app.asar.unpacked', addon);
    expect(readFileSync(onDisk).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // ELF
    expect(existsSync(path.join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', 'node-pty', 'lib', 'index.js'))).toBe(true);
    // Its sources and the prebuilt binaries for macOS and Windows stay behind.
    expect(listing.filter((file) => /^node_modules\/(node-pty\/(src|deps|third_party|prebuilds)|node-addon-api)\//.test(file))).toEqual([]);
  });

  it("writes the .deb's desktop entry from resources/hangar.desktop, with /opt/Hangar's program", () => {
    const deb = readDesktopEntry(debDesktop);
    expect(without(deb, 'Exec')).toEqual(without(source, 'Exec'));
    expect(deb.get('Exec')).toBe(`/opt/Hangar/${source.get('Exec')}`);
    expect(deb.get('Exec')).toBe('/opt/Hangar/hangar-desktop %f');
    expect(deb.get('MimeType')).toBe('application/x-cd-image;application/x-iso9660-image;');
    expect(deb.get('Categories')).toBe('System;Emulator;');
  });

  it('installs the entry, named after desktopName, and the icons under the name its Icon= says', () => {
    expect(debArgs).toContain(`${unpacked}/=/opt/Hangar`);
    const installed = new Map(debArgs.filter((arg) => arg.includes('=/')).map((arg) => [arg.slice(arg.indexOf('=/') + 1), arg.slice(0, arg.indexOf('=/'))]));
    expect(installed.has(`/usr/share/applications/${source.get('StartupWMClass')}.desktop`)).toBe(true);
    // Hangar's own icon, rendered by scripts/build-icons.sh, not Electron's default one.
    for (const size of [16, 24, 32, 48, 64, 128, 256, 512]) {
      expect(installed.get(`/usr/share/icons/hicolor/${size}x${size}/apps/${source.get('Icon')}.png`), `${size}px icon`).toBe(path.join(work, 'build', 'icons', `${size}x${size}.png`));
    }
  });

  it('puts the `hangar` command beside the program, and the .deb puts it on the PATH too', () => {
    const beside = path.join(unpacked, 'hangar');
    expect(readFileSync(beside, 'utf8')).toBe(readFileSync(HANGAR_COMMAND, 'utf8'));
    expect(statSync(beside).mode & 0o111, 'executable').toBe(0o111);
    expect(debArgs).toContain(`${HANGAR_COMMAND}=/usr/bin/hangar`);
    expect(statSync(HANGAR_COMMAND).mode & 0o111, 'fpm keeps the mode it finds').toBe(0o111);
    expect(listing).toContain('out/main/cli.js');
  });

  it('runs the CLI in the archive through that command (Electron run as Node stood in for by Node)', () => {
    // The packed command, called through a symlink as a user's own link would, starts the
    // program with ELECTRON_RUN_AS_NODE=1 on out/main/cli.js inside app.asar. The program is
    // a stand-in for Electron (whose binary cannot be downloaded here): real Node, reading
    // the archive from an extracted copy, as Electron's asar support reads it in place.
    const app = path.join(work, 'installed');
    mkdirSync(path.join(app, 'resources'), { recursive: true });
    writeFileSync(path.join(app, 'hangar'), readFileSync(path.join(unpacked, 'hangar')), { mode: 0o755 });
    writeFileSync(path.join(app, 'resources', 'app.asar'), readFileSync(appAsar));
    asar.extractAll(appAsar, path.join(app, 'resources', 'app.asar.extracted'));
    const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
    writeFileSync(
      path.join(app, 'hangar-desktop'),
      [
        '#!/bin/sh',
        "# Stand-in for Electron run as Node (packaging test): not Electron.",
        '[ "$ELECTRON_RUN_AS_NODE" = 1 ] || { echo "stand-in Electron: no ELECTRON_RUN_AS_NODE=1, Electron would open its window" >&2; exit 3; }',
        'script=$1; shift',
        'case "$script" in */resources/app.asar/*) script="${script%%/resources/app.asar/*}/resources/app.asar.extracted/${script#*/resources/app.asar/}" ;; *) echo "stand-in Electron: $script is not in the archive" >&2; exit 4 ;; esac',
        `exec ${quote(process.execPath)} "$script" "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(path.join(app, 'hangar'), path.join(bin, 'hangar'));
    const home = path.join(work, 'home');
    mkdirSync(home);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, HANGAR_HOME: path.join(home, 'hangar'), HANGAR_RUNTIME_DIR: path.join(work, 'runtime') };
    const run = (...args: string[]) => spawnSync(path.join(bin, 'hangar'), args, { env, encoding: 'utf8', timeout: 30_000 });

    const version = run('version', '--json');
    expect(version.stderr).toBe('');
    expect(JSON.parse(version.stdout)).toMatchObject({ name: 'Hangar', version: JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version, door: 'cli' });
    // The engine loads from the archive too: an empty library, read and listed.
    const list = run('list', '--json');
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    const wrong = run('start');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/^hangar start: Missing VM/);

    // As /usr/bin/hangar: a copy of the script beside the .deb's /usr/bin/hangar-desktop link,
    // which is not the app's folder; it looks in /opt/Hangar (not installed on this machine).
    expect(existsSync('/opt/Hangar'), 'this test assumes no Hangar installed in /opt/Hangar').toBe(false);
    const usrBin = path.join(work, 'usr-bin');
    mkdirSync(usrBin);
    symlinkSync(path.join(app, 'hangar-desktop'), path.join(usrBin, 'hangar-desktop'));
    writeFileSync(path.join(usrBin, 'hangar'), readFileSync(HANGAR_COMMAND), { mode: 0o755 });
    const outside = spawnSync(path.join(usrBin, 'hangar'), ['version'], { env, encoding: 'utf8', timeout: 30_000 });
    expect(outside.status).toBe(1);
    expect(outside.stderr).toBe('hangar: the Hangar app is not in /opt/Hangar (hangar-desktop or resources/app.asar is missing). Reinstall the Hangar package.\n');
  });

  it("writes the AppImage's entry the same, launched through AppRun and without --no-sandbox", () => {
    const appImage = readDesktopEntry(appImageDesktop);
    expect(without(appImage, 'Exec', 'X-AppImage-Version')).toEqual(without(source, 'Exec'));
    // AppRun always takes %U; it adds --no-sandbox itself only where user namespaces are missing.
    expect(appImage.get('Exec')).toBe('AppRun %U');
    expect(appImageDesktopFileName).toBe(`${source.get('StartupWMClass')}.desktop`);
  });

  it('writes entries that desktop-file-validate accepts, as it does resources/hangar.desktop', () => {
    const files = { 'resources/hangar.desktop': DESKTOP_FILE, deb: path.join(work, 'deb.desktop'), AppImage: path.join(work, 'appimage.desktop') };
    writeFileSync(files.deb, debDesktop);
    writeFileSync(files.AppImage, appImageDesktop);
    for (const [name, file] of Object.entries(files)) {
      const result = spawnSync('desktop-file-validate', [file], { encoding: 'utf8' });
      if (result.error) throw new Error('desktop-file-validate is missing: install desktop-file-utils (scripts/setup-host.sh --dev).');
      expect(`${result.stdout}${result.stderr}`, name).toBe('');
      expect(result.status, name).toBe(0);
    }
  });
});
