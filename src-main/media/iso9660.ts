import { constants, promises as fs } from 'node:fs';
import { HangarError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';

// ISO 9660 (ECMA-119), read just far enough to tell what an image installs: the volume
// descriptors, the El Torito boot catalog and the folder tree, with Rock Ridge or Joliet names
// when the image has them. Every position and length taken from the image is checked before it
// is used and the total read is capped, so a damaged or hostile image ends in a HangarError,
// never in a hang or a huge allocation.

export const SECTOR_BYTES = 2048;
const FIRST_DESCRIPTOR_SECTOR = 16;
const MAX_DESCRIPTORS = 64;
/** Real folders are at most a few hundred KiB; Debian's biggest pool folder is well under 1 MiB. */
const MAX_FOLDER_BYTES = 8 * 1024 * 1024;
/** All metadata one image may make us read: far above what detection needs, far below harm. */
const MAX_TOTAL_READ_BYTES = 64 * 1024 * 1024;
const MAX_PATH_DEPTH = 32;
const MAX_CATALOG_SECTORS = 4;
const MAX_CONTINUATIONS = 8;

/** Random access to the bytes of an image: a file, or memory in tests. */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

/** Opens a file for reading as an image; refuses folders, devices and pipes in words. */
export async function fileByteSource(file: string): Promise<FileByteSource> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a named pipe must not wait for a writer; regular files ignore it.
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(file, error);
  }
  let size: number;
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw folderError(file);
    if (!stat.isFile()) throw new HangarError('NOT_AN_ISO', `${file} is not a regular file (it is a device, a pipe or a socket), so it cannot be an ISO image.`);
    size = stat.size;
  } catch (error) {
    await handle.close();
    throw error instanceof HangarError ? error : openError(file, error);
  }
  return {
    size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      let filled = 0;
      try {
        while (filled < buffer.length) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, offset + filled);
          if (bytesRead === 0) break; // the file shrank while we read it
          filled += bytesRead;
        }
      } catch (error) {
        throw openError(file, error);
      }
      return buffer.subarray(0, filled);
    },
    close: () => handle.close(),
  };
}

function openError(file: string, error: unknown): HangarError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  if (code === 'ENOENT' || code === 'ENOTDIR') return new HangarError('ISO_NOT_FOUND', `The ISO ${file} does not exist. Choose another one.`);
  if (code === 'EISDIR') return folderError(file);
  if (code === 'EACCES' || code === 'EPERM') {
    return new HangarError('ISO_UNREADABLE', `Hangar may not read the ISO ${file} (permission denied). Allow your user to read it, or copy it to a folder of your own.`);
  }
  if (code === 'EIO') return new HangarError('ISO_UNREADABLE', `The ISO ${file} cannot be read: the disk or medium holding it reported an input/output error.`);
  return new HangarError('ISO_UNREADABLE', `The ISO ${file} cannot be read (${code}).`);
}

function folderError(file: string): HangarError {
  return new HangarError('NOT_AN_ISO', `${file} is a folder, not an ISO image. Choose the .iso file inside it.`);
}

/** An image held in memory. */
export function memoryByteSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)) };
}

export interface PrimaryVolume {
  systemId: string;
  volumeId: string;
  volumeSetId: string;
  publisher: string;
  dataPreparer: string;
  applicationId: string;
  /** The image's size in sectors, as the image states it. */
  volumeSectors: number;
}

export type BootPlatform = 'bios' | 'efi' | 'ppc' | 'mac' | 'unknown';

export interface BootEntry {
  platform: BootPlatform;
  bootable: boolean;
  mediaType: 'no-emulation' | 'floppy' | 'hard-disk' | 'unknown';
  /** First sector of the boot image. */
  loadSector: number;
  /** Length of the boot image in 512-byte units, as the catalog states it. */
  sectorCount: number;
}

/** Where the names in the folder tree come from. */
export type NameSource = 'rock-ridge' | 'joliet' | 'iso9660';

export interface IsoEntry {
  name: string;
  isDir: boolean;
  size: number;
  /** First sector of its data. */
  extent: number;
}

interface RootRef {
  extent: number;
  size: number;
  joliet: boolean;
}

export class IsoImage {
  private readBudget = MAX_TOTAL_READ_BYTES;
  private readonly folders = new Map<string, Promise<IsoEntry[]>>();
  private names: NameSource = 'iso9660';
  private suspSkip = 0;
  private root!: RootRef;
  /** The El Torito boot entries, or null when the image has no (valid) boot catalog. */
  bootEntries: readonly BootEntry[] | null = null;
  primary!: PrimaryVolume;

  private constructor(
    private readonly source: ByteSource,
    /** How the image is named in messages (its path). */
    private readonly label: string,
  ) {}

  /** Reads the volume descriptors and the boot catalog; refuses what is not an ISO 9660 image. */
  static async open(source: ByteSource, label: string): Promise<IsoImage> {
    const image = new IsoImage(source, label);
    await image.readDescriptors();
    return image;
  }

  get nameSource(): NameSource {
    return this.names;
  }

  /** The entries of a folder (without "." and ".."), or null when there is no such folder. */
  async listDir(path: string): Promise<IsoEntry[] | null> {
    const entry = await this.stat(path);
    return entry?.isDir ? this.readFolder(entry, path) : null;
  }

  /** The entry at a path (names compared case-insensitively), or null when there is none. */
  async stat(path: string): Promise<IsoEntry | null> {
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.length > MAX_PATH_DEPTH) return null;
    let current: IsoEntry = { name: '', isDir: true, size: this.root.size, extent: this.root.extent };
    let where = '';
    // A folder whose record points back at itself or a parent would make a path endless.
    const foldersOnPath = new Set([current.extent]);
    for (const part of parts) {
      if (!current.isDir) return null;
      const entries = await this.readFolder(current, where || '/');
      const wanted = part.toLowerCase();
      const found = entries.find((entry) => entry.name === part) ?? entries.find((entry) => entry.name.toLowerCase() === wanted);
      if (!found) return null;
      where += `/${found.name}`;
      if (found.isDir) {
        if (foldersOnPath.has(found.extent)) throw this.damaged(`the folder ${where} points back at one of the folders that hold it (a loop)`);
        foldersOnPath.add(found.extent);
      }
      current = found;
    }
    return current;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== null;
  }

  /** The first `maxBytes` of a file, or null when there is no such file. */
  async readFile(path: string, maxBytes: number): Promise<Uint8Array | null> {
    const entry = await this.stat(path);
    if (!entry || entry.isDir) return null;
    return this.bytes(entry.extent * SECTOR_BYTES, Math.min(entry.size, maxBytes), `the file ${path}`);
  }

  private damaged(detail: string): HangarError {
    return new HangarError('ISO_UNREADABLE', `The ISO ${this.label} is damaged or incomplete: ${detail}.`);
  }

  /** Exactly `length` bytes at `offset`, or an error naming `what` was being read. */
  private async bytes(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (length > this.readBudget) throw this.damaged(`reading ${what} would take Hangar past ${formatBytes(MAX_TOTAL_READ_BYTES)} of metadata (its folders may form a loop)`);
    if (offset + length > this.source.size) throw this.damaged(`${what} lies beyond the end of the file (was the download cut short?)`);
    this.readBudget -= length;
    const data = await this.source.read(offset, length);
    if (data.length < length) throw this.damaged(`${what} lies beyond the end of the file (was the download cut short?)`);
    return data;
  }

  private notIso(why: string): HangarError {
    return new HangarError('NOT_AN_ISO', `${this.label} is not an ISO image (a CD or DVD image file): ${why}. Choose the .iso file of the system you want to install.`);
  }

  private async readDescriptors(): Promise<void> {
    if (this.source.size === 0) throw this.notIso('the file is empty (if it is a download, it did not finish)');
    if (this.source.size < (FIRST_DESCRIPTOR_SECTOR + 1) * SECTOR_BYTES) {
      throw this.notIso(`it holds only ${formatBytes(this.source.size)}, less than where an ISO image begins (if it is a download, it was cut short)`);
    }
    let primary: Uint8Array | null = null;
    let joliet: Uint8Array | null = null;
    let bootCatalogSector: number | null = null;
    for (let index = 0; index < MAX_DESCRIPTORS; index++) {
      const offset = (FIRST_DESCRIPTOR_SECTOR + index) * SECTOR_BYTES;
      if (offset + SECTOR_BYTES > this.source.size) {
        if (index === 0) throw this.notIso('it has no ISO 9660 volume descriptor');
        throw this.damaged('its volume descriptors run past the end of the file (was the download cut short?)');
      }
      const descriptor = await this.bytes(offset, SECTOR_BYTES, 'a volume descriptor');
      const magic = latin1(descriptor.subarray(1, 6));
      if (magic !== 'CD001') {
        if (index === 0) throw this.notIso(magic === 'BEA01' ? 'it holds only a UDF file system, which Hangar cannot read' : 'it has no ISO 9660 volume descriptor');
        throw this.damaged(`volume descriptor ${index + 1} is not an ISO 9660 descriptor`);
      }
      const type = descriptor[0];
      if (type === 255) break;
      if (type === 1 && !primary) primary = descriptor;
      if (type === 2 && !joliet && isJolietEscape(descriptor.subarray(88, 91))) joliet = descriptor;
      if (type === 0 && latin1(descriptor.subarray(7, 39)).replace(/\0+$/, '') === 'EL TORITO SPECIFICATION') bootCatalogSector = le32(descriptor, 71);
      if (index === MAX_DESCRIPTORS - 1) throw this.damaged(`it has more than ${MAX_DESCRIPTORS} volume descriptors and no terminator`);
    }
    if (!primary) throw this.notIso('it has no primary volume descriptor');
    const blockSize = le16(primary, 128);
    if (blockSize !== SECTOR_BYTES) throw this.damaged(`it uses ${blockSize}-byte blocks, and Hangar reads only 2048-byte ones`);

    this.primary = {
      systemId: text(primary, 8, 32),
      volumeId: text(primary, 40, 32),
      volumeSetId: text(primary, 190, 128),
      publisher: text(primary, 318, 128),
      dataPreparer: text(primary, 446, 128),
      applicationId: text(primary, 574, 128),
      volumeSectors: le32(primary, 80),
    };
    const stated = this.primary.volumeSectors * SECTOR_BYTES;
    if (stated > this.source.size) {
      throw this.damaged(`the image says it is ${formatBytes(stated)} but the file holds only ${formatBytes(this.source.size)} (was the download cut short?)`);
    }

    const primaryRoot = this.rootRecord(primary, false);
    if (await this.hasRockRidge(primaryRoot)) {
      this.names = 'rock-ridge';
      this.root = primaryRoot;
    } else if (joliet) {
      this.names = 'joliet';
      this.root = this.rootRecord(joliet, true);
    } else {
      this.root = primaryRoot;
    }
    if (bootCatalogSector !== null) this.bootEntries = await this.readBootCatalog(bootCatalogSector);
  }

  private rootRecord(descriptor: Uint8Array, joliet: boolean): RootRef {
    const record = descriptor.subarray(156, 190);
    if (record[0] !== 34 || !((record[25] ?? 0) & 0x02)) throw this.damaged('the root folder record is malformed');
    return { extent: le32(record, 2) + (record[1] ?? 0), size: le32(record, 10), joliet };
  }

  /** Rock Ridge announces itself with a SUSP "SP" entry in the root folder's first record. */
  private async hasRockRidge(root: RootRef): Promise<boolean> {
    const sector = await this.bytes(root.extent * SECTOR_BYTES, Math.min(SECTOR_BYTES, Math.max(root.size, 34)), 'the root folder');
    const length = sector[0] ?? 0;
    const nameLength = sector[32] ?? 0;
    if (length < 34 || length > sector.length) throw this.damaged('the root folder is malformed');
    const start = 33 + nameLength + (nameLength % 2 === 0 ? 1 : 0);
    const area = sector.subarray(start, length);
    if (area.length >= 7 && area[0] === 0x53 && area[1] === 0x50 && area[4] === 0xbe && area[5] === 0xef) {
      this.suspSkip = area[6] ?? 0;
      return true;
    }
    return false;
  }

  private async readBootCatalog(sector: number): Promise<BootEntry[] | null> {
    const available = Math.floor(this.source.size / SECTOR_BYTES) - sector;
    if (sector <= 0 || available <= 0) throw this.damaged('its El Torito boot catalog lies beyond the end of the file');
    const catalog = await this.bytes(sector * SECTOR_BYTES, Math.min(available, MAX_CATALOG_SECTORS) * SECTOR_BYTES, 'the El Torito boot catalog');
    const validation = catalog.subarray(0, 32);
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + le16(validation, i)) & 0xffff;
    // A damaged catalog makes the image unbootable, not unreadable: report no boot entries.
    if (validation[0] !== 0x01 || validation[30] !== 0x55 || validation[31] !== 0xaa || sum !== 0) return null;

    const entries = [bootEntry(catalog.subarray(32, 64), validation[1] ?? 0)];
    let offset = 64;
    // Section headers: 0x90 (more follow) or 0x91 (last), each followed by its entries.
    while (offset + 32 <= catalog.length) {
      const header = catalog[offset];
      if (header !== 0x90 && header !== 0x91) break;
      const platform = catalog[offset + 1] ?? 0;
      let count = le16(catalog, offset + 2);
      offset += 32;
      while (count > 0 && offset + 32 <= catalog.length) {
        // 0x44: an extension of the entry before it, not an entry of its own.
        if (catalog[offset] !== 0x44) {
          entries.push(bootEntry(catalog.subarray(offset, offset + 32), platform));
          count--;
        }
        offset += 32;
      }
      if (header === 0x91) break;
    }
    return entries;
  }

  private readFolder(folder: IsoEntry, where: string): Promise<IsoEntry[]> {
    const key = `${folder.extent}:${folder.size}`;
    let pending = this.folders.get(key);
    if (!pending) {
      pending = this.parseFolder(folder, where);
      this.folders.set(key, pending);
    }
    return pending;
  }

  private async parseFolder(folder: IsoEntry, where: string): Promise<IsoEntry[]> {
    if (folder.size > MAX_FOLDER_BYTES) throw this.damaged(`the folder ${where} claims to hold ${formatBytes(folder.size)} of records`);
    const data = await this.bytes(folder.extent * SECTOR_BYTES, folder.size, `the folder ${where}`);
    const entries: IsoEntry[] = [];
    /** The record before said its file goes on in the next record (a file stored as several extents). */
    let fileContinues = false;
    let offset = 0;
    while (offset < data.length) {
      const length = data[offset] ?? 0;
      if (length === 0) {
        // Records never cross a sector boundary: the rest of this sector is padding.
        offset = (Math.floor(offset / SECTOR_BYTES) + 1) * SECTOR_BYTES;
        continue;
      }
      const nameLength = data[offset + 32] ?? 0;
      if (length < 34 || offset + length > data.length || nameLength === 0 || 33 + nameLength > length) {
        throw this.damaged(`a record in the folder ${where} is malformed`);
      }
      const record = data.subarray(offset, offset + length);
      offset += length;
      const rawName = record.subarray(33, 33 + nameLength);
      if (nameLength === 1 && (rawName[0] === 0 || rawName[0] === 1)) continue; // "." and ".."
      const flags = record[25] ?? 0;
      const isDir = (flags & 0x02) !== 0;
      let name: string | null = null;
      if (this.names === 'rock-ridge') {
        const systemUse = record.subarray(33 + nameLength + (nameLength % 2 === 0 ? 1 : 0) + this.suspSkip);
        const rock = await this.rockRidge(systemUse, where);
        if (rock.relocated) continue; // shown where its "CL" link points, which we do not follow
        name = rock.name;
      }
      name ??= this.root.joliet ? jolietName(rawName, isDir) : isoName(rawName, isDir);
      const entry: IsoEntry = { name, isDir, size: le32(record, 10), extent: le32(record, 2) + (record[1] ?? 0) };
      // A file over 4 GiB (a big install.wim) is stored as several extents: one record each, same name.
      const previous = entries.at(-1);
      if (fileContinues && previous?.name === name) previous.size += entry.size;
      else entries.push(entry);
      fileContinues = (flags & 0x80) !== 0;
    }
    return entries;
  }

  /** The Rock Ridge name (NM) in a record's system use area, following continuation areas (CE). */
  private async rockRidge(area: Uint8Array, where: string): Promise<{ name: string | null; relocated: boolean }> {
    const parts: Uint8Array[] = [];
    let relocated = false;
    let current: Uint8Array | null = area;
    for (let hops = 0; current; hops++) {
      let next: { sector: number; offset: number; length: number } | null = null;
      let offset = 0;
      while (offset + 4 <= current.length) {
        const signature = latin1(current.subarray(offset, offset + 2));
        const length = current[offset + 2] ?? 0;
        if (length < 4 || offset + length > current.length) break;
        if (signature === 'NM' && length >= 5) {
          // Flags 2 and 4 mean "." and "..": not a name.
          if (((current[offset + 4] ?? 0) & 0x06) === 0) parts.push(current.subarray(offset + 5, offset + length));
        } else if (signature === 'CE' && length >= 28) {
          next = { sector: le32(current, offset + 4), offset: le32(current, offset + 12), length: le32(current, offset + 20) };
        } else if (signature === 'RE') {
          relocated = true;
        } else if (signature === 'ST') {
          break;
        }
        offset += length;
      }
      if (!next) break;
      if (hops >= MAX_CONTINUATIONS || next.offset + next.length > SECTOR_BYTES) throw this.damaged(`the Rock Ridge data of a record in the folder ${where} is malformed`);
      current = await this.bytes(next.sector * SECTOR_BYTES + next.offset, next.length, `the Rock Ridge data of the folder ${where}`);
    }
    if (parts.length === 0) return { name: null, relocated };
    return { name: new TextDecoder().decode(Buffer.concat(parts)), relocated };
  }
}

function bootEntry(entry: Uint8Array, platformId: number): BootEntry {
  const media = (entry[1] ?? 0) & 0x0f;
  return {
    platform: platformId === 0 ? 'bios' : platformId === 0xef ? 'efi' : platformId === 1 ? 'ppc' : platformId === 2 ? 'mac' : 'unknown',
    bootable: entry[0] === 0x88,
    mediaType: media === 0 ? 'no-emulation' : media <= 3 ? 'floppy' : media === 4 ? 'hard-disk' : 'unknown',
    loadSector: le32(entry, 8),
    sectorCount: le16(entry, 6),
  };
}

/** Joliet's escape sequences: UCS-2 levels 1, 2 and 3. */
function isJolietEscape(bytes: Uint8Array): boolean {
  return bytes[0] === 0x25 && bytes[1] === 0x2f && (bytes[2] === 0x40 || bytes[2] === 0x43 || bytes[2] === 0x45);
}

/** "BOOTX64.EFI;1" -> "BOOTX64.EFI", "KERNEL.;1" -> "KERNEL". */
function isoName(raw: Uint8Array, isDir: boolean): string {
  const name = latin1(raw);
  return isDir ? name : name.replace(/;\d*$/, '').replace(/\.$/, '');
}

function jolietName(raw: Uint8Array, isDir: boolean): string {
  let name = '';
  for (let i = 0; i + 1 < raw.length; i += 2) name += String.fromCharCode(((raw[i] ?? 0) << 8) | (raw[i + 1] ?? 0));
  return isDir ? name : name.replace(/;\d*$/, '').replace(/\.$/, '');
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** A fixed-width text field: padded with spaces (or NULs), trimmed. */
function text(bytes: Uint8Array, offset: number, length: number): string {
  return latin1(bytes.subarray(offset, offset + length))
    .replace(/[\0 ]+$/, '')
    .trim();
}

function le16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8);
}

function le32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8) | ((bytes[offset + 2] ?? 0) << 16)) + (bytes[offset + 3] ?? 0) * 0x1000000;
}
