import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { VmConfig } from '../../src-shared/vm';
import { atomicWriteFile } from '../util/atomic-write';
import { isProcessAlive } from '../util/process';
import { FILE_CAPS, FileTooLarge, readCapped } from '../util/read-capped';
import { uniqueId, validVmName } from './ids';
import { isExternalDisk, VM_FILE_NAMES } from './layout';
import { acquireLock, liveLock } from './lock';
import { KEPT_DISKS_FOLDER } from './paths';
import { assignPciSlots } from './pci-slots';
import { CURRENT_SCHEMA, parseVmJson, serializeVmJson } from './schema';

// The VM library on disk: one folder per VM under <root>/vms, holding vm.json, its disks,
// UEFI variables and logs. A folder a person can see, back up and copy.

export const VM_JSON = VM_FILE_NAMES.definition;
const DISK_IMAGE = /\.(qcow2|raw|img|vmdk|vdi|vhdx|vhd)$/i;
const STAGING_PREFIX = '.creating-';

export interface LibraryEntry {
  id: string;
  dir: string;
  config: VmConfig | null;
  /** Why this VM cannot be loaded; its files are left untouched. */
  broken: string | null;
}

/** A definition before it has an id, a date and its PCI slots (the library gives those). */
export type NewVm = Omit<VmConfig, 'schema' | 'id' | 'createdAt' | 'pciSlots' | 'hotplugged'>;

export class VmLibrary {
  readonly vmsDir: string;
  /** Where the disks of deleted VMs go when they are kept (one folder per VM). */
  readonly keptDisksDir: string;

  constructor(readonly root: string) {
    this.vmsDir = path.join(root, 'vms');
    this.keptDisksDir = path.join(root, KEPT_DISKS_FOLDER);
  }

  vmDir(id: string): string {
    return path.join(this.vmsDir, id);
  }

  async list(): Promise<LibraryEntry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.vmsDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    await this.removeAbandonedStaging(names);
    const entries = await Promise.all(names.filter((name) => !name.startsWith('.')).sort().map((id) => this.load(id)));
    return entries.filter((entry): entry is LibraryEntry => entry !== null);
  }

  /** One VM by its exact id, or null when there is no such folder. */
  async load(id: string): Promise<LibraryEntry | null> {
    const dir = this.vmDir(id);
    const stats = await fs.stat(dir).catch(() => null);
    if (!stats?.isDirectory()) return null;
    let text: string;
    try {
      text = await readCapped(path.join(dir, VM_JSON), FILE_CAPS.definition);
    } catch (error) {
      if (error instanceof FileTooLarge) return { id, dir, config: null, broken: `vm.json is larger than any VM definition can be (over ${FILE_CAPS.definition / 1024 / 1024} MiB); it was left as it is.` };
      const code = (error as NodeJS.ErrnoException).code;
      return { id, dir, config: null, broken: code === 'ENOENT' ? 'vm.json is missing.' : `vm.json cannot be read (${code}).` };
    }
    const parsed = parseVmJson(text);
    if (!parsed.ok) return { id, dir, config: null, broken: parsed.reason };
    if (parsed.config.id !== id) return { id, dir, config: null, broken: `vm.json belongs to "${parsed.config.id}", not to this folder.` };
    return { id, dir, config: parsed.config, broken: null };
  }

  /** Finds a VM by id, or by its display name (case-insensitive), as the CLI lets people type either. */
  async find(idOrName: string): Promise<LibraryEntry> {
    const entries = await this.list();
    const wanted = idOrName.trim().toLowerCase();
    const found = entries.find((entry) => entry.id === idOrName) ?? entries.find((entry) => entry.config?.name.toLowerCase() === wanted);
    if (!found) throw new HangarError('VM_NOT_FOUND', `There is no VM called "${idOrName}". "hangar list" shows the VMs.`);
    return found;
  }

  async get(idOrName: string): Promise<LibraryEntry & { config: VmConfig }> {
    const entry = await this.find(idOrName);
    if (!entry.config) throw new HangarError('VM_BROKEN', `The VM "${entry.id}" cannot be loaded: ${entry.broken}`);
    return entry as LibraryEntry & { config: VmConfig };
  }

  /**
   * Creates a VM: its folder is assembled under a hidden staging name (disks made by
   * `populate`), then renamed into place, so a failure half-way leaves nothing behind.
   */
  /** The name as it will be kept and the id its folder would get now; refuses a bad or taken name. */
  async idFor(rawName: string): Promise<{ name: string; id: string }> {
    const name = validVmName(rawName);
    const entries = await this.list();
    const clash = entries.find((entry) => entry.config?.name.toLowerCase() === name.toLowerCase());
    if (clash) throw new HangarError('VM_NAME_TAKEN', `There is already a VM called "${clash.config?.name}". Choose another name.`);
    return { name, id: uniqueId(name, new Set(entries.map((entry) => entry.id))) };
  }

  /** The whole definition a draft becomes under an id: schema, date, PCI slots. */
  definitionOf(draft: NewVm, id: string): VmConfig {
    return { ...draft, schema: CURRENT_SCHEMA, id, createdAt: new Date().toISOString(), pciSlots: assignPciSlots(draft.machine, draft.devices), hotplugged: {} };
  }

  async create(draft: NewVm, populate: (stagingDir: string, config: VmConfig) => Promise<void> = async () => {}): Promise<VmConfig> {
    const { name, id } = await this.idFor(draft.name);
    const config = this.definitionOf({ ...draft, name }, id);
    checkDefinition(config); // refuses an invalid definition before anything is made
    await fs.mkdir(this.vmsDir, { recursive: true, mode: 0o700 });
    const staging = path.join(this.vmsDir, `${STAGING_PREFIX}${id}-${process.pid}`);
    await fs.mkdir(staging, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      // The same name being created twice at once in this process.
      if (error.code === 'EEXIST') throw new HangarError('VM_NAME_TAKEN', `A VM called "${name}" is being created right now.`);
      throw error;
    });
    try {
      await populate(staging, config);
      await atomicWriteFile(path.join(staging, VM_JSON), serializeVmJson(config));
      // rename() onto an existing folder fails, so a VM created meanwhile under the same id is never overwritten.
      await fs.rename(staging, this.vmDir(id)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') throw new HangarError('VM_NAME_TAKEN', `A VM with the id "${id}" was created at the same time. Try again.`);
        throw error;
      });
    } catch (error) {
      await fs.rm(staging, { recursive: true, force: true });
      throw translateFsError(error);
    }
    return config;
  }

  /**
   * Changes a VM's definition under its lock; refused while it runs, except for the few
   * changes a running VM takes (the CD in its drive), which pass whileRunning.
   */
  async update(idOrName: string, change: (config: VmConfig) => VmConfig, options: { whileRunning?: boolean } = {}): Promise<VmConfig> {
    const entry = await this.get(idOrName);
    // Changes to a running VM skip the file lock (its keeper holds it), so within this
    // process they at least go one after another: no read-modify-write is lost.
    const previous = this.updating.get(entry.id) ?? Promise.resolve();
    const mine = previous.catch(() => {}).then(() => this.updateNow(entry, change, options));
    this.updating.set(entry.id, mine);
    try {
      return await mine;
    } finally {
      if (this.updating.get(entry.id) === mine) this.updating.delete(entry.id);
    }
  }

  private readonly updating = new Map<string, Promise<VmConfig>>();

  private async updateNow(entry: LibraryEntry & { config: VmConfig }, change: (config: VmConfig) => VmConfig, options: { whileRunning?: boolean }): Promise<VmConfig> {
    const holder = options.whileRunning ? await liveLock(entry.dir) : null;
    const lock = holder?.purpose === 'running' ? { release: async () => {} } : await acquireLock(entry.dir, entry.config.name, 'changing');
    try {
      const fresh = await this.get(entry.id);
      const next = change(fresh.config);
      if (next.name !== fresh.config.name) {
        const name = validVmName(next.name);
        const others = await this.list();
        if (others.some((other) => other.id !== entry.id && other.config?.name.toLowerCase() === name.toLowerCase())) {
          throw new HangarError('VM_NAME_TAKEN', `There is already a VM called "${name}". Choose another name.`);
        }
        next.name = name;
      }
      const definition = { ...next, id: entry.id, schema: CURRENT_SCHEMA } as VmConfig;
      // Parts that came keep nothing of those that went; every other part keeps its slot.
      definition.pciSlots = assignPciSlots(definition.machine, definition.devices, fresh.config.pciSlots);
      checkDefinition(definition);
      await atomicWriteFile(path.join(entry.dir, VM_JSON), serializeVmJson(definition));
      return definition;
    } catch (error) {
      throw translateFsError(error);
    } finally {
      await lock.release();
    }
  }

  /**
   * Deletes a VM. With keepDisks, its disk images are moved to <root>/kept-disks/<id>/
   * first; the path is returned so the user can be told where they are.
   */
  async remove(idOrName: string, keepDisks: boolean): Promise<{ keptDisksDir: string | null }> {
    const entry = await this.find(idOrName);
    const lock = await acquireLock(entry.dir, entry.config?.name ?? entry.id, 'deleting');
    let keptDisksDir: string | null = null;
    try {
      if (keepDisks) {
        // Only what lies in the VM's own folder moves: a disk kept elsewhere (an absolute path)
        // stays where it is. A broken VM's vm.json cannot say which files are disks: keep every
        // disk image in its folder.
        const files = entry.config ? entry.config.devices.disks.filter((disk) => !isExternalDisk(disk)).map((disk) => disk.file) : await diskImagesIn(entry.dir);
        if (files.length > 0) {
          keptDisksDir = await this.freshKeptDisksDir(entry.id);
          for (const file of files) {
            // A disk that is already gone has nothing to keep.
            await fs.rename(path.join(entry.dir, file), path.join(keptDisksDir, file)).catch((error: NodeJS.ErrnoException) => {
              if (error.code !== 'ENOENT') throw error;
            });
          }
        }
      }
      // Move aside first: a folder that vanishes in one step never shows up half-deleted.
      const trash = path.join(this.vmsDir, `.deleting-${entry.id}-${process.pid}`);
      await fs.rename(entry.dir, trash);
      await fs.rm(trash, { recursive: true, force: true });
    } catch (error) {
      await lock.release().catch(() => {});
      throw translateFsError(error);
    }
    return { keptDisksDir };
  }

  /** Moves one disk image of a VM (a removed disk) to kept-disks/; returns where it is now. */
  async keepDiskFile(id: string, file: string): Promise<string> {
    const dir = await this.freshKeptDisksDir(id);
    const kept = path.join(dir, path.basename(file));
    await fs.rename(file, kept).catch((error: unknown) => {
      throw translateFsError(error);
    });
    return kept;
  }

  /** kept-disks/<id>, or <id>-2, -3 ... : disks kept earlier are never overwritten. */
  private async freshKeptDisksDir(id: string): Promise<string> {
    const parent = this.keptDisksDir;
    await fs.mkdir(parent, { recursive: true, mode: 0o700 });
    for (let n = 1; ; n++) {
      const dir = path.join(parent, n === 1 ? id : `${id}-${n}`);
      try {
        await fs.mkdir(dir, { mode: 0o700 });
        return dir;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  private async removeAbandonedStaging(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const match = /^\.(?:creating|deleting)-.*-(\d+)$/.exec(name);
      if (match && !isProcessAlive(Number(match[1]))) await fs.rm(path.join(this.vmsDir, name), { recursive: true, force: true });
    }
  }
}

/** The regular files of a folder that look like disk images (never links or folders). */
async function diskImagesIn(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && DISK_IMAGE.test(entry.name)).map((entry) => entry.name);
}

/** A definition that breaks the schema is a request error, said in words. */
function checkDefinition(config: VmConfig): void {
  const parsed = VmConfig.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HangarError('BAD_SETTINGS', `The VM settings are not valid: ${issue?.path.join('.') || 'settings'}: ${issue?.message ?? 'invalid'}.`);
  }
}

/** File-system failures a user can act on, in words. */
export function translateFsError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new HangarError('NO_SPACE', 'The disk is full. Free some space and try again; nothing was changed.');
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new HangarError('NO_PERMISSION', `Hangar may not write there: ${(error as Error).message}`);
  return error;
}
