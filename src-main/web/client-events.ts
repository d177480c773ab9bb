import type { EventName, EventPayload, MethodOutput } from '../../src-shared/contract';
import type { CallResult } from '../../src-shared/wire';

// Which events one web client hears. Most concern every window (a VM changed, the host was
// checked). A console's bytes go only to the clients that attached that console, and a
// terminal's only to the client that opened it: nobody else asked for them (a flooding
// guest must not fill every tab's socket), and what is typed in a terminal is private to
// the one who types. The door learns this from the calls it carries and their answers, so
// the service needs no idea of clients; the Electron door (one window) hears everything.

export class ClientEvents {
  private readonly consoles = new Set<string>();
  private readonly terminals = new Set<string>();

  /** What a successful call tells about what this client now follows. */
  noteReply(method: string, result: CallResult): void {
    if (!result.ok) return;
    if (method === 'attachConsole') this.consoles.add((result.value as MethodOutput<'attachConsole'>).vm);
    else if (method === 'openTerminal') this.terminals.add((result.value as MethodOutput<'openTerminal'>).terminal);
  }

  wants(name: EventName, payload: unknown): boolean {
    switch (name) {
      case 'consoleOutput':
        return this.consoles.has((payload as EventPayload<'consoleOutput'>).vm);
      case 'terminalOutput':
        return this.terminals.has((payload as EventPayload<'terminalOutput'>).terminal);
      case 'terminalExited':
        // Its last event: the terminal is no longer this client's to close.
        return this.terminals.delete((payload as EventPayload<'terminalExited'>).terminal);
      case 'vmRemoved':
        this.consoles.delete((payload as EventPayload<'vmRemoved'>).id);
        return true;
      default:
        return true;
    }
  }

  /** Terminals this client opened that still run: they end when the client leaves. */
  openTerminals(): string[] {
    return [...this.terminals];
  }
}
