import { EventEmitter } from 'node:events';
import { promises as fs, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { VmId } from '../../src-shared/vm';
import { KeeperClient } from '../qemu/keeper/client';
import { keeperFiles } from '../qemu/keeper/protocol';
import { hasFolderOwner, inspectRunFolder, rescanKeeper, runningQemu } from '../qemu/supervisor';
import { watchFolder } from './library-cache';

// The keepers of the running VMs, as this process is connected to them: one client per VM
// however many callers ask, the VMs whose keeper died while QEMU runs on (orphans), and
// a watch on the run folders so a VM started by another Hangar process is attached as
// soon as its keeper listens. No polling.

export interface KeeperEvents {
  /** Something about this VM's run changed: its state, its keeper came or went. */
  changed: [id: string];
  /** A run ended without its keeper recording it (killed, or the machine restarted). */
  lostRun: [id: string, launchedAt: number];
}

export class KeeperRegistry extends EventEmitter<KeeperEvents> {
  private readonly clients = new Map<string, KeeperClient>();
  private readonly attaching = new Map<string, Promise<KeeperClient | null>>();
  /** VMs whose keeper died while their QEMU runs on: pid of that QEMU. */
  private readonly orphans = new Map<string, number>();
  private rootWatcher: FSWatcher | null = null;
  private readonly runWatchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(private readonly runtimeRoot: string) {
    super();
    this.setMaxListeners(0);
  }

  runDir(id: string): string {
    return path.join(this.runtimeRoot, id);
  }

  /** The connected keeper of a VM, if this process has one. */
  connected(id: string): KeeperClient | null {
    const client = this.clients.get(id);
    return client?.isConnected ? client : null;
  }

  orphanPid(id: string): number | null {
    return this.orphans.get(id) ?? null;
  }

  forgetOrphan(id: string): void {
    this.orphans.delete(id);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Attaches to a VM's keeper if it runs. Callers at once share one attempt; `fresh` asks for
   * an attempt that starts now, because something just changed (its control socket appeared):
   * joining an attempt begun before that could miss it.
   */
  async attach(id: string, { fresh = false } = {}): Promise<KeeperClient | null> {
    const existing = this.connected(id);
    if (existing) return existing;
    const pending = this.attaching.get(id);
    if (pending) {
      const joined = await pending;
      if (joined || !fresh) return joined;
      return this.attach(id, { fresh: false });
    }
    const attempt = this.attachNow(id).finally(() => this.attaching.delete(id));
    this.attaching.set(id, attempt);
    return attempt;
  }

  /** One rescan at a time for all of this process's attempts (keeper/daemon.ts reattaches every unkept VM). */
  private rescanning: Promise<string[]> | null = null;

  private async attachNow(id: string): Promise<KeeperClient | null> {
    if (this.closed) return null;
    let found = await inspectRunFolder(this.runDir(id), id);
    if (found.kind === 'unkept') {
      // Its keeper is starting it, or died and its VMs run on: a keeper (started now if none
      // runs) takes them up again and says which VMs it keeps.
      this.rescanning ??= rescanKeeper(this.runtimeRoot).catch(() => [] as string[]).finally(() => (this.rescanning = null));
      const kept = await this.rescanning;
      found = this.closed ? { kind: 'busy' } : await inspectRunFolder(this.runDir(id), id);
      if (found.kind === 'unkept') {
        // Kept but not answering yet (a start under way), or no keeper could take it up (its
        // QEMU does not answer): then it runs unsupervised, as an orphan does.
        const qemuPid = kept.includes(id) ? null : await runningQemu(this.runDir(id), id);
        found = qemuPid === null ? { kind: 'busy' } : { kind: 'orphan', qemuPid };
      }
    }
    // Closed meanwhile (the CLI is exiting): holding a keeper now would keep it alive.
    if (this.closed) {
      if (found.kind === 'keeper') found.client.close();
      return null;
    }
    const wasOrphan = this.orphans.has(id);
    if (found.kind === 'orphan') this.orphans.set(id, found.qemuPid);
    else this.orphans.delete(id);
    if (found.kind === 'none' && found.stale) this.emit('lostRun', id, found.launchedAt ?? 0);
    if (found.kind === 'orphan' && !wasOrphan) this.emit('changed', id);
    if (found.kind !== 'keeper') return null;
    const client = found.client;
    this.clients.set(id, client);
    client.on('state', () => this.emit('changed', id));
    client.once('gone', () => {
      if (this.clients.get(id) === client) this.clients.delete(id);
      // Gone may mean QEMU ended (the keeper said so first), or the keeper itself died while
      // QEMU runs on: look at the run folder again, once it has settled (a dying keeper's
      // pid lives a moment past its socket), before anyone is told what happened.
      void this.attachWhenSettled(id).finally(() => this.emit('changed', id));
    });
    return client;
  }

  /**
   * A run folder can look busy for a moment: a control socket's name appears when the keeper
   * binds it, a moment before it listens; a killed holder's pid lives a moment past its
   * socket; a keeper that died is replaced, and its successor reattaches. Try again for a little while, so a VM started elsewhere is never missed and a
   * lost keeper is never taken for a stopped VM; stop as soon as the folder says there is no
   * keeper at all, or only an orphaned QEMU.
   */
  private async attachWhenSettled(id: string): Promise<KeeperClient | null> {
    for (let attempt = 0; attempt < 50 && !this.closed; attempt++) {
      const client = await this.attach(id, { fresh: true });
      if (client) return client;
      if (!(await hasFolderOwner(this.runDir(id))) || this.orphans.has(id)) return null;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return null;
  }

  /** Attaches to every VM of the library that runs, and cleans run folders nobody is behind. */
  async rediscover(knownIds: ReadonlySet<string>): Promise<void> {
    await Promise.all([...knownIds].map((id) => this.attach(id)));
    for (const name of await fs.readdir(this.runtimeRoot).catch(() => [] as string[])) {
      if (!knownIds.has(name) && VmId.safeParse(name).success) {
        const found = await inspectRunFolder(this.runDir(name), name);
        if (found.kind === 'keeper') found.client.close();
      }
    }
  }

  /**
   * Other Hangar processes start VMs too: a new run folder means a keeper is coming. Attach
   * once its control socket appears (inotify on the folder, then on the socket's name).
   */
  watch(): void {
    if (this.rootWatcher || this.closed) return;
    const controlName = path.basename(keeperFiles('/').control);
    const attachWhenReady = (id: string): void => {
      this.runWatchers.get(id)?.close();
      this.runWatchers.delete(id);
      void this.attachWhenSettled(id).then(() => this.emit('changed', id), () => {});
    };
    this.rootWatcher = watchFolder(this.runtimeRoot, (id) => {
      if (id.startsWith('.') || !VmId.safeParse(id).success || this.connected(id) || this.closed) return;
      this.runWatchers.get(id)?.close();
      const inner = watchFolder(this.runDir(id), (file) => file === controlName && attachWhenReady(id));
      if (inner) this.runWatchers.set(id, inner);
      // The socket may be there already (the folder's event came late).
      void fs.stat(keeperFiles(this.runDir(id)).control).then(() => attachWhenReady(id), () => {});
    });
  }

  close(): void {
    this.closed = true;
    this.rootWatcher?.close();
    for (const watcher of this.runWatchers.values()) watcher.close();
    this.runWatchers.clear();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.removeAllListeners();
  }
}
