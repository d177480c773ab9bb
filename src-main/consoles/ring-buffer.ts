/** Keeps the last `capacity` bytes written to it: a console's scrollback. */
export class RingBuffer {
  private readonly data: Buffer;
  private start = 0;
  private length = 0;

  constructor(readonly capacity: number) {
    this.data = Buffer.alloc(capacity);
  }

  write(chunk: Uint8Array): void {
    if (chunk.length >= this.capacity) {
      Buffer.from(chunk.buffer, chunk.byteOffset + chunk.length - this.capacity, this.capacity).copy(this.data, 0);
      this.start = 0;
      this.length = this.capacity;
      return;
    }
    const end = (this.start + this.length) % this.capacity;
    const firstPart = Math.min(chunk.length, this.capacity - end);
    Buffer.from(chunk.buffer, chunk.byteOffset, firstPart).copy(this.data, end);
    Buffer.from(chunk.buffer, chunk.byteOffset + firstPart, chunk.length - firstPart).copy(this.data, 0);
    const overflow = Math.max(0, this.length + chunk.length - this.capacity);
    this.start = (this.start + overflow) % this.capacity;
    this.length = Math.min(this.capacity, this.length + chunk.length);
  }

  /** Everything kept, oldest first. */
  contents(): Buffer {
    const end = this.start + this.length;
    if (end <= this.capacity) return Buffer.from(this.data.subarray(this.start, end));
    return Buffer.concat([this.data.subarray(this.start), this.data.subarray(0, end - this.capacity)]);
  }

  get size(): number {
    return this.length;
  }
}
