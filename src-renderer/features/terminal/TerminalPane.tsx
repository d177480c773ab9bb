import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useReducer, useRef, useState } from 'react';
import { sshHostPort } from '../../../src-shared/network';
import { mayI } from '../../../src-shared/vm-rules';
import { SshUser, type TerminalTarget } from '../../../src-shared/terminal';
import type { VmSummary } from '../../../src-shared/vm';
import type { ApiClient } from '../../api/client';
import { base64FromText, bytesFromBase64 } from '../../api/base64';
import { attachClipboardKeys, copySelection, pasteInto } from '../../components/terminal-clipboard';
import { TERMINAL_LOOK } from '../../components/terminal-look';
import { useClient } from '../../store/react';

/**
 * A terminal on the host, beside the VM: ssh into the guest over its forwarded port 22, or
 * a shell on this machine. The session outlives the pane (switching tabs keeps it), and
 * ends when its program does or when the person closes it. Copy with Ctrl+Shift+C, paste
 * with Ctrl+Shift+V, or with the buttons.
 */
export function TerminalPane({ vm }: { vm: VmSummary }) {
  const client = useClient();
  const host = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const [user, setUser] = useState(() => lastUser.get(vm.id) ?? '');
  const [error, setError] = useState<string | null>(null);
  const [hasSelection, setHasSelection] = useState(false);
  const session = sessions.get(vm.id);

  // Show this VM's session in the pane while it is mounted; it keeps running when it is not.
  useEffect(() => {
    const element = host.current;
    if (!element || !session) return;
    element.append(session.element);
    const stopChanges = session.subscribe(rerender);
    const selection = session.terminal.onSelectionChange(() => setHasSelection(session.terminal.hasSelection()));
    const resize = new ResizeObserver(() => session.fit());
    resize.observe(element);
    session.fit();
    session.terminal.focus();
    return () => {
      resize.disconnect();
      selection.dispose();
      stopChanges();
      session.element.remove();
    };
  }, [session]);

  const userValid = SshUser.safeParse(user).success;
  // The engine's own rule: an SSH forward (guest port 22) and a running VM.
  const sshVerdict = mayI('openSsh', vm);
  const sshPort = vm.config ? sshHostPort(vm.config.devices.nics) : null;
  const sshBlocker = !sshVerdict.ok ? sshVerdict.reason : !userValid ? 'Type the user name to log in as.' : null;
  const live = Boolean(session && !session.ended);

  const open = (target: TerminalTarget): void => {
    const element = host.current;
    if (!element) return;
    setError(null);
    if (target.kind === 'ssh') lastUser.set(vm.id, target.user);
    sessions.get(vm.id)?.destroy();
    // Shown before xterm measures it, so the terminal opens at the pane's size.
    element.hidden = false;
    const opened = new TerminalSession(client, element);
    sessions.set(vm.id, opened);
    rerender();
    opened.start(target).catch((caught: unknown) => {
      if (sessions.get(vm.id) === opened) sessions.delete(vm.id);
      opened.destroy();
      setError(caught instanceof Error ? caught.message : String(caught));
      rerender();
    });
  };

  return (
    <div className="terminal-pane">
      <div className="terminal-toolbar" role="toolbar" aria-label="Terminal">
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (!sshBlocker) open({ kind: 'ssh', vm: vm.id, user });
          }}
        >
          <label htmlFor={`ssh-user-${vm.id}`}>User</label>
          <input id={`ssh-user-${vm.id}`} type="text" value={user} autoComplete="username" spellCheck={false} placeholder="user name" size={12} onChange={(event) => setUser(event.target.value.trim())} />
          <button type="submit" disabled={sshBlocker !== null} aria-describedby={`ssh-why-${vm.id}`} title={sshBlocker ?? `ssh -p ${sshPort} ${user}@127.0.0.1`}>
            SSH into the guest
          </button>
        </form>
        <button type="button" onClick={() => open({ kind: 'host' })}>
          Host shell
        </button>
        {session && (
          <>
            <button type="button" disabled={!hasSelection} onClick={() => void copySelection(session.terminal)}>
              Copy
            </button>
            <button type="button" disabled={!live} onClick={() => void pasteInto(session.terminal).catch(() => setError('This window may not read the clipboard: paste with Ctrl+Shift+V instead.'))}>
              Paste
            </button>
            {live && (
              <button type="button" onClick={() => session.close()}>
                Close
              </button>
            )}
          </>
        )}
      </div>
      <p className="field-hint" id={`ssh-why-${vm.id}`}>
        {sshBlocker ?? `SSH runs ssh -p ${sshPort} ${user}@127.0.0.1 on this machine.`}
      </p>
      <p className="terminal-status" role="status">
        {session ? (session.ended ?? session.title) : 'Open an SSH session in the guest, or a shell on this machine.'}
      </p>
      {error && (
        <p className="error-banner" role="alert">
          {error}
        </p>
      )}
      <div ref={host} className="terminal-host" data-testid="host-terminal" aria-label="Terminal" hidden={!session} />
    </div>
  );
}

/** The user name last used per VM, so the next SSH session is one click. */
const lastUser = new Map<string, string>();
/** The terminal session of each VM's pane, kept while the pane is not shown. */
const sessions = new Map<string, TerminalSession>();

class TerminalSession {
  readonly terminal = new Terminal({ ...TERMINAL_LOOK, scrollback: 10_000, cursorBlink: true });
  /** The element xterm draws into; moved between panes, never re-opened. */
  readonly element = document.createElement('div');
  title = 'Opening…';
  ended: string | null = null;
  private remote: string | null = null;
  private readonly fitAddon = new FitAddon();
  private readonly listeners = new Set<() => void>();
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly client: ApiClient,
    parent: HTMLElement,
  ) {
    this.element.className = 'terminal-session';
    parent.append(this.element);
    this.terminal.loadAddon(this.fitAddon);
    this.terminal.open(this.element);
    attachClipboardKeys(this.terminal);
  }

  async start(target: TerminalTarget): Promise<void> {
    this.fit();
    // Output may arrive before the answer that names the terminal: keep it until then.
    const early: { terminal: string; data: string }[] = [];
    this.stops.push(
      this.client.on('terminalOutput', (chunk) => {
        if (chunk.terminal === this.remote) this.terminal.write(bytesFromBase64(chunk.data));
        else if (this.remote === null) early.push(chunk);
      }),
      this.client.on('terminalExited', ({ terminal, exitCode, signal }) => {
        if (terminal !== this.remote) return;
        this.remote = null;
        this.setEnded(`${this.title} ended${signal ? ` (${signal})` : exitCode ? ` (exit code ${exitCode})` : ''}.`);
      }),
    );
    const typing = this.terminal.onData((data) => this.send(base64FromText(data)));
    const binary = this.terminal.onBinary((data) => this.send(btoa(data)));
    const resized = this.terminal.onResize(({ cols, rows }) => {
      if (this.remote) void this.client.resizeTerminal({ terminal: this.remote, cols, rows }).catch(() => {});
    });
    this.stops.push(
      () => typing.dispose(),
      () => binary.dispose(),
      () => resized.dispose(),
    );
    const opening = { cols: this.terminal.cols, rows: this.terminal.rows };
    const { terminal, title } = await this.client.openTerminal({ target, ...opening });
    if (this.ended) {
      // Closed while it was opening.
      void this.client.closeTerminal({ terminal }).catch(() => {});
      return;
    }
    this.remote = terminal;
    this.title = title;
    for (const chunk of early.splice(0)) if (chunk.terminal === terminal) this.terminal.write(bytesFromBase64(chunk.data));
    // The pane may have changed size while the terminal was opening.
    if (this.terminal.cols !== opening.cols || this.terminal.rows !== opening.rows) void this.client.resizeTerminal({ terminal, cols: this.terminal.cols, rows: this.terminal.rows }).catch(() => {});
    this.changed();
  }

  fit(): void {
    // A hidden pane has no size; it fits again when shown.
    if (this.element.isConnected && this.element.clientWidth > 0) this.fitAddon.fit();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes the remote terminal; what it printed stays on screen. */
  close(): void {
    const remote = this.remote;
    this.remote = null;
    if (remote) void this.client.closeTerminal({ terminal: remote }).catch(() => {});
    this.setEnded(`${this.title === 'Opening…' ? 'The terminal' : this.title} was closed.`);
  }

  /** Closes it and lets go of the screen too, for a new session in its place. */
  destroy(): void {
    this.close();
    this.element.remove();
    this.terminal.dispose();
  }

  private send(data: string): void {
    if (this.remote) void this.client.writeTerminal({ terminal: this.remote, data }).catch(() => {});
  }

  private setEnded(message: string): void {
    if (this.ended) return;
    this.ended = message;
    for (const stop of this.stops.splice(0)) stop();
    this.terminal.options.cursorBlink = false;
    this.changed();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
