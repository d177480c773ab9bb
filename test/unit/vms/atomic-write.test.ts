import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWriteFile } from '../../../src-main/util/atomic-write';
import { fillUp, withTmpfs, type Tmpfs } from '../../support/tmpfs';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-atomic-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('atomicWriteFile', () => {
  it('creates a new file with mode 0600 and exactly the given content', async () => {
    const file = path.join(dir, 'vm.json');
    await atomicWriteFile(file, '{"schema":1}\n');
    await expect(fs.readFile(file, 'utf8')).resolves.toBe('{"schema":1}\n');
    expect(await mode(file)).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['vm.json']);
  });

  it('writes bytes as they are', async () => {
    const file = path.join(dir, 'nvram.fd');
    const bytes = new Uint8Array([0, 1, 2, 255, 254, 0, 10, 13]);
    await atomicWriteFile(file, bytes);
    expect(new Uint8Array(await fs.readFile(file))).toEqual(bytes);
  });

  it('takes the mode it is given', async () => {
    const file = path.join(dir, 'public.txt');
    await atomicWriteFile(file, 'x', 0o640);
    expect(await mode(file)).toBe(0o640);
  });

  it('replaces the content (longer, then shorter) and the mode of an existing file, leaving no temporary file', async () => {
    const file = path.join(dir, 'vm.json');
    await fs.writeFile(file, 'old content', { mode: 0o644 });
    await fs.chmod(file, 0o644);
    await atomicWriteFile(file, 'a much longer new content than before');
    await expect(fs.readFile(file, 'utf8')).resolves.toBe('a much longer new content than before');
    await atomicWriteFile(file, 'short');
    await expect(fs.readFile(file, 'utf8')).resolves.toBe('short');
    expect(await mode(file)).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['vm.json']);
  });

  it('replaces the file in one step: an open reader of the old file still sees all of the old content', async () => {
    const file = path.join(dir, 'vm.json');
    await fs.writeFile(file, 'old '.repeat(1000));
    const reader = await fs.open(file, 'r');
    try {
      await atomicWriteFile(file, 'new');
      const { buffer, bytesRead } = await reader.read(Buffer.alloc(8000), 0, 8000, 0);
      expect(buffer.subarray(0, bytesRead).toString()).toBe('old '.repeat(1000));
    } finally {
      await reader.close();
    }
    await expect(fs.readFile(file, 'utf8')).resolves.toBe('new');
  });

  it('fails when the folder does not exist, creating nothing', async () => {
    await expect(atomicWriteFile(path.join(dir, 'missing', 'vm.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  // Regression (was a bug): the temporary name is pid + Date.now(), so two writes of one file in the
  // same millisecond collide: the second fails with EEXIST and its clean-up deletes the first
  // one's temporary file, so that one fails too.
  it('ten writes of one file at once all succeed and one of them wins whole', async () => {
    const file = path.join(dir, 'vm.json');
    const contents = Array.from({ length: 10 }, (_, index) => `content ${index}`);
    const results = await Promise.allSettled(contents.map((content) => atomicWriteFile(file, content)));
    expect(results.map((result) => result.status)).toEqual(contents.map(() => 'fulfilled'));
    expect(contents).toContain(await fs.readFile(file, 'utf8'));
    expect(await fs.readdir(dir)).toEqual(['vm.json']);
  });
});

describe('atomicWriteFile on a full disk', () => {
  let tmpfs: Tmpfs;
  beforeEach(async () => {
    tmpfs = await withTmpfs(1024 * 1024);
  });
  afterEach(async () => {
    await tmpfs.cleanup();
  });

  it('fails with ENOSPC, keeps the old content whole and leaves no temporary file', async () => {
    const file = path.join(tmpfs.dir, 'vm.json');
    const old = JSON.stringify({ schema: 1, name: 'Debian' });
    await atomicWriteFile(file, old);
    await fillUp(tmpfs.dir);
    const before = (await fs.readdir(tmpfs.dir)).sort();
    expect(before).toEqual(['filler', 'vm.json']);

    await expect(atomicWriteFile(file, 'n'.repeat(64 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(fs.readFile(file, 'utf8')).resolves.toBe(old);
    expect((await fs.readdir(tmpfs.dir)).sort()).toEqual(before);
  });

  it('fails with ENOSPC for a new file and leaves neither it nor a temporary file', async () => {
    await fillUp(tmpfs.dir);
    await expect(atomicWriteFile(path.join(tmpfs.dir, 'new.json'), 'n'.repeat(64 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await fs.readdir(tmpfs.dir)).toEqual(['filler']);
  });

  it('succeeds again once space is freed', async () => {
    const file = path.join(tmpfs.dir, 'vm.json');
    await atomicWriteFile(file, 'old');
    const filler = await fillUp(tmpfs.dir);
    await expect(atomicWriteFile(file, 'n'.repeat(64 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
    await fs.rm(filler);
    await atomicWriteFile(file, 'n'.repeat(64 * 1024));
    await expect(fs.readFile(file, 'utf8')).resolves.toBe('n'.repeat(64 * 1024));
    expect(await fs.readdir(tmpfs.dir)).toEqual(['vm.json']);
  });
});

describe('withTmpfs', () => {
  it('mounts a tmpfs of the asked size that fills up, and removes it on cleanup', async () => {
    const tmpfs = await withTmpfs(2 * 1024 * 1024);
    try {
      const stats = await fs.statfs(tmpfs.dir);
      expect(Number(stats.blocks) * Number(stats.bsize)).toBe(2 * 1024 * 1024);
      expect((await fs.readFile('/proc/self/mounts', 'utf8')).split('\n').some((line) => line.split(' ')[1] === tmpfs.dir && line.split(' ')[2] === 'tmpfs')).toBe(true);
      const filler = await fillUp(tmpfs.dir);
      expect((await fs.stat(filler)).size).toBe(2 * 1024 * 1024);
    } finally {
      await tmpfs.cleanup();
    }
    await expect(fs.access(tmpfs.dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
