import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { VM_FILE_NAMES } from '../vms/layout';

// What a VM's serial port printed, as kept in its folder: serial.log, and serial.log.1, the
// one older file the log is rotated into when it reaches its cap. Only the end is ever read
// (a log may be megabytes; a person wants its last screens), and never the whole file.

export const SERIAL_LOG = VM_FILE_NAMES.serialLog;
export const SERIAL_LOG_OLDER = VM_FILE_NAMES.serialLogOld;
/** As much as the keeper's scrollback holds, so a stopped VM's console shows what a running one did. */
export const SERIAL_LOG_TAIL_BYTES = 256 * 1024;

export interface SerialLogTail {
  data: Buffer;
  /** Older output exists than `data` holds. */
  truncated: boolean;
}

/** The last `maxBytes` of the VM's serial output: the end of serial.log, after the end of serial.log.1 when serial.log holds less. */
export async function readSerialLogTail(vmDir: string, maxBytes = SERIAL_LOG_TAIL_BYTES): Promise<SerialLogTail> {
  // One byte more than the tail, to tell whether the cut falls at the start of a line.
  const budget = maxBytes + 1;
  const newer = await readTail(path.join(vmDir, SERIAL_LOG), budget);
  const older = await readTail(path.join(vmDir, SERIAL_LOG_OLDER), budget - newer.data.length);
  const data = older.data.length > 0 ? Buffer.concat([older.data, newer.data]) : newer.data;
  if (newer.size + older.size <= maxBytes) return { data, truncated: false };
  // A cut mid-line may fall inside a character or an escape sequence: begin at the next line.
  const newline = data.indexOf(0x0a);
  return { data: newline >= 0 ? data.subarray(newline + 1) : data.subarray(data.length - maxBytes), truncated: true };
}

/** The last `maxBytes` of a file (none when it does not exist), and the file's size. */
async function readTail(file: string, maxBytes: number): Promise<{ data: Buffer; size: number }> {
  let handle: fs.FileHandle;
  try {
    // No links, and no waiting on a FIFO someone put there: only a plain file is a log.
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { data: Buffer.alloc(0), size: 0 };
    throw refusal(file, code);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refusal(file, 'ELOOP');
    const length = Math.max(0, Math.min(maxBytes, stat.size));
    const data = Buffer.alloc(length);
    let filled = 0;
    // The log may be written meanwhile (a running VM): read what was there when we looked.
    while (filled < length) {
      const { bytesRead } = await handle.read(data, filled, length - filled, stat.size - length + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { data: data.subarray(0, filled), size: stat.size };
  } catch (error) {
    if (error instanceof HangarError) throw error;
    throw refusal(file, (error as NodeJS.ErrnoException).code);
  } finally {
    await handle.close();
  }
}

function refusal(file: string, code: string | undefined): HangarError {
  if (code === 'EACCES' || code === 'EPERM') return new HangarError('NO_PERMISSION', `Hangar may not read ${file}. Give your user read access to it (it is the VM's serial log).`);
  if (code === 'ELOOP') return new HangarError('NO_PERMISSION', `${file} is not a plain file (a link, a folder or a device), so Hangar does not read it as the VM's serial log. Remove it: the VM writes a new log when it next runs.`);
  return new HangarError('INTERNAL', `The VM's serial log ${file} cannot be read (${code ?? 'unknown error'}). Check the disk it is on.`);
}
