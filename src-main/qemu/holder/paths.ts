import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Where a VM's holder (hangar-holder.c, QEMU's parent for the life of a VM) is, and the files
// it makes in the VM's run folder. Only Node built-ins: the keeper reads this before
// anything else.

export const HOLDER_BINARY_NAME = 'hangar-holder';

/** The files a holder makes in its run folder, all removed when QEMU has ended. */
export interface HolderFiles {
  /** "PID\n", 0600. */
  pid: string;
  /** The serial console: 4-byte big-endian length, that much scrollback, then the live stream; writes go to the guest. */
  console: string;
  /** A byte relay to QEMU's QMP monitor, one client at a time, whole lines only. */
  monitor: string;
  /** The keeper's line: "hello", "log-stopped", "exit", answered with "done". */
  control: string;
}

export function holderFiles(runDir: string): HolderFiles {
  return {
    pid: path.join(runDir, 'holder.pid'),
    console: path.join(runDir, 'console.sock'),
    monitor: path.join(runDir, 'monitor.sock'),
    control: path.join(runDir, 'holder.sock'),
  };
}

/** The packaged app's resources folder, when this code runs from its app.asar (process.resourcesPath is not set under ELECTRON_RUN_AS_NODE). */
function resourcesDirOf(here: string): string | null {
  const at = here.split(path.sep).lastIndexOf('app.asar');
  return at > 0 ? here.split(path.sep).slice(0, at).join(path.sep) : null;
}

/** The built holder: in a package, resources/holder/; else out/holder beside the built main code, or the source tree's out/ (tests). */
export function findHolderBinary(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const resources = (process as { resourcesPath?: string }).resourcesPath ?? resourcesDirOf(here);
  const candidates = [
    ...(resources ? [path.join(resources, 'holder', HOLDER_BINARY_NAME)] : []),
    // Built code sits in out/main or out/main/chunks; source code (tests) in src-main/qemu/holder.
    path.join(here, '..', 'holder', HOLDER_BINARY_NAME),
    path.join(here, '..', '..', 'holder', HOLDER_BINARY_NAME),
    path.resolve(here, '..', '..', '..', 'out', 'holder', HOLDER_BINARY_NAME),
  ];
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}
