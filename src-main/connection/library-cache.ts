import { watch, type FSWatcher } from 'node:fs';
import { HangarError } from '../../src-shared/errors';
import { VmId, type VmConfig } from '../../src-shared/vm';
import { VM_FILE_NAMES } from '../vms/layout';
import type { LibraryEntry, VmLibrary } from '../vms/library';
import { readLastRun, type LastRun } from '../vms/run-record';
import { readSavedState, type SavedState } from '../vms/saved-state';

// The library as this process knows it: every VM's definition and run records, read once
// and kept, refreshed when inotify says a file of that VM changed (another Hangar process,
// a keeper, a person with an editor). A request resolves its VM here, once, instead of
// parsing every vm.json on every call. Where a folder cannot be watched (out of inotify
// watches), its VM is read again at every use, as before.

/** A VM's files as last read. */
export interface KnownVm {
  entry: LibraryEntry;
  lastRun: LastRun | null;
  saved: SavedState | null;
}

export type ConfiguredVm = KnownVm & { entry: LibraryEntry & { config: VmConfig } };

/** The files of a VM folder whose change means the VM changed. */
const WATCHED_FILES = new Set<string>([VM_FILE_NAMES.definition, VM_FILE_NAMES.lastRun, VM_FILE_NAMES.savedState, VM_FILE_NAMES.savedInfo]);

export function watchFolder(dir: string, onName: (name: string) => void): FSWatcher | null {
  try {
    const watcher = watch(dir, (_event, name) => {
      if (typeof name === 'string') onName(name);
    });
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return null;
  }
}

export class LibraryCache {
  private readonly known = new Map<string, KnownVm>();
  private readonly folderWatchers = new Map<string, FSWatcher>();
  private rootWatcher: FSWatcher | null = null;
  private complete = false;
  private loading: Promise<void> | null = null;
  private readonly reloading = new Map<string, Promise<KnownVm | null>>();
  private closed = false;

  constructor(
    readonly library: VmLibrary,
    /** Called after a VM was read again because its files changed (null: it is gone). */
    private readonly onChanged: (id: string, vm: KnownVm | null) => void,
  ) {}

  /** Every VM, read from disk the first time (and whenever the root folder cannot be watched). */
  async list(): Promise<KnownVm[]> {
    if (!this.complete || !this.rootWatcher) await this.loadAll();
    const vms = await Promise.all([...this.known.keys()].sort().map((id) => this.current(id)));
    return vms.filter((vm): vm is KnownVm => vm !== null);
  }

  /** A VM by id, or by its display name (case-insensitive), as the CLI lets people type either. */
  async find(ref: string): Promise<KnownVm> {
    if (VmId.safeParse(ref).success) {
      const byId = this.known.has(ref) ? await this.current(ref) : await this.reload(ref);
      if (byId) return byId;
    }
    const wanted = ref.trim().toLowerCase();
    const byName = (await this.list()).find((vm) => vm.entry.config?.name.toLowerCase() === wanted);
    if (!byName) throw new HangarError('VM_NOT_FOUND', `There is no VM called "${ref}". "hangar list" shows the VMs.`);
    return byName;
  }

  /** A VM that can be loaded; a broken one is refused in words. */
  async get(ref: string): Promise<ConfiguredVm> {
    const vm = await this.find(ref);
    if (!vm.entry.config) throw new HangarError('VM_BROKEN', `The VM "${vm.entry.id}" cannot be loaded: ${vm.entry.broken}`);
    return vm as ConfiguredVm;
  }

  /** Reads a VM's files again now (after this process wrote them, or before a decision that must not be stale). */
  reload(id: string): Promise<KnownVm | null> {
    const pending = this.reloading.get(id);
    if (pending) return pending;
    const attempt = this.readVm(id).finally(() => this.reloading.delete(id));
    this.reloading.set(id, attempt);
    return attempt;
  }

  close(): void {
    this.closed = true;
    this.rootWatcher?.close();
    for (const watcher of this.folderWatchers.values()) watcher.close();
    this.folderWatchers.clear();
  }

  /** The kept copy when its folder is watched, else a fresh read. */
  private async current(id: string): Promise<KnownVm | null> {
    const kept = this.known.get(id);
    if (kept && this.folderWatchers.has(id)) return kept;
    return this.reload(id);
  }

  private loadAll(): Promise<void> {
    this.loading ??= (async () => {
      this.watchRoot();
      const entries = await this.library.list();
      const ids = new Set(entries.map((entry) => entry.id));
      for (const id of [...this.known.keys()]) if (!ids.has(id)) this.forget(id);
      await Promise.all(entries.map((entry) => this.keep(entry)));
      this.complete = true;
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async readVm(id: string): Promise<KnownVm | null> {
    const entry = await this.library.load(id);
    if (!entry) {
      this.forget(id);
      return null;
    }
    return this.keep(entry);
  }

  private async keep(entry: LibraryEntry): Promise<KnownVm> {
    const [lastRun, saved] = await Promise.all([readLastRun(entry.dir), readSavedState(entry.dir)]);
    const vm: KnownVm = { entry, lastRun, saved };
    this.known.set(entry.id, vm);
    if (!this.folderWatchers.has(entry.id) && !this.closed) {
      const watcher = watchFolder(entry.dir, (name) => {
        if (WATCHED_FILES.has(name)) this.changed(entry.id);
      });
      if (watcher) this.folderWatchers.set(entry.id, watcher);
    }
    return vm;
  }

  private forget(id: string): void {
    this.known.delete(id);
    this.folderWatchers.get(id)?.close();
    this.folderWatchers.delete(id);
  }

  private watchRoot(): void {
    if (this.rootWatcher || this.closed) return;
    this.rootWatcher = watchFolder(this.library.vmsDir, (name) => {
      if (!name.startsWith('.') && VmId.safeParse(name).success) this.changed(name);
    });
  }

  private changed(id: string): void {
    if (this.closed) return;
    void this.reload(id).then(
      (vm) => this.onChanged(id, vm),
      () => {},
    );
  }
}
