import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHangarService, type HangarService } from '../../src-main/api/service';
import { findProgram, hostShellCommand, TerminalManager, type TerminalCommand, type TerminalExit } from '../../src-main/consoles/terminals';
import { startWebHost } from '../../src-main/web/server';
import type { CallResult } from '../../src-shared/wire';
import { call, followConsole, makeSandbox, type Sandbox } from '../support/engine';
import { hangarBin } from '../support/paths';
import { refusal } from '../support/refusal';
import { ensureTestIso } from '../support/test-iso';
import { openWebSession } from '../support/web-session';
import { freePort } from '../support/free-port';

// Terminals through the real node-pty: a host shell, the process-wide cap, and ssh into a
// real VM from the test ISO over its forwarded port (the busybox guest has no sshd, so a
// netcat on its port 22 plays one and both ends show what crossed).

/** Terminal output without its escape sequences (colours, bracketed-paste switches, titles). */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()=>][0-9A-Za-z]?/g, '');
}

/** What terminals printed, as text per terminal, and how they ended; waited on by polling. */
function terminalLog() {
  const text = new Map<string, string>();
  const exits = new Map<string, TerminalExit>();
  const poll = async <T,>(probe: () => T | undefined, what: string, id: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`No ${what} within ${timeoutMs} ms. The terminal shows:\n${plain(text.get(id) ?? '').slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return {
    add: (id: string, data: Buffer) => text.set(id, (text.get(id) ?? '') + data.toString('utf8')),
    end: (id: string, exit: TerminalExit) => exits.set(id, exit),
    text: (id: string) => plain(text.get(id) ?? ''),
    waitFor: (id: string, pattern: RegExp, timeoutMs = 20_000) => poll(() => pattern.exec(plain(text.get(id) ?? ''))?.[0], String(pattern), id, timeoutMs),
    exited: (id: string, timeoutMs = 20_000) => poll(() => exits.get(id), 'exit', id, timeoutMs),
  };
}

/** A manager's terminals, and the size of every frame it handed on. */
function recorder(manager: TerminalManager) {
  const log = terminalLog();
  const frames: number[] = [];
  manager.onOutput((id, data) => {
    frames.push(data.length);
    log.add(id, data);
  });
  manager.onExit((id, exit) => log.end(id, exit));
  return { ...log, frames };
}

const shellEnv = { ...process.env, SHELL: '/bin/bash' };
const SIZE = { cols: 80, rows: 24 };

function pidExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

describe('a host shell', () => {
  let manager: TerminalManager;
  let output: ReturnType<typeof recorder>;
  beforeAll(() => {
    manager = new TerminalManager();
    output = recorder(manager);
  });
  afterAll(async () => {
    await manager.closeAll();
  });

  it('is the login shell in the home folder, and runs what is typed', async () => {
    const command = hostShellCommand(shellEnv);
    expect(command).toMatchObject({ file: '/bin/bash', args: ['-l'], cwd: process.env.HOME });
    const { id, pid } = await manager.open(command, SIZE);
    expect(id).toMatch(/^term-[0-9a-f]{16}$/);
    expect(pidExists(pid)).toBe(true);
    manager.write(id, Buffer.from('echo $((6*7)); pwd\r'));
    // The echo of the typed line has "6*7", never 42: only the shell's answer does.
    await output.waitFor(id, /42\r\n/);
    expect(output.text(id)).toContain(`42\r\n${process.env.HOME}\r\n`);
    manager.write(id, Buffer.from('shopt -q login_shell && echo LOGIN-$((1+1))\r'));
    await output.waitFor(id, /LOGIN-2\r\n/);
  });

  it('falls back to bash, then sh, when $SHELL cannot be run', () => {
    expect(hostShellCommand({ ...shellEnv, SHELL: '/nonexistent/zsh' }).file).toBe('/bin/bash');
    expect(hostShellCommand({ ...shellEnv, SHELL: 'relative/sh' }).file).toBe('/bin/bash');
  });

  it('tells the program its new size', async () => {
    const { id } = await manager.open(hostShellCommand(shellEnv), SIZE);
    manager.write(id, Buffer.from('stty size\r'));
    await output.waitFor(id, /24 80\r\n/);
    manager.resize(id, 132, 43);
    manager.write(id, Buffer.from('stty size\r'));
    await output.waitFor(id, /43 132\r\n/);
  });

  it('hands on a flood of output whole, in frames of at most 64 KiB', async () => {
    // It lingers after printing: node-pty on Linux may drop the last few KiB of a program
    // that exits at once (microsoft/node-pty#72), which is not what this test is about.
    const { id } = await manager.open({ file: '/bin/sh', args: ['-c', "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo FLOOD-END; sleep 1"], cwd: '/', env: shellEnv, title: 'flood' }, SIZE);
    await output.waitFor(id, /FLOOD-END/, 60_000);
    expect(output.text(id).match(/x/g)?.length ?? 0).toBe(3_000_000);
    expect(Math.max(...output.frames)).toBeLessThanOrEqual(64 * 1024);
  });

  it('close ends the program, and one that ignores the hang-up is killed', async () => {
    const { id, pid } = await manager.open(hostShellCommand(shellEnv), SIZE);
    manager.write(id, Buffer.from('echo READY-$((2+3))\r'));
    await output.waitFor(id, /READY-5\r\n/);
    await manager.close(id);
    expect(pidExists(pid)).toBe(false);
    expect(await output.exited(id)).toEqual({ exitCode: null, signal: 'SIGHUP' });
    expect(() => manager.write(id, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'TERMINAL_NOT_FOUND' }));

    const stubborn = await manager.open({ file: '/bin/sh', args: ['-c', "trap '' HUP; echo IGNORING; while :; do sleep 1; done"], cwd: '/', env: shellEnv, title: 'stubborn' }, SIZE);
    await output.waitFor(stubborn.id, /IGNORING/);
    const started = Date.now();
    await manager.close(stubborn.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(pidExists(stubborn.pid)).toBe(false);
    expect(await output.exited(stubborn.id)).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });

  it('a program that ends by itself reports its exit code', async () => {
    const { id } = await manager.open({ file: '/bin/sh', args: ['-c', 'exit 7'], cwd: '/', env: shellEnv, title: 'seven' }, SIZE);
    expect(await output.exited(id)).toEqual({ exitCode: 7, signal: null });
  });
});

describe('the cap on open terminals', () => {
  it('counts every terminal of the process, whichever manager opened it', async () => {
    const first = new TerminalManager({ limit: 3 });
    const second = new TerminalManager({ limit: 3 });
    const sleeper: TerminalCommand = { file: '/bin/sleep', args: ['60'], cwd: '/', env: shellEnv, title: 'sleep' };
    try {
      const a = await first.open(sleeper, SIZE);
      await first.open(sleeper, SIZE);
      await second.open(sleeper, SIZE);
      const refused = await refusal(second.open(sleeper, SIZE));
      expect(refused.code).toBe('TOO_MANY_TERMINALS');
      expect(refused.message).toBe('Hangar already has 3 terminals open, its most at once. Close one and try again.');
      await first.close(a.id);
      await second.open(sleeper, SIZE);
      expect(first.list()).toHaveLength(1);
      expect(second.list()).toHaveLength(2);
    } finally {
      await Promise.all([first.closeAll(), second.closeAll()]);
    }
  });
});

/** Everything the service says about terminals, kept as text per terminal. */
function serviceRecorder(service: HangarService) {
  const log = terminalLog();
  service.events.on('terminalOutput', ({ terminal, data }) => log.add(terminal, Buffer.from(data, 'base64')));
  service.events.on('terminalExited', ({ terminal, exitCode, signal }) => log.end(terminal, { exitCode, signal }));
  return log;
}

describe('terminals through the service', () => {
  let sandbox: Sandbox;
  let service: HangarService;
  let output: ReturnType<typeof serviceRecorder>;
  let iso: string;
  beforeAll(async () => {
    iso = await ensureTestIso();
    sandbox = await makeSandbox('hangar-terminals-');
    sandbox.env.SHELL = '/bin/bash';
    service = sandbox.service();
    output = serviceRecorder(service);
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it('a host shell: typed bytes in, printed bytes out, closed on request', async () => {
    const { terminal, title } = await call(service, 'openTerminal', { target: { kind: 'host' }, cols: 100, rows: 30 });
    expect(title).toBe('bash on this machine');
    await call(service, 'writeTerminal', { terminal, data: Buffer.from('echo $((6*7)) && stty size\r').toString('base64') });
    await output.waitFor(terminal, /42\r\n30 100\r\n/);
    await call(service, 'resizeTerminal', { terminal, cols: 90, rows: 20 });
    await call(service, 'writeTerminal', { terminal, data: Buffer.from('stty size\r').toString('base64') });
    await output.waitFor(terminal, /20 90\r\n/);
    await call(service, 'closeTerminal', { terminal });
    expect(await output.exited(terminal)).toEqual({ exitCode: null, signal: 'SIGHUP' });
    expect((await refusal(call(service, 'writeTerminal', { terminal, data: 'eA==' }))).code).toBe('TERMINAL_NOT_FOUND');
  });

  it('refuses what the contract does not allow, before anything runs', async () => {
    const bad = [
      { target: { kind: 'host' }, cols: 0, rows: 24 },
      { target: { kind: 'host' }, cols: 80, rows: 100_000 },
      { target: { kind: 'ssh', vm: 'x', user: '-oProxyCommand=touch /tmp/pwned' }, cols: 80, rows: 24 },
      { target: { kind: 'ssh', vm: 'x', user: 'root@evil' }, cols: 80, rows: 24 },
      { target: { kind: 'telnet' }, cols: 80, rows: 24 },
    ];
    for (const input of bad) expect((await refusal(call(service, 'openTerminal', input))).code).toBe('BAD_REQUEST');
    expect((await refusal(call(service, 'writeTerminal', { terminal: '../../etc', data: 'eA==' }))).code).toBe('BAD_REQUEST');
    expect((await refusal(call(service, 'closeTerminal', { terminal: 'term-0000000000000000' }))).code).toBe('TERMINAL_NOT_FOUND');
  });

  it('ssh says in words why it cannot go: no forward to port 22, a stopped VM, no ssh', async () => {
    await call(service, 'createVm', { name: 'No Forward', iso, memoryMiB: 128, cpus: 1, diskGiB: 0, portForwards: [{ hostPort: await freePort(), guestPort: 80 }] });
    const noForward = await refusal(call(service, 'openTerminal', { target: { kind: 'ssh', vm: 'No Forward', user: 'root' }, cols: 80, rows: 24 }));
    expect(noForward.code).toBe('BAD_SETTINGS');
    expect(noForward.message).toContain('"No Forward" has no port forward to the guest\'s SSH port (TCP 22)');

    await call(service, 'createVm', { name: 'Stopped', iso, memoryMiB: 128, cpus: 1, diskGiB: 0, portForwards: [{ hostPort: await freePort(), guestPort: 22 }] });
    const stopped = await refusal(call(service, 'openTerminal', { target: { kind: 'ssh', vm: 'stopped', user: 'root' }, cols: 80, rows: 24 }));
    expect(stopped.code).toBe('VM_NOT_RUNNING');
    expect(stopped.message).toBe('"Stopped" is stopped: start it and wait for its OS to boot before opening an SSH terminal.');

    // The same library, seen by a process whose PATH has no ssh.
    const noSshDir = path.join(sandbox.root, 'no-ssh-bin');
    await fs.mkdir(noSshDir);
    const withoutSsh = createHangarService({ door: 'cli', env: { ...sandbox.env, PATH: noSshDir } });
    try {
      expect(findProgram('ssh', { PATH: noSshDir })).toBeNull();
      const missing = await refusal(call(withoutSsh, 'openTerminal', { target: { kind: 'ssh', vm: 'stopped', user: 'root' }, cols: 80, rows: 24 }));
      expect(missing.code).toBe('TERMINAL_FAILED');
      expect(missing.message).toMatch(/^ssh is not installed on this machine\. Install the OpenSSH client \(Debian\/Ubuntu: sudo apt install openssh-client/);
    } finally {
      withoutSsh.close();
    }

    // The CLI says the same, and exits 1.
    const cli = spawnSync(process.execPath, [hangarBin, 'ssh', 'no-forward', '--user', 'root'], { env: sandbox.env, encoding: 'utf8', input: '', timeout: 60_000 });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain('hangar ssh: "No Forward" has no port forward to the guest\'s SSH port (TCP 22)');
  });

  it("ssh reaches the guest's port 22 through the forward, and both ends see what the other sent", async () => {
    const port = await freePort();
    // 0.0.0.0: the forward listens on every address, and ssh still goes to 127.0.0.1.
    await call(service, 'createVm', { name: 'Ssh Guest', iso, memoryMiB: 256, cpus: 1, diskGiB: 0, portForwards: [{ hostAddress: '0.0.0.0', hostPort: port, guestPort: 22 }] });
    await call(service, 'startVm', { vm: 'ssh-guest' });
    const console = await followConsole(service, 'ssh-guest');
    try {
      await console.waitFor(/HANGAR-TEST-GUEST-READY/, 120_000);
      // User-mode networking gives the guest 10.0.2.15; the forward delivers there.
      await console.type('ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && echo NET-UP\n');
      await console.waitFor(/\nNET-UP/, 30_000);
      // The guest's "sshd": an SSH identification line, then 12 bytes that ssh reads as a
      // packet length ("HANG" = 0x48414e47). What the client sends comes out on the console.
      await console.type("(printf 'SSH-2.0-HangarGuest\\r\\nHANGAR-GUEST' | nc -l -p 22 | head -n 1 | sed 's/^/CLIENT-SAID: /') &\n");
      await console.type("until netstat -ltn | grep -q ':22 '; do sleep 0.2; done; echo LISTENING-$((20+2))\n");
      await console.waitFor(/\nLISTENING-22/, 30_000);

      const { terminal, title } = await call(service, 'openTerminal', { target: { kind: 'ssh', vm: 'Ssh Guest', user: 'tester' }, cols: 80, rows: 24 });
      expect(title).toBe('ssh tester@Ssh Guest');
      const packetLength = Buffer.from('HANG').readUInt32BE(0);
      await output.waitFor(terminal, new RegExp(`Bad packet length ${packetLength}\\.`), 60_000);
      expect(await output.exited(terminal)).toEqual({ exitCode: 255, signal: null });
      await console.waitFor(/CLIENT-SAID: SSH-2\.0-OpenSSH_\S+/, 30_000);

      // Again through `hangar ssh`, in a terminal of its own as a person would run it.
      await console.type("(printf 'SSH-2.0-HangarGuest\\r\\nHANGAR-AGAIN' | nc -l -p 22 | head -n 1 | sed 's/^/CLI-SAID: /') &\n");
      await console.type("until netstat -ltn | grep -q ':22 '; do sleep 0.2; done; echo LISTENING-$((30+3))\n");
      await console.waitFor(/\nLISTENING-33/, 30_000);
      const manager = new TerminalManager();
      const cli = recorder(manager);
      const { id } = await manager.open({ file: process.execPath, args: [hangarBin, 'ssh', 'Ssh Guest', '--user', 'tester'], cwd: sandbox.root, env: sandbox.env, title: 'hangar ssh' }, SIZE);
      try {
        await cli.waitFor(id, new RegExp(`Bad packet length ${packetLength}\\.`), 60_000);
        expect(await cli.exited(id)).toEqual({ exitCode: 255, signal: null });
        await console.waitFor(/CLI-SAID: SSH-2\.0-OpenSSH_\S+/, 30_000);
      } finally {
        await manager.closeAll();
      }
    } finally {
      console.stop();
      await call(service, 'stopVm', { vm: 'ssh-guest', force: true });
    }
  }, 240_000);
});

describe('terminals through the web host WebSocket', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('opens a host shell, streams its output as events, and closes it', async () => {
    const sandbox = await makeSandbox('hangar-terminals-web-');
    cleanups.push(() => sandbox.cleanup());
    const rendererDir = path.join(sandbox.root, 'renderer');
    await fs.mkdir(rendererDir);
    await fs.writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
    const service = createHangarService({ door: 'web', env: { ...sandbox.env, SHELL: '/bin/sh' } });
    cleanups.push(() => service.close());
    const host = await startWebHost({ service, rendererDir });
    cleanups.push(() => host.close());
    const { header: cookie } = await openWebSession(host.url);
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/api`, { origin: `http://127.0.0.1:${host.port}`, headers: { Cookie: cookie } });
    cleanups.push(() => socket.close());
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));

    let text = '';
    let exited: unknown = null;
    const replies = new Map<number, (result: CallResult) => void>();
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type: string; id?: number; result?: CallResult; name?: string; payload?: { terminal: string; data?: string } };
      if (frame.type === 'reply') replies.get(frame.id ?? -1)?.(frame.result as CallResult);
      else if (frame.name === 'terminalOutput') text += Buffer.from(frame.payload?.data ?? '', 'base64').toString('utf8');
      else if (frame.name === 'terminalExited') exited = frame.payload;
    });
    let nextId = 1;
    const ws = (method: string, input: unknown): Promise<CallResult> =>
      new Promise((resolve) => {
        const id = nextId++;
        replies.set(id, resolve);
        socket.send(JSON.stringify({ type: 'call', id, method, input }));
      });
    const until = async (probe: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!probe()) {
        if (Date.now() > deadline) throw new Error(`No ${what}. The terminal shows:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    const opened = await ws('openTerminal', { target: { kind: 'host' }, cols: 80, rows: 24 });
    if (!opened.ok) throw new Error(opened.error.message);
    const { terminal } = opened.value as { terminal: string };
    expect(await ws('writeTerminal', { terminal, data: Buffer.from('echo $((6*7))\r').toString('base64') })).toEqual({ ok: true, value: {} });
    await until(() => /42\r\n/.test(plain(text)), '42');
    expect(await ws('closeTerminal', { terminal })).toEqual({ ok: true, value: {} });
    await until(() => exited !== null, 'terminalExited event');
    expect(exited).toEqual({ terminal, exitCode: null, signal: 'SIGHUP' });
  });
});
