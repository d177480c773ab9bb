import { describe, expect, it } from 'vitest';
import { ConsoleCursor } from '../../../src-shared/console-stream';
import type { ConsoleSession } from '../../../src-main/connection/connection';
import { FollowedConsoles } from '../../../src-main/consoles/followed-consoles';

// How one process follows a console for its viewers: keystrokes in order, scrollback kept
// current, output batched with stream offsets that let a viewer drop what it already has.
// The session here is an in-memory stand-in for the keeper's console socket, which the
// integration tests use for real.

class MemorySession implements ConsoleSession {
  written: Buffer[] = [];
  private readonly dataListeners = new Set<(chunk: Buffer) => void>();
  constructor(readonly scrollback: Buffer) {}
  onData(listener: (chunk: Buffer) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }
  onEnd(): void {}
  write(data: Uint8Array | string): void {
    this.written.push(Buffer.from(data));
  }
  close(): void {}
  print(text: string): void {
    for (const listener of this.dataListeners) listener(Buffer.from(text));
  }
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
});
