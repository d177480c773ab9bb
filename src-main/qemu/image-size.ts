import { promises as fs } from 'node:fs';
import type { DiskFormat } from '../../src-shared/devices';

// A disk image's sizes without starting qemu-img: the size the guest sees (for qcow2, from
// its header; for raw, the file's length) and what it takes on the host's disk. Cheap
// enough to show with every look at a VM.

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

export interface ImageSizes {
  virtualBytes: number | null;
  allocatedBytes: number | null;
}

export async function imageSizes(file: string, format: DiskFormat): Promise<ImageSizes> {
  const stats = await fs.stat(file).catch(() => null);
  if (!stats?.isFile()) return { virtualBytes: null, allocatedBytes: null };
  const allocatedBytes = stats.blocks * 512;
  if (format === 'raw') return { virtualBytes: stats.size, allocatedBytes };
  const handle = await fs.open(file, 'r').catch(() => null);
  if (!handle) return { virtualBytes: null, allocatedBytes };
  try {
    const header = Buffer.alloc(32);
    const { bytesRead } = await handle.read(header, 0, 32, 0);
    if (bytesRead < 32 || header.readUInt32BE(0) !== QCOW2_MAGIC) return { virtualBytes: null, allocatedBytes };
    const size = header.readBigUInt64BE(24);
    return { virtualBytes: size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : null, allocatedBytes };
  } finally {
    await handle.close();
  }
}
