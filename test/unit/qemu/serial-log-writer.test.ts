import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotatedName, SerialLogWriter } from '../../../src-main/qemu/keeper/serial-log-writer';
import { fillUp, withTmpfs } from '../../support/tmpfs';

// serial.log as the keeper keeps it: capped, rotated to serial.log.1 (one older file),
// private, and on a full disk a note instead of a dead keeper. Real files; a real tmpfs
// that fills up.

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-serial-log-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const read = (file: string): Promise<string> => fs.readFile(file, 'latin1').catch(() => '');
const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Numbered lines, so any reordering, repeat or gap shows. */
const lines = (from: number, count: number): string => Array.from({ length: count }, (_, index) => `line ${from + index}\n`).join('');

describe('serial.log', () => {
  it('stays under its cap, keeps the newest output in serial.log.1 + serial.log, and is private', async () => {
    const file = path.join(dir, 'serial.log');
    const log = await SerialLogWriter.open(file, { maxBytes: 1000 });
    const all = lines(0, 600);
    // As a serial port delivers it: a few bytes at a time, with pauses for the batches to go.
    for (let at = 0; at < all.length; at += 7) {
      log.write(Buffer.from(all.slice(at, at + 7), 'latin1'));
      if (at % 700 === 0) await sleep(60);
    }
    await log.close();
    const [current, older] = [await read(file), await read(rotatedName(file))];
    expect(current.length).toBeGreaterThan(0);
    expect(current.length).toBeLessThanOrEqual(1000);
    expect(older.length).toBeGreaterThan(0);
    expect(older.length).toBeLessThanOrEqual(1000);
    // The two files are the end of the stream, in order, with nothing missing between them.
    expect(all.endsWith(older + current)).toBe(true);
    expect(await mode(file)).toBe(0o600);
    expect(await mode(rotatedName(file))).toBe(0o600);
    expect(log.stoppedNote).toBeNull();
    expect((await fs.readdir(dir)).sort()).toEqual(['serial.log', 'serial.log.1']);
  });

  it('continues an earlier run, starts over from a log past the cap, and makes an old 0644 log private', async () => {
    const file = path.join(dir, 'serial.log');
    await fs.writeFile(file, 'earlier run\n', { mode: 0o644 });
    await fs.chmod(file, 0o644);
    const continued = await SerialLogWriter.open(file, { maxBytes: 1000 });
    continued.write(Buffer.from('this run\n'));
    await continued.close();
    expect(await read(file)).toBe('earlier run\nthis run\n');
    expect(await mode(file)).toBe(0o600);

    await fs.writeFile(file, 'x'.repeat(5000)); // an unbounded log from before the cap
    const capped = await SerialLogWriter.open(file, { maxBytes: 1000 });
    expect((await fs.stat(file)).size).toBe(0);
    expect((await fs.stat(rotatedName(file))).size).toBe(5000);
    capped.write(Buffer.from('fresh\n'));
    await capped.close();
    expect(await read(file)).toBe('fresh\n');
  });

  it('drops what a slow disk cannot take, and says so in the log itself', async () => {
    const file = path.join(dir, 'serial.log');
    const log = await SerialLogWriter.open(file, { maxBytes: 1000 });
    // All at once, before the first batch is written: three logs' worth.
    log.write(Buffer.from(lines(0, 300), 'latin1'));
    await log.close();
    const text = await read(file);
    expect(text.length).toBeLessThanOrEqual(1000);
    expect(text).toMatch(/^\r\n\[hangar: \d+ bytes of serial output are missing here: the disk could not keep up\]\r\n/);
    expect(lines(0, 300).endsWith(text.replace(/^\r\n\[hangar[^\]]*\]\r\n/, ''))).toBe(true);
  });

  it('on a full disk stops logging with a note, and never throws at the serial reader', async () => {
    const tmpfs = await withTmpfs(256 * 1024);
    try {
      const file = path.join(tmpfs.dir, 'serial.log');
      const notes: string[] = [];
      const log = await SerialLogWriter.open(file, { maxBytes: 64 * 1024, onStopped: (note) => notes.push(note), now: () => new Date('2026-03-04T05:06:07.890Z') });
      log.write(Buffer.from('before the disk filled\n'));
      await sleep(120);
      await fillUp(tmpfs.dir);
      for (let index = 0; index < 200; index++) log.write(Buffer.from(lines(index * 10, 10)));
      await sleep(150);
      for (let index = 0; index < 10; index++) log.write(Buffer.from('after the note\n'));
      await log.close();
      expect(notes).toEqual([`The serial output of this VM has not been saved to ${file} since 2026-03-04T05:06:07Z: the disk is full (free some space). It is saved again from the VM's next start.`]);
      expect(log.stoppedNote).toBe(notes[0]);
      expect(await read(file)).toMatch(/^before the disk filled\n/);
      expect(await read(file)).not.toContain('after the note');
    } finally {
      await tmpfs.cleanup();
    }
  });

  it('a log that cannot even be opened is a note too', async () => {
    const notes: string[] = [];
    const log = await SerialLogWriter.open(path.join(dir, 'no-such-folder', 'serial.log'), { onStopped: (note) => notes.push(note) });
    log.write(Buffer.from('lost\n'));
    await log.close();
    expect(notes).toHaveLength(1);
    expect(log.stoppedNote).toMatch(/has not been saved to .*no-such-folder\/serial\.log since .*ENOENT/);
  });
});
