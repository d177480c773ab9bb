import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';
import { runProgram } from '../util/run';

// qemu-img, wrapped: refuses to overwrite, checks free space first, reports progress,
// and removes what it made when it fails half-way.

export const IMPORT_FORMATS = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhdx', 'vpc'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
}

/** Space left free after creating a sparse disk, so the host's own disk does not run full at once. */
const MIN_FREE_AFTER_CREATE = 256 * 1024 * 1024;

export async function freeBytes(dir: string): Promise<number> {
  const stats = await fs.statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

function failure(what: string, stderr: string): HangarError {
  const line = stderr.split('\n').map((text) => text.replace(/^qemu-img: /, '').trim()).find(Boolean) ?? 'qemu-img stopped without saying why';
  if (/No space left on device/i.test(stderr)) return new HangarError('NO_SPACE', `${what} failed: the disk is full. Free some space and try again.`);
  return new HangarError('DISK_FAILED', `${what} failed: ${line}`);
}

/** Reserves a path that must not exist yet, so two creators can never write the same file. */
async function reserve(file: string): Promise<void> {
  try {
    await (await fs.open(file, 'wx', 0o600)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new HangarError('DISK_EXISTS', `${file} already exists; Hangar never overwrites a disk.`);
    throw error;
  }
}

export class QemuImg {
  constructor(readonly binary = 'qemu-img') {}

  async create(file: string, sizeBytes: number, format: 'qcow2' | 'raw' = 'qcow2'): Promise<void> {
    const free = await freeBytes(path.dirname(file));
    if (free < MIN_FREE_AFTER_CREATE) throw new HangarError('NO_SPACE', `Only ${formatBytes(free)} is free where the disk would go; free some space first.`);
    await reserve(file);
    // preallocation=off keeps the image sparse: it grows as the guest writes.
    const result = await runProgram(this.binary, ['create', '-q', '-f', format, ...(format === 'qcow2' ? ['-o', 'preallocation=off'] : []), file, String(sizeBytes)]);
    if (result.code !== 0) {
      await fs.rm(file, { force: true });
      throw failure('Creating the disk', result.stderr || result.spawnError || '');
    }
  }

  async info(file: string, format?: string): Promise<ImageInfo> {
    const result = await runProgram(this.binary, ['info', '--output=json', '--force-share', ...(format ? ['-f', format] : []), file]);
    if (result.code !== 0) {
      if (/No such file/.test(result.stderr)) throw new HangarError('DISK_NOT_FOUND', `The disk ${file} does not exist.`);
      throw failure('Reading the disk', result.stderr);
    }
    const info = JSON.parse(result.stdout) as { format: string; 'virtual-size': number; 'actual-size'?: number };
    return { format: info.format, virtualSize: info['virtual-size'], actualSize: info['actual-size'] ?? 0 };
  }

  async resize(file: string, sizeBytes: number, format?: string): Promise<void> {
    const info = await this.info(file, format);
    if (sizeBytes < info.virtualSize) throw new HangarError('BAD_SETTINGS', 'Shrinking a disk would cut off the data at its end; Hangar only makes disks larger.');
    const result = await runProgram(this.binary, ['resize', '-q', ...(format ? ['-f', format] : []), file, String(sizeBytes)]);
    if (result.code !== 0) throw failure('Resizing the disk', result.stderr);
  }

  async check(file: string): Promise<{ status: 'consistent' | 'leaks' | 'corrupt' | 'unchecked'; summary: string }> {
    const result = await runProgram(this.binary, ['check', '--output=json', file]);
    // Exit 0: clean, 2: corruptions, 3: leaks only (harmless), 63: this format cannot be checked.
    if (result.code === 0) return { status: 'consistent', summary: 'The disk is consistent.' };
    if (result.code === 3) return { status: 'leaks', summary: 'The disk has leaked clusters: harmless, only wasted space.' };
    if (result.code === 63) return { status: 'unchecked', summary: 'This disk format (such as raw) has nothing qemu-img can check.' };
    if (result.code === 2) return { status: 'corrupt', summary: 'The disk image is corrupt.' };
    throw failure('Checking the disk', result.stderr);
  }

  /**
   * Converts (imports) an image into a new qcow2 file, reporting progress from 0 to 100.
   * Needs room for the data the source holds; a failure removes the half-written copy.
   */
  async convert(source: string, target: string, onProgress: (percent: number) => void = () => {}): Promise<void> {
    const info = await this.info(source);
    const needed = Math.max(info.actualSize, 1024 * 1024);
    const free = await freeBytes(path.dirname(target));
    if (free < needed + MIN_FREE_AFTER_CREATE) {
      throw new HangarError('NO_SPACE', `Importing needs about ${formatBytes(needed)} but only ${formatBytes(free)} is free. Free some space first.`);
    }
    await reserve(target);
    const child = spawn(this.binary, ['convert', '-p', '-O', 'qcow2', '-f', info.format, source, target], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // qemu-img -p redraws "    (42.00/100%)" with carriage returns.
      for (const match of chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)) onProgress(Number(match[1]));
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('error', (error) => {
        stderr += error.message;
        resolve(null);
      });
      child.on('close', resolve);
    });
    if (code !== 0) {
      await fs.rm(target, { force: true });
      throw failure('Importing the disk', stderr);
    }
    onProgress(100);
  }
}
