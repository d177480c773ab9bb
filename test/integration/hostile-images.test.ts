import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { runProgram } from '../../src-main/util/run';
import { call, makeSandbox, type Sandbox } from '../support/engine';
import { hangarBin } from '../support/paths';
import { refusal } from '../support/refusal';

// Disk images that name host files (issue 9): a qcow2 whose backing file or external data
// file is the user's private key, a VMDK whose extent or parent is. Each is built here with
// the real qemu-img (or written by hand as a VMDK descriptor), imported through the real
// service and the built CLI, and must be refused with nothing of the key in the library.
// Devices, folders, pipes and text files are no disk images either; good images still import.

const QEMU_IMG = '/usr/bin/qemu-img';
const MiB = 1024 * 1024;

let sandbox: Sandbox;
let service: HangarService;
let images: string;
let library: string;
let secret: string;
let marker: string;

beforeAll(async () => {
  sandbox = await makeSandbox('hangar-hostile-');
  service = sandbox.service();
  library = sandbox.env.HANGAR_HOME as string;
  images = path.join(sandbox.root, 'downloads');
  await fs.mkdir(images);
  // A stand-in for ~/.ssh/id_ed25519: what must never reach a guest.
  marker = `HANGAR-SECRET-${randomBytes(16).toString('hex')}`;
  await fs.mkdir(path.join(sandbox.root, 'home', '.ssh'), { recursive: true, mode: 0o700 });
  secret = path.join(sandbox.root, 'home', '.ssh', 'id_ed25519');
  await fs.writeFile(secret, `-----BEGIN OPENSSH PRIVATE KEY-----\n${marker}\n${randomBytes(300).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`, { mode: 0o600 });
});

afterAll(async () => {
  await sandbox.cleanup();
});

// Each case starts from an empty library, so one leak cannot hide or fail another case.
afterEach(async () => {
  await fs.rm(path.join(library, 'vms'), { recursive: true, force: true });
});

async function qemuImg(...args: string[]): Promise<void> {
  const result = await runProgram(QEMU_IMG, args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`qemu-img ${args.join(' ')} failed: ${result.stderr}`);
}

let imports = 0;
const importDisk = (file: string, name = `Hostile ${++imports}`) => call(service, 'createVm', { name, iso: null, importDisk: file, memoryMiB: 128, cpus: 1 });

/** Every regular file under `dir`, however deep. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : entry.isFile() ? [path.join(dir, entry.name)] : [])));
  return nested.flat();
}

/** The library's files that hold the key's marker: must always be none. */
async function filesWithSecret(): Promise<string[]> {
  const holding: string[] = [];
  for (const file of await filesUnder(library)) if ((await fs.readFile(file)).includes(marker)) holding.push(file);
  return holding;
}

const vmFolders = (): Promise<string[]> => fs.readdir(path.join(library, 'vms')).catch(() => []);

/** Imports `file`, expects a refusal with `code` and `words`, and checks nothing was left. */
async function expectRefused(file: string, code: string, words: string): Promise<void> {
  const error = await refusal(importDisk(file));
  expect(error.code).toBe(code);
  expect(error.message).toContain(words);
  expect(await vmFolders()).toEqual([]);
  expect(await call(service, 'listVms', {})).toEqual([]);
  expect(await filesWithSecret()).toEqual([]);
}

/** Patches a qcow2 header extension's type so qemu no longer sees it (as an older tool's image would lack it). */
async function dropQcow2Extension(file: string, type: number): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    const header = Buffer.alloc(4096);
    await handle.read(header, 0, header.length, 0);
    let offset = header.readUInt32BE(100); // header_length: extensions follow it
    for (let extension = header.readUInt32BE(offset); extension !== 0; extension = header.readUInt32BE(offset)) {
      if (extension === type) {
        const unknown = Buffer.alloc(4);
        unknown.writeUInt32BE(0x68616e67); // an unknown extension, which qemu skips
        await handle.write(unknown, 0, 4, offset);
        return;
      }
      offset += 8 + Math.ceil(header.readUInt32BE(offset + 4) / 8) * 8;
    }
    throw new Error(`${file} has no header extension ${type.toString(16)}`);
  } finally {
    await handle.close();
  }
}

/** A single-file (sparse) VMDK made by qemu-img, with `from` replaced by `to` in its embedded descriptor. */
async function sparseVmdkEditing(name: string, from: string, to: string): Promise<string> {
  const file = path.join(images, name);
  await qemuImg('create', '-q', '-f', 'vmdk', file, String(MiB));
  const bytes = await fs.readFile(file);
  // The descriptor is text in zero-padded sectors (10 KiB of them): room for a longer one.
  const start = bytes.indexOf('# Disk DescriptorFile');
  const end = bytes.indexOf(0, start);
  const text = bytes.subarray(start, end).toString('latin1');
  expect(text).toContain(from);
  bytes.fill(0, start, end);
  bytes.write(text.replace(from, to), start, 'latin1');
  await fs.writeFile(file, bytes);
  return file;
}

function descriptor(extent: string): string {
  return ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe', 'parentCID=ffffffff', 'createType="monolithicFlat"', '', `RW 2048 FLAT "${extent}" 0`, '', 'ddb.adapterType = "ide"', ''].join('\n');
}

describe('hostile images are refused, and nothing of the host file reaches the library', () => {
  it('a qcow2 whose backing file is the key, with a backing format', async () => {
    const file = path.join(images, 'backed.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', file, String(MiB));
    await expectRefused(file, 'UNSAFE_DISK_IMAGE', `${file} is a qcow2 image that reads another file (its backing file ${secret}), so importing it would copy that file into the VM.`);
  });

  it('a qcow2 whose backing file is the key, without a backing format (qemu would probe it)', async () => {
    const file = path.join(images, 'backed-unknown.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', file, String(MiB));
    await dropQcow2Extension(file, 0xe2792aca);
    const probed = JSON.parse(spawnSync(QEMU_IMG, ['info', '--output=json', '-U', file], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
    expect(probed['backing-filename-format']).toBeUndefined();
    await expectRefused(file, 'UNSAFE_DISK_IMAGE', `(its backing file ${secret})`);
  });

  it('a qcow2 whose external data file is the key', async () => {
    const file = path.join(images, 'external.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${path.join(images, 'external.data')},data_file_raw=on`, file, String(MiB));
    await qemuImg('amend', '-f', 'qcow2', '-o', `data_file=${secret}`, file);
    await expectRefused(file, 'UNSAFE_DISK_IMAGE', 'is a qcow2 image that reads its data from another file (an external data file)');
    await expect(fs.readFile(secret, 'utf8')).resolves.toContain(marker);
  });

  it('a VMDK descriptor whose FLAT extent is the key', async () => {
    const file = path.join(images, 'appliance.vmdk');
    await fs.writeFile(file, descriptor(secret));
    await expectRefused(file, 'UNSAFE_DISK_IMAGE', `${file} is a VMDK descriptor: a text file that names other files holding the disk's data`);
  });

  it('a VMDK descriptor whose extent is the descriptor itself: refused too, as every descriptor is', async () => {
    // Harmless in itself (the guest would see the text), but a descriptor is a list of file
    // names, and Hangar imports images, not lists: one rule with no exceptions to get wrong.
    const file = path.join(images, 'itself.vmdk');
    await fs.writeFile(file, descriptor('itself.vmdk'));
    await expectRefused(file, 'UNSAFE_DISK_IMAGE', 'is a VMDK descriptor');
  });

  it('a single-file VMDK whose descriptor names the key as its parent (found in qemu-img info)', async () => {
    const file = await sparseVmdkEditing('delta.vmdk', 'parentCID=ffffffff\n', `parentCID=12345678\nparentFileNameHint="${secret}"\n`);
    await expectRefused(file, 'UNSAFE_DISK_IMAGE', `${file} is a VMDK image that reads another file (its backing file ${secret})`);
  });

  it('/dev/zero, a block device, a folder, a named pipe and an empty file', async () => {
    await expectRefused('/dev/zero', 'NOT_A_DISK_IMAGE', '/dev/zero is a character device, not a disk image file.');
    const block = readdirSync('/dev')
      .map((name) => path.join('/dev', name))
      .find((device) => statSync(device, { throwIfNoEntry: false })?.isBlockDevice());
    expect(block, 'this machine has no block device in /dev to try').toBeDefined();
    await expectRefused(block as string, 'NOT_A_DISK_IMAGE', `${block as string} is a block device (a whole drive or partition), not a disk image file.`);
    await expectRefused(images, 'NOT_A_DISK_IMAGE', `${images} is a folder, not a disk image. Choose the image file inside it.`);
    const fifo = path.join(images, 'disk.img');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await expectRefused(fifo, 'NOT_A_DISK_IMAGE', `${fifo} is a named pipe, not a disk image file.`);
    await fs.rm(fifo);
    const empty = path.join(images, 'empty.img');
    await fs.writeFile(empty, '');
    await expectRefused(empty, 'NOT_A_DISK_IMAGE', `${empty} is empty, so it holds no disk.`);
  });

  it('text files: /etc/hostname, the key itself, and a key linked as "disk.img"', async () => {
    const noImage = 'is not a disk image Hangar can import: it has no qcow2, VMDK, VDI, VHDX or VHD signature, and Hangar takes a file as a raw disk only when its name ends in .img or .raw and its size is a whole number of 512-byte sectors.';
    await expectRefused('/etc/hostname', 'NOT_A_DISK_IMAGE', `/etc/hostname ${noImage}`);
    await expectRefused(secret, 'NOT_A_DISK_IMAGE', `${secret} ${noImage}`);
    // The rule reads the real file's name, not the link's.
    const link = path.join(images, 'disk.img');
    await fs.symlink(secret, link);
    await expectRefused(link, 'NOT_A_DISK_IMAGE', `${link} ${noImage}`);
  });

  it('a missing image', async () => {
    await expectRefused(path.join(images, 'missing.qcow2'), 'DISK_NOT_FOUND', `The disk ${path.join(images, 'missing.qcow2')} does not exist.`);
  });

  it('the built CLI refuses a hostile image too, in words, with exit code 1', async () => {
    const file = path.join(images, 'cli.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', file, String(MiB));
    const result = spawnSync(process.execPath, [hangarBin, 'disk', 'import', file, '--name', 'From CLI'], { env: sandbox.env, encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${file} is a qcow2 image that reads another file (its backing file ${secret}), so importing it would copy that file into the VM.`);
    const device = spawnSync(process.execPath, [hangarBin, 'disk', 'import', '/dev/zero', '--name', 'From CLI'], { env: sandbox.env, encoding: 'utf8', timeout: 120_000 });
    expect(device.status).toBe(1);
    expect(device.stderr).toContain('/dev/zero is a character device, not a disk image file.');
    expect(await vmFolders()).toEqual([]);
    expect(await filesWithSecret()).toEqual([]);
  });
});

describe('good images still import', () => {
  /** Imports, checks the VM's disk holds the same guest-visible bytes, then deletes the VM. */
  async function importsFaithfully(source: string, name: string): Promise<void> {
    const summary = await importDisk(source, name);
    const disk = path.join(library, 'vms', summary.id, 'disk-0.qcow2');
    const compare = await runProgram(QEMU_IMG, ['compare', source, disk], { timeoutMs: 120_000 });
    expect(compare.code, compare.stdout + compare.stderr).toBe(0);
    expect(await filesWithSecret()).toEqual([]);
    await call(service, 'deleteVm', { vm: summary.id });
  }

  async function rawWithData(file: string): Promise<void> {
    const data = Buffer.alloc(4 * MiB);
    randomBytes(MiB).copy(data, MiB);
    await fs.writeFile(file, data);
  }

  it.each(['qcow2', 'vmdk', 'vdi', 'vhdx', 'vpc'])('a %s image holding data', async (format) => {
    const raw = path.join(images, `data-${format}.raw`);
    await rawWithData(raw);
    const source = path.join(images, `good.${format}`);
    await qemuImg('convert', '-q', '-f', 'raw', '-O', format, raw, source);
    await importsFaithfully(source, `Good ${format}`);
  });

  it('a raw disk named .img, and one named .raw', async () => {
    const img = path.join(images, 'usb-stick.img');
    await rawWithData(img);
    await importsFaithfully(img, 'Good img');
    const raw = path.join(images, 'disk.RAW');
    await rawWithData(raw);
    await importsFaithfully(raw, 'Good raw');
  });

  it('a single-file VMDK whose embedded descriptor names the key as an extent: qemu reads it as itself only', async () => {
    const file = await sparseVmdkEditing('embedded.vmdk', 'RW 2048 SPARSE "embedded.vmdk"', `RW 2048 FLAT "${secret}" 0`);
    await importsFaithfully(file, 'Embedded');
  });
});
