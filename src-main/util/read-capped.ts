import { promises as fs } from 'node:fs';

// The one way Hangar reads a small file it did not write this instant (vm.json, a run
// record, a lock): never more than its cap. A file over the cap is damage or malice, not
// data: a 300-million-character name in a hand-edited vm.json must not take the process
// (or every process that lists the library) down with it.

export class FileTooLarge extends Error {
  readonly code = 'EFBIG';
  constructor(
    readonly file: string,
    readonly maxBytes: number,
  ) {
    super(`${file} is larger than the ${maxBytes} bytes such a file can be.`);
  }
}

/** The caps of the files Hangar reads, by what they are. */
export const FILE_CAPS = {
  definition: 1024 * 1024,
  record: 1024 * 1024,
  lock: 4096,
} as const;

/** Reads a UTF-8 file of at most maxBytes; FileTooLarge past it, the usual errno errors otherwise. */
export async function readCapped(file: string, maxBytes: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new FileTooLarge(file, maxBytes);
    // One byte more than the cap, in case the file grew since stat.
    const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new FileTooLarge(file, maxBytes);
      if (length === buffer.length) break;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}
