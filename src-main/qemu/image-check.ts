import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { HangarError } from '../../src-shared/errors';

// Whether a file a person chose to import is a disk image Hangar may copy into a VM, and in
// which format. An image can name other files: a qcow2 backing file or external data file,
// a VMDK extent or parent. qemu-img follows those names, so a hostile image would copy
// ~/.ssh/id_ed25519 (or any file the user can read) into the guest's disk. So the format is
// decided here from the file's own bytes, never by qemu-img's guess, and an image that
// names any file but itself is refused, both from its header and from qemu-img's answer.

export const IMPORT_FORMATS = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhdx', 'vpc'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** How people know the formats, for sentences. */
const FORMAT_NAMES: Record<ImportFormat, string> = { qcow2: 'qcow2', raw: 'raw', vmdk: 'VMDK', vdi: 'VDI', vhdx: 'VHDX', vpc: 'VHD' };

/** The one rule for files without a signature: a raw disk only by name and by whole sectors. */
const RAW_NAME = /\.(img|raw)$/i;
const SECTOR = 512;
/** Enough for every signature and header field read below (a VMDK descriptor's first lines included). */
const HEAD_BYTES = 4096;
const MAX_NAME_SHOWN = 200;

const WHAT_TO_DO = 'Hangar imports only images that hold all their data themselves. If you made this image and trust the files it names, make a standalone copy with qemu-img convert and import that.';

export type Probe = { kind: 'image'; format: Exclude<ImportFormat, 'raw'> } | { kind: 'vmdk-descriptor' } | { kind: 'unknown' };

/**
 * The format a file's own bytes declare: `head` is its start, `tail` its last 512 bytes.
 * The same signatures qemu probes for, limited to the formats Hangar imports.
 */
export function probeFormat(head: Buffer, tail: Buffer): Probe {
  const ascii = (from: number, to: number): string => head.subarray(from, to).toString('latin1');
  if (ascii(0, 4) === 'QFI\xfb') return { kind: 'image', format: 'qcow2' };
  if (ascii(0, 4) === 'KDMV') return { kind: 'image', format: 'vmdk' };
  if (ascii(0, 8) === 'vhdxfile') return { kind: 'image', format: 'vhdx' };
  if (ascii(0, 8) === 'conectix' || tail.subarray(0, 8).toString('latin1') === 'conectix') return { kind: 'image', format: 'vpc' };
  if (head.length >= 0x44 && head.readUInt32LE(0x40) === 0xbeda107f) return { kind: 'image', format: 'vdi' };
  if (isVmdkDescriptor(head)) return { kind: 'vmdk-descriptor' };
  return { kind: 'unknown' };
}

/** A text VMDK descriptor, as qemu recognises one: after comments and blank lines, a "version=N" line. */
function isVmdkDescriptor(head: Buffer): boolean {
  const text = head.toString('latin1');
  if (text.startsWith('# Disk DescriptorFile')) return true;
  for (const line of text.split('\n')) {
    const trimmed = line.replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    return /^version=[1-3]$/.test(trimmed);
  }
  return false;
}

/** What a qcow2 header says about other files: a backing file (its name's place) or an external data file. */
export function qcow2References(head: Buffer): { backing: { offset: number; length: number } | null; externalData: boolean } {
  const offset = head.length >= 20 ? Number(head.readBigUInt64BE(8)) : 0;
  const length = head.length >= 20 ? head.readUInt32BE(16) : 0;
  const version = head.length >= 8 ? head.readUInt32BE(4) : 0;
  // Version 3 headers carry incompatible feature bits at byte 72; bit 2 is "external data file".
  const externalData = version >= 3 && head.length >= 80 && (head.readBigUInt64BE(72) & 4n) !== 0n;
  return { backing: offset !== 0 ? { offset, length: Math.min(length, 1023) } : null, externalData };
}

const shown = (name: string): string => name.replace(/\p{Cc}/gu, '?').slice(0, MAX_NAME_SHOWN);

export function unsafeImage(file: string, format: ImportFormat, what: string, files: 'that file' | 'those files' = 'that file'): HangarError {
  return new HangarError('UNSAFE_DISK_IMAGE', `${file} is a ${FORMAT_NAMES[format]} image that reads ${what}, so importing it would copy ${files} into the VM. ${WHAT_TO_DO}`);
}

function notAnImage(file: string, why: string): HangarError {
  return new HangarError('NOT_A_DISK_IMAGE', `${file} ${why}`);
}

function typeOf(stats: Stats): string {
  if (stats.isBlockDevice()) return 'a block device (a whole drive or partition)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Refuses anything that is not a regular, non-empty file. */
function checkKind(file: string, stats: Stats): void {
  if (stats.isDirectory()) throw notAnImage(file, 'is a folder, not a disk image. Choose the image file inside it.');
  if (!stats.isFile()) throw notAnImage(file, `is ${typeOf(stats)}, not a disk image file. Hangar imports image files only (qcow2, raw, VMDK, VDI, VHDX, VHD).`);
  if (stats.size === 0) throw notAnImage(file, 'is empty, so it holds no disk. Choose the image file itself.');
}

/** A file-system call on the chosen image, its failure said in words. */
async function onImage<T>(file: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') throw new HangarError('DISK_NOT_FOUND', `The disk ${file} does not exist.`);
    if (code === 'EACCES' || code === 'EPERM') throw new HangarError('NO_PERMISSION', `Hangar may not read ${file}. Give your user read access to it, or choose another image.`);
    throw error;
  }
}

export interface IdentifiedImage {
  /** The real path (links resolved), the name qemu-img is given and reports extents under. */
  path: string;
  format: ImportFormat;
  sizeBytes: number;
}

/**
 * Decides an import's format from the file itself and refuses, before qemu-img ever opens
 * it: folders, devices, pipes, sockets, empty files, VMDK descriptors (text files that name
 * the files holding the data), qcow2 images with a backing file or an external data file,
 * and files with no signature unless they are raw disks by the rule above.
 */
export async function identifyImage(file: string): Promise<IdentifiedImage> {
  const real = await onImage(file, () => fs.realpath(file));
  checkKind(file, await onImage(file, () => fs.stat(real)));
  // O_NONBLOCK: should a pipe take the file's place meanwhile, opening it must not hang.
  const handle = await onImage(file, () => fs.open(real, constants.O_RDONLY | constants.O_NONBLOCK));
  try {
    const stats = await handle.stat();
    checkKind(file, stats);
    const head = Buffer.alloc(Math.min(HEAD_BYTES, stats.size));
    await handle.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(SECTOR, stats.size));
    await handle.read(tail, 0, tail.length, stats.size - tail.length);
    const probe = probeFormat(head, tail);
    if (probe.kind === 'vmdk-descriptor') {
      throw new HangarError('UNSAFE_DISK_IMAGE', `${file} is a VMDK descriptor: a text file that names other files holding the disk's data, so importing it would copy whatever files it names into the VM. Hangar imports single-file VMDK images (monolithicSparse or streamOptimized, as VMware and VirtualBox export them). If you trust the files it names, make a single-file copy with qemu-img convert and import that.`);
    }
    if (probe.kind === 'image') {
      if (probe.format === 'qcow2') {
        const refs = qcow2References(head);
        if (refs.backing) {
          const name = Buffer.alloc(refs.backing.length);
          await handle.read(name, 0, name.length, refs.backing.offset);
          const named = name.toString('utf8').replace(/\0.*$/s, '');
          throw unsafeImage(file, 'qcow2', named ? `another file (its backing file ${shown(named)})` : 'another file (a backing file)');
        }
        if (refs.externalData) throw unsafeImage(file, 'qcow2', 'its data from another file (an external data file)');
      }
      return { path: real, format: probe.format, sizeBytes: stats.size };
    }
    if (RAW_NAME.test(real) && stats.size % SECTOR === 0) return { path: real, format: 'raw', sizeBytes: stats.size };
    throw notAnImage(
      file,
      `is not a disk image Hangar can import: it has no qcow2, VMDK, VDI, VHDX or VHD signature, and Hangar takes a file as a raw disk only when its name ends in .img or .raw and its size is a whole number of ${SECTOR}-byte sectors. Choose the disk image itself.`,
    );
  } finally {
    await handle.close();
  }
}

/** The parts of `qemu-img info --output=json` that matter for an import; other fields pass unread. */
const ImageInfoJson = z.object({
  format: z.string(),
  'virtual-size': z.number().int().nonnegative(),
  'actual-size': z.number().int().nonnegative().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'format-specific': z
    .object({
      type: z.string(),
      data: z
        .object({
          'data-file': z.string().optional(),
          extents: z.array(z.object({ filename: z.string() })).optional(),
        })
        .optional(),
    })
    .optional(),
});

export interface CheckedInfo {
  virtualSize: number;
  actualSize: number;
}

/**
 * Judges qemu-img's own reading of an identified image (opened with -f `format`): it must be
 * that format and name no other file: no backing file, no external data file, no VMDK
 * extent but the image itself.
 */
export function judgeImageInfo(raw: unknown, image: { path: string; format: ImportFormat }, file = image.path): CheckedInfo {
  const parsed = ImageInfoJson.safeParse(raw);
  if (!parsed.success) throw new HangarError('DISK_FAILED', `qemu-img's description of ${file} is not what Hangar expects, so Hangar does not import it.`);
  const info = parsed.data;
  if (info.format !== image.format) throw notAnImage(file, `was read by qemu-img as ${info.format}, not as the ${FORMAT_NAMES[image.format]} image it looks like, so Hangar does not import it.`);
  const backing = info['full-backing-filename'] ?? info['backing-filename'];
  if (backing !== undefined) throw unsafeImage(file, image.format, `another file (its backing file ${shown(backing)})`);
  const data = info['format-specific']?.data;
  if (data?.['data-file'] !== undefined) throw unsafeImage(file, image.format, `its data from another file (an external data file, ${shown(data['data-file'])})`);
  const others = (data?.extents ?? []).map((extent) => extent.filename).filter((name) => path.resolve(path.dirname(image.path), name) !== image.path);
  if (others.length > 0) throw unsafeImage(file, image.format, `its data from other files (${others.map(shown).join(', ')})`, 'those files');
  return { virtualSize: info['virtual-size'], actualSize: info['actual-size'] ?? 0 };
}
