import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { atomicWriteFile } from '../util/atomic-write';

// The sha256 of each ISO in the isos/ folder, so the same ISO sent twice is kept once. An
// entry counts only while the file keeps the size and modification time it had when it was
// hashed: a file changed or put there by hand is hashed again, the others never are.

export const ISO_INDEX_FILE = '.index.json';

const Entry = z.strictObject({ sizeBytes: z.number().int().nonnegative(), mtimeMs: z.number(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const Index = z.strictObject({ version: z.literal(1), files: z.record(z.string(), Entry) });
type Index = z.infer<typeof Index>;

async function readIndex(dir: string): Promise<Index> {
  try {
    const parsed = Index.safeParse(JSON.parse(await fs.readFile(path.join(dir, ISO_INDEX_FILE), 'utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // missing or damaged: every ISO is hashed again, once
  }
  return { version: 1, files: {} };
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The ISOs a person keeps in `dir`: regular *.iso files, not hidden ones (partial uploads, this index). */
export async function storedIsoNames(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => !name.startsWith('.') && /\.iso$/i.test(name)).sort();
}

export class IsoIndex {
  constructor(readonly dir: string) {}

  /** An ISO in the folder with exactly these bytes (same size, same hash), or null. */
  async findIdentical(sizeBytes: number, sha256: string): Promise<string | null> {
    const index = await readIndex(this.dir);
    let changed = false;
    let found: string | null = null;
    for (const name of await storedIsoNames(this.dir)) {
      const file = path.join(this.dir, name);
      const stats = await fs.lstat(file).catch(() => null);
      if (!stats?.isFile() || stats.size !== sizeBytes) continue;
      let entry = index.files[name];
      if (!entry || entry.sizeBytes !== stats.size || entry.mtimeMs !== stats.mtimeMs) {
        const sha = await sha256Of(file).catch(() => null); // unreadable: not a copy we can reuse
        if (sha === null) continue;
        entry = { sizeBytes: stats.size, mtimeMs: stats.mtimeMs, sha256: sha };
        index.files[name] = entry;
        changed = true;
      }
      if (entry.sha256 === sha256) {
        found = file;
        break;
      }
    }
    if (changed) await this.write(index);
    return found;
  }

  /** Notes the hash of an ISO just stored, so it is never read again to be compared. */
  async record(file: string, sha256: string): Promise<void> {
    const stats = await fs.stat(file);
    const index = await readIndex(this.dir);
    index.files[path.basename(file)] = { sizeBytes: stats.size, mtimeMs: stats.mtimeMs, sha256 };
    await this.write(index);
  }

  /** Best effort: an index that cannot be written (a full disk) costs a hash later, not the upload. */
  private async write(index: Index): Promise<void> {
    // Entries of ISOs removed meanwhile go with the next write.
    const present = new Set(await storedIsoNames(this.dir));
    const files = Object.fromEntries(Object.entries(index.files).filter(([name]) => present.has(name)));
    await atomicWriteFile(path.join(this.dir, ISO_INDEX_FILE), JSON.stringify({ version: 1, files })).catch(() => {});
  }
}
