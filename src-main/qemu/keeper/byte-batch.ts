// Bytes gathered from many small chunks into a few large blocks. A serial port hands the
// keeper a byte or a few at a time; one Buffer (or one socket write) per chunk costs far
// more memory and time than the bytes themselves, so they are copied in here and leave
// as one Buffer of exactly their size.

const BLOCK_BYTES = 64 * 1024;

export class ByteBatch {
  private blocks: Buffer[] = [];
  private current: Buffer | null = null;
  private used = 0;
  private total = 0;

  get size(): number {
    return this.total;
  }

  append(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current || this.used === this.current.length) {
        if (this.current) this.blocks.push(this.current);
        this.current = Buffer.allocUnsafe(BLOCK_BYTES);
        this.used = 0;
      }
      const count = Math.min(chunk.length - offset, this.current.length - this.used);
      this.current.set(chunk.subarray(offset, offset + count), this.used);
      this.used += count;
      offset += count;
    }
    this.total += chunk.length;
  }

  /** Everything gathered, oldest first, in a Buffer of its own (never a view of a block); the batch is then empty. */
  take(): Buffer {
    // allocUnsafeSlow: not a slice of Node's shared pool, so holding it holds only these bytes.
    const out = Buffer.allocUnsafeSlow(this.total);
    let at = 0;
    for (const block of this.blocks) at += block.copy(out, at);
    if (this.current) this.current.copy(out, at, 0, this.used);
    this.blocks = [];
    this.used = 0;
    this.total = 0;
    return out;
  }

  /** Keeps only the newest `keep` bytes; returns how many older ones were dropped. */
  keepNewest(keep: number): number {
    if (this.total <= keep) return 0;
    const dropped = this.total - keep;
    const newest = this.take().subarray(dropped);
    this.append(newest);
    return dropped;
  }
}
