import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Configuration } from 'electron-builder';

// How `npm run dist` packages the desktop app for Linux (an AppImage and a .deb), read by
// electron-builder through `--config electron-builder.config.ts`. A file of its own rather
// than a "build" key in package.json: it needs comments (why node-pty is unpacked, why no
// rebuild), it takes its desktop entry from resources/hangar.desktop instead of repeating
// it, and tsc checks it against electron-builder's own types (tsconfig.node.json).
// test/integration/packaging.test.ts packs with it offline and checks what comes out.

/** The keys of a desktop file's [Desktop Entry] group, in file order. */
export function readDesktopEntry(text: string): Map<string, string> {
  const entry = new Map<string, string>();
  let group = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      group = line;
      continue;
    }
    const equals = line.indexOf('=');
    if (group === '[Desktop Entry]' && equals > 0) entry.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return entry;
}

/** The `hangar` command of the packages (resources/hangar-command.sh): beside the program, and /usr/bin/hangar in the .deb. */
export const HANGAR_COMMAND = fileURLToPath(new URL('resources/hangar-command.sh', import.meta.url));

/** The one description of Hangar's desktop entry; the packages' entries are made from it. */
export const DESKTOP_FILE = fileURLToPath(new URL('resources/hangar.desktop', import.meta.url));
const desktop = readDesktopEntry(readFileSync(DESKTOP_FILE, 'utf8'));
const need = (key: string): string => {
  const value = desktop.get(key);
  if (!value) throw new Error(`${DESKTOP_FILE} has no ${key}= line, which packaging needs.`);
  return value;
};
const list = (key: string): string[] => need(key).split(';').filter(Boolean);

// Exec=hangar-desktop %f: the program the packages install, and its arguments.
const [executableName = '', ...executableArgs] = need('Exec').split(/\s+/);

// electron-builder writes these keys itself (Exec from executableName, Icon from the icon
// set it installs, StartupWMClass from desktopName, Name from productName, Comment,
// MimeType and Categories from the options below); the test checks that what it writes
// agrees with the file. Every other key is carried over as it is.
const COMPUTED = new Set(['Exec', 'Name', 'Type', 'Terminal', 'Icon', 'StartupWMClass', 'Comment', 'MimeType', 'Categories']);
const carriedOver = Object.fromEntries([...desktop].filter(([key]) => !COMPUTED.has(key)));

// A .deb must name a maintainer with an email and a project homepage, and Hangar has
// neither yet: these reserved .invalid names (RFC 2606) stand in until it does.
const MAINTAINER = 'Hangar maintainers <maintainers@hangar.invalid>';
const HOMEPAGE = 'https://hangar.invalid/';

const config: Configuration = {
  // Only macOS, Windows, Snap and Flatpak packages carry the app id; the AppImage and the
  // .deb do not. Like the maintainer above, settle it once Hangar has a domain.
  appId: 'org.hangar.Hangar',
  productName: need('Name'),
  executableName,
  directories: { buildResources: 'build', output: 'dist' },
  // electron-vite builds everything the app runs into out/ (main with the keeper and the
  // CLI, the preload, the renderer): the packaged app is that, package.json for "main",
  // and the production dependencies. Never sources, tests or caches.
  files: [
    'out/**',
    // The holder is a program of its own (see extraResources), not code Electron loads.
    '!out/holder/**',
    'package.json',
    // The renderer's libraries are bundled into out/renderer by vite; the main process
    // imports only ws, zod and node-pty (the packaging test checks every import it makes).
    '!node_modules/{react,react-dom,scheduler,@xterm,@novnc,zustand}/**',
    // node-pty at run time is lib/ and its compiled addon: not its C++ sources, the
    // compiler's leftovers, the 58 MB of prebuilt binaries for macOS and Windows, or the
    // C++ headers it compiled against (node-addon-api).
    '!node_modules/node-pty/{src,deps,third_party,scripts,prebuilds,node-addon-api,typings}/**',
    '!node_modules/node-pty/{binding.gyp,build/Makefile,build/*.mk,build/config.gypi,lib/**/*.test.js}',
    '!node_modules/node-addon-api/**',
    '!node_modules/**/*.{ts,mts,cts,map}',
  ],
  // A native addon cannot be loaded from inside the asar archive: node-pty (pty.node, and
  // its spawn-helper on macOS) lives in app.asar.unpacked, where Electron redirects it.
  // electron-builder would notice the .node file by itself; saying so keeps it certain.
  asarUnpack: ['**/node_modules/node-pty/**'],
  // Each running VM's holder (src-main/qemu/holder) is a C program the system runs directly,
  // which it cannot do inside the asar archive: it goes to resources/holder/, where
  // findHolderBinary looks for it.
  extraResources: [{ from: 'out/holder', to: 'holder', filter: ['hangar-holder'] }],
  // The `hangar` command beside the program (/opt/Hangar/hangar): it runs the program as
  // Node on the CLI in the archive. The .deb also puts it on the PATH (deb.fpm below).
  extraFiles: [{ from: 'resources/hangar-command.sh', to: 'hangar' }],
  // No rebuild for Electron: node-pty 1.1 is an N-API addon (it uses napi_* symbols only),
  // whose binary interface is the same across Node and Electron versions, so the pty.node
  // that `npm ci` compiled loads in Electron as it is. A rebuild would only fetch
  // Electron's headers from the internet to produce the same file.
  npmRebuild: false,
  // Electron's fuses, switches compiled into its binary that electron-builder flips in the
  // packaged program (@electron/fuses). Each is set, none left to Electron's defaults.
  electronFuses: {
    // Kept on: each running VM's keeper is this same program started with
    // ELECTRON_RUN_AS_NODE=1 (src-main/qemu/supervisor.ts), a plain Node process that
    // outlives the window. Without it the desktop app could not start a VM.
    runAsNode: true,
    // The cookie store is encrypted with the OS keyring, as Chrome's is.
    enableCookieEncryption: true,
    // No NODE_OPTIONS (or NODE_EXTRA_CA_CERTS) and no --inspect arguments or SIGUSR1
    // debugger: nobody who can only set the environment or the command line gets code
    // into the main process.
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    // Electron checks the asar's embedded hash only on macOS and Windows; Linux packages
    // carry none.
    enableEmbeddedAsarIntegrityValidation: false,
    // The app runs only from resources/app.asar, never from a folder someone put beside it.
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    // Kept on: the window loads out/renderer/index.html from file://, whose module scripts
    // load only with these privileges. Turning it off means serving the page from a
    // custom protocol first.
    grantFileProtocolExtraPrivileges: true,
  },
  extraMetadata: { homepage: HOMEPAGE },
  linux: {
    target: ['AppImage', 'deb'],
    category: list('Categories').join(';'),
    mimeTypes: list('MimeType'),
    // The desktop entry's Comment, and the .deb's description under its one-line synopsis.
    description: need('Comment'),
    synopsis: need('GenericName'),
    maintainer: MAINTAINER,
    desktop: { entry: carriedOver },
    // The installed desktop file is named after package.json's desktopName, the name
    // Electron gives its windows (Wayland app_id), so the desktop matches them to it.
    syncDesktopName: true,
  },
  // The .deb's entry runs /opt/Hangar/hangar-desktop %f, and it installs the `hangar`
  // command as /usr/bin/hangar (an extra path for fpm, which packs the .deb), where the
  // script finds the app in /opt/Hangar.
  deb: { executableArgs, fpm: [`${HANGAR_COMMAND}=/usr/bin/hangar`] },
  // The AppImage's entry runs AppRun, which always appends %U (so no %f here). No
  // arguments also means no --no-sandbox, which electron-builder would otherwise put in
  // that entry for every launch: AppRun adds it by itself only where user namespaces are
  // unavailable, so the renderer stays sandboxed wherever it can be.
  appImage: { executableArgs: [] },
};

export default config;
