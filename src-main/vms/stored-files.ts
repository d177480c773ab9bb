import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import type { KeptDisk, StoredFiles, StoredIso } from '../../src-shared/storage';
import { storedIsoNames } from './iso-index';
import { ISO_FOLDER, KEPT_DISKS_FOLDER } from './paths';

// The files Hangar keeps beside the VMs: ISOs a browser sent (isos/) and the disks of deleted
// VMs (kept-disks/<vm-id>/). Listed with what uses them, and removed one at a time; nothing
// outside those two folders is ever removed here, whatever path is asked for.

/** A VM as far as its CD drives go: an ISO one of them holds cannot be removed. */
export interface VmMedia {
  name: string;
  isos: readonly string[];
}

const holds = (vm: VmMedia, file: string): boolean => vm.isos.some((iso) => path.resolve(iso) === file);

function foldersOf(root: string): { isoDir: string; keptDisksDir: string } {
  return { isoDir: path.join(root, ISO_FOLDER), keptDisksDir: path.join(root, KEPT_DISKS_FOLDER) };
}

async function entries(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => !name.startsWith('.')).sort();
}

async function regularFile(file: string): Promise<Stats | null> {
  const stats = await fs.lstat(file).catch(() => null);
  return stats?.isFile() ? stats : null;
}

export async function listStoredFiles(root: string, vms: readonly VmMedia[]): Promise<StoredFiles> {
  const { isoDir, keptDisksDir } = foldersOf(root);
  const isos: StoredIso[] = [];
  for (const name of await storedIsoNames(isoDir)) {
    const file = path.join(isoDir, name);
    const stats = await regularFile(file);
    if (!stats) continue;
    const usedBy = vms.filter((vm) => holds(vm, file)).map((vm) => vm.name);
    isos.push({ path: file, sizeBytes: stats.size, modifiedAt: stats.mtime.toISOString(), usedBy });
  }
  const keptDisks: KeptDisk[] = [];
  for (const folder of await entries(keptDisksDir)) {
    for (const name of await entries(path.join(keptDisksDir, folder))) {
      const file = path.join(keptDisksDir, folder, name);
      const stats = await regularFile(file);
      // Moving a disk here changed its ctime: that is when it was kept.
      if (stats) keptDisks.push({ path: file, sizeBytes: stats.size, fromVm: folder, keptAt: stats.ctime.toISOString() });
    }
  }
  return { isoDir, keptDisksDir, isos, keptDisks };
}

/** Removes a kept ISO or kept disk; refuses, in words, any other path and an ISO a VM's CD drive holds. */
export async function removeStoredFile(root: string, file: string, vms: readonly VmMedia[]): Promise<void> {
  const { isoDir, keptDisksDir } = foldersOf(root);
  const notOurs = new HangarError(
    'BAD_REQUEST',
    `Hangar removes only the files it keeps: ISOs in ${isoDir} and the disks of deleted VMs in ${keptDisksDir}. ${file} is neither; remove it yourself if you mean to.`,
  );
  if (!path.isAbsolute(file)) throw notOurs;
  const target = path.resolve(file);
  const name = path.basename(target);
  const isIso = path.dirname(target) === isoDir;
  const isKeptDisk = path.dirname(path.dirname(target)) === keptDisksDir;
  if ((!isIso && !isKeptDisk) || name.startsWith('.') || path.basename(path.dirname(target)).startsWith('.')) throw notOurs;

  const stats = await fs.lstat(target).catch(() => null);
  if (!stats) throw new HangarError(isIso ? 'ISO_NOT_FOUND' : 'DISK_NOT_FOUND', `${target} is not there any more; it may have been removed already.`);
  // A link could point anywhere, a folder holds anything: only plain files are Hangar's.
  if (!stats.isFile()) throw notOurs;
  if (isIso) {
    const user = vms.find((vm) => holds(vm, target));
    if (user) throw new HangarError('FILE_IN_USE', `${name} is in the CD drive of "${user.name}". Eject it there (or delete that VM) first, then remove it.`);
  }
  await fs.rm(target);
  // A kept-disks/<vm-id>/ folder with nothing left in it is gone too.
  if (isKeptDisk) await fs.rmdir(path.dirname(target)).catch(() => {});
}
