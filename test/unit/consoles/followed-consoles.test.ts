import { describe, expect, it } from 'vitest';
import { ConsoleCursor } from '../../../src-shared/console-stream';
import type { ConsoleSession } from '../../../src-main/connection/connection';
import { FollowedConsoles } from '../../../src-main/consoles/followed-consoles';
import { HangarError } from '../../../src-shared/errors';

// How one process follows a console for its viewers: keystrokes in order, scrollback kept
// current, output batched with stream offsets that let a viewer drop what it already has.
// The session here is an in-memory stand-in for the keeper's console socket, which the
// integration tests use for real.

class MemorySession implements ConsoleSession {
  written: Buffer[] = [];
  closed = false;
  private readonly dataListeners = new Set<(chunk: Buffer) => void>();
  private readonly endListeners: (() => void)[] = [];
  constructor(readonly scrollback: Buffer) {}
  onData(listener: (chunk: Buffer) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }
  onEnd(listener: () => void): void {
    this.endListeners.push(listener);
  }
  write(data: Uint8Array | string): void {
    this.written.push(Buffer.from(data));
  }
  close(): void {
    this.closed = true;
    this.end();
  }
  print(text: string): void {
    for (const listener of this.dataListeners) listener(Buffer.from(text));
  }
  /** The keeper closed the console socket (as a socket's 'close' event, a moment later). */
  end(): void {
    setTimeout(() => {
      for (const listener of this.endListeners.splice(0)) listener();
    }, 1);
  }
}

/** Opens the given sessions in turn; after the last, the VM is not running. */
function opener(...sessions: MemorySession[]): { open: () => Promise<MemorySession>; opened: () => number } {
  let opened = 0;
  return {
    open: async () => {
      const session = sessions[opened++];
      if (!session) throw new HangarError('VM_NOT_RUNNING', '"vm" is not running.');
      return session;
    },
    opened: () => opened,
  };
}

/** What a viewer shows from the emitted chunks after a scrollback. */
function shownAfter(scrollback: { data: Buffer; end: number }, emitted: { data: Buffer; offset: number }[]): string {
  const viewer = new ConsoleCursor();
  const shown = viewer.start(scrollback.data, scrollback.end);
  for (const event of emitted) shown.push(...viewer.receive(event.data, event.offset));
  return text(shown);
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (parts: Uint8Array[]): string => parts.map((part) => new TextDecoder().decode(part)).join('');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ConsoleCursor', () => {
  it('shows chunks that came before the scrollback once, after it', () => {
    const cursor = new ConsoleCursor();
    expect(cursor.receive(bytes('lo wor'), 3)).toEqual([]); // overlaps the scrollback's end
    expect(cursor.receive(bytes('ld'), 9)).toEqual([]);
    expect(text(cursor.start(bytes('hello'), 5))).toBe('hello world');
    expect(text(cursor.receive(bytes('!'), 11))).toBe('!');
  });

  it('drops a repeat and the already-seen start of a chunk', () => {
    const cursor = new ConsoleCursor();
    cursor.start(bytes('abc'), 3);
    expect(cursor.receive(bytes('abc'), 0)).toEqual([]);
    expect(text(cursor.receive(bytes('cdef'), 2))).toBe('def');
  });
});

describe('FollowedConsoles', () => {
  it('delivers keystrokes in the order typed while the console is still opening', async () => {
    const session = new MemorySession(Buffer.alloc(0));
    const consoles = new FollowedConsoles(
      async (ref) => {
        // Looking a name up is slower than an id: the reordering this guards against.
        await sleep(ref === 'by-name' ? 30 : 1);
        return 'vm';
      },
      async () => {
        await sleep(20);
        return session;
      },
      () => {},
    );
    const typed = 'uname -a\n'.split('');
    await Promise.all(typed.map((key, index) => consoles.write(index % 2 ? 'by-name' : 'vm', Buffer.from(key))));
    expect(Buffer.concat(session.written).toString()).toBe('uname -a\n');
  });

  it('gives a later viewer the scrollback as it is now, and batches output with offsets', async () => {
    const session = new MemorySession(Buffer.from('boot\n'));
    const emitted: { data: string; offset: number }[] = [];
    const consoles = new FollowedConsoles(async (ref) => ref, async () => session, (_id, data, offset) => emitted.push({ data: data.toString(), offset }));
    expect(await consoles.attach('vm')).toEqual({ data: Buffer.from('boot\n'), end: 5 });
    for (let i = 0; i < 200; i++) session.print(`${i % 10}`);
    const later = await consoles.attach('vm');
    expect(later.end).toBe(205);
    expect(later.data.toString()).toMatch(/^boot\n0123456789/);
    await sleep(30);
    // 200 guest writes went out as few events, whose offsets place them in the stream.
    expect(emitted.length).toBeLessThan(5);
    expect(emitted[0]?.offset).toBe(5);
    expect(emitted.map((event) => event.data).join('')).toBe(later.data.toString().slice(5));
    const viewer = new ConsoleCursor();
    const shown = viewer.start(later.data, later.end);
    for (const event of emitted) shown.push(...viewer.receive(Buffer.from(event.data), event.offset));
    expect(text(shown)).toBe(later.data.toString());
    consoles.closeAll();
  });

  it('after the keeper cut it off for falling behind, says so in the stream and follows on', async () => {
    const first = new MemorySession(Buffer.from('boot\n'));
    const second = new MemorySession(Buffer.from('latest\n'));
    const sessions = opener(first, second);
    const emitted: { data: Buffer; offset: number }[] = [];
    const consoles = new FollowedConsoles(async (ref) => ref, sessions.open, (_id, data, offset) => emitted.push({ data, offset }));
    const attached = await consoles.attach('vm');
    first.print('before\n');
    await sleep(20);
    first.end(); // the VM runs on: the console opens again
    await sleep(30);
    second.print('after\n');
    await sleep(30);
    expect(sessions.opened()).toBe(2);
    const shown = shownAfter(attached, emitted);
    expect(shown).toBe(`boot\nbefore\n\r\n*** Hangar: the console fell behind and was disconnected; the VM keeps running. Reconnected: some output in between may be missing. ***\r\nlatest\nafter\n`);
    // A viewer attaching now sees the same, and typing reaches the new session.
    const later = await consoles.attach('vm');
    expect(later.data.toString()).toBe(shown);
    await consoles.write('vm', Buffer.from('ls\n'));
    expect(Buffer.concat(second.written).toString()).toBe('ls\n');
    consoles.closeAll();
    await sleep(10);
    expect(sessions.opened()).toBe(2);
  });

  it('ends quietly when the console cannot be opened again (the VM stopped), and opens afresh later', async () => {
    const first = new MemorySession(Buffer.from('boot\n'));
    const emitted: { data: Buffer; offset: number }[] = [];
    let running = true;
    const consoles = new FollowedConsoles(
      async (ref) => ref,
      async () => {
        if (!running) throw new HangarError('VM_NOT_RUNNING', '"vm" is not running.');
        return first;
      },
      (_id, data, offset) => emitted.push({ data, offset }),
    );
    await consoles.attach('vm');
    running = false;
    first.end();
    await sleep(30);
    expect(emitted).toEqual([]);
    running = true;
    expect((await consoles.attach('vm')).data.toString()).toBe('boot\n');
    consoles.closeAll();
  });

  it('does not reopen a console it closed itself', async () => {
    const sessions = opener(new MemorySession(Buffer.alloc(0)), new MemorySession(Buffer.alloc(0)));
    const consoles = new FollowedConsoles(async (ref) => ref, sessions.open, () => {});
    await consoles.attach('vm');
    consoles.closeAll();
    await sleep(30);
    expect(sessions.opened()).toBe(1);
  });
});
