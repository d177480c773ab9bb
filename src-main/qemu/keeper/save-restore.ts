import { once } from 'node:events';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { HangarError } from '../../../src-shared/errors';
import { formatBytes } from '../../../src-shared/format';
import { atomicWriteFile } from '../../util/atomic-write';
import type { QmpClient, QmpEvent } from '../qmp';
import type { VmLayout } from '../../vms/layout';
import type { SavedState } from '../../vms/saved-state';

// Saving a VM is QEMU's migration, sent to a file; resuming is an incoming migration read
// from it. The obvious `migrate exec:cat > FILE` cannot work here: exec: migration makes
// QEMU fork a shell, and Hangar runs QEMU under `-sandbox ...,spawn=deny`, whose seccomp
// filter kills it for that. So the keeper (QEMU's parent, which owns QMP) carries the
// bytes itself over a private unix socket in the run folder (0700, the socket 0600): QEMU
// connects to it to save, listens on it to restore, and the keeper writes or reads the
// file in the VM folder. The stream never passes through anyone else, and no client of the
// keeper can point a migration anywhere.

/** The longest path a unix socket can have on Linux (sun_path is 108 bytes, NUL included). */
const SOCKET_PATH_MAX = 107;
/** A save is not live (the guest is stopped first), so the stream goes as fast as the disk takes it. */
const UNLIMITED_BANDWIDTH = Number.MAX_SAFE_INTEGER;

/** Statuses a VM can be saved in; anything else (shutting down, crashed, mid-migration) is not a VM to save. */
const SAVEABLE = new Set(['running', 'paused', 'io-error', 'suspended']);

export interface MigrationPeer {
  qmp: QmpClient;
  /** Settles when QEMU's process has ended. */
  qemuEnded: Promise<void>;
}

/** Where a VM's saved state goes (vms/layout.ts). */
export type SavedFiles = Pick<VmLayout, 'savedState' | 'savedPartial' | 'savedInfo'>;

/** Why a restore failed, before QEMU's own words (its stderr) are added by the keeper. */
export class RestoreFailure extends Error {}

export function checkSocketPath(socket: string): void {
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    throw new HangarError('BAD_SETTINGS', `The run folder's path is too long for a unix socket (${socket}); set HANGAR_RUNTIME_DIR to a shorter folder.`);
  }
}

/** Resolves when QEMU reports the migration completed; rejects with its reason when it fails, or when QEMU ends. */
function migrationOutcome(peer: MigrationPeer): Promise<void> {
  const outcome = new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      peer.qmp.off('event', onEvent);
      peer.qmp.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onEvent = (event: QmpEvent): void => {
      if (event.event !== 'MIGRATION') return;
      const status = event.data?.status;
      if (status === 'completed') finish(null);
      else if (status === 'failed' || status === 'cancelled') {
        // The reason is not in the event; the source side keeps it in query-migrate.
        void peer.qmp
          .execute<{ 'error-desc'?: string }>('query-migrate')
          .then((info) => info['error-desc'], () => undefined)
          .then((reason) => finish(new Error(reason ?? (status === 'failed' ? 'QEMU says the migration failed' : 'it was cancelled'))));
      }
    };
    const onClose = (): void => finish(new Error('QEMU ended'));
    peer.qmp.on('event', onEvent);
    peer.qmp.once('close', onClose);
    void peer.qemuEnded.then(() => finish(new Error('QEMU ended')));
  });
  outcome.catch(() => {}); // always awaited later; never an unhandled rejection meanwhile
  return outcome;
}

const MachineList = z.array(z.object({ name: z.string(), alias: z.string().optional() }));
const Greeting = z.object({ version: z.object({ qemu: z.object({ major: z.number(), minor: z.number(), micro: z.number() }) }) });

/**
 * The versioned machine type behind the argv's -machine (q35 is an alias of the newest,
 * pc-q35-7.2 here). A stream resumes only on the machine it was made with, so a restore
 * after a QEMU upgrade asks for that one, not the alias's new meaning.
 */
async function versionedMachine(qmp: QmpClient, argv: readonly string[]): Promise<string | null> {
  const option = argv[argv.indexOf('-machine') + 1];
  const asked = argv.includes('-machine') && option ? (option.split(',')[0] ?? '') : '';
  const machines = MachineList.parse(await qmp.execute('query-machines'));
  const found = machines.find((machine) => machine.name === asked) ?? machines.find((machine) => machine.alias === asked);
  return found && /^[\w.-]{1,64}$/.test(found.name) ? found.name : null;
}

function listenOnce(socket: string): Promise<{ server: net.Server; connection: Promise<net.Socket> }> {
  return new Promise((resolve, reject) => {
    let accept: (connection: net.Socket) => void = () => {};
    const connection = new Promise<net.Socket>((resolveConnection) => (accept = resolveConnection));
    let taken = false;
    const server = net.createServer((peer) => {
      // Only the first caller is QEMU (it connects the moment `migrate` runs); nobody else gets in.
      if (taken) return void peer.destroy();
      taken = true;
      server.close();
      accept(peer);
    });
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve({ server, connection });
    });
  });
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const isNoSpace = (error: unknown): boolean => ['ENOSPC', 'EDQUOT'].includes((error as NodeJS.ErrnoException | null)?.code ?? '');

export interface SaveOptions {
  vmName: string;
  /** The state socket in the run folder. */
  socket: string;
  files: SavedFiles;
  /** QEMU's argv, to learn which machine type the stream belongs to. */
  argv: readonly string[];
}

/**
 * Stops the guest, streams its whole state into files.savedPartial, flushes it and renames it
 * into place with saved.json beside it. On any failure the partial file goes, the guest runs
 * on as before, and the error says why (NO_SPACE for a full disk). QEMU is left in
 * 'postmigrate' on success: the keeper quits it.
 */
export async function saveVmState(peer: MigrationPeer, options: SaveOptions): Promise<SavedState> {
  const { qmp } = peer;
  const { files, socket, vmName } = options;
  checkSocketPath(socket);
  const { status } = await qmp.execute<{ status: string }>('query-status');
  if (!SAVEABLE.has(status)) throw new HangarError('VM_NOT_RUNNING', `"${vmName}" cannot be saved now: QEMU says it is ${status.replace(/-/g, ' ')}.`);
  const wasRunning = status === 'running';
  const [machine, qemuVersion] = await Promise.all([versionedMachine(qmp, options.argv).catch(() => null), Promise.resolve(versionOf(qmp.greeting))]);

  await fs.rm(files.savedPartial, { force: true });
  await fs.rm(socket, { force: true });
  // flush: fsync before close, so "written" means on the disk (and a late ENOSPC is seen here).
  const file = createWriteStream(files.savedPartial, { flags: 'wx', mode: 0o600, flush: true });
  await once(file, 'open');
  let stream: net.Socket | null = null;
  let server: net.Server | null = null;
  let stopped = false;
  let migrated: Promise<void> | null = null;
  let migrating = false;
  try {
    const listening = await listenOnce(socket);
    server = listening.server;
    await fs.chmod(socket, 0o600);
    await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED_BANDWIDTH });
    migrated = migrationOutcome(peer);
    if (wasRunning) {
      await qmp.execute('stop');
      stopped = true;
    }
    await qmp.execute('migrate', { uri: `unix:${socket}` });
    migrating = true;
    // No connection comes if the migration fails before QEMU connects: then nothing is written.
    const connection = await Promise.race([listening.connection, migrated.then(() => listening.connection, () => null)]);
    let writeError: unknown = null;
    if (connection) {
      stream = connection;
      await pipeline(connection, file).catch((error: unknown) => {
        writeError = error;
        // Tell QEMU at once rather than wait for it to notice the closed socket.
        void qmp.execute('migrate_cancel').catch(() => {});
      });
    }
    const [migration] = await Promise.allSettled([migrated]);
    if (writeError) throw writeError;
    if (migration.status === 'rejected') throw new Error((migration.reason as Error).message);

    const bytes = (await fs.stat(files.savedPartial)).size;
    const saved: SavedState = { savedAt: new Date().toISOString(), resume: wasRunning ? 'running' : 'paused', machine, qemuVersion, bytes };
    // saved.json first, the stream's rename last: the rename is the moment the VM counts as saved.
    await atomicWriteFile(files.savedInfo, JSON.stringify(saved, null, 2) + '\n');
    await fs.rename(files.savedPartial, files.savedState);
    await syncFolder(path.dirname(files.savedState));
    return saved;
  } catch (error) {
    stream?.destroy();
    if (!file.closed) {
      file.destroy();
      await once(file, 'close').catch(() => {});
    }
    const written = await fs.stat(files.savedPartial).then((stats) => stats.size, () => 0);
    await fs.rm(files.savedPartial, { force: true });
    await fs.rm(files.savedInfo, { force: true });
    if (migrating && migrated) {
      await qmp.execute('migrate_cancel').catch(() => {});
      await migrated.catch(() => {});
    }
    // After a failed (or even completed) migration QEMU holds the guest stopped; it goes on as it was.
    if (stopped) await qmp.execute('cont').catch(() => {});
    const goesOn = wasRunning ? 'It keeps running.' : 'It stays paused.';
    if (isNoSpace(error)) {
      const dir = path.dirname(files.savedState);
      const full = written > 0 ? `There is not enough free space in ${dir} to save "${vmName}": the disk was full after ${formatBytes(written)} of its state.` : `There is no free space in ${dir} to save "${vmName}".`;
      throw new HangarError('NO_SPACE', `${full} Nothing was saved. ${goesOn}`);
    }
    if (error instanceof HangarError) throw error;
    throw new HangarError('QEMU_FAILED', `"${vmName}" could not be saved: ${(error as Error).message}. ${goesOn}`);
  } finally {
    server?.close();
    await fs.rm(socket, { force: true }).catch(() => {});
  }
}

function versionOf(greeting: Record<string, unknown> | null): string | null {
  const parsed = Greeting.safeParse(greeting);
  if (!parsed.success) return null;
  const { major, minor, micro } = parsed.data.version.qemu;
  return `${major}.${minor}.${micro}`;
}

export interface RestoreOptions {
  socket: string;
  files: SavedFiles;
  resume: 'running' | 'paused';
}

/**
 * Feeds the saved stream to a QEMU started with `-incoming defer`, waits until it has
 * loaded, removes the saved state, then lets the guest run (when it was running). The
 * state goes before the guest runs: from then on the guest writes to its disks and the
 * saved memory no longer matches them. On failure (QEMU 7.2 exits when a load fails) the
 * files are left as they are, so nothing is lost.
 */
export async function restoreVmState(peer: MigrationPeer, options: RestoreOptions): Promise<void> {
  const { qmp } = peer;
  const { socket, files } = options;
  checkSocketPath(socket);
  await fs.rm(socket, { force: true });
  let connection: net.Socket | null = null;
  try {
    await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    const migrated = migrationOutcome(peer);
    await qmp.execute('migrate-incoming', { uri: `unix:${socket}` });
    connection = await new Promise<net.Socket>((resolve, reject) => {
      const candidate = net.createConnection(socket);
      candidate.once('connect', () => {
        candidate.off('error', reject);
        resolve(candidate);
      });
      candidate.once('error', reject);
    });
    // QEMU may close its end once it has read the last section: a late EPIPE is not a failure.
    const fed = pipeline(createReadStream(files.savedState), connection).catch((error: unknown) => error);
    const [migration, feeding] = await Promise.allSettled([migrated, fed]);
    if (migration.status === 'rejected') {
      const unreadable = feeding.status === 'fulfilled' && (feeding.value as NodeJS.ErrnoException | undefined)?.syscall === 'open';
      throw new RestoreFailure(unreadable ? `the file ${files.savedState} could not be read` : (migration.reason as Error).message);
    }
  } catch (error) {
    connection?.destroy();
    if (error instanceof RestoreFailure) throw error;
    throw new RestoreFailure((error as Error).message);
  } finally {
    await fs.rm(socket, { force: true }).catch(() => {});
  }
  await fs.rm(files.savedState);
  await fs.rm(files.savedInfo, { force: true });
  await syncFolder(path.dirname(files.savedState));
  if (options.resume === 'running') await qmp.execute('cont');
}
