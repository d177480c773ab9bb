import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoredFiles } from '../../../src-shared/storage';
import { VmLibrary } from '../../../src-main/vms/library';
import { listStoredFiles, removeStoredFile, type VmMedia } from '../../../src-main/vms/stored-files';
import { refusal } from '../../support/refusal';
import { sampleDraft } from './sample';

// The files Hangar keeps beside the VMs (uploaded ISOs, disks of deleted VMs), on a real
// library folder: listed with their sizes and users, removed one by one, nothing else ever.

let root: string;
let isoDir: string;
let keptDir: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-stored-'));
  isoDir = path.join(root, 'isos');
  keptDir = path.join(root, 'kept-disks');
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function storeIso(name: string, bytes: number): Promise<string> {
  await fs.mkdir(isoDir, { recursive: true, mode: 0o700 });
  const file = path.join(isoDir, name);
  await fs.writeFile(file, Buffer.alloc(bytes, 1), { mode: 0o600 });
  return file;
}

/** A VM made and deleted with --keep-disks, as VmLibrary does it: its disk lands in kept-disks/<id>/. */
async function keptDiskOf(name: string, bytes: number): Promise<string> {
  const library = new VmLibrary(root);
  const config = await library.create(sampleDraft({ name, devices: { ...sampleDraft().devices, disks: [{ ...sampleDraft().devices.disks[0]!, file: 'disk-0.qcow2' }] } }), async (staging) => {
    await fs.writeFile(path.join(staging, 'disk-0.qcow2'), Buffer.alloc(bytes, 2));
  });
  const { keptDisksDir } = await library.remove(config.id, true);
  return path.join(keptDisksDir ?? '', 'disk-0.qcow2');
}

describe('listStoredFiles', () => {
  it('lists nothing, with the folders where things would be, in a new library', async () => {
    expect(await listStoredFiles(root, [])).toEqual({ isoDir, keptDisksDir: keptDir, isos: [], keptDisks: [] });
  });

  it('lists the ISOs with their sizes and the VMs whose CD drive holds them, and the kept disks by VM', async () => {
    const debian = await storeIso('debian.iso', 40_000);
    await storeIso('memtest.iso', 50_000);
    // Partial uploads and the hash index are Hangar's own business, not stored ISOs.
    await fs.writeFile(path.join(isoDir, '.upload-0123456789abcdef.part'), 'half');
    await fs.writeFile(path.join(isoDir, '.index.json'), '{}');
    const disk = await keptDiskOf('Old Debian', 3000);
    const vms: VmMedia[] = [
      { name: 'Debian 12', isos: [debian] },
      { name: 'Debian again', isos: [debian] },
      { name: 'Elsewhere', isos: ['/home/me/other.iso'] },
      { name: 'Empty drive', isos: [] },
    ];
    const listed = StoredFiles.parse(await listStoredFiles(root, vms));
    expect(listed.isos).toEqual([
      { path: debian, sizeBytes: 40_000, modifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), usedBy: ['Debian 12', 'Debian again'] },
      { path: path.join(isoDir, 'memtest.iso'), sizeBytes: 50_000, modifiedAt: expect.any(String), usedBy: [] },
    ]);
    expect(listed.keptDisks).toEqual([{ path: disk, sizeBytes: 3000, fromVm: 'old-debian', keptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    expect(path.dirname(disk)).toBe(path.join(keptDir, 'old-debian'));
  });
});

describe('removeStoredFile', () => {
  it('removes an ISO no VM uses', async () => {
    const iso = await storeIso('spare.iso', 40_000);
    await removeStoredFile(root, iso, [{ name: 'Other', isos: ['/elsewhere.iso'] }]);
    await expect(fs.stat(iso)).rejects.toThrow();
  });

  it('removes a kept disk, and its folder once it is empty', async () => {
    const disk = await keptDiskOf('Old Debian', 3000);
    await removeStoredFile(root, disk, []);
    await expect(fs.stat(path.dirname(disk))).rejects.toThrow();
    expect(await fs.readdir(keptDir)).toEqual([]);
  });

  it('refuses an ISO a VM still has in its CD drive, and says which VM', async () => {
    const iso = await storeIso('debian.iso', 40_000);
    const error = await refusal(removeStoredFile(root, iso, [{ name: 'Debian 12', isos: [iso] }]));
    expect(error.code).toBe('FILE_IN_USE');
    expect(error.message).toBe(`debian.iso is in the CD drive of "Debian 12". Eject it there (or delete that VM) first, then remove it.`);
    expect((await fs.stat(iso)).isFile()).toBe(true);
  });

  it.each([
    { what: 'a VM folder', target: () => path.join(root, 'vms', 'debian-12', 'disk-0.qcow2') },
    { what: 'a file beside the library', target: () => path.join(root, 'notes.txt') },
    { what: 'a path that climbs out of isos/', target: () => path.join(isoDir, '..', 'notes.txt') },
    { what: 'a file two levels down in isos/', target: () => path.join(isoDir, 'sub', 'a.iso') },
    { what: 'the hash index', target: () => path.join(isoDir, '.index.json') },
    { what: 'a kept-disks folder itself', target: () => path.join(keptDir, 'old-debian') },
    { what: 'a relative path', target: () => 'isos/debian.iso' },
  ])('refuses $what, touching nothing', async ({ target }) => {
    await fs.mkdir(path.join(isoDir, 'sub'), { recursive: true });
    await fs.writeFile(path.join(isoDir, 'sub', 'a.iso'), 'x');
    await fs.writeFile(path.join(root, 'notes.txt'), 'keep me');
    await fs.writeFile(path.join(isoDir, '.index.json'), '{}');
    await keptDiskOf('Old Debian', 10);
    const file = target();
    const error = await refusal(removeStoredFile(root, file, []));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(`Hangar removes only the files it keeps: ISOs in ${isoDir} and the disks of deleted VMs in ${keptDir}.`);
    expect(await fs.readFile(path.join(root, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(await fs.readdir(path.join(isoDir, 'sub'))).toEqual(['a.iso']);
    expect(await fs.readdir(path.join(keptDir, 'old-debian'))).toEqual(['disk-0.qcow2']);
  });

  it('refuses a link in isos/ (it may point anywhere) and leaves its target alone', async () => {
    await fs.writeFile(path.join(root, 'precious.iso'), 'data');
    await fs.mkdir(isoDir, { recursive: true });
    await fs.symlink(path.join(root, 'precious.iso'), path.join(isoDir, 'link.iso'));
    expect((await refusal(removeStoredFile(root, path.join(isoDir, 'link.iso'), []))).code).toBe('BAD_REQUEST');
    expect(await fs.readFile(path.join(root, 'precious.iso'), 'utf8')).toBe('data');
  });

  it('says so when the file is already gone', async () => {
    const error = await refusal(removeStoredFile(root, path.join(isoDir, 'gone.iso'), []));
    expect(error.code).toBe('ISO_NOT_FOUND');
    expect(error.message).toBe(`${path.join(isoDir, 'gone.iso')} is not there any more; it may have been removed already.`);
  });
});
