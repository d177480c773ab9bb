import path from 'node:path';

// What a launch asks of Hangar: `hangar-desktop some.iso` from a file manager ("Open with"),
// or the same forwarded by a second launch to the running one. Electron's own switches and
// the app's path are not files; anything else is taken as a path, resolved against the
// folder the launch came from. The ISO itself is checked later (inspectIso), in words.

const MAX_PATH = 4096;

/** The files named on a command line (after the executable, and the app folder in development). */
export function filesFromArgv(argv: readonly string[], workingDirectory: string, { skip = 1 }: { skip?: number } = {}): string[] {
  const files: string[] = [];
  let optionsEnded = false;
  for (const arg of argv.slice(skip)) {
    if (!optionsEnded && arg === '--') {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && arg.startsWith('-')) continue; // --no-sandbox, --enable-features=…, -psn…
    if (arg === '' || arg.length > MAX_PATH || arg.includes('\0')) continue;
    // file:// URLs come from some file managers.
    const file = arg.startsWith('file://') ? safeFileUrl(arg) : path.resolve(workingDirectory, arg);
    if (file) files.push(file);
  }
  return files;
}

function safeFileUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'file:' && (parsed.host === '' || parsed.host === 'localhost') ? decodeURIComponent(parsed.pathname) : null;
  } catch {
    return null;
  }
}
