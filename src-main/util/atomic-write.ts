import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * The one way Hangar writes a file it cannot afford to lose: to a temporary file beside it,
 * flushed to disk, then renamed over the old one, so a crash or a full disk leaves either
 * the old content or the new, never half of each.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  // Unique per call: writers of one file at once must never share (or delete) a temp file.
  const temp = path.join(dir, `.${path.basename(file)}.${randomUUID()}.tmp`);
  let handle: fs.FileHandle | undefined;
  let created = false;
  try {
    handle = await fs.open(temp, 'wx', mode);
    created = true;
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, file);
  } catch (error) {
    await handle?.close().catch(() => {});
    if (created) await fs.rm(temp, { force: true }).catch(() => {});
    throw error;
  }
  // The rename itself is only durable once the folder is flushed.
  const dirHandle = await fs.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
