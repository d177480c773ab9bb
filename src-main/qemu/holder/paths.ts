import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Where the holder's binary is, and the files it makes in a VM's run folder.

export const holderFiles = (runDir: string) => ({
  pid: path.join(runDir, 'holder.pid'),
  console: path.join(runDir, 'console.sock'),
  monitor: path.join(runDir, 'monitor.sock'),
  holder: path.join(runDir, 'holder.sock'),
});

/** The built holder: out/holder beside the built main code, in a package's resources, or in the source tree's out/ (tests). */
export function findHolderBinary(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  const candidates = [path.resolve(here, '..', 'holder', 'hangar-holder'), path.resolve(here, '..', '..', 'holder', 'hangar-holder'), ...(resources ? [path.join(resources, 'holder', 'hangar-holder')] : []), path.resolve(here, '..', '..', '..', 'out', 'holder', 'hangar-holder')];
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}
