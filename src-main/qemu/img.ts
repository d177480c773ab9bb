import { spawn } from 'node:child_process';
import { accessSync, constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';
import { freeBytes } from '../util/free-space';
import { runProgram, type RunResult } from '../util/run';
import { identifyImage, judgeImageInfo, type ImportFormat } from './image-check';

// qemu-img, wrapped: refuses to overwrite, checks free space first, reports progress,
// and removes what it made when it fails half-way. Images to import are untrusted: they
// are identified and judged by image-check.ts, and qemu-img reads them within limits.

export { IMPORT_FORMATS, type ImportFormat } from './image-check';

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
}

/** Space left free after creating a sparse disk, so the host's own disk does not run full at once. */
const MIN_FREE_AFTER_CREATE = 256 * 1024 * 1024;

export interface ResourceLimits {
  /** RLIMIT_AS: a crafted image cannot make qemu-img take the host's memory. */
  addressSpaceBytes: number;
  /** RLIMIT_CPU, or null when the work grows with the disk's size. */
  cpuSeconds: number | null;
}

const GiB = 1024 ** 3;
/** What OpenStack (nova, cinder) allows `qemu-img info` on an uploaded image. */
const INFO_LIMITS: ResourceLimits = { addressSpaceBytes: GiB, cpuSeconds: 30 };
// convert peaks at about 300 MiB of address space here (17 threads, 8 MiB stacks each);
// qemu's pool can grow to 64 threads, so 2 GiB. No CPU bound: a large disk takes long, rightly.
const CONVERT_LIMITS: ResourceLimits = { addressSpaceBytes: 2 * GiB, cpuSeconds: null };

/** prlimit (util-linux) on PATH, or null: without it qemu-img runs with only its time limit. */
function findPrlimit(): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').filter((entry) => entry.startsWith('/'))) {
    try {
      accessSync(path.join(dir, 'prlimit'), constants.X_OK);
      return path.join(dir, 'prlimit');
    } catch {
      // not in this folder
    }
  }
  return null;
}

export interface QemuImgOptions {
  /** The prlimit program that bounds qemu-img on untrusted images; null runs without it. Found on PATH when left out. */
  prlimit?: string | null;
  infoLimits?: ResourceLimits;
  convertLimits?: ResourceLimits;
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

/** Whether a qemu-img run on an untrusted image ended at its limits rather than by itself. */
function hitLimit(result: Pick<RunResult, 'signal' | 'stderr' | 'timedOut'>): boolean {
  return result.timedOut || result.signal !== null || /Cannot allocate memory|Failed to allocate|out of memory|failed to map segment/i.test(result.stderr);
}

export class QemuImg {
  private readonly prlimit: string | null;
  private readonly infoLimits: ResourceLimits;
  private readonly convertLimits: ResourceLimits;

  constructor(
    readonly binary = 'qemu-img',
    options: QemuImgOptions = {},
  ) {
    this.prlimit = options.prlimit === undefined ? findPrlimit() : options.prlimit;
    this.infoLimits = options.infoLimits ?? INFO_LIMITS;
    this.convertLimits = options.convertLimits ?? CONVERT_LIMITS;
  }

  /** How to run qemu-img within `limits`: through prlimit (an argument array, never a shell). */
  private bounded(args: string[], limits: ResourceLimits): { program: string; args: string[]; env: NodeJS.ProcessEnv } {
    // glibc reserves 64 MiB of address space per thread arena; uncapped, they take the room
    // qemu-img needs under the limit and it aborts at random. Two arenas keep its use steady.
    const env = { ...process.env, MALLOC_ARENA_MAX: '2' };
    if (!this.prlimit) return { program: this.binary, args, env };
    const cpu = limits.cpuSeconds === null ? [] : [`--cpu=${limits.cpuSeconds}`];
    return { program: this.prlimit, args: [`--as=${limits.addressSpaceBytes}`, ...cpu, '--', this.binary, ...args], env };
  }

  async create(file: string, sizeBytes: number, format: 'qcow2' | 'raw' = 'qcow2'): Promise<void> {
    const free = await freeBytes(path.dirname(file));
    if (free < MIN_FREE_AFTER_CREATE) {
      throw new HangarError('NO_SPACE', `Only ${formatBytes(free)} is free where the disk would go, and Hangar keeps ${formatBytes(MIN_FREE_AFTER_CREATE)} free for the host; free some space first.`);
    }
    await reserve(file);
    // preallocation=off keeps the image sparse: it grows as the guest writes.
    const result = await runProgram(this.binary, ['create', '-q', '-f', format, ...(format === 'qcow2' ? ['-o', 'preallocation=off'] : []), file, String(sizeBytes)]);
    if (result.code !== 0) {
      await fs.rm(file, { force: true });
      throw failure('Creating the disk', result.stderr || result.spawnError || '');
    }
  }

  /** Reads one of Hangar's own disks (qemu-img guesses the format unless told). Untrusted images go through inspect. */
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
   * Reads an image a person wants to import, trusting nothing in it: its format from its own
   * bytes (image-check.ts), then qemu-img's description with that format forced, within
   * INFO_LIMITS, judged again. Refuses images that name other files, and non-images.
   */
  async inspect(source: string): Promise<ImageInfo & { path: string; format: ImportFormat }> {
    const image = await identifyImage(source);
    const run = this.bounded(['info', '--output=json', '--force-share', '-f', image.format, image.path], this.infoLimits);
    const result = await runProgram(run.program, run.args, { env: run.env, timeoutMs: (this.infoLimits.cpuSeconds ?? 30) * 1000 });
    if (result.code !== 0) {
      if (hitLimit(result)) {
        const cpu = this.infoLimits.cpuSeconds === null ? '' : ` or ${this.infoLimits.cpuSeconds} s`;
        throw new HangarError('DISK_FAILED', `Reading ${source} took qemu-img more than ${formatBytes(this.infoLimits.addressSpaceBytes)} of memory${cpu}, so Hangar stopped it: the image is damaged or made to exhaust this machine. Choose another image.`);
      }
      throw failure(`Reading ${source}`, result.stderr || result.spawnError || '');
    }
    let json: unknown;
    try {
      json = JSON.parse(result.stdout);
    } catch {
      json = null;
    }
    return { ...image, ...judgeImageInfo(json, image, source) };
  }

  /**
   * Converts (imports) an image into a new qcow2 file, reporting progress from 0 to 100.
   * The image is inspected first (hostile images never reach qemu-img convert), needs room
   * for the data it holds, and a failure removes the half-written copy.
   */
  async convert(source: string, target: string, onProgress: (percent: number) => void = () => {}): Promise<void> {
    const image = await this.inspect(source);
    const needed = Math.max(image.actualSize, 1024 * 1024);
    const free = await freeBytes(path.dirname(target));
    if (free < needed + MIN_FREE_AFTER_CREATE) {
      throw new HangarError(
        'NO_SPACE',
        `Importing needs about ${formatBytes(needed)}, plus the ${formatBytes(MIN_FREE_AFTER_CREATE)} Hangar keeps free for the host, but only ${formatBytes(free)} is free. Free some space first.`,
      );
    }
    await reserve(target);
    // The same format that was judged, never a guess: -f is what makes the checks above hold.
    const run = this.bounded(['convert', '-p', '-f', image.format, '-O', 'qcow2', image.path, target], this.convertLimits);
    const child = spawn(run.program, run.args, { env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // qemu-img -p redraws "    (42.00/100%)" with carriage returns.
      for (const match of chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)) onProgress(Number(match[1]));
    });
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('error', (error) => {
        stderr += error.message;
        resolve({ code: null, signal: null });
      });
      child.on('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
    });
    if (code !== 0) {
      await fs.rm(target, { force: true });
      if (!/No space left on device/i.test(stderr) && hitLimit({ signal, stderr, timedOut: false })) {
        const how = signal ? `was ended by ${signal}` : `ran out of the ${formatBytes(this.convertLimits.addressSpaceBytes)} of memory Hangar allows it`;
        throw new HangarError('DISK_FAILED', `Importing ${source} failed: qemu-img ${how}, and nothing was imported. Try again; if it fails again, the image is damaged or made to exhaust this machine.`);
      }
      throw failure('Importing the disk', stderr);
    }
    onProgress(100);
  }
}
