import { EventEmitter } from 'node:events';
import { constants, promises as fs, watch as watchFolder, type FSWatcher } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';
import type { z } from 'zod';
import type { VmOs } from '../../src-shared/os-family';
import type { IsoInfo } from '../../src-shared/os';
import { checkSize, type HostCapacity } from '../../src-shared/sizing';
import { NewVmRequest, VmChanges, VmId, type VmConfig, type VmDetails, type VmSummary } from '../../src-shared/vm';
import { inspectIso } from '../media/inspect';
import { buildQemuArgv, diskPath, runPaths, vmFiles, type LaunchPlan } from '../qemu/argv';
import { freeBytes, QemuImg } from '../qemu/img';
import { KeeperClient, KeeperCommandError } from '../qemu/keeper/client';
import { takeScreenshot } from '../qemu/screendump';
import { keeperFiles, LAST_RUN_FILE, LastRun, SavedState, savedFiles, type LaunchSpec } from '../qemu/keeper/protocol';
import { inspectRunFolder, keeperEntry, launchKeeper, stopOrphan } from '../qemu/supervisor';
import { atomicWriteFile } from '../util/atomic-write';
import { VmLibrary, type LibraryEntry, type NewVm } from '../vms/library';
import { acquireLock } from '../vms/lock';
import { CURRENT_SCHEMA } from '../vms/schema';
import type { Connection, ConnectionEvent, ConsoleSession, ScreenPicture } from './connection';
import type { EngineHost } from './engine-host';

// The embedded default: VMs in a folder of the user's, each run by a keeper process that
// this connection talks to. No daemon: every Hangar process opens its own connection and
// finds the running VMs again through their run folders.

export interface LocalQemuOptions {
  libraryRoot: string;
  runtimeRoot: string;
  host: () => Promise<EngineHost>;
  keeperEntry?: string;
}

/** An ISO the VM is to use: an absolute path to a readable ISO 9660 image, or a clear error. */
async function checkIso(file: string): Promise<IsoInfo> {
  if (!path.isAbsolute(file)) throw new HangarError('BAD_SETTINGS', `Give the ISO's full path, not "${file}".`);
  return inspectIso(file, { osinfoDir: null });
}

async function supportsDirectIo(file: string): Promise<boolean> {
  try {
    await (await fs.open(file, constants.O_RDONLY | constants.O_DIRECT)).close();
    return true;
  } catch {
    return false;
  }
}

export class LocalQemuConnection implements Connection {
  readonly library: VmLibrary;
  private readonly keepers = new Map<string, KeeperClient>();
  private readonly starting = new Map<string, Promise<VmSummary>>();
  /** VMs whose keeper died while their QEMU runs on: pid of that QEMU. */
  private readonly orphans = new Map<string, number>();
  // Many listeners are normal: every client waiting for a VM's state adds one.
  private readonly events = new EventEmitter<{ event: [ConnectionEvent] }>().setMaxListeners(0);
  private hostPromise: Promise<EngineHost> | null = null;

  private constructor(private readonly options: LocalQemuOptions) {
    this.library = new VmLibrary(options.libraryRoot);
  }

  /** Opens the library and reattaches to every VM that is still running. */
  static async open(options: LocalQemuOptions): Promise<LocalQemuConnection> {
    const connection = new LocalQemuConnection(options);
    await connection.rediscover();
    await connection.watchOtherProcesses();
    return connection;
  }

  private readonly watchers: FSWatcher[] = [];
  /** One per run folder whose keeper is starting, until its control socket appears. */
  private readonly runWatchers = new Map<string, FSWatcher>();

  /**
   * Other Hangar processes (a `hangar start` in a terminal while the window is open) start,
   * create and delete VMs too. inotify tells this one: a new run folder means a keeper is
   * coming (attach once its control socket appears); a new or vanished VM folder means the
   * library changed. No polling.
   */
  private async watchOtherProcesses(): Promise<void> {
    const watch = (dir: string, onName: (name: string) => void): FSWatcher | null => {
      try {
        const watcher = watchFolder(dir, (_event, name) => {
          if (typeof name === 'string' && !name.startsWith('.')) onName(name);
        });
        watcher.on('error', () => watcher.close());
        return watcher;
      } catch {
        return null; // e.g. out of inotify watches: the next list still finds everything
      }
    };
    const controlName = path.basename(keeperFiles('/').control);
    const attachWhenReady = (id: string): void => {
      this.runWatchers.get(id)?.close();
      this.runWatchers.delete(id);
      void this.attach(id).then(() => this.emitChanged(id), () => {});
    };
    const runRoot = watch(this.options.runtimeRoot, (id) => {
      if (!VmId.safeParse(id).success || this.keepers.get(id)?.isConnected) return;
      // The keeper makes its folder, then its socket: wait for the socket, then attach.
      this.runWatchers.get(id)?.close();
      const inner = watch(this.runDir(id), (file) => file === controlName && attachWhenReady(id));
      if (inner) this.runWatchers.set(id, inner);
      // The socket may be there already (the folder's event came late).
      void fs.stat(keeperFiles(this.runDir(id)).control).then(() => attachWhenReady(id), () => {});
    });
    await fs.mkdir(this.library.vmsDir, { recursive: true, mode: 0o700 }).catch(() => {});
    const library = watch(this.library.vmsDir, (id) => {
      if (!VmId.safeParse(id).success) return;
      void this.library.load(id).then(
        async (entry) => (entry ? this.emit({ type: 'vmChanged', vm: await this.summarize(entry) }) : this.emit({ type: 'vmRemoved', id })),
        () => {},
      );
    });
    for (const watcher of [runRoot, library]) if (watcher) this.watchers.push(watcher);
  }

  private host(): Promise<EngineHost> {
    this.hostPromise ??= this.options.host();
    return this.hostPromise;
  }

  private runDir(id: string): string {
    return path.join(this.options.runtimeRoot, id);
  }

  async rediscover(): Promise<void> {
    const entries = await this.library.list();
    const known = new Set(entries.map((entry) => entry.id));
    await Promise.all(entries.map((entry) => this.attach(entry.id)));
    // Run folders of VMs that no longer exist (deleted while running elsewhere) are stale.
    for (const name of (await fs.readdir(this.options.runtimeRoot).catch(() => [])) as string[]) {
      if (!known.has(name)) {
        const found = await inspectRunFolder(this.runDir(name), name);
        if (found.kind === 'keeper') found.client.close();
      }
    }
  }

  /** Attaches to a VM's keeper if it runs; concurrent callers share one attempt, so one client per VM. */
  private attach(id: string): Promise<KeeperClient | null> {
    const existing = this.keepers.get(id);
    if (existing?.isConnected) return Promise.resolve(existing);
    const pending = this.attaching.get(id);
    if (pending) return pending;
    const attempt = this.attachNow(id).finally(() => this.attaching.delete(id));
    this.attaching.set(id, attempt);
    return attempt;
  }

  private readonly attaching = new Map<string, Promise<KeeperClient | null>>();

  private async attachNow(id: string): Promise<KeeperClient | null> {
    if (this.closed) return null;
    const found = await inspectRunFolder(this.runDir(id), id);
    // Closed meanwhile (the CLI is exiting): holding a keeper now would keep it alive.
    if (this.closed) {
      if (found.kind === 'keeper') found.client.close();
      return null;
    }
    if (found.kind === 'orphan') this.orphans.set(id, found.qemuPid);
    else this.orphans.delete(id);
    if (found.kind === 'none' && found.stale) await this.recordLostRun(id, found.launchedAt ?? 0);
    if (found.kind !== 'keeper') return null;
    const client = found.client;
    this.keepers.set(id, client);
    const changed = (): void => void this.emitChanged(id);
    client.on('state', changed);
    client.on('gone', () => {
      if (this.keepers.get(id) === client) this.keepers.delete(id);
      changed();
    });
    return client;
  }

  /** A run whose keeper vanished without a word (killed, or the machine restarted) ended as a crash. */
  private async recordLostRun(id: string, launchedAt = 0, forcedOff = false): Promise<void> {
    const entry = await this.library.load(id);
    if (!entry) return;
    // A keeper that died after recording the end (but before tidying up) told the truth already.
    const recorded = await this.lastRun(entry.dir);
    if (recorded && Date.parse(recorded.endedAt) >= launchedAt) return;
    const lastRun: LastRun = {
      state: forcedOff ? 'stopped' : 'crashed',
      problem: forcedOff ? null : { message: 'The VM ended while Hangar could not watch it: its keeper process was killed, or this machine restarted.', log: [] },
      endedAt: new Date().toISOString(),
      exitCode: null,
      signal: null,
    };
    await atomicWriteFile(path.join(entry.dir, LAST_RUN_FILE), JSON.stringify(lastRun, null, 2) + '\n').catch(() => {});
  }

  private async emitChanged(id: string): Promise<void> {
    const entry = await this.library.load(id);
    if (entry) this.emit({ type: 'vmChanged', vm: await this.summarize(entry) });
  }

  private emit(event: ConnectionEvent): void {
    this.events.emit('event', event);
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private async lastRun(dir: string): Promise<LastRun | null> {
    try {
      return LastRun.parse(JSON.parse(await fs.readFile(path.join(dir, LAST_RUN_FILE), 'utf8')));
    } catch {
      return null;
    }
  }

  private async summarize(entry: LibraryEntry): Promise<VmSummary> {
    const keeper = this.keepers.get(entry.id);
    const base = { id: entry.id, name: entry.config?.name ?? entry.id, broken: entry.broken, config: entry.config };
    if (keeper?.isConnected) {
      return { ...base, state: keeper.state, problem: keeper.problem, accelerator: keeper.hello.accelerator, pid: keeper.hello.qemuPid };
    }
    if (this.starting.has(entry.id)) return { ...base, state: 'starting', problem: null, accelerator: null, pid: null };
    const orphan = this.orphans.get(entry.id);
    if (orphan !== undefined) {
      const problem = { message: "Hangar lost this VM's keeper process; the VM runs on unsupervised. Force it off to take it back.", log: [] };
      return { ...base, state: 'running', problem, accelerator: null, pid: orphan };
    }
    const last = await this.lastRun(entry.dir);
    const crashed = last?.state === 'crashed';
    // Saved, unless a resume failed since (then crashed with QEMU's words; the state is kept).
    const saved = await this.savedState(entry.dir);
    if (saved && !(crashed && Date.parse(last.endedAt) > Date.parse(saved.savedAt))) return { ...base, state: 'saved', problem: null, accelerator: null, pid: null };
    return { ...base, state: crashed ? 'crashed' : 'stopped', problem: crashed ? last.problem : null, accelerator: null, pid: null };
  }

  /** The VM's saved state, when it has one (its stream file is there; see savedFiles). */
  private async savedState(dir: string): Promise<SavedState | null> {
    const files = savedFiles(dir);
    const stream = await fs.stat(files.state).catch(() => null);
    if (!stream?.isFile()) return null;
    try {
      return SavedState.parse(JSON.parse(await fs.readFile(files.info, 'utf8')));
    } catch {
      // saved.json is written before the stream is renamed into place, so only damage gets here:
      // resume anyway (as a running guest, on the machine type the alias names now) rather than lose it.
      return { savedAt: stream.mtime.toISOString(), resume: 'running', machine: null, qemuVersion: null, bytes: stream.size };
    }
  }

  /** Forgets a saved state (force off of a saved VM): it boots afresh next time. */
  private async discardSavedState(entry: LibraryEntry): Promise<void> {
    // Under the VM's lock, so a start that is reading the state (another process) is not cut short.
    const lock = await acquireLock(entry.dir, entry.config?.name ?? entry.id, 'changing');
    try {
      const files = savedFiles(entry.dir);
      await fs.rm(files.state, { force: true });
      await Promise.all([fs.rm(files.info, { force: true }), fs.rm(files.partial, { force: true })]);
      const lastRun: LastRun = { state: 'stopped', problem: null, endedAt: new Date().toISOString(), exitCode: null, signal: null };
      await atomicWriteFile(path.join(entry.dir, LAST_RUN_FILE), JSON.stringify(lastRun, null, 2) + '\n').catch(() => {});
    } finally {
      await lock.release();
    }
  }

  /** A saved VM's definition stays as it was saved: QEMU resumes only into the same machine. */
  private async refuseWhileSaved(entry: LibraryEntry, what: string): Promise<void> {
    if (!(await this.savedState(entry.dir))) return;
    const name = entry.config?.name ?? entry.id;
    throw new HangarError('VM_BUSY', `"${name}" is saved, so ${what} cannot change until it runs again: its saved memory belongs to this exact machine. Start it (it resumes where it was), or force it off to forget the saved state.`);
  }

  async listVms(): Promise<VmSummary[]> {
    const entries = await this.library.list();
    await Promise.all(entries.map((entry) => this.attach(entry.id)));
    return Promise.all(entries.map((entry) => this.summarize(entry)));
  }

  private async summary(ref: string): Promise<VmSummary> {
    const entry = await this.library.find(ref);
    await this.attach(entry.id);
    return this.summarize(entry);
  }

  async getVm(ref: string): Promise<VmDetails> {
    const entry = await this.library.find(ref);
    const keeper = await this.attach(entry.id);
    let argv: string[] | null = keeper?.hello.argv ?? null;
    if (!argv && entry.config) {
      const host = await this.host();
      try {
        argv = [host.qemuSystem ?? 'qemu-system-x86_64', ...(await this.launchArgv(entry.dir, entry.config, host, await this.savedState(entry.dir)))];
      } catch {
        argv = null; // e.g. UEFI without firmware: the start will say so
      }
    }
    return { summary: await this.summarize(entry), argv, dir: entry.dir };
  }

  /** The argv a start would use: a saved VM's on its versioned machine, waiting for its state (-incoming defer). */
  private async launchArgv(vmDir: string, config: VmConfig, host: EngineHost, saved: SavedState | null): Promise<string[]> {
    const argv = buildQemuArgv({ ...(await this.plan(vmDir, config, host)), pinnedMachine: saved?.machine ?? null });
    return saved ? [...argv, '-incoming', 'defer'] : argv;
  }

  private async plan(vmDir: string, config: VmConfig, host: EngineHost): Promise<LaunchPlan> {
    const firstDisk = config.disks[0];
    return {
      config,
      vmDir,
      run: runPaths(this.runDir(config.id)),
      accelerator: host.accelerator,
      uefiCode: host.ovmf?.code ?? null,
      directIo: firstDisk ? await supportsDirectIo(diskPath(vmDir, firstDisk)) : false,
      sandbox: host.sandbox,
    };
  }

  /** Where new VMs' folders go, and how much room and memory there is now. */
  private async capacity(host: EngineHost): Promise<HostCapacity> {
    let dir = this.library.root;
    // The library may not exist yet: ask the nearest folder that does.
    while (!(await fs.stat(dir).catch(() => null)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return {
      cpuThreads: host.cpuThreads,
      memoryTotalBytes: host.memoryTotalBytes,
      memoryAvailableBytes: os.freemem(), // MemAvailable on Linux (libuv), not MemFree
      diskFreeBytes: await freeBytes(dir).catch(() => null),
    };
  }

  /** Everything a new VM is refused for, checked before anything is made; returns the warnings and the OS it installs. */
  private async checkRequest(request: z.output<typeof NewVmRequest>, host: EngineHost): Promise<{ warnings: string[]; os: VmOs | null }> {
    const verdict = checkSize({ cpus: request.cpus, memoryMiB: request.memoryMiB, diskGiB: request.importDisk === null ? request.diskGiB : 0 }, await this.capacity(host));
    const sizeError = verdict.errors.memoryMiB ?? verdict.errors.cpus ?? verdict.errors.diskGiB;
    if (sizeError) throw new HangarError(verdict.errors.diskGiB === sizeError ? 'NO_SPACE' : 'BAD_SETTINGS', sizeError);
    const iso = request.iso === null ? null : await checkIso(request.iso);
    if (request.firmware === 'uefi' && !host.ovmf) throw new HangarError('BAD_SETTINGS', 'UEFI firmware (OVMF) is not installed; choose BIOS or install it ("hangar doctor" says how).');
    if (request.tpm && !host.swtpm) throw new HangarError('BAD_SETTINGS', 'swtpm is not installed, so the VM cannot have a TPM ("hangar doctor" says how to install it).');
    if (request.machine === 'pc' && request.diskBus === 'sata') throw new HangarError('BAD_SETTINGS', 'The old pc machine has no SATA controller; choose IDE or the q35 machine.');
    if (request.importDisk !== null && !path.isAbsolute(request.importDisk)) throw new HangarError('BAD_SETTINGS', `Give the disk image's full path, not "${request.importDisk}".`);
    return { warnings: verdict.warnings, os: request.os ?? (iso ? { family: iso.os.family, name: iso.os.name } : null) };
  }

  /** The definition a request makes, before it has an id and a date. */
  private static draftOf(request: z.output<typeof NewVmRequest>, os: VmOs | null): NewVm {
    const wantsDisk = request.importDisk !== null || request.diskGiB > 0;
    return {
      name: request.name,
      machine: request.machine,
      firmware: request.firmware,
      cpus: request.cpus,
      memoryMiB: request.memoryMiB,
      disks: wantsDisk ? [{ file: 'disk-0.qcow2', format: 'qcow2', bus: request.diskBus }] : [],
      cdrom: request.iso,
      bootFrom: request.iso ? 'cdrom' : 'disk',
      nic: { model: request.nicModel, portForwards: request.portForwards },
      tpm: request.tpm,
      os,
    };
  }

  /** What defineVm would make, without making it: its warnings and its QEMU command line. */
  async previewVm(raw: unknown): Promise<{ argv: string[]; warnings: string[] }> {
    const request = NewVmRequest.parse(raw);
    const host = await this.host();
    const { name, id } = await this.library.idFor(request.name);
    const { warnings, os } = await this.checkRequest(request, host);
    const config: VmConfig = { ...LocalQemuConnection.draftOf(request, os), name, schema: CURRENT_SCHEMA, id, createdAt: new Date().toISOString() };
    // The disk does not exist yet, so O_DIRECT cannot be tried: shown as on most file systems
    // (a library on tmpfs falls back to the page cache when the VM starts).
    const plan = { ...(await this.plan(this.library.vmDir(id), config, host)), directIo: true };
    return { argv: [host.qemuSystem ?? 'qemu-system-x86_64', ...buildQemuArgv(plan)], warnings };
  }

  async defineVm(raw: unknown): Promise<VmSummary> {
    const request = NewVmRequest.parse(raw);
    const host = await this.host();
    const { os } = await this.checkRequest(request, host);
    const img = new QemuImg(host.qemuImg ?? 'qemu-img');

    const config = await this.library.create(
      LocalQemuConnection.draftOf(request, os),
      async (staging, draft) => {
        const progress = (step: string, percent: number | null): void => this.emit({ type: 'vmProgress', progress: { vm: draft.name, step, percent } });
        if (request.importDisk !== null) {
          progress('Importing the disk', 0);
          await img.convert(request.importDisk, path.join(staging, 'disk-0.qcow2'), (percent) => progress('Importing the disk', percent));
        } else if (request.diskGiB > 0) {
          progress('Creating the disk', null);
          await img.create(path.join(staging, 'disk-0.qcow2'), Math.round(request.diskGiB * 1024 ** 3));
        }
        if (request.firmware === 'uefi' && host.ovmf) await fs.copyFile(host.ovmf.vars, vmFiles(staging).uefiVars);
      },
    );
    const summary = await this.summary(config.id);
    this.emit({ type: 'vmChanged', vm: summary });
    return summary;
  }

  /** Changes a stopped VM's settings, by the same rules as a new VM's. */
  async updateVm(ref: string, raw: unknown): Promise<VmSummary> {
    const changes = VmChanges.parse(raw);
    const entry = await this.library.get(ref);
    if ((await this.attach(entry.id))?.isConnected || this.orphans.has(entry.id)) {
      throw new HangarError('VM_RUNNING', `"${entry.config.name}" is running. Shut it down to change its settings.`);
    }
    const host = await this.host();
    const verdict = checkSize({ cpus: changes.cpus ?? entry.config.cpus, memoryMiB: changes.memoryMiB ?? entry.config.memoryMiB, diskGiB: 0 }, await this.capacity(host));
    const sizeError = verdict.errors.memoryMiB ?? verdict.errors.cpus;
    if (sizeError) throw new HangarError('BAD_SETTINGS', sizeError);
    if (changes.firmware === 'uefi' && !host.ovmf) throw new HangarError('BAD_SETTINGS', 'UEFI firmware (OVMF) is not installed; keep BIOS or install it ("hangar doctor" says how).');
    if (changes.tpm && !host.swtpm) throw new HangarError('BAD_SETTINGS', 'swtpm is not installed, so the VM cannot have a TPM ("hangar doctor" says how to install it).');
    if (changes.bootFrom === 'cdrom' && entry.config.cdrom === null) throw new HangarError('BAD_SETTINGS', `"${entry.config.name}" has no ISO in its CD drive to boot from. Insert one first.`);
    const apply = (config: VmConfig): VmConfig => ({
      ...config,
      name: changes.name ?? config.name,
      cpus: changes.cpus ?? config.cpus,
      memoryMiB: changes.memoryMiB ?? config.memoryMiB,
      firmware: changes.firmware ?? config.firmware,
      tpm: changes.tpm ?? config.tpm,
      bootFrom: changes.bootFrom ?? config.bootFrom,
      disks: config.disks.map((disk) => ({ ...disk, bus: changes.diskBus ?? disk.bus })),
      nic: { model: changes.nicModel ?? config.nic.model, portForwards: changes.portForwards ?? config.nic.portForwards },
    });
    // A saved VM may be renamed (the name is not part of the machine), nothing else.
    const hardware = (config: VmConfig): string => JSON.stringify({ ...config, name: '' });
    if (hardware(apply(entry.config)) !== hardware(entry.config)) await this.refuseWhileSaved(entry, 'its settings (other than its name)');
    await this.library.update(entry.id, apply);
    const summary = await this.summary(entry.id);
    this.emit({ type: 'vmChanged', vm: summary });
    return summary;
  }

  startVm(ref: string): Promise<VmSummary> {
    return this.library.find(ref).then((entry) => {
      // Two starts from this process share one attempt.
      const pending = this.starting.get(entry.id);
      if (pending) return pending;
      const attempt = this.start(entry.id).finally(() => this.starting.delete(entry.id));
      this.starting.set(entry.id, attempt);
      return attempt;
    });
  }

  private async start(id: string): Promise<VmSummary> {
    const entry = await this.library.get(id);
    if ((await this.attach(id))?.isConnected) return this.summarize(entry);
    if (this.orphans.has(id)) throw new HangarError('VM_RUNNING', `"${entry.config.name}" is still running without its keeper. Force it off first.`);
    const { config } = entry;
    const host = await this.host();
    if (!host.qemuSystem) throw new HangarError('QEMU_FAILED', 'QEMU is not installed, so no VM can start. "hangar doctor" says how to install it.');
    const saved = await this.savedState(entry.dir);
    // Leftovers of a save cut short (no stream file): not a saved state, just litter.
    if (!saved) await Promise.all([savedFiles(entry.dir).partial, savedFiles(entry.dir).info].map((file) => fs.rm(file, { force: true })));
    if (config.cdrom !== null) {
      await checkIso(config.cdrom).catch((error: unknown) => {
        if (!saved || !(error instanceof HangarError)) throw error;
        const why = error.code === 'ISO_NOT_FOUND' ? 'no longer exists' : 'cannot be read now';
        throw new HangarError(error.code, `"${config.name}" was saved with the ISO ${config.cdrom} in its CD drive, and that file ${why}. Put it back to resume the VM, or force it off to forget the saved state.`);
      });
    }
    for (const disk of config.disks) {
      const file = diskPath(entry.dir, disk);
      if (!(await fs.stat(file).catch(() => null))) throw new HangarError('DISK_NOT_FOUND', `The disk ${file} of "${config.name}" no longer exists.`);
    }
    if (host.memoryTotalBytes > 0 && config.memoryMiB * 1024 * 1024 > host.memoryTotalBytes) throw new HangarError('BAD_SETTINGS', `"${config.name}" wants ${formatBytes(config.memoryMiB * 1024 * 1024)} of memory, more than this machine has.`);
    if (config.firmware === 'uefi') {
      if (!host.ovmf) throw new HangarError('QEMU_FAILED', 'This VM uses UEFI, but the UEFI firmware (OVMF) is not installed. "hangar doctor" says how to install it.');
      const vars = vmFiles(entry.dir).uefiVars;
      if (!(await fs.stat(vars).catch(() => null))) await fs.copyFile(host.ovmf.vars, vars);
    }
    if (config.tpm && !host.swtpm) throw new HangarError('QEMU_FAILED', 'This VM has a TPM, but swtpm is not installed. "hangar doctor" says how to install it.');

    const plan = await this.plan(entry.dir, config, host);
    const spec: LaunchSpec = {
      vmId: id,
      vmName: config.name,
      vmDir: entry.dir,
      runDir: plan.run.runDir,
      qemuBinary: host.qemuSystem,
      argv: await this.launchArgv(entry.dir, config, host, saved),
      accelerator: host.accelerator,
      swtpm: config.tpm && host.swtpm ? { binary: host.swtpm, stateDir: path.join(entry.dir, 'tpm'), socket: plan.run.tpmSocket } : null,
      // The keeper streams the state into QEMU, and removes it once loaded.
      restore: saved ? { stateFile: savedFiles(entry.dir).state, resume: saved.resume } : null,
    };
    this.emit({ type: 'vmChanged', vm: await this.summarize(entry) });
    try {
      await launchKeeper(spec, this.options.keeperEntry ?? keeperEntry());
    } catch (error) {
      if (error instanceof HangarError && error.code === 'VM_RUNNING') {
        // Another Hangar process won the race: that one VM is the result.
        await this.waitForKeeper(id);
      } else {
        this.starting.delete(id);
        await this.emitChanged(id);
        throw error;
      }
    }
    await this.waitForKeeper(id);
    this.starting.delete(id);
    const summary = await this.summarize(entry);
    this.emit({ type: 'vmChanged', vm: summary });
    return summary;
  }

  private async waitForKeeper(id: string, timeoutMs = 60_000): Promise<KeeperClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const client = await this.attach(id);
      if (client) return client;
      if (Date.now() > deadline) throw new HangarError('TIMEOUT', 'The VM did not come up within a minute.');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async running(ref: string): Promise<{ entry: LibraryEntry; keeper: KeeperClient }> {
    const entry = await this.library.find(ref);
    const keeper = await this.attach(entry.id);
    if (!keeper?.isConnected) {
      const name = entry.config?.name ?? entry.id;
      if (await this.savedState(entry.dir)) throw new HangarError('VM_NOT_RUNNING', `"${name}" is saved, not running. Start it to resume where it was.`);
      throw new HangarError('VM_NOT_RUNNING', `"${name}" is not running.`);
    }
    return { entry, keeper };
  }

  private async command(ref: string, execute: Parameters<KeeperClient['execute']>[0], args?: Record<string, unknown>): Promise<VmSummary> {
    const { entry, keeper } = await this.running(ref);
    try {
      await keeper.execute(execute, args);
    } catch (error) {
      throw new HangarError('QEMU_FAILED', `QEMU refused to ${execute.replace(/[_-]/g, ' ')}: ${(error as Error).message}`);
    }
    return this.summarize(entry);
  }

  async stopVm(ref: string, { force }: { force: boolean }): Promise<VmSummary> {
    const entry = await this.library.find(ref);
    await this.attach(entry.id);
    const orphan = this.orphans.get(entry.id);
    if (orphan !== undefined) {
      if (!force) throw new HangarError('VM_BUSY', `"${entry.config?.name ?? entry.id}" runs without its keeper, so Hangar cannot press its power button. Force it off instead.`);
      await stopOrphan(this.runDir(entry.id), orphan);
      this.orphans.delete(entry.id);
      await this.recordLostRun(entry.id, Date.now(), true);
      const summary = await this.summarize(entry);
      this.emit({ type: 'vmChanged', vm: summary });
      return summary;
    }
    // The power cord of a saved VM: forget its state, so it boots afresh next time.
    if (force && !this.keepers.get(entry.id)?.isConnected && (await this.savedState(entry.dir))) {
      await this.discardSavedState(entry);
      const summary = await this.summarize(entry);
      this.emit({ type: 'vmChanged', vm: summary });
      return summary;
    }
    return this.command(entry.id, force ? 'quit' : 'system_powerdown');
  }

  /**
   * Saves a running (or paused) VM's state into its folder and ends its QEMU: the keeper does
   * the work (see qemu/keeper/save-restore.ts); this waits until the keeper has recorded the
   * run as saved and gone.
   */
  async saveVm(ref: string): Promise<VmSummary> {
    const entry = await this.library.find(ref);
    const name = entry.config?.name ?? entry.id;
    const keeper = await this.attach(entry.id);
    if (!keeper?.isConnected) {
      if (this.orphans.has(entry.id)) throw new HangarError('VM_BUSY', `"${name}" runs without its keeper, so Hangar cannot save it. Force it off instead.`);
      if (await this.savedState(entry.dir)) throw new HangarError('VM_NOT_RUNNING', `"${name}" is saved already. Start it to resume where it was.`);
      throw new HangarError('VM_NOT_RUNNING', `"${name}" is not running, so there is nothing to save.`);
    }
    const gone = new Promise<void>((resolve) => {
      if (!keeper.isConnected) resolve();
      else keeper.once('gone', () => resolve());
    });
    try {
      await keeper.save();
    } catch (error) {
      if (error instanceof KeeperCommandError && error.code) throw new HangarError(error.code, error.message);
      throw new HangarError('QEMU_FAILED', `"${name}" could not be saved: ${(error as Error).message}`);
    }
    // The state is on disk; the keeper hangs up once QEMU has ended and last-run.json says so.
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    const summary = await this.summarize(entry);
    this.emit({ type: 'vmChanged', vm: summary });
    return summary;
  }

  pauseVm(ref: string): Promise<VmSummary> {
    return this.command(ref, 'stop');
  }

  resumeVm(ref: string): Promise<VmSummary> {
    return this.command(ref, 'cont');
  }

  resetVm(ref: string): Promise<VmSummary> {
    return this.command(ref, 'system_reset');
  }

  /** Asks QEMU for the VM's status, which corrects the state everywhere (e.g. after an ignored power button). */
  async refreshState(ref: string): Promise<VmSummary> {
    return this.command(ref, 'query-status');
  }

  /** Resolves when the VM reaches one of the states, or rejects after the timeout. */
  async waitForState(ref: string, states: readonly VmSummary['state'][], timeoutMs: number): Promise<VmSummary> {
    const entry = await this.library.find(ref);
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (summary: VmSummary | null, error?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unsubscribe();
        if (summary) resolve(summary);
        else reject(error);
      };
      const unsubscribe = this.onEvent((event) => {
        if (event.type === 'vmChanged' && event.vm.id === entry.id && states.includes(event.vm.state)) finish(event.vm);
      });
      const timer = setTimeout(() => finish(null, new HangarError('TIMEOUT', `"${entry.config?.name ?? entry.id}" did not become ${states.join(' or ')} within ${Math.round(timeoutMs / 1000)} s.`)), timeoutMs);
      void this.summarize(entry).then((summary) => {
        if (states.includes(summary.state)) finish(summary);
      });
    });
  }

  async changeMedia(ref: string, iso: string | null): Promise<VmSummary> {
    if (iso !== null) await checkIso(iso);
    const entry = await this.library.get(ref);
    const keeper = await this.attach(entry.id);
    // The guest was saved with this disc in its drive; it changes once the VM runs again.
    if (!keeper?.isConnected && iso !== entry.config.cdrom) await this.refuseWhileSaved(entry, 'the CD in its drive');
    if (keeper?.isConnected) {
      try {
        if (iso === null) await keeper.execute('eject', { id: 'cd0', force: true });
        else await keeper.execute('blockdev-change-medium', { id: 'cd0', filename: iso, format: 'raw', 'read-only-mode': 'read-only' });
      } catch (error) {
        throw new HangarError('QEMU_FAILED', `The CD could not be changed: ${(error as Error).message}`);
      }
    }
    // Taking the install ISO out means the OS is installed: boot from the disk from now on.
    await this.library.update(entry.id, (config) => ({ ...config, cdrom: iso, bootFrom: iso === null ? 'disk' : config.bootFrom }), { whileRunning: true });
    const summary = await this.summary(entry.id);
    this.emit({ type: 'vmChanged', vm: summary });
    return summary;
  }

  async deleteVm(ref: string, { keepDisks }: { keepDisks: boolean }): Promise<{ keptDisksDir: string | null }> {
    const entry = await this.library.find(ref);
    if ((await this.attach(entry.id))?.isConnected || this.orphans.has(entry.id)) throw new HangarError('VM_RUNNING', `"${entry.config?.name ?? entry.id}" is running. Shut it down before deleting it.`);
    const result = await this.library.remove(entry.id, keepDisks);
    this.emit({ type: 'vmRemoved', id: entry.id });
    return result;
  }

  async openConsole(ref: string): Promise<ConsoleSession> {
    const { entry } = await this.running(ref);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const candidate = net.createConnection(keeperFiles(this.runDir(entry.id)).console);
      candidate.once('connect', () => resolve(candidate));
      candidate.once('error', (error) => reject(new HangarError('VM_NOT_RUNNING', `The console of "${entry.config?.name}" is not available: ${error.message}`)));
    });
    // First the framed scrollback, then live bytes.
    const listeners = new Set<(chunk: Buffer) => void>();
    let pending = Buffer.alloc(0);
    const scrollback = await new Promise<Buffer>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length < 4) return;
        const length = pending.readUInt32BE(0);
        if (pending.length < 4 + length) return;
        socket.off('data', onData);
        const kept = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        resolve(Buffer.from(kept));
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new HangarError('VM_NOT_RUNNING', 'The VM stopped.')));
    });
    const early = pending;
    socket.on('data', (chunk: Buffer) => {
      for (const listener of listeners) listener(chunk);
    });
    return {
      scrollback: early.length > 0 ? Buffer.concat([scrollback, early]) : scrollback,
      onData(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      onEnd(listener) {
        socket.once('close', listener);
      },
      write(data) {
        socket.write(data);
      },
      close() {
        socket.destroy();
      },
    };
  }

  // The screen: QEMU serves VNC on vnc.sock in the run folder (0700); pictures via screendump.
  async screenSocket(ref: string): Promise<string> {
    const { entry } = await this.running(ref);
    const socket = runPaths(this.runDir(entry.id)).vncSocket;
    // No socket while its keeper still answers: QEMU has just ended.
    if (!(await fs.stat(socket).catch(() => null))?.isSocket()) throw new HangarError('VM_NOT_RUNNING', `"${entry.config?.name ?? entry.id}" is not running.`);
    return socket;
  }

  async screenshot(ref: string): Promise<ScreenPicture> {
    const { entry, keeper } = await this.running(ref);
    try {
      return await takeScreenshot({ screendump: (args) => keeper.execute('screendump', args) }, this.runDir(entry.id));
    } catch (error) {
      if (error instanceof HangarError) throw error;
      const stopped = !keeper.isConnected;
      throw new HangarError(stopped ? 'VM_NOT_RUNNING' : 'QEMU_FAILED', stopped ? `"${entry.config?.name ?? entry.id}" stopped before its screen could be pictured.` : `QEMU could not picture the screen: ${(error as Error).message}`);
    }
  }

  private closed = false;

  close(): void {
    this.closed = true;
    for (const watcher of [...this.watchers.splice(0), ...this.runWatchers.values()]) watcher.close();
    this.runWatchers.clear();
    for (const keeper of this.keepers.values()) keeper.close();
    this.keepers.clear();
    this.events.removeAllListeners();
  }
}

