import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pngSize } from '../../../src-main/qemu/screendump';

// The size of a screenshot comes from its PNG header; anything else QEMU might leave in
// the file (an empty file, a PPM from an older QEMU) is refused.

function crcTable(): number[] {
  return Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
}
const CRC = crcTable();
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
/** A real grey PNG of the given size. */
function png(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let row = 0; row < height; row++) rows[row * (width + 1)] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

describe('pngSize', () => {
  it.each([
    [720, 400],
    [1024, 768],
    [1, 1],
  ])('reads %i×%i from the header', (width, height) => {
    expect(pngSize(png(width, height))).toEqual({ width, height });
  });

  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['a PPM', Buffer.from('P6\n720 400\n255\n' + '\0'.repeat(64), 'latin1')],
    ['a cut-off PNG', png(720, 400).subarray(0, 20)],
    ['a PNG of zero width', (() => {
      const bytes = png(1, 1);
      bytes.writeUInt32BE(0, 16);
      return bytes;
    })()],
  ])('refuses %s', (_name, bytes) => {
    expect(pngSize(bytes)).toBeNull();
  });
});
