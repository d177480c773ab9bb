import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { atomicWriteFile } from '../util/atomic-write';
import { readCapped } from '../util/read-capped';
import type { RunResult } from '../util/run';
import type { HostProbe } from './probe';

// The engine asks QEMU the same questions before every start (its version, whether KVM works,
// whether it has seccomp), and each answer costs a QEMU run. Their answers cannot change
// without a reboot, a new QEMU or other access to /dev/kvm, so they are kept in a small file
// keyed on exactly those: the boot id, the program's identity (inode, size, times), the
// arguments, /dev/kvm's identity and owner, and this user's groups. Anything else the engine
// reads (firmware, swtpm, memory) is a cheap file read and is read again every time.
// The host check itself never uses this: "Check again" asks afresh.

const MAX_ENTRIES = 32;
const MAX_FILE_BYTES = 256 * 1024;

const CachedRun = z.strictObject({
  code: z.number().int().nullable(),
  stdout: z.string().max(64 * 1024),
  stderr: z.string().max(64 * 1024),
});
const CacheFile = z.strictObject({ version: z.literal(1), entries: z.record(z.string().regex(/^[0-9a-f]{64}$/), CachedRun) });
type CacheFile = z.infer<typeof CacheFile>;

async function identity(file: string): Promise<string | null> {
  try {
    const stats = await fs.stat(file);
    return [stats.dev, stats.ino, stats.size, stats.mtimeMs, stats.ctimeMs, stats.mode, stats.uid, stats.gid, stats.rdev].join(':');
  } catch {
    return null;
  }
}

async function cacheKey(probe: HostProbe, program: string, args: readonly string[], input: string | undefined): Promise<string | null> {
  const [programId, kvmId, bootId] = await Promise.all([identity(path.join(probe.root, program)), identity(path.join(probe.root, 'dev/kvm')), probe.readText('/proc/sys/kernel/random/boot_id')]);
  // No boot id (an unusual /proc) or no program: nothing safe to key on.
  if (!programId || !bootId) return null;
  const groups = typeof process.getgroups === 'function' ? process.getgroups().sort((a, b) => a - b) : [];
  const key = JSON.stringify([bootId.trim(), program, programId, args, input ?? null, kvmId, process.getuid?.() ?? null, groups]);
  return createHash('sha256').update(key).digest('hex');
}

async function load(file: string): Promise<CacheFile> {
  try {
    return CacheFile.parse(JSON.parse(await readCapped(file, MAX_FILE_BYTES)));
  } catch {
    // Missing, damaged or from another version: start again, it is only a cache.
    return { version: 1, entries: {} };
  }
}

/** The probe, with program runs answered from `cacheFile` when their answer cannot have changed. */
export function cachingProbe(inner: HostProbe, cacheFile: string): HostProbe {
  return {
    ...inner,
    async run(program, args, options) {
      const key = await cacheKey(inner, program, args, options?.input);
      if (!key || options?.env) return inner.run(program, args, options);
      const cache = await load(cacheFile);
      const hit = cache.entries[key];
      if (hit) return { ...hit, signal: null, timedOut: false };
      const result: RunResult = await inner.run(program, args, options);
      // Only a run that ended by itself is an answer; a timeout or a kill says nothing of the host.
      if (result.timedOut || result.signal !== null || result.spawnError !== undefined) return result;
      const entries = Object.entries({ ...(await load(cacheFile)).entries, [key]: { code: result.code, stdout: result.stdout.slice(0, 64 * 1024), stderr: result.stderr.slice(0, 64 * 1024) } });
      try {
        await fs.mkdir(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
        await atomicWriteFile(cacheFile, JSON.stringify({ version: 1, entries: Object.fromEntries(entries.slice(-MAX_ENTRIES)) }));
      } catch {
        // A cache that cannot be written (a full disk, a read-only home) only costs speed.
      }
      return result;
    },
  };
}
