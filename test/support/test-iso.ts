import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runProgram, type RunResult } from '../../src-main/util/run';
import { repoRoot } from './paths';

// The tiny bootable test guest (scripts/build-test-iso.sh), built once from the host's Debian
// packages and kept in .cache/test-iso/ under a name that changes with the script and the kernel.

export const testIsoScript = path.join(repoRoot, 'scripts', 'build-test-iso.sh');
export const testIsoCacheDir = path.join(repoRoot, '.cache', 'test-iso');
/** What the guest prints on ttyS0 once its shell is ready and the power button works. */
export const TEST_GUEST_READY = 'HANGAR-TEST-GUEST-READY';

let pending: Promise<string> | undefined;

/** The path of the test ISO, built on first use; later calls (and later runs) reuse it. */
export function ensureTestIso(): Promise<string> {
  pending ??= findOrBuild().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function findOrBuild(): Promise<string> {
  const kernel = await runScript(['--kernel-version'], 10_000);
  const version = kernel.stdout.trim();
  const iso = path.join(testIsoCacheDir, `hangar-test-${await cacheKey(version)}.iso`);
  if (await isFile(iso)) return iso;

  await fs.mkdir(testIsoCacheDir, { recursive: true });
  // Built under a private name and renamed into place: a reader never sees half an ISO.
  const work = await fs.mkdtemp(path.join(testIsoCacheDir, 'build-'));
  try {
    await runScript([work], 300_000);
    await fs.rename(path.join(work, 'hangar-test.iso'), iso);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  await removeOtherIsos(iso);
  return iso;
}

/** Changes with the script's text, the kernel version and the kernel file itself (a same-ABI update). */
async function cacheKey(kernelVersion: string): Promise<string> {
  const script = await fs.readFile(testIsoScript);
  const image = await fs.stat(`/boot/vmlinuz-${kernelVersion}`);
  return createHash('sha256')
    .update(script)
    .update(`\0${kernelVersion}\0${image.size}\0${image.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
}

async function runScript(args: string[], timeoutMs: number): Promise<RunResult> {
  const result = await runProgram('bash', [testIsoScript, ...args], { timeoutMs });
  if (result.code === 0) return result;
  // The script names the missing Debian package itself ("… install the Debian package grub-pc-bin").
  const why = result.spawnError ?? (result.timedOut ? `it took longer than ${timeoutMs / 1000} s` : result.stderr.trim() || `exit code ${result.code}`);
  throw new Error(`The test ISO could not be built (scripts/build-test-iso.sh ${args.join(' ')}): ${why}`);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Earlier builds (another script or kernel) only take space. */
async function removeOtherIsos(keep: string): Promise<void> {
  for (const name of await fs.readdir(testIsoCacheDir)) {
    if (/^hangar-test-[0-9a-f]{16}\.iso$/.test(name) && name !== path.basename(keep)) {
      await fs.rm(path.join(testIsoCacheDir, name), { force: true });
    }
  }
}
