import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

// A picture of a VM's screen: QMP `screendump` (PNG since QEMU 7.1) into the VM's private
// run folder, read back and removed. QEMU creates the file 0666 minus umask, so Hangar
// makes it first with 0600 and QEMU only truncates and fills it.

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } | null {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : null;
}

export interface ScreendumpTarget {
  /** Sends QMP screendump (through the VM's keeper). */
  screendump(args: { filename: string; format: 'png' }): Promise<unknown>;
}

export async function takeScreenshot(target: ScreendumpTarget, runDir: string): Promise<{ png: Buffer; width: number; height: number }> {
  // A name of its own per call: two screenshots at once never share a file.
  const file = path.join(runDir, `screenshot-${randomBytes(8).toString('hex')}.png`);
  await (await fs.open(file, 'wx', 0o600)).close();
  try {
    await target.screendump({ filename: file, format: 'png' });
    const png = await fs.readFile(file);
    const size = pngSize(png);
    if (!size) throw new Error('QEMU wrote something that is not a PNG picture.');
    return { png, ...size };
  } finally {
    await fs.rm(file, { force: true });
  }
}
