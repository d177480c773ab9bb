import type { ConsoleSession } from './console-session';
import { RingBuffer } from './ring-buffer';

// The serial consoles one Hangar process follows for its clients (windows, browsers). One
// session per VM however many clients watch; its scrollback kept current for whoever
// attaches later; output handed on in batches rather than per guest write (a busy guest
// writes a few bytes at a time, and each event costs a frame, a parse and a repaint);
// keystrokes delivered in the order they were typed. A keeper disconnects a viewer that
// falls too far behind (this process stopped, or stalled under a serial flood); the
// console then opens again by itself, and the gap is marked in the stream in words.

const SCROLLBACK_BYTES = 256 * 1024;
/** How long output may wait to be batched: well under a frame at 60 Hz. */
const BATCH_MS = 8;
const BATCH_BYTES = 64 * 1024;
/** Shown where output went missing: the keeper cut this process off while the VM ran on. */
export const FELL_BEHIND_NOTICE = '\r\n*** Hangar: the console fell behind and was disconnected; the VM keeps running. Reconnected: some output in between may be missing. ***\r\n';

interface Followed {
  session: ConsoleSession;
  scrollback: RingBuffer;
  /** Bytes seen since following began (the first scrollback included): where the stream is. */
  end: number;
  batch: Buffer[];
  batchBytes: number;
  timer: NodeJS.Timeout | null;
  /** closeAll let it go: its end is ours, not the keeper's. */
  closed: boolean;
}

/** A console's scrollback and where in its stream that scrollback ends. */
export interface Scrollback {
  data: Buffer;
  /** Output events carry their own offset: a viewer drops what lies before this. */
  end: number;
}

export class FollowedConsoles {
  private readonly followed = new Map<string, Followed>();
  private readonly opening = new Map<string, Promise<Followed>>();
  /** Keystrokes still waiting for a console to open (or a name to be looked up), in order. */
  private pendingInput: Promise<void> | null = null;

  constructor(
    /** A VM's id from whatever a client called it (its id or its name). */
    private readonly idOf: (ref: string) => Promise<string>,
    private readonly open: (id: string) => Promise<ConsoleSession>,
    private readonly emit: (id: string, data: Buffer, offset: number) => void,
  ) {}

  /** Follows a VM's console (once per process) and returns its scrollback as of now. */
  async attach(id: string): Promise<Scrollback> {
    const entry = await this.follow(id);
    return { data: entry.scrollback.contents(), end: entry.end };
  }

  /** Sends keystrokes; they reach the guest in call order, even while the console opens. */
  write(ref: string, data: Buffer): Promise<void> {
    const entry = this.followed.get(ref);
    if (entry && !this.pendingInput) {
      entry.session.write(data);
      return Promise.resolve();
    }
    // One queue for every console: a VM called by its name in one call and its id in the next is still one VM.
    const next = (this.pendingInput ?? Promise.resolve()).then(async () => (await this.follow(await this.idOf(ref))).session.write(data));
    const settled = next.catch(() => {});
    this.pendingInput = settled;
    void settled.then(() => {
      if (this.pendingInput === settled) this.pendingInput = null;
    });
    return next;
  }

  closeAll(): void {
    for (const [id, entry] of this.followed) {
      this.flush(id, entry);
      entry.closed = true;
      entry.session.close();
    }
    this.followed.clear();
  }

  private follow(id: string): Promise<Followed> {
    const existing = this.followed.get(id);
    if (existing) return Promise.resolve(existing);
    let pending = this.opening.get(id);
    if (!pending) {
      pending = this.open(id).then((session) => {
        const entry: Followed = { session, scrollback: new RingBuffer(SCROLLBACK_BYTES), end: session.scrollback.length, batch: [], batchBytes: 0, timer: null, closed: false };
        entry.scrollback.write(session.scrollback);
        this.listen(id, entry);
        return entry;
      });
      this.whileOpening(id, pending);
    }
    return pending;
  }

  private whileOpening(id: string, pending: Promise<Followed>): void {
    this.opening.set(id, pending);
    void pending.finally(() => this.opening.delete(id)).catch(() => {});
  }

  private listen(id: string, entry: Followed): void {
    const session = entry.session;
    this.followed.set(id, entry);
    session.onData((chunk) => this.receive(id, entry, chunk));
    session.onEnd(() => {
      this.flush(id, entry);
      if (this.followed.get(id) !== entry || entry.session !== session) return;
      this.followed.delete(id);
      if (!entry.closed) this.reopen(id, entry);
    });
  }

  /**
   * The console ended. Its keeper ends consoles only when the VM ends (then it no longer
   * opens) or when this process fell behind: then the VM runs on, and so does the stream,
   * with the gap said in words and the keeper's scrollback as it is now.
   */
  private reopen(id: string, entry: Followed): void {
    const reopened = this.open(id).then((session) => {
      if (entry.closed) {
        session.close();
        throw new Error('closed meanwhile');
      }
      entry.session = session;
      this.listen(id, entry);
      this.receive(id, entry, Buffer.concat([Buffer.from(FELL_BEHIND_NOTICE), session.scrollback]));
      return entry;
    });
    // Not running any more: nothing to say here, the VM's state change says it.
    this.whileOpening(id, reopened);
  }

  private receive(id: string, entry: Followed, chunk: Buffer): void {
    entry.scrollback.write(chunk);
    entry.end += chunk.length;
    entry.batch.push(chunk);
    entry.batchBytes += chunk.length;
    if (entry.batchBytes >= BATCH_BYTES) this.flush(id, entry);
    else entry.timer ??= setTimeout(() => this.flush(id, entry), BATCH_MS);
  }

  private flush(id: string, entry: Followed): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    if (entry.batchBytes === 0) return;
    const data = entry.batch.length === 1 ? (entry.batch[0] as Buffer) : Buffer.concat(entry.batch);
    entry.batch = [];
    entry.batchBytes = 0;
    this.emit(id, data, entry.end - data.length);
  }
}
