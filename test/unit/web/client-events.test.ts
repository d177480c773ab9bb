import { describe, expect, it } from 'vitest';
import { ClientEvents } from '../../../src-main/web/client-events';

// What one web client hears, learnt from its calls and their answers.

const consoleChunk = (vm: string): { vm: string; data: string; offset: number } => ({ vm, data: 'aGk=', offset: 0 });
const output = (terminal: string): { terminal: string; data: string } => ({ terminal, data: 'aGk=' });
const exited = (terminal: string): { terminal: string; exitCode: number; signal: null } => ({ terminal, exitCode: 0, signal: null });

describe('ClientEvents', () => {
  it('hears a console only after attaching it, and only that one', () => {
    const routes = new ClientEvents();
    expect(routes.wants('consoleOutput', consoleChunk('debian'))).toBe(false);
    routes.noteReply('attachConsole', { ok: true, value: { vm: 'debian', scrollback: '', end: 0 } });
    expect(routes.wants('consoleOutput', consoleChunk('debian'))).toBe(true);
    expect(routes.wants('consoleOutput', consoleChunk('fedora'))).toBe(false);
  });

  it('learns nothing from a failed call', () => {
    const routes = new ClientEvents();
    routes.noteReply('attachConsole', { ok: false, error: { code: 'VM_NOT_RUNNING', message: 'x' } });
    routes.noteReply('openTerminal', { ok: false, error: { code: 'TERMINAL_FAILED', message: 'x' } });
    expect(routes.wants('consoleOutput', consoleChunk('debian'))).toBe(false);
    expect(routes.openTerminals()).toEqual([]);
  });

  it('forgets a console whose VM was removed (a new VM may get its id)', () => {
    const routes = new ClientEvents();
    routes.noteReply('attachConsole', { ok: true, value: { vm: 'debian', scrollback: '', end: 0 } });
    expect(routes.wants('vmRemoved', { id: 'debian' })).toBe(true);
    expect(routes.wants('consoleOutput', consoleChunk('debian'))).toBe(false);
  });

  it("hears its own terminals until they exit, and nobody else's", () => {
    const routes = new ClientEvents();
    routes.noteReply('openTerminal', { ok: true, value: { terminal: 'term-1', title: 'sh' } });
    expect(routes.wants('terminalOutput', output('term-1'))).toBe(true);
    expect(routes.wants('terminalOutput', output('term-2'))).toBe(false);
    expect(routes.wants('terminalExited', exited('term-2'))).toBe(false);
    expect(routes.openTerminals()).toEqual(['term-1']);
    expect(routes.wants('terminalExited', exited('term-1'))).toBe(true);
    expect(routes.openTerminals()).toEqual([]);
    expect(routes.wants('terminalOutput', output('term-1'))).toBe(false);
  });

  it('passes everything else to everyone', () => {
    const routes = new ClientEvents();
    expect(routes.wants('hostChecked', {})).toBe(true);
    expect(routes.wants('vmProgress', {})).toBe(true);
  });
});
