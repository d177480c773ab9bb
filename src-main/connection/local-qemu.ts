import { EventEmitter } from 'node:events';
import { constants, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';
import { NewVmRequest, type VmConfig, type VmDetails, type VmSummary } from '../../src-shared/vm';
import { buildQemuArgv, diskPath, runPaths, vmFiles, type LaunchPlan } from '../qemu/argv';
import { QemuImg } from '../qemu/img';
import { KeeperClient } from '../qemu/keeper/client';
import { keeperFiles, LAST_RUN_FILE, LastRun, type LaunchSpec } from '../qemu/keeper/protocol';
import { inspectRunFolder, keeperEntry, launchKeeper, stopOrphan } from '../qemu/supervisor';
import { atomicWriteFile } from '../util/atomic-write';
import { VmLibrary, type LibraryEntry } from '../vms/library';
import type { Connection, ConnectionEvent, ConsoleSession } from './connection';
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

const ISO9660_MAGIC_OFFSET = 0x8001;

async function checkIso(file: string): Promise<void> {
  if (!path.isAbsolute(file)) throw new HangarError('BAD_SETTINGS', `Give the ISO's full path, not "${file}".`);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HangarError('ISO_NOT_FOUND', `The ISO ${file} does not exist. Choose another one.`);
    throw new HangarError('ISO_NOT_FOUND', `The ISO ${file} cannot be read (${code}).`);
  }
  try {
    if (!(await handle.stat()).isFile()) throw new HangarError('BAD_SETTINGS', `${file} is not a file, so it cannot be an ISO image.`);
    const magic = Buffer.alloc(5);
    await handle.read(magic, 0, 5, ISO9660_MAGIC_OFFSET);
    if (magic.toString('latin1') !== 'CD001') throw new HangarError('BAD_SETTINGS', `${file} is not an ISO image (no ISO 9660 volume in it).`);
  } finally {
    await handle.close();
  }
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
    return connection;
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

  private async attach(id: string): Promise<KeeperClient | null> {
    const existing = this.keepers.get(id);
    if (existing?.isConnected) return existing;
    const found = await inspectRunFolder(this.runDir(id), id);
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
    return { ...base, state: crashed ? 'crashed' : 'stopped', problem: crashed ? last.problem : null, accelerator: null, pid: null };
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
        argv = [host.qemuSystem ?? 'qemu-system-x86_64', ...buildQemuArgv(await this.plan(entry.dir, entry.config, host))];
      } catch {
        argv = null; // e.g. UEFI without firmware: the start will say so
      }
    }
    return { summary: await this.summarize(entry), argv, dir: entry.dir };
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

  async defineVm(raw: unknown): Promise<VmSummary> {
    const request = NewVmRequest.parse(raw);
    const host = await this.host();
    const totalMiB = Math.floor(host.memoryTotalBytes / 1024 / 1024);
    if (host.memoryTotalBytes > 0 && request.memoryMiB > totalMiB) {
      throw new HangarError('BAD_SETTINGS', `${formatBytes(request.memoryMiB * 1024 * 1024)} is more memory than this machine has (${formatBytes(host.memoryTotalBytes)}). Choose at most ${totalMiB} MiB.`);
    }
    if (host.cpuThreads > 0 && request.cpus > host.cpuThreads) throw new HangarError('BAD_SETTINGS', `This machine has ${host.cpuThreads} CPU threads; give the VM at most that many.`);
    if (request.iso !== null) await checkIso(request.iso);
    if (request.firmware === 'uefi' && !host.ovmf) throw new HangarError('BAD_SETTINGS', 'UEFI firmware (OVMF) is not installed; choose BIOS or install it ("hangar doctor" says how).');
    if (request.tpm && !host.swtpm) throw new HangarError('BAD_SETTINGS', 'swtpm is not installed, so the VM cannot have a TPM ("hangar doctor" says how to install it).');
    const ideLike = request.diskBus === 'sata' || request.diskBus === 'ide';
    if (ideLike && request.machine === 'pc' && request.diskBus === 'sata') throw new HangarError('BAD_SETTINGS', 'The old pc machine has no SATA controller; choose IDE or the q35 machine.');
    const img = new QemuImg(host.qemuImg ?? 'qemu-img');
    const wantsDisk = request.importDisk !== null || request.diskGiB > 0;
    if (request.importDisk !== null && !path.isAbsolute(request.importDisk)) throw new HangarError('BAD_SETTINGS', `Give the disk image's full path, not "${request.importDisk}".`);

    const config = await this.library.create(
      {
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
      },
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
    if (config.cdrom !== null) await checkIso(config.cdrom);
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
      argv: buildQemuArgv(plan),
      accelerator: host.accelerator,
      swtpm: config.tpm && host.swtpm ? { binary: host.swtpm, stateDir: path.join(entry.dir, 'tpm'), socket: plan.run.tpmSocket } : null,
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
    if (!keeper?.isConnected) throw new HangarError('VM_NOT_RUNNING', `"${entry.config?.name ?? entry.id}" is not running.`);
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
    return this.command(entry.id, force ? 'quit' : 'system_powerdown');
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

  close(): void {
    for (const keeper of this.keepers.values()) keeper.close();
    this.keepers.clear();
    this.events.removeAllListeners();
  }
}

