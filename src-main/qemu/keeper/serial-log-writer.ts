import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { ByteBatch } from './byte-batch';

// serial.log in the VM folder: everything the guest printed on its serial port, written by
// the keeper, which reads every byte anyway. Capped and rotated as libvirt's virtlogd does
// (max_size, max_backups=1): past the cap, serial.log becomes serial.log.1 (the older one
// goes) and a new serial.log begins, so a reader wants the tail of serial.log, preceded by
// the tail of serial.log.1. Writes are gathered and asynchronous: the serial reader never
// waits for the disk. A write that fails (a full disk, an I/O error) ends the logging, not
// the keeper nor the VM, and leaves a note saying since when and why.

export const SERIAL_LOG_MAX_BYTES = 2 * 1024 * 1024;
const BATCH_MS = 50;
const BATCH_BYTES = 64 * 1024;

export interface SerialLogOptions {
  maxBytes?: number;
  /** Called once when logging stops for good, with a sentence for the VM's problem. */
  onStopped?: (note: string) => void;
  /** The clock, for the note's time. */
  now?: () => Date;
}

/** The older file a rotation leaves. */
export const rotatedName = (file: string): string => `${file}.1`;

export class SerialLogWriter {
  private handle: FileHandle | null = null;
  private size = 0;
  private readonly pending = new ByteBatch();
  /** Bytes dropped because the disk fell behind by more than a whole log. */
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private note: string | null = null;
  private closed = false;
  private readonly maxBytes: number;

  private constructor(
    readonly file: string,
    private readonly options: SerialLogOptions,
  ) {
    this.maxBytes = options.maxBytes ?? SERIAL_LOG_MAX_BYTES;
  }

  /** Opens (or continues) the log. Never throws: a log that cannot be opened is a note, not a failure. */
  static async open(file: string, options: SerialLogOptions = {}): Promise<SerialLogWriter> {
    const log = new SerialLogWriter(file, options);
    try {
      log.handle = await fs.open(file, 'a', 0o600);
      // An older Hangar let QEMU make it; whatever its mode was, the guest's output is private.
      await log.handle.chmod(0o600);
      log.size = (await log.handle.stat()).size;
      // A log left over a cap (an older Hangar's, or a smaller cap) starts over at once.
      if (log.size >= log.maxBytes) await log.rotate();
    } catch (error) {
      await log.stop(error);
    }
    return log;
  }

  /** Why the log is not being kept, or null while it is. */
  get stoppedNote(): string | null {
    return this.note;
  }

  write(chunk: Uint8Array): void {
    if (this.note !== null || this.closed || chunk.length === 0) return;
    this.pending.append(chunk);
    // A disk slower than the guest: what would be rotated away before it is written goes now.
    if (this.pending.size > this.maxBytes) this.dropped += this.pending.keepNewest(this.maxBytes);
    if (this.pending.size >= BATCH_BYTES) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), BATCH_MS);
  }

  /** Writes what is pending and closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    this.kick();
    while (this.writing) await this.writing;
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => {});
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing ??= this.pump().finally(() => {
      this.writing = null;
    });
  }

  private async pump(): Promise<void> {
    while (this.pending.size > 0 && this.note === null && this.handle) {
      let data = this.pending.take();
      if (this.dropped > 0) {
        const marker = Buffer.from(`\r\n[hangar: ${this.dropped} bytes of serial output are missing here: the disk could not keep up]\r\n`);
        data = Buffer.concat([marker, data.subarray(Math.max(0, data.length + marker.length - this.maxBytes))]);
        this.dropped = 0;
      }
      try {
        if (this.size > 0 && this.size + data.length > this.maxBytes) await this.rotate();
        await this.writeAll(data);
      } catch (error) {
        await this.stop(error);
      }
    }
  }

  private async rotate(): Promise<void> {
    const handle = this.handle as FileHandle;
    this.handle = null;
    await handle.close();
    // rename replaces the previous serial.log.1 in one step: a reader sees one or the other.
    await fs.rename(this.file, rotatedName(this.file));
    this.handle = await fs.open(this.file, 'a', 0o600);
    this.size = 0;
  }

  private async writeAll(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await (this.handle as FileHandle).write(data, offset, data.length - offset);
      if (bytesWritten === 0) throw new Error('the disk took no more bytes');
      offset += bytesWritten;
      this.size += bytesWritten;
    }
  }

  private async stop(error: unknown): Promise<void> {
    if (this.note !== null) return;
    const when = (this.options.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
    this.note = `The serial output of this VM has not been saved to ${this.file} since ${when}: ${reasonOf(error)}. It is saved again from the VM's next start.`;
    this.pending.take();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => {});
    this.options.onStopped?.(this.note);
  }
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC') return 'the disk is full (free some space)';
  if (code === 'EDQUOT') return 'your disk quota is used up';
  if (code === 'EIO') return 'the disk reported an input/output error';
  if (code === 'EACCES' || code === 'EPERM') return 'Hangar may not write that file';
  if (code === 'EROFS') return 'the file system is read-only';
  return (error as Error | null)?.message ?? String(error);
}
