import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../../src-main/consoles/ring-buffer';

/** The obvious, slow version: keep everything, then the last `capacity` bytes. */
class NaiveRing {
  private kept: number[] = [];
  constructor(readonly capacity: number) {}
  write(chunk: Uint8Array): void {
    this.kept.push(...chunk);
    if (this.kept.length > this.capacity) this.kept = this.kept.slice(this.kept.length - this.capacity);
  }
  contents(): Buffer {
    return Buffer.from(this.kept);
  }
}

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const text = (ring: RingBuffer): string => ring.contents().toString('latin1');

describe('RingBuffer', () => {
  it.each<[string, number, string[], string]>([
    ['nothing written', 8, [], ''],
    ['an empty chunk', 8, [''], ''],
    ['one chunk that fits', 8, ['abc'], 'abc'],
    ['chunks that fill it exactly', 8, ['abcd', 'efgh'], 'abcdefgh'],
    ['one chunk of exactly the capacity', 8, ['abcdefgh'], 'abcdefgh'],
    ['one byte past full drops the oldest', 8, ['abcdefgh', 'i'], 'bcdefghi'],
    ['wrap-around in the middle of a chunk', 8, ['abcdef', 'ghij'], 'cdefghij'],
    ['wrap-around twice', 8, ['abcdef', 'ghij', 'klmnop'], 'ijklmnop'],
    ['a chunk larger than the capacity keeps its tail', 8, ['abcdefghijklmnop'], 'ijklmnop'],
    ['a larger chunk after wrapping', 8, ['abc', 'defghij', 'klmnopqrstuvwxyz'], 'stuvwxyz'],
    ['a chunk of the capacity when not empty', 8, ['xyz', 'abcdefgh'], 'abcdefgh'],
    ['small writes after a larger chunk', 8, ['0123456789', 'ab', 'cd'], '6789abcd'],
    ['an empty chunk after wrapping changes nothing', 8, ['abcdefghij', ''], 'cdefghij'],
    ['capacity one keeps the last byte', 1, ['abc', 'd', '', 'ef'], 'f'],
    ['capacity zero keeps nothing', 0, ['abc', ''], ''],
  ])('%s', (_what, capacity, writes, expected) => {
    const ring = new RingBuffer(capacity);
    for (const chunk of writes) ring.write(Buffer.from(chunk, 'latin1'));
    expect(text(ring)).toBe(expected);
    expect(ring.size).toBe(expected.length);
  });

  it('many 1-byte writes keep the last `capacity` of them in order', () => {
    const ring = new RingBuffer(7);
    for (let index = 0; index < 1000; index++) ring.write(new Uint8Array([index % 256]));
    expect([...ring.contents()]).toEqual([993, 994, 995, 996, 997, 998, 999].map((value) => value % 256));
    expect(ring.size).toBe(7);
  });

  it('reads only the chunk, not the rest of a shared ArrayBuffer (subarrays, pooled Buffers)', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 4, 5, 9, 9]);
    const ring = new RingBuffer(4);
    ring.write(backing.subarray(2, 4));
    expect([...ring.contents()]).toEqual([1, 2]);
    ring.write(backing.subarray(4, 7));
    expect([...ring.contents()]).toEqual([2, 3, 4, 5]);
    ring.write(backing.subarray(1, 8));
    expect([...ring.contents()]).toEqual([3, 4, 5, 9]);
    ring.write(Buffer.from('pooled'));
    expect(ring.contents().toString()).toBe('oled');
  });

  it('contents() is a copy: changing it or the written chunk changes nothing kept', () => {
    const ring = new RingBuffer(4);
    const chunk = Buffer.from('abc');
    ring.write(chunk);
    chunk.fill(0x21);
    const first = ring.contents();
    first.fill(0x3f);
    expect(text(ring)).toBe('abc');
    ring.write(Buffer.from('defg'));
    expect(text(ring)).toBe('defg');
  });

  it.each([1, 2, 3, 7, 64, 1000])('matches a naive ring for random writes (capacity %i, fixed seed)', (capacity) => {
    const random = seeded(0x5eed + capacity);
    const ring = new RingBuffer(capacity);
    const naive = new NaiveRing(capacity);
    for (let step = 0; step < 2000; step++) {
      // Mostly small chunks, sometimes empty, sometimes larger than the whole ring.
      const roll = random();
      const length = roll < 0.05 ? 0 : roll < 0.9 ? Math.floor(random() * Math.max(2, capacity / 2)) : Math.floor(random() * capacity * 3);
      const chunk = new Uint8Array(length);
      for (let index = 0; index < length; index++) chunk[index] = Math.floor(random() * 256);
      ring.write(chunk);
      naive.write(chunk);
      const expected = naive.contents();
      expect(ring.size, `size after step ${step}`).toBe(expected.length);
      if (!ring.contents().equals(expected)) expect.fail(`contents differ after step ${step} (chunk of ${length})`);
    }
    expect(ring.size).toBe(capacity);
  });
});
