import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QemuImg } from '../../src-main/qemu/img';
import { runProgram } from '../../src-main/util/run';
import { VmLibrary } from '../../src-main/vms/library';
import { withTmpfs, type Tmpfs } from '../support/tmpfs';
import { sampleDraft } from '../unit/vms/sample';
import { refusal } from '../support/refusal';

// The qemu-img wrapper against Debian's real qemu-img (7.2), on real and on full file systems.

const QEMU_IMG = '/usr/bin/qemu-img';
const img = new QemuImg(QEMU_IMG);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

let dir: string;
const mounts: Tmpfs[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-disks-'));
});

afterEach(async () => {
  for (const mount of mounts.splice(0)) await mount.cleanup();
  await fs.rm(dir, { recursive: true, force: true });
});

async function tmpfs(sizeBytes: number): Promise<Tmpfs> {
  const mount = await withTmpfs(sizeBytes);
  mounts.push(mount);
  return mount;
}

/** Runs qemu-img directly, to make test images the way a user's other tools would. */
async function qemuImg(...args: string[]): Promise<void> {
  const result = await runProgram(QEMU_IMG, args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`qemu-img ${args.join(' ')} failed: ${result.stderr}`);
}

/** Whether two images hold the same guest-visible bytes (qemu-img compare exits 0). */
async function sameContent(a: string, b: string): Promise<boolean> {
  const result = await runProgram(QEMU_IMG, ['compare', a, b], { timeoutMs: 120_000 });
  if (result.code !== 0 && result.code !== 1) throw new Error(`qemu-img compare failed: ${result.stderr}`);
  return result.code === 0;
}


const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

/** A raw image of `size` bytes with random data written at `offset`. */
async function rawWithData(file: string, size: number, offset: number, dataBytes: number): Promise<Buffer> {
  await qemuImg('create', '-q', '-f', 'raw', file, String(size));
  const data = randomBytes(dataBytes);
  const handle = await fs.open(file, 'r+');
  try {
    await handle.write(data, 0, data.length, offset);
  } finally {
    await handle.close();
  }
  return data;
}

describe('QemuImg.create', () => {
  it('makes a sparse qcow2 of the asked virtual size', async () => {
    const file = path.join(dir, 'disk.qcow2');
    await img.create(file, 20 * GiB);
    const info = await img.info(file);
    expect(info.format).toBe('qcow2');
    expect(info.virtualSize).toBe(20 * GiB);
    expect(info.actualSize).toBeGreaterThan(0);
    expect(info.actualSize).toBeLessThan(MiB);
    expect((await fs.stat(file)).size).toBeLessThan(MiB);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('makes a sparse raw image when asked', async () => {
    const file = path.join(dir, 'disk.raw');
    await img.create(file, GiB, 'raw');
    const info = await img.info(file);
    expect(info).toMatchObject({ format: 'raw', virtualSize: GiB });
    expect(info.actualSize).toBeLessThan(MiB);
    expect((await fs.stat(file)).size).toBe(GiB);
  });

  it('refuses to overwrite an existing file with DISK_EXISTS, leaving it untouched', async () => {
    const file = path.join(dir, 'disk.qcow2');
    await fs.writeFile(file, 'my precious data');
    const error = await refusal(img.create(file, GiB));
    expect(error.code).toBe('DISK_EXISTS');
    expect(error.message).toBe(`${file} already exists; Hangar never overwrites a disk.`);
    await expect(fs.readFile(file, 'utf8')).resolves.toBe('my precious data');
  });

  it('reports what qemu-img says when it fails, and removes the reserved file', async () => {
    const file = path.join(dir, 'disk.qcow2');
    const error = await refusal(img.create(file, -1));
    expect(error.code).toBe('DISK_FAILED');
    expect(error.message).toMatch(/^Creating the disk failed: ./);
    expect(error.message).not.toContain('qemu-img: ');
    expect(await exists(file)).toBe(false);
  });

  it('says DISK_FAILED, not a crash, when the qemu-img program is missing', async () => {
    const file = path.join(dir, 'disk.qcow2');
    const error = await refusal(new QemuImg(path.join(dir, 'no-such-qemu-img')).create(file, GiB));
    expect(error.code).toBe('DISK_FAILED');
    expect(error.message).toMatch(/^Creating the disk failed: .*ENOENT/);
    expect(await exists(file)).toBe(false);
  });

  it('refuses with NO_SPACE on a file system with less than 256 MiB free, before running qemu-img', async () => {
    const small = await tmpfs(64 * MiB);
    const file = path.join(small.dir, 'disk.qcow2');
    const error = await refusal(img.create(file, 20 * GiB));
    expect(error.code).toBe('NO_SPACE');
    expect(error.message).toBe('Only 64 MiB is free where the disk would go, and Hangar keeps 256 MiB free for the host; free some space first.');
    expect(await fs.readdir(small.dir)).toEqual([]);
    // A qemu-img that cannot even start proves the refusal comes first.
    await expect(new QemuImg(path.join(dir, 'no-such-qemu-img')).create(file, GiB)).rejects.toMatchObject({ code: 'NO_SPACE' });
  });
});

describe('QemuImg.info', () => {
  it('refuses a missing file with DISK_NOT_FOUND', async () => {
    const file = path.join(dir, 'missing.qcow2');
    const error = await refusal(img.info(file));
    expect(error.code).toBe('DISK_NOT_FOUND');
    expect(error.message).toBe(`The disk ${file} does not exist.`);
  });

  it('reads a file that is no image as raw', async () => {
    const file = path.join(dir, 'notes.txt');
    await fs.writeFile(file, 'hello\n'.repeat(1024));
    expect(await img.info(file)).toMatchObject({ format: 'raw', virtualSize: 6 * 1024 });
  });
});

describe('QemuImg.resize', () => {
  it('grows a disk', async () => {
    const file = path.join(dir, 'disk.qcow2');
    await img.create(file, GiB);
    await img.resize(file, 3 * GiB);
    expect((await img.info(file)).virtualSize).toBe(3 * GiB);
    // The same size is no shrink: allowed, nothing changes.
    await img.resize(file, 3 * GiB);
    expect((await img.info(file)).virtualSize).toBe(3 * GiB);
  });

  it('refuses to shrink with BAD_SETTINGS, leaving the size as it was', async () => {
    const file = path.join(dir, 'disk.qcow2');
    await img.create(file, 2 * GiB);
    const error = await refusal(img.resize(file, 2 * GiB - 512));
    expect(error.code).toBe('BAD_SETTINGS');
    expect(error.message).toBe('Shrinking a disk would cut off the data at its end; Hangar only makes disks larger.');
    expect((await img.info(file)).virtualSize).toBe(2 * GiB);
  });

  it('refuses a missing disk with DISK_NOT_FOUND', async () => {
    await expect(img.resize(path.join(dir, 'missing.qcow2'), GiB)).rejects.toMatchObject({ code: 'DISK_NOT_FOUND' });
  });
});

describe('QemuImg.check', () => {
  it('finds a fresh qcow2 consistent', async () => {
    const file = path.join(dir, 'disk.qcow2');
    await img.create(file, GiB);
    expect(await img.check(file)).toEqual({ status: 'consistent', summary: 'The disk is consistent.' });
  });

  it('says a raw disk cannot be checked rather than calling it consistent', async () => {
    const file = path.join(dir, 'plain.raw');
    await qemuImg('create', '-f', 'raw', file, String(4 * MiB));
    expect(await img.check(file)).toEqual({ status: 'unchecked', summary: 'This disk format (such as raw) has nothing qemu-img can check.' });
  });

  it('finds a qcow2 with a wiped refcount block corrupt', async () => {
    const raw = path.join(dir, 'data.raw');
    await rawWithData(raw, 4 * MiB, 0, MiB);
    const file = path.join(dir, 'disk.qcow2');
    await qemuImg('convert', '-O', 'qcow2', raw, file);
    // Header: cluster_bits at byte 20, refcount_table_offset at byte 48 (big-endian).
    const handle = await fs.open(file, 'r+');
    try {
      const header = Buffer.alloc(104);
      await handle.read(header, 0, 104, 0);
      const clusterSize = 2 ** header.readUInt32BE(20);
      const table = Number(header.readBigUInt64BE(48));
      const entry = Buffer.alloc(8);
      await handle.read(entry, 0, 8, table);
      await handle.write(Buffer.alloc(clusterSize), 0, clusterSize, Number(entry.readBigUInt64BE(0)));
    } finally {
      await handle.close();
    }
    expect(await img.check(file)).toEqual({ status: 'corrupt', summary: 'The disk image is corrupt.' });
  });

  it('fails with DISK_FAILED on a missing file', async () => {
    const error = await refusal(img.check(path.join(dir, 'missing.qcow2')));
    expect(error.code).toBe('DISK_FAILED');
    expect(error.message).toMatch(/^Checking the disk failed: .*No such file or directory/);
  });
});

describe('QemuImg.convert (importing a disk)', () => {
  it.each(['vmdk', 'vdi', 'vhdx', 'vpc', 'qcow2', 'raw'])('imports an empty %s image into a qcow2 of the same size, reporting progress up to 100', async (format) => {
    const source = path.join(dir, `source.${format}`);
    await qemuImg('create', '-q', '-f', format, source, String(64 * MiB));
    const sourceInfo = await img.info(source);
    expect(sourceInfo.format).toBe(format);

    const target = path.join(dir, 'disk.qcow2');
    const progress: number[] = [];
    await img.convert(source, target, (percent) => progress.push(percent));
    const info = await img.info(target);
    expect(info.format).toBe('qcow2');
    expect(info.virtualSize).toBe(sourceInfo.virtualSize);
    expect(progress.at(-1)).toBe(100);
    expect(progress.every((percent, index) => percent >= 0 && percent <= 100 && percent >= (progress[index - 1] ?? 0))).toBe(true);
    expect(await sameContent(source, target)).toBe(true);
    // The source is only read.
    expect(await img.info(source)).toEqual(sourceInfo);
  });

  it('imports a fixed-size VHD, whose only signature is the footer at its end', async () => {
    const source = path.join(dir, 'fixed.vhd');
    await qemuImg('create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', source, String(8 * MiB));
    const head = Buffer.alloc(8);
    const handle = await fs.open(source, 'r');
    await handle.read(head, 0, 8, 0).finally(() => handle.close());
    expect(head.toString('latin1')).not.toBe('conectix');
    expect(await img.inspect(source)).toMatchObject({ format: 'vpc', path: source });
    const target = path.join(dir, 'disk.qcow2');
    await img.convert(source, target);
    // qemu-img compare would guess the source as raw: it is told the format here.
    expect((await runProgram(QEMU_IMG, ['compare', '-f', 'vpc', '-F', 'qcow2', source, target])).code).toBe(0);
  });

  it('imports a raw image holding data, byte for byte, keeping the result sparse', async () => {
    const source = path.join(dir, 'source.raw');
    const data = await rawWithData(source, 64 * MiB, 5 * MiB, 3 * MiB);
    const target = path.join(dir, 'disk.qcow2');
    const progress: number[] = [];
    await img.convert(source, target, (percent) => progress.push(percent));

    const info = await img.info(target);
    expect(info).toMatchObject({ format: 'qcow2', virtualSize: 64 * MiB });
    expect(info.actualSize).toBeGreaterThanOrEqual(3 * MiB);
    expect(info.actualSize).toBeLessThan(8 * MiB);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(100);
    expect(await sameContent(source, target)).toBe(true);
    // And the data is really there: read it back through qemu-img as raw.
    const back = path.join(dir, 'back.raw');
    await qemuImg('convert', '-O', 'raw', target, back);
    const handle = await fs.open(back, 'r');
    try {
      const read = Buffer.alloc(data.length);
      await handle.read(read, 0, read.length, 5 * MiB);
      expect(read.equals(data)).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('refuses to overwrite an existing target with DISK_EXISTS, leaving it untouched', async () => {
    const source = path.join(dir, 'source.raw');
    await rawWithData(source, 4 * MiB, 0, MiB);
    const target = path.join(dir, 'disk.qcow2');
    await fs.writeFile(target, 'an older disk');
    const error = await refusal(img.convert(source, target));
    expect(error.code).toBe('DISK_EXISTS');
    await expect(fs.readFile(target, 'utf8')).resolves.toBe('an older disk');
  });

  it('refuses a missing source with DISK_NOT_FOUND, making no target', async () => {
    const target = path.join(dir, 'disk.qcow2');
    await expect(img.convert(path.join(dir, 'missing.vmdk'), target)).rejects.toMatchObject({ code: 'DISK_NOT_FOUND' });
    expect(await exists(target)).toBe(false);
  });

  it('refuses with NO_SPACE onto a full 8 MiB tmpfs, leaving no target file', async () => {
    const small = await tmpfs(8 * MiB);
    const source = path.join(dir, 'source.raw');
    await rawWithData(source, 20 * MiB, 0, 20 * MiB);
    const target = path.join(small.dir, 'disk.qcow2');
    const progress: number[] = [];
    const error = await refusal(img.convert(source, target, (percent) => progress.push(percent)));
    expect(error.code).toBe('NO_SPACE');
    // The 256 MiB reserve is said: "needs 20 MiB, 50 MiB free" alone would read as a bug.
    expect(error.message).toBe('Importing needs about 20 MiB, plus the 256 MiB Hangar keeps free for the host, but only 8.0 MiB is free. Free some space first.');
    expect(await fs.readdir(small.dir)).toEqual([]);
    expect(progress).toEqual([]);
  });
});

describe('QemuImg.inspect: qemu-img reads an image to import within limits', () => {
  it('says what it read: the real path (links resolved), the format from its bytes, its sizes', async () => {
    const source = path.join(dir, 'disk.vdi');
    await qemuImg('create', '-q', '-f', 'vdi', source, String(64 * MiB));
    const link = path.join(dir, 'latest.vdi');
    await fs.symlink(source, link);
    expect(await img.inspect(link)).toMatchObject({ path: source, format: 'vdi', sizeBytes: (await fs.stat(source)).size, virtualSize: 64 * MiB });
  });

  it('stops qemu-img at its memory limit, with a sentence (prlimit is what enforces it)', async () => {
    const source = path.join(dir, 'disk.qcow2');
    await img.create(source, GiB);
    // qemu-img info needs about 40 MiB of address space; 32 MiB is too little.
    const starved = { addressSpaceBytes: 32 * MiB, cpuSeconds: 30 };
    const error = await refusal(new QemuImg(QEMU_IMG, { infoLimits: starved }).inspect(source));
    expect(error.code).toBe('DISK_FAILED');
    expect(error.message).toBe(`Reading ${source} took qemu-img more than 32 MiB of memory or 30 s, so Hangar stopped it: the image is damaged or made to exhaust this machine. Choose another image.`);
    // The same limits without prlimit are not enforced: the limit above was prlimit's doing.
    expect(await new QemuImg(QEMU_IMG, { infoLimits: starved, prlimit: null }).inspect(source)).toMatchObject({ format: 'qcow2', virtualSize: GiB });
  });

  it('without prlimit, still refuses hostile images and imports good ones', async () => {
    const bare = new QemuImg(QEMU_IMG, { prlimit: null });
    const base = path.join(dir, 'base.raw');
    await rawWithData(base, 4 * MiB, 0, MiB);
    const overlay = path.join(dir, 'overlay.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', overlay);
    const target = path.join(dir, 'disk.qcow2');
    expect((await refusal(bare.convert(overlay, target))).code).toBe('UNSAFE_DISK_IMAGE');
    expect(await exists(target)).toBe(false);
    await bare.convert(base, target);
    expect(await sameContent(base, target)).toBe(true);
  });

  it('stops a convert at its memory limit, removing the half-written target', async () => {
    const source = path.join(dir, 'source.raw');
    await rawWithData(source, 8 * MiB, 0, 8 * MiB);
    const target = path.join(dir, 'disk.qcow2');
    // Enough to read the image (inspect), far too little to copy it.
    const error = await refusal(new QemuImg(QEMU_IMG, { convertLimits: { addressSpaceBytes: 48 * MiB, cpuSeconds: null } }).convert(source, target));
    expect(error.code).toBe('DISK_FAILED');
    expect(error.message).toMatch(new RegExp(`^Importing ${source} failed: qemu-img (was ended by SIG[A-Z]+|ran out of the 48 MiB of memory Hangar allows it), and nothing was imported\\. Try again; if it fails again, the image is damaged or made to exhaust this machine\\.$`));
    expect(await exists(target)).toBe(false);
  });
});

describe('a disk that runs full half-way through an import', () => {
  // A compressed qcow2 holds 320 MiB of guest data in about 1 MiB: the free-space check
  // (room for what the source holds, plus 256 MiB) passes on a 272 MiB tmpfs, and the
  // 320 MiB that qemu-img writes out do not fit.
  let sources: string;
  let compressed: string;

  beforeAll(async () => {
    sources = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-disks-src-'));
    const raw = path.join(sources, 'pattern.raw');
    const block = Buffer.alloc(MiB);
    for (let index = 0; index < block.length; index++) block[index] = 'hangar!'.charCodeAt(index % 7);
    const handle = await fs.open(raw, 'w');
    try {
      for (let mib = 0; mib < 320; mib++) await handle.write(block);
    } finally {
      await handle.close();
    }
    compressed = path.join(sources, 'pattern.qcow2');
    await qemuImg('convert', '-c', '-O', 'qcow2', raw, compressed);
    await fs.rm(raw);
  });

  afterAll(async () => {
    await fs.rm(sources, { recursive: true, force: true });
  });

  it('the source really is small on disk and large inside', async () => {
    const info = await img.info(compressed);
    expect(info.virtualSize).toBe(320 * MiB);
    expect(info.actualSize).toBeLessThan(4 * MiB);
  });

  it('fails with NO_SPACE from qemu-img itself and removes the half-written target', async () => {
    const mount = await tmpfs(272 * MiB);
    const target = path.join(mount.dir, 'disk.qcow2');
    const progress: number[] = [];
    const error = await refusal(img.convert(compressed, target, (percent) => progress.push(percent)));
    expect(error.code).toBe('NO_SPACE');
    expect(error.message).toBe('Importing the disk failed: the disk is full. Free some space and try again.');
    expect(await fs.readdir(mount.dir)).toEqual([]);
    expect(progress).not.toContain(100);
    // All the space is free again.
    const stats = await fs.statfs(mount.dir);
    expect(Number(stats.bfree)).toBe(Number(stats.blocks));
  });
});

describe('VmLibrary.create importing a disk onto a full library', () => {
  const importInto = (library: VmLibrary, source: string) =>
    library.create(sampleDraft(), async (staging) => {
      await img.convert(source, path.join(staging, 'disk.qcow2'));
    });

  it('a full disk mid-way leaves no half-made VM behind: NO_SPACE, no VM, no staging folder', async () => {
    const mount = await tmpfs(8 * MiB);
    const library = new VmLibrary(mount.dir);
    const source = path.join(dir, 'source.raw');
    await rawWithData(source, 20 * MiB, 0, 20 * MiB);

    const error = await refusal(importInto(library, source));
    expect(error.code).toBe('NO_SPACE');
    expect(await library.list()).toEqual([]);
    expect(await fs.readdir(path.join(mount.dir, 'vms'))).toEqual([]);
    expect(await fs.readdir(mount.dir)).toEqual(['vms']);
  });

  it('also when qemu-img itself runs out of space half-way', async () => {
    const mount = await tmpfs(272 * MiB);
    const library = new VmLibrary(mount.dir);
    const sourceDir = await fs.mkdtemp(path.join(dir, 'src-'));
    const raw = path.join(sourceDir, 'pattern.raw');
    const block = Buffer.alloc(MiB, 0x5a);
    const handle = await fs.open(raw, 'w');
    try {
      for (let mib = 0; mib < 300; mib++) await handle.write(block);
    } finally {
      await handle.close();
    }
    const source = path.join(sourceDir, 'pattern.qcow2');
    await qemuImg('convert', '-c', '-O', 'qcow2', raw, source);

    const error = await refusal(importInto(library, source));
    expect(error.code).toBe('NO_SPACE');
    expect(error.message).toBe('Importing the disk failed: the disk is full. Free some space and try again.');
    expect(await library.list()).toEqual([]);
    expect(await fs.readdir(path.join(mount.dir, 'vms'))).toEqual([]);
    const stats = await fs.statfs(mount.dir);
    expect(Number(stats.bfree)).toBe(Number(stats.blocks));
  });

  it('with room, the imported VM is listed with its disk', async () => {
    const root = await fs.mkdtemp(path.join(dir, 'library-'));
    const library = new VmLibrary(root);
    const source = path.join(dir, 'source.vmdk');
    await qemuImg('create', '-q', '-f', 'vmdk', source, String(64 * MiB));
    const config = await importInto(library, source);
    expect((await library.list()).map((entry) => [entry.id, entry.broken])).toEqual([[config.id, null]]);
    expect(await img.info(path.join(library.vmDir(config.id), 'disk.qcow2'))).toMatchObject({ format: 'qcow2', virtualSize: 64 * MiB });
    expect((await fs.readdir(path.join(root, 'vms'))).sort()).toEqual([config.id]);
  });
});
