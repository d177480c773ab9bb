import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestIso, TEST_GUEST_READY, testIsoCacheDir } from '../support/test-iso';

// The test guest itself, under plain QEMU with TCG (no Hangar code in the way): it boots with
// BIOS and UEFI, prints its marker on the serial port, runs what is typed there, sees a virtio
// disk, and powers off when the ACPI power button is pressed.

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

let iso: string;
let tmp: string;
// Every QEMU started here is killed after its test, whatever happened.
const stopGuests: Array<() => Promise<void>> = [];

beforeAll(async () => {
  iso = await ensureTestIso();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-test-iso-'));
});
afterEach(async () => {
  await Promise.all(stopGuests.splice(0).map((stop) => stop()));
});
afterAll(async () => {
  await Promise.all(stopGuests.splice(0).map((stop) => stop()));
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('the test ISO', () => {
  it('is built once into .cache/test-iso and reused', async () => {
    const again = await ensureTestIso();
    expect(again).toBe(iso);
    expect(path.dirname(iso)).toBe(testIsoCacheDir);
    expect(path.basename(iso)).toMatch(/^hangar-test-[0-9a-f]{16}\.iso$/);
    const { size } = await fs.stat(iso);
    // A kernel (~8 MiB), a busybox initramfs and GRUB for BIOS and UEFI; nothing more.
    expect(size).toBeGreaterThan(4 * 1024 * 1024);
    expect(size).toBeLessThan(32 * 1024 * 1024);
  });

  it('boots with BIOS to a shell on ttyS0 that runs what is typed, sees a virtio disk, and powers off on the ACPI button', async () => {
    const disk = path.join(tmp, 'disk.raw');
    await fs.writeFile(disk, Buffer.alloc(1024 * 1024));
    const guest = await startGuest('bios', ['-m', '256', '-drive', `if=none,id=disk0,format=raw,file=${disk}`, '-device', 'virtio-blk-pci,drive=disk0']);

    const seconds = await guest.serial.waitFor(TEST_GUEST_READY, 60_000);
    console.log(`test ISO, BIOS: ${TEST_GUEST_READY} after ${seconds.toFixed(1)} s (TCG)`);
    expect(guest.serial.text()).not.toMatch(/init: insmod .* failed/);

    // Arithmetic proves a shell ran the line: the terminal's echo of it alone would not match.
    const nonce = `hi-${process.pid}-${Date.now() % 100000}`;
    guest.serial.type(`echo ${nonce}-$((20 + 22))\n`);
    await guest.serial.waitFor(new RegExp(`\\n${nonce}-42\\r?\\n`), 15_000);

    // 1 MiB = 2048 sectors of 512 bytes: virtio_pci and virtio_blk were loaded at boot.
    guest.serial.type('cat /sys/block/vda/size\n');
    await guest.serial.waitFor(/\n2048\r?\n/, 15_000);

    const qmp = await connectQmp(guest.qmpPath);
    expect(await qmp.execute('qmp_capabilities')).toEqual({});
    expect(await qmp.execute('system_powerdown')).toEqual({});
    const shutdown = await qmp.waitForEvent('SHUTDOWN', 30_000);
    expect(shutdown.data).toEqual({ guest: true, reason: 'guest-shutdown' });
    expect(await guest.exited(15_000)).toEqual({ code: 0, signal: null });
    expect(guest.serial.text()).toMatch(/reboot: Power down/);
  }, 120_000);

  it('boots with UEFI (OVMF) to the same shell and powers off on the ACPI button', async () => {
    const vars = path.join(tmp, 'OVMF_VARS.fd');
    await fs.copyFile(OVMF_VARS, vars);
    // 512 MiB, not 256: under OVMF, GRUB 2.06 keeps a quarter of RAM as its heap and this
    // kernel needs 64 MiB in one piece to unpack itself; 256 MiB ends in "out of memory".
    const guest = await startGuest('uefi', [
      '-m', '512',
      '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,file=${vars}`,
    ]);

    const seconds = await guest.serial.waitFor(TEST_GUEST_READY, 90_000);
    console.log(`test ISO, UEFI: ${TEST_GUEST_READY} after ${seconds.toFixed(1)} s (TCG)`);
    expect(guest.serial.text()).toMatch(/BdsDxe: starting Boot\d+ "UEFI QEMU DVD-ROM/);

    guest.serial.type('echo uefi-$((6 * 7))\n');
    await guest.serial.waitFor(/\nuefi-42\r?\n/, 15_000);

    const qmp = await connectQmp(guest.qmpPath);
    await qmp.execute('qmp_capabilities');
    await qmp.execute('system_powerdown');
    expect((await qmp.waitForEvent('SHUTDOWN', 30_000)).data).toEqual({ guest: true, reason: 'guest-shutdown' });
    expect(await guest.exited(15_000)).toEqual({ code: 0, signal: null });
  }, 150_000);
});

// ---- a QEMU process, its serial port and its QMP socket ----

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Guest {
  qmpPath: string;
  serial: SerialPort;
  exited(timeoutMs: number): Promise<Exit>;
}

async function startGuest(name: string, extraArgs: string[]): Promise<Guest> {
  const serialPath = path.join(tmp, `${name}.serial`);
  const qmpPath = path.join(tmp, `${name}.qmp`);
  const args = [
    '-machine', 'q35,accel=tcg',
    '-nodefaults',
    '-display', 'none',
    '-cdrom', iso,
    '-boot', 'd',
    '-chardev', `socket,id=ser,path=${serialPath},server=on,wait=off`,
    '-serial', 'chardev:ser',
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ...extraArgs,
  ];
  const startedAt = performance.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  const exit = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      stderr += `spawn failed: ${error.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  stopGuests.push(async () => {
    if (isRunning(child)) child.kill('SIGKILL');
    await exit;
  });
  const serial = await openSerialPort(serialPath, startedAt, () => (isRunning(child) ? '' : `QEMU exited early. Its stderr: ${stderr}`));
  return {
    qmpPath,
    serial,
    exited: (timeoutMs) => withTimeout(exit, timeoutMs, () => `QEMU did not exit within ${timeoutMs / 1000} s. Its stderr: ${stderr}`),
  };
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

interface SerialPort {
  /** Resolves with the seconds since QEMU started once the output matches. */
  waitFor(pattern: string | RegExp, timeoutMs: number): Promise<number>;
  type(text: string): void;
  text(): string;
}

async function openSerialPort(socketPath: string, startedAt: number, qemuProblem: () => string): Promise<SerialPort> {
  const socket = await connectWhenListening(socketPath, qemuProblem);
  let output = '';
  const waiters = new Set<() => void>();
  socket.setEncoding('latin1').on('data', (chunk: string) => {
    output += chunk;
    for (const check of waiters) check();
  });
  socket.on('error', () => {});
  return {
    text: () => output,
    type: (text) => void socket.write(text),
    waitFor: (pattern, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        const matches = (): boolean => (typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output));
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = (): void => {
          if (!matches()) return;
          done();
          resolve((performance.now() - startedAt) / 1000);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`No ${String(pattern)} on the serial port within ${timeoutMs / 1000} s. ${qemuProblem()}\nLast output:\n${output.slice(-1500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

/** QEMU creates its sockets a moment after it starts: retry until one answers. */
async function connectWhenListening(socketPath: string, qemuProblem: () => string, timeoutMs = 10_000): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection(socketPath);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      });
    } catch (error) {
      const problem = qemuProblem();
      if (problem) throw new Error(problem, { cause: error });
      if (Date.now() > deadline) throw new Error(`Could not connect to ${socketPath}: ${(error as Error).message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface QmpEvent {
  event: string;
  data?: unknown;
}

interface Qmp {
  execute(command: string): Promise<unknown>;
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent>;
}

/** Just enough QMP: one command at a time, every event kept. */
async function connectQmp(socketPath: string): Promise<Qmp> {
  const socket = await connectWhenListening(socketPath, () => '');
  const events: QmpEvent[] = [];
  const replies: Array<{ return?: unknown; error?: { desc: string } }> = [];
  let notify = (): void => {};
  let buffer = '';
  let greeted = false;
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      if ('QMP' in message) greeted = true;
      else if (typeof message.event === 'string') events.push(message as unknown as QmpEvent);
      else replies.push(message as { return?: unknown; error?: { desc: string } });
    }
    notify();
  });
  socket.on('error', () => {});
  const until = <T>(found: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`QMP: no ${what} within ${timeoutMs / 1000} s (events so far: ${events.map((e) => e.event).join(', ') || 'none'})`)), timeoutMs);
      notify = () => {
        const value = found();
        if (value === undefined) return;
        clearTimeout(timer);
        notify = () => {};
        resolve(value);
      };
      notify();
    });
  await until(() => (greeted ? true : undefined), 10_000, 'greeting');
  return {
    async execute(command) {
      socket.write(`${JSON.stringify({ execute: command })}\n`);
      const reply = await until(() => replies.shift(), 10_000, `reply to ${command}`);
      if (reply.error) throw new Error(`QMP ${command} failed: ${reply.error.desc}`);
      return reply.return;
    },
    waitForEvent: (name, timeoutMs) => until(() => events.find((e) => e.event === name), timeoutMs, `${name} event`),
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message())), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
