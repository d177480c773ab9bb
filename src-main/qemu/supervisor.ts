import { promises as fs } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { HangarError, type ErrorCode } from '../../src-shared/errors';
import { atomicWriteFile } from '../util/atomic-write';
import { isProcessAlive, processArgv } from '../util/process';
import { runPaths } from './argv';
import { qemuProcessName } from './process-name';

export { qemuProcessName } from './process-name';
import { KeeperClient } from './keeper/client';
import { keeperFiles, RescanReply, StartReport, type LaunchSpec } from './keeper/protocol';
import { connectKeeper, findKeeperEntry } from './keeper/wake';
import { holderFiles } from './holder/paths';
import { lineReader } from '../util/json-lines';
import { runtimeRootPath } from '../vms/paths';

// Starting a VM hands it to the keeper (one per user, detached from us), which runs it under
// a holder of its own, so the VM outlives the window, the web host or the CLI that started it. Any Hangar process finds running VMs
// again through their run folders: $XDG_RUNTIME_DIR/hangar/<vm-id>/ (0700).

/** The private folder for sockets and pid files; made 0700 and checked to be ours. */
export async function runtimeRoot(env: Readonly<Record<string, string | undefined>> = process.env): Promise<string> {
  const base = runtimeRootPath(env);
  await fs.mkdir(base, { recursive: true, mode: 0o700 });
  const stats = await fs.lstat(base);
  if (!stats.isDirectory() || stats.uid !== process.getuid?.()) throw new HangarError('NO_PERMISSION', `${base} is not a folder of yours; Hangar will not put its sockets there.`);
  if ((stats.mode & 0o077) !== 0) await fs.chmod(base, 0o700);
  return base;
}

/** The built keeper entry, or the words for a build without one. */
export function keeperEntry(): string {
  const found = findKeeperEntry();
  if (!found) throw new HangarError('INTERNAL', 'Hangar is not built completely (keeper.js is missing). Run "npm run build".');
  return found;
}

export interface StartedVm {
  holderPid: number;
  qemuPid: number;
}

/** Asks the keeper (started now if none runs) to start a VM, and waits until QEMU runs or it says why it cannot. */
export async function launchKeeper(spec: LaunchSpec, entry = keeperEntry()): Promise<StartedVm> {
  await fs.mkdir(spec.runDir, { recursive: true, mode: 0o700 });
  await atomicWriteFile(keeperFiles(spec.runDir).launch, JSON.stringify(spec));
  let socket: Socket;
  try {
    socket = await connectKeeper(path.dirname(spec.runDir), entry);
  } catch (error) {
    // Nothing was started: take back the launch file, and the folder if it holds nothing else.
    await fs.rm(keeperFiles(spec.runDir).launch, { force: true });
    await fs.rmdir(spec.runDir).catch(() => {});
    throw new HangarError('INTERNAL', (error as Error).message);
  }
  const report = await new Promise<StartReport>((resolve, reject) => {
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on(
      'data',
      lineReader((line) => {
        socket.end();
        const parsed = StartReport.safeParse((() => {
          try {
            return JSON.parse(line);
          } catch {
            return null;
          }
        })());
        if (parsed.success) resolve(parsed.data);
        else reject(new HangarError('INTERNAL', 'The VM keeper answered something unexpected.'));
      }),
    );
    socket.once('close', () => reject(new HangarError('INTERNAL', 'The VM keeper ended without saying whether the VM started.')));
    socket.write(JSON.stringify({ type: 'start', runDir: spec.runDir }) + '\n');
  });
  if (report.type === 'failed') {
    const error = new HangarError(report.code as ErrorCode, report.message);
    (error as HangarError & { log?: string[] }).log = report.log;
    throw error;
  }
  return { holderPid: report.holderPid, qemuPid: report.qemuPid };
}

/**
 * Asks the keeper (started now if none runs) to keep the VMs whose holder runs unkept;
 * resolves, once it has looked, with the ids of every VM it keeps (starting ones too).
 */
export async function rescanKeeper(runtimeRoot: string, entry = findKeeperEntry()): Promise<string[]> {
  const socket = await connectKeeper(runtimeRoot, entry ?? undefined);
  try {
    return await new Promise<string[]>((resolve) => {
      socket.on('error', () => resolve([]));
      socket.once('close', () => resolve([]));
      socket.setEncoding('utf8').on(
        'data',
        lineReader((line) => {
          const answer = RescanReply.safeParse((() => {
            try {
              return JSON.parse(line);
            } catch {
              return null;
            }
          })());
          resolve(answer.success ? answer.data.kept : []);
        }),
      );
      socket.write(JSON.stringify({ type: 'rescan' }) + '\n');
    });
  } finally {
    socket.destroy();
  }
}

export type RunFolder =
  | { kind: 'keeper'; client: KeeperClient }
  /** A keeper is being started, or is not answering yet: leave it alone. */
  | { kind: 'busy' }
  /** QEMU runs under its holder, but no keeper answers for it (yet: a start under way; or the keeper died): ask for a rescan. */
  | { kind: 'unkept' }
  /** The keeper died but its QEMU runs on, unsupervised (only a forced stop can end it cleanly). */
  | { kind: 'orphan'; qemuPid: number }
  /** Nobody is behind the folder (or there is none); `stale` says a run ended unrecorded. */
  | { kind: 'none'; stale: boolean; launchedAt?: number };

async function livePid(file: string): Promise<number | null> {
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  const pid = text === null ? NaN : Number(text.trim());
  return isProcessAlive(pid) ? pid : null;
}

/** The pid of this VM's QEMU from its run folder, if that QEMU runs (its -name says so exactly). */
export async function runningQemu(runDir: string, vmId: string): Promise<number | null> {
  const qemuPid = await livePid(runPaths(runDir).pidFile);
  return qemuPid !== null && qemuProcessName((await processArgv(qemuPid)) ?? []) === `hangar-${vmId}` ? qemuPid : null;
}

/**
 * Hangar before the keeper/holder split ran one Node keeper per VM, QEMU's parent, with its
 * pid in the run folder's keeper.pid and the same control.sock protocol (its hello names
 * only that pid). A VM it still runs after an upgrade is served by it as before.
 */
const LEGACY_KEEPER_PID = 'keeper.pid';

/** The process answering for a run folder: its holder, or an earlier release's per-VM keeper. */
async function folderOwner(runDir: string): Promise<{ file: string; pid: number | null; legacy: boolean } | null> {
  for (const [file, legacy] of [[holderFiles(runDir).pid, false], [path.join(runDir, LEGACY_KEEPER_PID), true]] as const) {
    if (await fs.stat(file).then(() => true, () => false)) return { file, pid: await livePid(file), legacy };
  }
  return null;
}

/** What is behind a VM's run folder: its keeper (connected), an orphaned QEMU, or nothing (then cleaned). */
export async function inspectRunFolder(runDir: string, vmId: string): Promise<RunFolder> {
  const files = keeperFiles(runDir);
  const owner = await folderOwner(runDir);
  if (owner?.pid) {
    try {
      const client = await KeeperClient.connect(files.control);
      const answersFor = owner.legacy ? client.hello.keeperPid : client.hello.holderPid;
      if (client.hello.vmId === vmId && answersFor === owner.pid) return { kind: 'keeper', client };
      client.close();
    } catch {
      // Still starting up; or its keeper died, and the VM runs on under its holder (the
      // caller asks the keeper, which knows which).
      if (!owner.legacy) return { kind: 'unkept' };
    }
    return { kind: 'busy' };
  }
  const launched = await fs.stat(files.launch).catch(() => null);
  if (!launched && !owner) return { kind: 'none', stale: false };
  // A VM being started right now has no holder yet: leave young folders alone.
  if (!owner && Date.now() - launched!.mtimeMs < 30_000) return { kind: 'busy' };
  const qemuPid = await runningQemu(runDir, vmId);
  if (qemuPid !== null) return { kind: 'orphan', qemuPid };
  // The holder was killed, or the machine restarted: nothing runs, the files are stale.
  await fs.rm(runDir, { recursive: true, force: true });
  return { kind: 'none', stale: true, launchedAt: launched?.mtimeMs ?? 0 };
}

/** Whether anything answers for the run folder yet or still (a holder, or an earlier release's keeper): a pid file is there. */
export async function hasFolderOwner(runDir: string): Promise<boolean> {
  return (await folderOwner(runDir)) !== null;
}

/** Ends a QEMU whose keeper is gone, then removes its run folder. */
export async function stopOrphan(runDir: string, qemuPid: number): Promise<void> {
  try {
    process.kill(qemuPid, 'SIGTERM'); // QEMU shuts down cleanly on SIGTERM
  } catch {
    // already gone
  }
  for (let waited = 0; waited < 100 && isProcessAlive(qemuPid); waited++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isProcessAlive(qemuPid)) process.kill(qemuPid, 'SIGKILL');
  await fs.rm(runDir, { recursive: true, force: true });
}
