import os from 'node:os';
import path from 'node:path';

/** Folders in the library root: ISOs sent by a browser, and the disks of deleted VMs kept on request. */
export const ISO_FOLDER = 'isos';
export const KEPT_DISKS_FOLDER = 'kept-disks';

/** Root of the VM library: $HANGAR_HOME, else $XDG_DATA_HOME/hangar, else ~/.local/share/hangar. */
export function libraryRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.HANGAR_HOME) return path.resolve(env.HANGAR_HOME);
  const dataHome = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(env.HOME ?? os.homedir(), '.local', 'share');
  return path.join(dataHome, 'hangar');
}

export function vmStoreDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.join(libraryRoot(env), 'vms');
}

/** ISO images sent to `hangar web` from a browser, which cannot name a file on this machine. */
export function isoStoreDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.join(libraryRoot(env), ISO_FOLDER);
}

/** What Hangar may forget at any time (answers of host probes): $XDG_CACHE_HOME/hangar, else ~/.cache/hangar. */
export function cacheRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(env.HOME ?? os.homedir(), '.cache');
  return path.join(cacheHome, 'hangar');
}

/** Sockets and pid files of running VMs: $HANGAR_RUNTIME_DIR, else $XDG_RUNTIME_DIR/hangar, else a private folder in /tmp. */
export function runtimeRootPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.HANGAR_RUNTIME_DIR ?? (env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'hangar') : path.join(os.tmpdir(), `hangar-${process.getuid?.() ?? 'user'}`));
}
