import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSerialLogTail, SERIAL_LOG, SERIAL_LOG_OLDER, SERIAL_LOG_TAIL_BYTES } from '../../../src-main/consoles/serial-log';
import { runCli, type CliContext } from '../../../src-main/cli/commands';
import { createHangarService } from '../../../src-main/api/service';
import { call, makeSandbox, type Sandbox } from '../../support/engine';

// A stopped VM's console shows the end of its serial log: serial.log, after serial.log.1
// (the older file the log is rotated into) when serial.log alone holds less than the tail.

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-serial-log-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** `count` numbered lines of 16 bytes: "line 000000042\r\n" is 16 bytes. */
const lines = (from: number, count: number): string => Array.from({ length: count }, (_, index) => `line ${String(from + index).padStart(9, '0')}\r\n`).join('');

describe('readSerialLogTail', () => {
  it('is empty, not an error, for a VM that never printed', async () => {
    expect(await readSerialLogTail(dir)).toEqual({ data: Buffer.alloc(0), truncated: false });
  });

  it('gives a short log whole, older file first', async () => {
    await fs.writeFile(path.join(dir, SERIAL_LOG_OLDER), lines(0, 3));
    await fs.writeFile(path.join(dir, SERIAL_LOG), lines(3, 2));
    const tail = await readSerialLogTail(dir);
    expect(tail.data.toString()).toBe(lines(0, 5));
    expect(tail.truncated).toBe(false);
  });

  it('gives only the end of a long serial.log, from a line start, and says older output is left out', async () => {
    await fs.writeFile(path.join(dir, SERIAL_LOG_OLDER), lines(0, 1000));
    await fs.writeFile(path.join(dir, SERIAL_LOG), lines(1000, 100_000));
    const tail = await readSerialLogTail(dir, 1000);
    expect(tail.truncated).toBe(true);
    // 1000 bytes end mid-line at the start: it begins at the next whole line and ends at the last.
    expect(tail.data.toString()).toBe(lines(100_938, 62));
  });

  it('takes the rest from the end of serial.log.1 when serial.log holds less than the tail', async () => {
    await fs.writeFile(path.join(dir, SERIAL_LOG_OLDER), lines(0, 1000));
    await fs.writeFile(path.join(dir, SERIAL_LOG), lines(1000, 10));
    // 320 bytes are exactly 20 lines: the cut falls at a line start and no line is lost.
    const tail = await readSerialLogTail(dir, 320);
    expect(tail.truncated).toBe(true);
    expect(tail.data.toString()).toBe(lines(990, 20));
  });

  it('says older output exists when serial.log alone fills the tail exactly', async () => {
    await fs.writeFile(path.join(dir, SERIAL_LOG_OLDER), lines(0, 1));
    await fs.writeFile(path.join(dir, SERIAL_LOG), lines(1, 10));
    const tail = await readSerialLogTail(dir, 160);
    expect(tail.truncated).toBe(true);
  });

  it('reads only the tail of a big log, never the whole file', async () => {
    const big = path.join(dir, SERIAL_LOG);
    await fs.writeFile(big, lines(0, 8));
    // A sparse file of 8 GiB: reading it whole would take the test's memory and time.
    await fs.truncate(big, 8 * 1024 ** 3);
    await fs.appendFile(big, '\nthe end\n');
    const started = Date.now();
    const tail = await readSerialLogTail(dir);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(tail.data.length).toBeLessThanOrEqual(SERIAL_LOG_TAIL_BYTES);
    expect(tail.data.toString()).toBe('the end\n');
    expect(tail.truncated).toBe(true);
  });

  it('refuses, in words, a serial.log that is a link or a FIFO, without following or waiting on it', async () => {
    const secret = path.join(dir, 'secret');
    await fs.writeFile(secret, 'not for the console\n');
    await fs.symlink(secret, path.join(dir, SERIAL_LOG));
    await expect(readSerialLogTail(dir)).rejects.toMatchObject({ code: 'NO_PERMISSION', message: expect.stringContaining('is not a plain file') });
    await fs.rm(path.join(dir, SERIAL_LOG));
    execFileSync('mkfifo', [path.join(dir, SERIAL_LOG)]);
    await expect(readSerialLogTail(dir)).rejects.toMatchObject({ code: 'NO_PERMISSION', message: expect.stringContaining('is not a plain file') });
  });
});

describe('readConsoleLog and "hangar log", over a real library', () => {
  let sandbox: Sandbox;
  let vmDir: string;

  beforeAll(async () => {
    sandbox = await makeSandbox('hangar-serial-log-');
    await call(sandbox.service(), 'createVm', { name: 'Quiet', diskGiB: 0 });
    vmDir = (await call(sandbox.service(), 'getVm', { vm: 'quiet' })).dir;
  });

  afterAll(async () => {
    await sandbox.cleanup();
  });

  it('gives a VM that never ran an empty log, and one that printed its log, by name or id', async () => {
    expect(await call(sandbox.service(), 'readConsoleLog', { vm: 'Quiet' })).toEqual({ vm: 'quiet', data: '', truncated: false });
    await fs.writeFile(path.join(vmDir, SERIAL_LOG), 'Booting…\r\nlogin: ');
    const log = await call(sandbox.service(), 'readConsoleLog', { vm: 'quiet' });
    expect(Buffer.from(log.data, 'base64').toString()).toBe('Booting…\r\nlogin: ');
  });

  it('hangar log prints it, and says on stderr when older output is left out', async () => {
    let out = '';
    let err = '';
    const context: CliContext = {
      io: { out: (text) => void (out += text), err: (text) => void (err += text), isTTY: false },
      rendererDir: '/nonexistent',
      createService: (door) => createHangarService({ door, env: sandbox.env }),
      untilInterrupted: () => Promise.resolve(),
    };
    await fs.writeFile(path.join(vmDir, SERIAL_LOG), `${'x'.repeat(SERIAL_LOG_TAIL_BYTES)}\nlast line\n`);
    expect(await runCli(['log', 'Quiet'], context)).toBe(0);
    expect(out).toBe('last line\n');
    expect(err).toContain('older output is left out');
    expect(await runCli(['log', 'Nobody'], context)).toBe(1);
    expect(err).toContain('Nobody');
  });
});
