import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, lstatSync, promises as fs, readFileSync, readlinkSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHolderBinary, holderFiles } from '../../src-main/qemu/holder/paths';
import { readLastRun } from '../../src-main/vms/run-record';
import { ensureTestIso, TEST_GUEST_READY } from '../support/test-iso';
import { fillUp, withTmpfs } from '../support/tmpfs';

// The per-VM holder (src-main/qemu/holder/hangar-holder.c) against its contract, point by
// point, with real QEMU: `-M none` where no guest is needed, the test ISO's shell where the
// serial console is. The holder binary is the one electron-vite built into out/holder.

const QEMU = '/usr/bin/qemu-system-x86_64';
/** QEMU's serial port and monitor on the sockets the holder hands over as fds 3 and 4 (qemu/argv.ts 'inherited'). */
const CHANNELS = ['-chardev', 'socket,id=qmp,fd=4', '-mon', 'chardev=qmp,mode=control', '-chardev', 'socket,id=serial0,fd=3', '-serial', 'chardev:serial0'];
const NO_GUEST = ['-M', 'none', '-nodefaults', '-display', 'none', ...CHANNELS];
/** No guest, and QEMU's human monitor on the serial socket: serial output on demand, without booting anything. */
const MONITOR_ON_SERIAL = ['-M', 'none', '-nodefaults', '-display', 'none', '-chardev', 'socket,id=qmp,fd=4', '-mon', 'chardev=qmp,mode=control', '-chardev', 'socket,id=serial0,fd=3', '-mon', 'chardev=serial0,mode=readline'];
const FLOOD_LINE = '0123456789abcdef'.repeat(4);

let holderBin: string;
let root: string;
const started: ChildProcessWithoutNullStreams[] = [];
const qemuPids: number[] = [];

beforeAll(async () => {
  const found = findHolderBinary();
  if (!found) throw new Error('out/holder/hangar-holder is missing. Build first: npx electron-vite build.');
  holderBin = found;
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-holder-'));
});
afterAll(async () => {
  for (const pid of [...started.map((child) => child.pid ?? 0), ...qemuPids]) {
    try {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await fs.rm(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Holder {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  qemuPid: number;
  runDir: string;
  vmDir: string;
  files: ReturnType<typeof holderFiles>;
  stdout(): string;
  stdoutEnded: Promise<void>;
  exited: Promise<Ended>;
}

let runs = 0;
function spawnHolder(qemuArgs: string[], env: NodeJS.ProcessEnv = process.env, qemuBinary = QEMU, base = root): { child: ChildProcessWithoutNullStreams; runDir: string; vmDir: string; out: { text: string }; exited: Promise<Ended>; stderr: { text: string } } {
  const dir = path.join(base, `run${++runs}`);
  const runDir = path.join(dir, 'run');
  const vmDir = path.join(dir, 'vm');
  const child = spawn(holderBin, [runDir, vmDir, '--', qemuBinary, ...qemuArgs], { stdio: ['pipe', 'pipe', 'pipe'], env });
  started.push(child);
  const out = { text: '' };
  const stderr = { text: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (out.text += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr.text += chunk));
  child.stdin.on('error', () => {});
  const exited = new Promise<Ended>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, runDir, vmDir, out, exited, stderr };
}

/** A holder told "go", past its `started` line. `beforeGo` runs between spawn and go, as the keeper's lock does. */
async function startHolder(qemuArgs: string[], options: { env?: NodeJS.ProcessEnv; beforeGo?: (holderPid: number, vmDir: string) => Promise<void>; qemuBinary?: string; base?: string } = {}): Promise<Holder> {
  const spawned = spawnHolder(qemuArgs, options.env, options.qemuBinary, options.base);
  await fs.mkdir(spawned.vmDir, { recursive: true, mode: 0o700 });
  const pid = spawned.child.pid ?? -1;
  await options.beforeGo?.(pid, spawned.vmDir);
  const stdoutEnded = new Promise<void>((resolve) => spawned.child.stdout.once('end', resolve));
  spawned.child.stdin.end('go\n');
  const line = await until('the started line', () => (spawned.out.text.includes('\n') ? spawned.out.text : null), 30_000);
  const match = /^started (\d+)\n$/.exec(line);
  if (!match) throw new Error(`The holder said ${JSON.stringify(line)}; stderr: ${spawned.stderr.text}`);
  const qemuPid = Number(match[1]);
  qemuPids.push(qemuPid);
  return { child: spawned.child, pid, qemuPid, runDir: spawned.runDir, vmDir: spawned.vmDir, files: holderFiles(spawned.runDir), stdout: () => spawned.out.text, stdoutEnded, exited: spawned.exited };
}

/** A client of one of the holder's sockets: what it received (the newest 2 MiB), how much, and whether it ended. */
class Client {
  received = Buffer.alloc(0);
  total = 0;
  ended = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.total += chunk.length;
      this.received = Buffer.concat([this.received, chunk]);
      if (this.received.length > 4 * 1024 * 1024) this.received = this.received.subarray(-2 * 1024 * 1024);
    });
    socket.on('close', () => void (this.ended = true));
    socket.on('error', () => {});
  }

  static open(file: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(file);
      socket.once('connect', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  text(): string {
    return this.received.toString('utf8');
  }

  waitFor(what: string | RegExp, timeoutMs = 15_000): Promise<string> {
    return until(`${String(what)} (received: ${JSON.stringify(this.text().slice(-300))})`, () => {
      const text = this.text();
      return (typeof what === 'string' ? text.includes(what) : what.test(text)) && text;
    }, timeoutMs);
  }

  waitForEnd(timeoutMs = 15_000): Promise<true> {
    return until('the holder to close the connection', () => this.ended, timeoutMs);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** QMP lines received by a monitor client, each parsed (a line that is not JSON fails the test). */
function qmpLines(client: Client): Record<string, unknown>[] {
  return client
    .text()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function qmp(client: Client, execute: string, id: string): Promise<Record<string, unknown>> {
  client.write(`${JSON.stringify({ execute, id })}\n`);
  await client.waitFor(`"id": "${id}"`);
  const reply = qmpLines(client).find((line) => line.id === id);
  if (!reply) throw new Error(`No reply with id ${id}`);
  return reply;
}

/** A monitor client past the greeting and capabilities negotiation (only the first client ever gets the greeting). */
async function firstMonitorClient(holder: Holder): Promise<Client> {
  const client = await Client.open(holder.files.monitor);
  await client.waitFor('"QMP"');
  expect(await qmp(client, 'qmp_capabilities', 'caps')).toMatchObject({ return: {} });
  return client;
}

const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
const modeOf = (file: string): number => statSync(file).mode & 0o777;
const exists = (file: string): boolean => existsSync(file) || (() => { try { lstatSync(file); return true; } catch { return false; } })();

function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** How many connections the holder has accepted on a socket file: the kernel names them after it. */
function acceptedOn(socketPath: string): number {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${socketPath}`) && line.split(/\s+/)[5] === '03').length;
}

const lockTarget = (pid: number): string => `${pid} running ${new Date().toISOString()}`;

describe('the holder, before "go"', () => {
  it('exits 0 having created nothing when its stdin ends or says anything but go', async () => {
    for (const input of ['', 'nope\n', 'go', 'going\n', 'go go go go go go go\n']) {
      const spawned = spawnHolder(NO_GUEST);
      await fs.mkdir(spawned.vmDir, { recursive: true });
      spawned.child.stdin.end(input);
      expect(await spawned.exited, JSON.stringify(input)).toEqual({ code: 0, signal: null });
      expect(exists(spawned.runDir), JSON.stringify(input)).toBe(false);
      expect(await fs.readdir(spawned.vmDir)).toEqual([]);
      expect(spawned.out.text).toBe('');
    }
  });

  it('refuses a command line without absolute folders and "--", with its usage', async () => {
    for (const args of [['run', '/vm', '--', QEMU], ['/run', 'vm', '--', QEMU], ['/run', '/vm', QEMU], ['/run', '/vm', '--']]) {
      const child = spawn(holderBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/^Usage: hangar-holder RUN_DIR VM_DIR -- QEMU_BINARY/);
    }
  });
});

describe('the holder, started', () => {
  it('says "started QEMU_PID", closes its stdout, is QEMU\'s parent, and makes its files private', async () => {
    const holder = await startHolder(NO_GUEST);
    expect(parentOf(holder.qemuPid)).toBe(holder.pid);
    expect(readFileSync(`/proc/${holder.qemuPid}/cmdline`, 'utf8').split('\0')[0]).toBe(QEMU);
    await holder.stdoutEnded; // the keeper's read of stdout ends while the holder runs on
    expect(holder.child.exitCode).toBeNull();
    expect(holder.stdout()).toBe(`started ${holder.qemuPid}\n`);
    // QEMU's first five descriptors as the contract says: /dev/null, /dev/null, the stderr pipe, two sockets.
    const fd = (n: number): string => readlinkSync(`/proc/${holder.qemuPid}/fd/${n}`);
    expect([fd(0), fd(1)]).toEqual(['/dev/null', '/dev/null']);
    expect(fd(2)).toMatch(/^pipe:/);
    expect(fd(3)).toMatch(/^socket:/);
    expect(fd(4)).toMatch(/^socket:/);

    expect(modeOf(holder.runDir)).toBe(0o700);
    expect(readFileSync(holder.files.pid, 'utf8')).toBe(`${holder.pid}\n`);
    expect(modeOf(holder.files.pid)).toBe(0o600);
    for (const socket of [holder.files.console, holder.files.monitor, holder.files.control]) {
      expect(statSync(socket).isSocket(), socket).toBe(true);
      expect(modeOf(socket), socket).toBe(0o600);
    }
    for (const log of ['serial.log', 'qemu.log']) expect(modeOf(path.join(holder.vmDir, log)), log).toBe(0o600);

    const idleRss = rssKiB(holder.pid);
    console.log(`holder RSS, idle with -M none: ${(idleRss / 1024).toFixed(2)} MiB`);
    expect(idleRss).toBeLessThan(8 * 1024);
    holder.child.kill('SIGKILL');
  });

  it('gives QMP\'s greeting to the first monitor client, relays its commands, and refuses a second client', async () => {
    const holder = await startHolder(NO_GUEST);
    await sleep(500); // QEMU greets before anyone is connected: the holder keeps the greeting
    const first = await Client.open(holder.files.monitor);
    await first.waitFor('"QMP"');
    expect(qmpLines(first)[0]).toHaveProperty('QMP.version.qemu.major');
    expect(await qmp(first, 'qmp_capabilities', 'caps')).toEqual({ return: {}, id: 'caps' });
    expect(await qmp(first, 'query-status', 'status')).toMatchObject({ return: { status: 'running', running: true }, id: 'status' });

    const second = await Client.open(holder.files.monitor);
    await second.waitForEnd();
    expect(second.total).toBe(0);
    expect(await qmp(first, 'query-status', 'still')).toMatchObject({ return: { running: true } });
    holder.child.kill('SIGKILL');
  });

  it('forwards whole lines only: a client that leaves mid-command does not garble the next client\'s', async () => {
    const holder = await startHolder(NO_GUEST);
    const first = await firstMonitorClient(holder);
    first.write('{"execute": "query-st');
    await sleep(200);
    first.close();
    await sleep(200);

    const next = await Client.open(holder.files.monitor);
    expect(await qmp(next, 'query-status', 'two')).toMatchObject({ return: { status: 'running' }, id: 'two' });
    // From a line boundary on: every line it got is whole JSON, and no greeting (QEMU greeted once).
    expect(qmpLines(next).some((line) => 'QMP' in line)).toBe(false);
    expect(qmpLines(next).some((line) => 'error' in line)).toBe(false);

    // A line past 1 MiB closes its client; the next one is served.
    next.write(Buffer.alloc(1024 * 1024 + 4096, 'x'));
    await next.waitForEnd();
    const after = await Client.open(holder.files.monitor);
    expect(await qmp(after, 'query-status', 'three')).toMatchObject({ return: { status: 'running' } });
    holder.child.kill('SIGKILL');
  });

  it('starts the scrollback of a QEMU that loads a saved state with the end of the last run\'s serial log; a boot starts blank', async () => {
    // The earlier run's text, past one scrollback in all: the newest 256 KiB are serial.log.1's end, then serial.log.
    const older = `${'o'.repeat(200 * 1024)}|older-end|`;
    const newer = `|newer-start|${'n'.repeat(100 * 1024)}|saved here $ `;
    const writeLogs = async (_pid: number, vmDir: string): Promise<void> => {
      await fs.writeFile(path.join(vmDir, 'serial.log.1'), older);
      await fs.writeFile(path.join(vmDir, 'serial.log'), newer);
    };
    const scrollbackOf = async (holder: Holder): Promise<string> => {
      const viewer = await Client.open(holder.files.console);
      await until('the scrollback', () => viewer.total >= 4 && viewer.total >= 4 + viewer.received.readUInt32BE(0), 10_000);
      const text = viewer.received.subarray(4, 4 + viewer.received.readUInt32BE(0)).toString('latin1');
      viewer.close();
      return text;
    };

    const resuming = await startHolder([...NO_GUEST, '-incoming', 'defer'], { beforeGo: writeLogs });
    expect(await scrollbackOf(resuming)).toBe((older + newer).slice(-256 * 1024));
    resuming.child.kill('SIGKILL');

    const booting = await startHolder(NO_GUEST, { beforeGo: writeLogs });
    expect(await scrollbackOf(booting)).toBe('');
    booting.child.kill('SIGKILL');
  });

  it('serves at most 64 console viewers, each first given its scrollback\'s length', async () => {
    const holder = await startHolder(NO_GUEST);
    const viewers = await Promise.all(Array.from({ length: 64 }, () => Client.open(holder.files.console)));
    await until('every viewer\'s header', () => viewers.every((viewer) => viewer.total >= 4), 10_000);
    for (const viewer of viewers) expect(viewer.received.readUInt32BE(0)).toBe(viewer.total - 4);
    const extra = await Client.open(holder.files.console);
    await extra.waitForEnd();
    expect(extra.total).toBe(0);
    expect(viewers.some((viewer) => viewer.ended)).toBe(false);
    holder.child.kill('SIGKILL');
  });
});

describe('serial.log on a full disk', () => {
  it('stops logging, tells the keeper (now and on every hello), and the VM runs on', async () => {
    const disk = await withTmpfs(1024 * 1024);
    try {
      const holder = await startHolder(MONITOR_ON_SERIAL, { base: disk.dir });
      const keeper = await Client.open(holder.files.control);
      await keeper.waitFor('hello');
      const viewer = await Client.open(holder.files.console);
      await viewer.waitFor('(qemu)');
      const filler = await fillUp(disk.dir);
      const serialLog = path.join(holder.vmDir, 'serial.log');
      const note = new RegExp(`^log-stopped The serial output of this VM has not been saved to ${serialLog.replaceAll('.', '\\.')} since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ: the disk is full \\(free some space\\)\\. It is saved again from the VM's next start\\.$`);
      // The human monitor's help is kilobytes of serial output: the page left over fills at once.
      for (let round = 0; round < 20 && !keeper.text().includes('log-stopped'); round++) {
        viewer.write('help\n');
        await sleep(250);
      }
      await keeper.waitFor('log-stopped');
      const [hello, stopped, ...rest] = keeper.text().split('\n');
      expect(hello).toBe(`hello ${holder.pid} ${holder.qemuPid}`);
      expect(stopped).toMatch(note);
      expect(rest).toEqual(['']);
      // The VM and its console go on.
      const before = viewer.total;
      viewer.write('info version\n');
      await until('more console output', () => viewer.total > before, 10_000);
      keeper.close();
      await sleep(200);
      const next = await Client.open(holder.files.control);
      await next.waitFor('log-stopped');
      expect(next.text().split('\n')[1]).toMatch(note);
      next.close();

      // With room again, the record says the run stopped and the log did not keep everything.
      await fs.rm(filler);
      const monitor = await firstMonitorClient(holder);
      monitor.write('{"execute": "quit"}\n');
      expect(await holder.exited).toEqual({ code: 0, signal: null });
      const record = await readLastRun(holder.vmDir);
      expect(record).toMatchObject({ state: 'stopped', exitCode: 0, signal: null, problem: { log: [] } });
      expect(record?.problem?.message).toMatch(new RegExp(note.source.replace('^log-stopped ', '^')));
    } finally {
      await disk.cleanup();
    }
  });
});

describe('the end of a run', () => {
  it('with a keeper connected: "hello", "exit 0 -", and cleanup only after its "done"; the record is left to it', async () => {
    const holder = await startHolder(NO_GUEST, { beforeGo: (pid, vmDir) => fs.symlink(lockTarget(pid), path.join(vmDir, 'lock')) });
    const keeper = await Client.open(holder.files.control);
    await keeper.waitFor('\n');
    expect(keeper.text()).toBe(`hello ${holder.pid} ${holder.qemuPid}\n`);
    const second = await Client.open(holder.files.control);
    await second.waitForEnd();
    expect(second.total).toBe(0);

    const monitor = await firstMonitorClient(holder);
    monitor.write('{"execute": "quit"}\n');
    await keeper.waitFor('exit ');
    expect(keeper.text()).toBe(`hello ${holder.pid} ${holder.qemuPid}\nexit 0 -\n`);
    await monitor.waitForEnd(); // QEMU's end reaches the monitor client at once
    // Until "done", everything stays: the keeper may still read the run folder.
    await sleep(500);
    expect(holder.child.exitCode).toBeNull();
    expect(exists(holder.runDir)).toBe(true);
    expect(exists(path.join(holder.vmDir, 'lock'))).toBe(true);

    keeper.write('done\n');
    await keeper.waitForEnd();
    // Its connection closes only once the lock and the run folder are gone.
    expect(exists(holder.runDir)).toBe(false);
    expect(exists(path.join(holder.vmDir, 'lock'))).toBe(false);
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    expect(exists(path.join(holder.vmDir, 'last-run.json'))).toBe(false);
  });

  it('with a keeper that leaves without "done", writes the record itself', async () => {
    const holder = await startHolder(NO_GUEST);
    const keeper = await Client.open(holder.files.control);
    await keeper.waitFor('hello');
    process.kill(holder.qemuPid, 'SIGKILL');
    await keeper.waitFor('exit ');
    expect(keeper.text().split('\n')[1]).toBe('exit - SIGKILL');
    keeper.close();
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    expect(await readLastRun(holder.vmDir)).toMatchObject({ state: 'crashed', exitCode: null, signal: 'SIGKILL' });
  });

  it('with none connected: QEMU killed is a crash on record, and someone else\'s lock is kept', async () => {
    const othersLock = `1 running ${new Date().toISOString()}`;
    const holder = await startHolder(NO_GUEST, { beforeGo: (_pid, vmDir) => fs.symlink(othersLock, path.join(vmDir, 'lock')) });
    const before = Date.now();
    process.kill(holder.qemuPid, 'SIGKILL');
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    const record = await readLastRun(holder.vmDir);
    expect(record).toMatchObject({ state: 'crashed', problem: { message: 'QEMU ended unexpectedly (signal SIGKILL).', log: [] }, exitCode: null, signal: 'SIGKILL' });
    expect(Date.parse(record?.endedAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
    expect(record?.endedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(modeOf(path.join(holder.vmDir, 'last-run.json'))).toBe(0o600);
    expect(readlinkSync(path.join(holder.vmDir, 'lock'))).toBe(othersLock);
    expect(exists(holder.runDir)).toBe(false);
    expect((await fs.readdir(holder.vmDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('with none connected: "quit" through QMP is a clean stop on record', async () => {
    const holder = await startHolder(NO_GUEST, { beforeGo: (pid, vmDir) => fs.symlink(lockTarget(pid), path.join(vmDir, 'lock')) });
    const monitor = await firstMonitorClient(holder);
    monitor.write('{"execute": "quit"}\n');
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    expect(await readLastRun(holder.vmDir)).toMatchObject({ state: 'stopped', problem: null, exitCode: 0, signal: null });
    expect(exists(path.join(holder.vmDir, 'lock'))).toBe(false);
  });

  it('keeps QEMU\'s last words as the record\'s log, as valid JSON whatever bytes they are', async () => {
    // QEMU quotes a config group name back: an invalid byte, a control byte, a backslash, a quote, an é.
    const config = path.join(root, 'bad.cfg');
    await fs.writeFile(config, Buffer.concat([Buffer.from('[a'), Buffer.from([0xff, 0x01]), Buffer.from('\\"b\u00e9]\n')]));
    const holder = await startHolder([...NO_GUEST, '-readconfig', config]);
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    const record = await readLastRun(holder.vmDir);
    expect(record).toMatchObject({ state: 'crashed', problem: { message: 'QEMU ended with exit status 1.' }, exitCode: 1, signal: null });
    expect(record?.problem?.log).toEqual([`qemu-system-x86_64: There is no option group 'a\ufffd\u0001\\"b\u00e9'`]);
    // U+FFFD in the file itself, not only after a lenient decoder: the bytes on disk are UTF-8.
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path.join(holder.vmDir, 'last-run.json')))).not.toThrow();
    // qemu.log has QEMU's bytes as they were.
    expect(readFileSync(path.join(holder.vmDir, 'qemu.log')).includes(Buffer.from([0x27, 0x61, 0xff, 0x01]))).toBe(true);
  });

  it('reports a QEMU that cannot be run as exit status 127, saying why', async () => {
    const holder = await startHolder(NO_GUEST, { qemuBinary: path.join(root, 'no-such-qemu') });
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    const record = await readLastRun(holder.vmDir);
    expect(record).toMatchObject({ state: 'crashed', problem: { message: 'QEMU ended with exit status 127.' }, exitCode: 127 });
    expect(record?.problem?.log.join('\n')).toContain(`could not run ${path.join(root, 'no-such-qemu')}: No such file or directory`);
  });

  it('passes SIGTERM on to QEMU, which stops cleanly', async () => {
    const holder = await startHolder(NO_GUEST);
    await firstMonitorClient(holder); // QEMU runs its main loop
    holder.child.kill('SIGTERM');
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    expect(await readLastRun(holder.vmDir)).toMatchObject({ state: 'stopped', exitCode: 0, signal: null });
    expect(exists(`/proc/${holder.qemuPid}`)).toBe(false);
  });
});

describe('the serial console, with the test guest', () => {
  it('frames the scrollback, streams live, takes keys, cuts off a stalled viewer alone, rotates serial.log, and stops on SIGTERM', async () => {
    const iso = await ensureTestIso();
    const cap = 256 * 1024;
    let serialLog = '';
    let lock = '';
    const guest = ['-machine', 'q35,accel=tcg', '-nodefaults', '-display', 'none', '-m', '128M', '-cdrom', iso, '-boot', 'd', ...CHANNELS];
    const holder = await startHolder(guest, {
      env: { ...process.env, HANGAR_HOLDER_SERIAL_LOG_MAX: String(cap) },
      beforeGo: async (pid, vmDir) => {
        lock = path.join(vmDir, 'lock');
        await fs.symlink(lockTarget(pid), lock);
        // An earlier run's log, near the cap and readable by others: this run rotates it and keeps its own private.
        serialLog = path.join(vmDir, 'serial.log');
        await fs.writeFile(serialLog, 'an earlier run\n'.repeat(Math.floor((cap - 8 * 1024) / 15)), { mode: 0o644 });
      },
    });
    const oldLog = `${serialLog}.1`;
    const watcher = await Client.open(holder.files.console);
    await watcher.waitFor(TEST_GUEST_READY, 240_000);
    expect(watcher.received.readUInt32BE(0)).toBeLessThanOrEqual(watcher.total - 4);
    expect(modeOf(serialLog)).toBe(0o600);
    await sleep(1000); // the guest is quiet at its prompt

    // A viewer that comes later gets everything so far as its scrollback, framed by its length.
    const late = await Client.open(holder.files.console);
    await until('the scrollback', () => late.total >= 4 && late.total >= 4 + late.received.readUInt32BE(0), 10_000);
    const scrollbackLength = late.received.readUInt32BE(0);
    expect(scrollbackLength).toBe(Math.min(watcher.total - 4, 256 * 1024));
    expect(late.received.subarray(4, 4 + scrollbackLength).toString('latin1')).toContain(TEST_GUEST_READY);
    late.write('echo hi-$((40+2))\n');
    await late.waitFor('hi-42', 60_000);
    await watcher.waitFor('hi-42', 10_000);

    // A viewer that stops reading during a flood is cut off; the others keep receiving.
    const stalled = await Client.open(holder.files.console);
    stalled.socket.pause();
    await until('three viewers', () => acceptedOn(holder.files.console) === 3, 10_000);
    late.write(`yes ${FLOOD_LINE}\n`);
    await watcher.waitFor(FLOOD_LINE, 60_000);
    const startedAt = Date.now();
    let peakRss = 0;
    let peakLog = 0;
    let peakOldLog = 0;
    const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
    while (acceptedOn(holder.files.console) === 3 && Date.now() - startedAt < 240_000) {
      peakRss = Math.max(peakRss, rssKiB(holder.pid));
      peakLog = Math.max(peakLog, sizeOf(serialLog));
      peakOldLog = Math.max(peakOldLog, sizeOf(oldLog));
      await sleep(100);
    }
    const cutAfterMs = Date.now() - startedAt;
    expect(acceptedOn(holder.files.console)).toBe(2);
    const before = watcher.total;
    await sleep(2000);
    peakRss = Math.max(peakRss, rssKiB(holder.pid));
    console.log(`holder under a serial flood with a stalled viewer: cut it after ${(cutAfterMs / 1000).toFixed(1)} s; RSS at most ${(peakRss / 1024).toFixed(2)} MiB; serial.log at most ${peakLog} bytes, serial.log.1 at most ${peakOldLog} (cap ${cap})`);
    expect(watcher.total).toBeGreaterThan(before);
    expect(watcher.ended || late.ended).toBe(false);
    expect(peakRss).toBeLessThan(8 * 1024);
    expect(peakLog).toBeLessThanOrEqual(cap);
    expect(peakOldLog).toBeGreaterThan(0); // it rotated
    expect(peakOldLog).toBeLessThanOrEqual(cap);
    expect(sizeOf(oldLog)).toBeLessThanOrEqual(cap);
    expect(modeOf(oldLog)).toBe(0o600);

    // Mid-flood, a new viewer's scrollback is the newest 256 KiB in order: whole flood lines between its ends.
    const fresh = await Client.open(holder.files.console);
    await until('a full scrollback', () => fresh.total >= 4 + 256 * 1024, 30_000);
    expect(fresh.received.readUInt32BE(0)).toBe(256 * 1024);
    const lines = fresh.received.subarray(4, 4 + 256 * 1024).toString('latin1').split('\r\n').slice(1, -1);
    expect(lines.length).toBeGreaterThan(1000);
    expect(lines.filter((line) => line !== FLOOD_LINE)).toEqual([]);
    fresh.close();

    // The stalled viewer, reading again, finds its connection ended.
    stalled.socket.resume();
    await stalled.waitForEnd(30_000);

    late.write('\x03');
    await sleep(500);
    late.write('echo flood-$((40+2))-over\n');
    await watcher.waitFor('flood-42-over', 60_000);

    // SIGTERM to the holder: QEMU ends cleanly, the run is a stop, our lock and run folder go.
    holder.child.kill('SIGTERM');
    expect(await holder.exited).toEqual({ code: 0, signal: null });
    expect(await readLastRun(holder.vmDir)).toMatchObject({ state: 'stopped', problem: null, exitCode: 0, signal: null });
    expect(exists(lock)).toBe(false);
    expect(exists(holder.runDir)).toBe(false);
    await watcher.waitForEnd();
    expect(exists(`/proc/${holder.qemuPid}`)).toBe(false);
  }, 480_000);
});
