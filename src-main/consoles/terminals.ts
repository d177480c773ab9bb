import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IPty } from 'node-pty';
import { HangarError } from '../../src-shared/errors';
import { SshUser } from '../../src-shared/terminal';
import { sshHostPort } from '../../src-shared/network';
import type { VmDetails } from '../../src-shared/vm';
import { mayI } from '../../src-shared/vm-rules';
import { VM_FILE_NAMES } from '../vms/layout';

// Terminals on the host through node-pty: a login shell, or ssh into a VM over its
// forwarded port. A program and an argument array, never a shell string.

/** How many terminals one Hangar process may have open at once, across all its managers. */
export const TERMINALS_PER_PROCESS = 32;
/** Output is handed on in frames of at most this many bytes… */
const FRAME_BYTES = 64 * 1024;
/** …gathered for this long, so a chatty program makes a few large frames, not many tiny ones. */
const FRAME_DELAY_MS = 4;
/** A program that ignores the hang-up is killed this long after close. */
const KILL_AFTER_MS = 2000;

export interface TerminalCommand {
  /** An absolute path to the program. */
  file: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** What the tab says ("Host shell", "ssh root@Debian 12"). */
  title: string;
}

export interface TerminalInfo {
  id: string;
  title: string;
  pid: number;
}

export interface TerminalExit {
  /** Null when a signal ended it. */
  exitCode: number | null;
  signal: string | null;
}

type OutputListener = (id: string, data: Buffer) => void;
type ExitListener = (id: string, exit: TerminalExit) => void;

interface OpenTerminal {
  info: TerminalInfo;
  pty: IPty;
  pending: Buffer[];
  pendingBytes: number;
  timer: NodeJS.Timeout | null;
  exited: Promise<void>;
  killTimer: NodeJS.Timeout | null;
}

/** Every live terminal of this process, so the cap holds however many services there are. */
const liveInProcess = new Set<OpenTerminal>();

let nodePty: Promise<typeof import('node-pty')> | null = null;
/** Loaded on first use: a broken native build then fails one terminal, not the whole app. */
function loadNodePty(): Promise<typeof import('node-pty')> {
  nodePty ??= import('node-pty').catch((error: unknown) => {
    nodePty = null;
    throw new HangarError('TERMINAL_FAILED', `Terminals are not available: the node-pty module could not be loaded (${error instanceof Error ? error.message : String(error)}). Reinstall Hangar's dependencies with "npm ci".`);
  });
  return nodePty;
}

export class TerminalManager {
  private readonly terminals = new Map<string, OpenTerminal>();
  private readonly outputListeners = new Set<OutputListener>();
  private readonly exitListeners = new Set<ExitListener>();
  private readonly limit: number;

  constructor(options: { limit?: number } = {}) {
    this.limit = options.limit ?? TERMINALS_PER_PROCESS;
  }

  /** Bytes a terminal printed, in order, in frames of at most 64 KiB. */
  onOutput(listener: OutputListener): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }

  /** A terminal's program ended (by itself or by close); its last output came before. */
  onExit(listener: ExitListener): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  async open(command: TerminalCommand, size: { cols: number; rows: number }): Promise<TerminalInfo> {
    const { spawn } = await loadNodePty();
    if (liveInProcess.size >= this.limit) {
      throw new HangarError('TOO_MANY_TERMINALS', `Hangar already has ${liveInProcess.size} terminals open, its most at once. Close one and try again.`);
    }
    let pty: IPty;
    try {
      pty = spawn(command.file, [...command.args], {
        name: 'xterm-256color',
        cols: size.cols,
        rows: size.rows,
        cwd: command.cwd,
        env: terminalEnv(command.env),
        // Raw bytes: a UTF-8 character split across two reads must not be mangled.
        encoding: null,
      });
    } catch (error) {
      throw new HangarError('TERMINAL_FAILED', `The terminal could not start ${command.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const id = `term-${randomBytes(8).toString('hex')}`;
    const info: TerminalInfo = { id, title: command.title, pid: pty.pid };
    let markExited = (): void => {};
    const terminal: OpenTerminal = {
      info,
      pty,
      pending: [],
      pendingBytes: 0,
      timer: null,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
      killTimer: null,
    };
    this.terminals.set(id, terminal);
    liveInProcess.add(terminal);
    // With encoding null node-pty hands over Buffers, though its types say string.
    pty.onData((data: string | Buffer) => this.received(terminal, typeof data === 'string' ? Buffer.from(data) : data));
    pty.onExit(({ exitCode, signal }) => {
      this.flush(terminal);
      if (terminal.timer) clearTimeout(terminal.timer);
      if (terminal.killTimer) clearTimeout(terminal.killTimer);
      this.terminals.delete(id);
      liveInProcess.delete(terminal);
      const exit: TerminalExit = signal ? { exitCode: null, signal: signalName(signal) } : { exitCode, signal: null };
      for (const listener of [...this.exitListeners]) listener(id, exit);
      markExited();
    });
    return info;
  }

  /** Keys or pasted text for the program. */
  write(id: string, data: Buffer): void {
    this.get(id).pty.write(data);
  }

  resize(id: string, cols: number, rows: number): void {
    this.get(id).pty.resize(cols, rows);
  }

  /** Hangs up the terminal (SIGHUP, as closing a terminal window does), then kills what ignores it. */
  close(id: string): Promise<void> {
    const terminal = this.get(id);
    this.hangUp(terminal);
    return terminal.exited;
  }

  closeAll(): Promise<void> {
    const all = [...this.terminals.values()];
    for (const terminal of all) this.hangUp(terminal);
    return Promise.all(all.map((terminal) => terminal.exited)).then(() => {});
  }

  list(): TerminalInfo[] {
    return [...this.terminals.values()].map((terminal) => ({ ...terminal.info }));
  }

  private get(id: string): OpenTerminal {
    const terminal = this.terminals.get(id);
    if (!terminal) throw new HangarError('TERMINAL_NOT_FOUND', `There is no terminal ${id.slice(0, 64)}: it has ended, or it was never opened.`);
    return terminal;
  }

  private hangUp(terminal: OpenTerminal): void {
    if (terminal.killTimer) return;
    terminal.pty.kill('SIGHUP');
    terminal.killTimer = setTimeout(() => {
      // Its whole process group: a shell's job that ignored the hang-up goes too.
      for (const target of [-terminal.info.pid, terminal.info.pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }, KILL_AFTER_MS);
    terminal.killTimer.unref();
  }

  private received(terminal: OpenTerminal, data: Buffer): void {
    terminal.pending.push(data);
    terminal.pendingBytes += data.length;
    // A full frame goes at once, so what waits here stays under a frame and one read.
    if (terminal.pendingBytes >= FRAME_BYTES) this.flush(terminal);
    else terminal.timer ??= setTimeout(() => this.flush(terminal), FRAME_DELAY_MS);
  }

  private flush(terminal: OpenTerminal): void {
    if (terminal.timer) clearTimeout(terminal.timer);
    terminal.timer = null;
    if (terminal.pendingBytes === 0) return;
    const all = Buffer.concat(terminal.pending, terminal.pendingBytes);
    terminal.pending = [];
    terminal.pendingBytes = 0;
    for (let offset = 0; offset < all.length; offset += FRAME_BYTES) {
      const frame = all.subarray(offset, offset + FRAME_BYTES);
      for (const listener of [...this.outputListeners]) listener(terminal.info.id, frame);
    }
  }
}

/** The environment a terminal's program gets: the caller's, as a colour terminal, without Electron's switches. */
function terminalEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name.startsWith('ELECTRON_') || name === 'COLUMNS' || name === 'LINES') continue;
    result[name] = value;
  }
  result.TERM = 'xterm-256color';
  result.COLORTERM = 'truecolor';
  return result;
}

function signalName(signal: number): string {
  const found = Object.entries(os.constants.signals).find(([, number]) => number === signal);
  return found ? found[0] : `signal ${signal}`;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The program's absolute path through PATH, as a shell would find it, or null. */
export function findProgram(name: string, env: Readonly<Record<string, string | undefined>>): string | null {
  if (name.includes('/')) return path.isAbsolute(name) && isExecutable(name) ? name : null;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** The user's shell ($SHELL, else bash, else sh) as a login shell in their home folder. */
export function hostShellCommand(env: Readonly<Record<string, string | undefined>>): TerminalCommand {
  const shell = [env.SHELL, '/bin/bash', '/bin/sh'].find((candidate): candidate is string => Boolean(candidate && path.isAbsolute(candidate) && isExecutable(candidate)));
  if (!shell) throw new HangarError('TERMINAL_FAILED', 'No shell was found on this machine: neither $SHELL, /bin/bash nor /bin/sh can be run.');
  const home = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir();
  return { file: shell, args: ['-l'], cwd: home, env, title: `${path.basename(shell)} on this machine` };
}

/**
 * ssh into a running VM over its forwarded guest port 22. Host keys go to the VM's own
 * known_hosts (accepted on first use), so a recreated VM on the same port is not mistaken
 * for another and the user's ~/.ssh/known_hosts stays clean.
 */
export function sshCommand(details: VmDetails, user: string, env: Readonly<Record<string, string | undefined>>): TerminalCommand {
  const { summary } = details;
  if (!SshUser.safeParse(user).success) throw new HangarError('BAD_REQUEST', `"${user.slice(0, 40)}" is not a user name ssh can log in as.`);
  // What this machine lacks first: starting the VM, as the rule would advise, would not help.
  const ssh = findProgram('ssh', env);
  if (!ssh) throw new HangarError('TERMINAL_FAILED', 'ssh is not installed on this machine. Install the OpenSSH client (Debian/Ubuntu: sudo apt install openssh-client; Fedora: sudo dnf install openssh-clients; Arch: sudo pacman -S openssh).');
  const verdict = mayI('openSsh', summary);
  if (!verdict.ok) throw new HangarError(verdict.code, verdict.reason);
  const port = sshHostPort(summary.config?.devices.nics ?? []) as number;
  const knownHosts = path.join(details.dir, VM_FILE_NAMES.knownHosts);
  return {
    file: ssh,
    // The forward may listen on 0.0.0.0; this machine reaches it on loopback either way.
    args: ['-p', String(port), '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${sshConfigPath(knownHosts)}`, `${user}@127.0.0.1`],
    cwd: details.dir,
    env,
    title: `ssh ${user}@${summary.name}`,
  };
}

/** ssh splits option values on spaces and expands % tokens: quote and escape the path. */
function sshConfigPath(file: string): string {
  return `"${file.replace(/[\\"]/g, '\\$&').replaceAll('%', '%%')}"`;
}
