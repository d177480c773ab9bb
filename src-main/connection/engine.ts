import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { HangarError } from '../../src-shared/errors';
import type { VmSummary } from '../../src-shared/vm';
import { brokenReason } from '../../src-shared/vm-rules';
import { VmLibrary } from '../vms/library';
import { endedNow, writeLastRun } from '../vms/run-record';
import type { ConnectionEvent } from './connection';
import type { EngineHost } from './engine-host';
import { KeeperRegistry } from './keepers';
import { LibraryCache, type ConfiguredVm, type KnownVm } from './library-cache';
import { vmStatus } from './vm-status';

// What every engine room works with: the library as this process knows it, the keepers of
// the running VMs, the host's facts, and one way to tell listeners that a VM changed. The
// rooms (lifecycle, definitions, device changes, displays) are functions of this context;
// LocalQemuConnection only wires them to the Connection interface.

export interface EngineOptions {
  libraryRoot: string;
  runtimeRoot: string;
  host: () => Promise<EngineHost>;
  keeperEntry?: string;
}

export class Engine {
  readonly library: VmLibrary;
  readonly vms: LibraryCache;
  readonly keepers: KeeperRegistry;
  /** Starts on their way in this process: a second start of the same VM shares the first. */
  readonly starting = new Map<string, Promise<VmSummary>>();
  // Many listeners are normal: every client waiting for a VM's state adds one.
  private readonly events = new EventEmitter<{ event: [ConnectionEvent] }>().setMaxListeners(0);
  /** What was last said about each VM, so the same summary is never announced twice. */
  private readonly announced = new Map<string, string>();
  private hostPromise: Promise<EngineHost> | null = null;

  constructor(readonly options: EngineOptions) {
    this.library = new VmLibrary(options.libraryRoot);
    this.vms = new LibraryCache(this.library, (id, vm) => {
      if (vm) void this.publish(id).catch(() => {});
      else this.removed(id);
    });
    this.keepers = new KeeperRegistry(options.runtimeRoot);
    this.keepers.on('changed', (id) => void this.publish(id).catch(() => {}));
    this.keepers.on('lostRun', (id, launchedAt) => void this.recordLostRun(id, launchedAt));
  }

  /** Reads the library, reattaches to every VM that still runs, and starts watching. */
  async open(): Promise<void> {
    await fs.mkdir(this.library.vmsDir, { recursive: true, mode: 0o700 }).catch(() => {});
    const vms = await this.vms.list();
    await this.keepers.rediscover(new Set(vms.map((vm) => vm.entry.id)));
    this.keepers.watch();
  }

  host(): Promise<EngineHost> {
    this.hostPromise ??= this.options.host();
    return this.hostPromise;
  }

  runDir(id: string): string {
    return this.keepers.runDir(id);
  }

  /** A VM's summary from what this process knows now. */
  status(vm: KnownVm): VmSummary {
    const id = vm.entry.id;
    const keeper = this.keepers.connected(id);
    return vmStatus(vm, {
      keeper: keeper ? { state: keeper.state, problem: keeper.problem, accelerator: keeper.hello.accelerator, qemuPid: keeper.hello.qemuPid } : null,
      starting: this.starting.has(id),
      orphanPid: this.keepers.orphanPid(id),
    });
  }

  /** Finds a VM (by id or name) and attaches to its keeper if it runs: the VM as it is now. */
  async resolve(ref: string): Promise<{ vm: KnownVm; summary: VmSummary }> {
    const vm = await this.vms.find(ref);
    await this.keepers.attach(vm.entry.id);
    return { vm, summary: this.status(vm) };
  }

  /** As resolve, for a VM that can be loaded. */
  async resolveConfigured(ref: string): Promise<{ vm: ConfiguredVm; summary: VmSummary }> {
    const found = await this.resolve(ref);
    if (!found.vm.entry.config) throw new HangarError('VM_BROKEN', brokenReason(found.summary));
    return found as { vm: ConfiguredVm; summary: VmSummary };
  }

  /** Every VM as it is now; what listeners have been told from here on counts as said. */
  async list(): Promise<VmSummary[]> {
    const vms = await this.vms.list();
    await Promise.all(vms.map((vm) => this.keepers.attach(vm.entry.id)));
    return vms.map((vm) => {
      const summary = this.status(vm);
      this.announced.set(vm.entry.id, JSON.stringify(summary));
      return summary;
    });
  }

  /** Reads the VM's files again, tells every listener when its summary changed, and returns it. */
  async publish(id: string): Promise<VmSummary> {
    const vm = await this.vms.reload(id);
    if (!vm) {
      this.removed(id);
      throw new HangarError('VM_NOT_FOUND', `The VM "${id}" no longer exists.`);
    }
    const summary = this.status(vm);
    const said = JSON.stringify(summary);
    if (this.announced.get(id) !== said) {
      this.announced.set(id, said);
      this.emit({ type: 'vmChanged', vm: summary });
    }
    return summary;
  }

  /** Tells listeners a VM is gone: once, and only if they heard of it (or `always`). */
  removed(id: string, { always = false } = {}): void {
    if (!this.announced.has(id) && !always) return;
    this.announced.delete(id);
    this.emit({ type: 'vmRemoved', id });
  }

  emit(event: ConnectionEvent): void {
    this.events.emit('event', event);
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  /** A run whose keeper vanished without a word (killed, or the machine restarted) ended as a crash. */
  async recordLostRun(id: string, launchedAt: number, forcedOff = false): Promise<void> {
    const vm = await this.vms.reload(id);
    if (!vm) return;
    // A keeper that died after recording the end (but before tidying up) told the truth already.
    if (vm.lastRun && Date.parse(vm.lastRun.endedAt) >= launchedAt) return;
    const problem = { message: 'The VM ended while Hangar could not watch it: its keeper process was killed, or this machine restarted.', log: [] };
    await writeLastRun(vm.entry.dir, forcedOff ? endedNow('stopped') : endedNow('crashed', problem));
    await this.publish(id).catch(() => {});
  }

  close(): void {
    this.keepers.close();
    this.vms.close();
    this.events.removeAllListeners();
  }
}
