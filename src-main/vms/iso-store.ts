import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { HangarError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';
import { freeBytes } from '../util/free-space';
import { IsoIndex } from './iso-index';

// ISO images received from a browser (the web door): a browser never reveals where a dropped
// file lives on disk, so its bytes are stored in the library's isos/ folder and the VM
// points there. Refused early and removed when they are not ISO images or stop arriving, so
// nothing half-made stays behind; an ISO already kept (same size and sha256) is reused, not
// stored twice.

/** "CD001" at byte 32769: the first ISO 9660 volume descriptor. */
const MAGIC_OFFSET = 0x8001;
const MAGIC = Buffer.from('CD001', 'latin1');
export const MIN_ISO_BYTES = MAGIC_OFFSET + MAGIC.length;
/** Room left for the VM's own disk writes after the ISO is stored. */
const KEEP_FREE_BYTES = 512 * 1024 * 1024;
const MAX_NAME = 200;

/** A safe file name for an uploaded ISO, or an error saying what is wrong with the given one. */
export function isoFileName(raw: string): string {
  const name = path.basename(raw.replaceAll('\\', '/')).trim();
  if (name === '' || name.startsWith('.') || name.length > MAX_NAME || /[\p{Cc}/]/u.test(name)) {
    throw new HangarError('BAD_REQUEST', `"${raw.slice(0, 80)}" cannot be used as a file name.`);
  }
  if (!/\.iso$/i.test(name)) throw new HangarError('NOT_AN_ISO', `${name} is not an ISO image (a CD or DVD image file ending in .iso).`);
  return name;
}

/** A name in `dir` that is not taken: "debian.iso", then "debian (2).iso", … */
async function freeName(dir: string, name: string): Promise<string> {
  const stem = name.replace(/\.iso$/i, '');
  const ext = name.slice(stem.length);
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? name : `${stem} (${n})${ext}`;
    if (!(await fs.stat(path.join(dir, candidate)).catch(() => null))) return candidate;
  }
  throw new HangarError('BAD_REQUEST', `Too many ISO images called ${name} already; delete some from ${dir}.`);
}

export interface ReceivedIso {
  path: string;
  sizeBytes: number;
  /** The same ISO was already kept: its path is returned and nothing new was stored. */
  reused: boolean;
}

/** Per folder, one upload at a time decides "already kept, or stored now", so two copies never race in. */
const settling = new Map<string, Promise<unknown>>();

function oneAtATime<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const mine = (settling.get(dir) ?? Promise.resolve()).catch(() => {}).then(work);
  settling.set(dir, mine);
  void mine.finally(() => {
    if (settling.get(dir) === mine) settling.delete(dir);
  }).catch(() => {});
  return mine;
}

/**
 * Streams an ISO into `dir` under a hidden name, checks its ISO 9660 signature as soon as
 * those bytes arrive (a text file is refused after 32 KiB, not after gigabytes), then
 * renames it into place. Any failure removes the partial file.
 */
export async function receiveIso(dir: string, rawName: string, sizeBytes: number, body: Readable): Promise<ReceivedIso> {
  const name = isoFileName(rawName);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < MIN_ISO_BYTES) throw new HangarError('NOT_AN_ISO', `${name} is too small to be an ISO image (${formatBytes(Math.max(0, sizeBytes))}).`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const free = await freeBytes(dir);
  if (sizeBytes + KEEP_FREE_BYTES > free) {
    throw new HangarError('NO_SPACE', `${name} is ${formatBytes(sizeBytes)}, but only ${formatBytes(free)} is free where Hangar keeps ISO images (${dir}). Free some space and try again.`);
  }
  const partial = path.join(dir, `.upload-${randomBytes(8).toString('hex')}.part`);
  const handle = await fs.open(partial, 'wx', 0o600);
  const hash = createHash('sha256');
  let received = 0;
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (received + chunk.length > sizeBytes) throw new HangarError('BAD_REQUEST', `${name} sent more bytes than it announced.`);
      if (head.length < MIN_ISO_BYTES) {
        head = Buffer.concat([head, chunk.subarray(0, MIN_ISO_BYTES - head.length)]);
        if (head.length === MIN_ISO_BYTES && !head.subarray(MAGIC_OFFSET).equals(MAGIC)) {
          throw new HangarError('NOT_AN_ISO', `${name} is not an ISO image (a CD or DVD image file): it has no ISO 9660 volume.`);
        }
      }
      await handle.write(chunk);
      hash.update(chunk);
      received += chunk.length;
    }
    if (received !== sizeBytes) throw new HangarError('BAD_REQUEST', `${name} arrived incomplete (${formatBytes(received)} of ${formatBytes(sizeBytes)}). Try again.`);
    await handle.sync();
    await handle.close();
    const sha256 = hash.digest('hex');
    const index = new IsoIndex(dir);
    return await oneAtATime(dir, async () => {
      const kept = await index.findIdentical(sizeBytes, sha256);
      if (kept) {
        await fs.rm(partial, { force: true });
        return { path: kept, sizeBytes, reused: true };
      }
      const final = path.join(dir, await freeName(dir, name));
      // link() fails on an existing name, so a file stored meanwhile is never overwritten.
      await fs.link(partial, final);
      await fs.rm(partial, { force: true });
      await index.record(final, sha256);
      return { path: final, sizeBytes, reused: false };
    });
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.rm(partial, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') throw new HangarError('DISCONNECTED', `${name} stopped arriving half-way; nothing was kept. Try again.`);
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw new HangarError('NO_SPACE', `The disk filled up while ${name} was being stored; nothing was kept. Free some space and try again.`);
    throw error;
  }
}
