import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HangarError, type ErrorCode } from '../../src-shared/errors';
import { atomicWriteFile } from '../util/atomic-write';
import { isProcessAlive, processArgv } from '../util/process';
import { runPaths } from './argv';
import { qemuProcessName } from './process-name';

export { qemuProcessName } from './process-name';
import { KeeperClient } from './keeper/client';
import { keeperFiles, StartReport, type LaunchSpec } from './keeper/protocol';
import { discardWarmKeeper, findKeeperEntry, spawnKeeper } from './keeper/warm';

// Starting a VM hands it to a keeper process, detached from us, so the VM outlives the
// window, the web host or the CLI that started it. Any Hangar process finds running VMs
// again through their run folders: $XDG_RUNTIME_DIR/hangar/<vm-id>/ (0700).

/** The private folder for sockets and pid files; made 0700 and checked to be ours. */
export async function runtimeRoot(env: Readonly<Record<string, string | undefined>> = process.env): Promise<string> {
  const base = env.HANGAR_RUNTIME_DIR ?? (env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'hangar') : path.join(os.tmpdir(), `hangar-${process.getuid?.() ?? 'user'}`));
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
  keeperPid: number;
  qemuPid: number;
}

/**
 * Starts the keeper for a VM and waits until QEMU runs (or says why it cannot): the warm one
 * begun for this start (keeper/warm.ts) when it is still there, else a new one.
 */
export async function launchKeeper(spec: LaunchSpec, entry = keeperEntry(), warm: ChildProcess | null = null): Promise<StartedVm> {
  await fs.mkdir(spec.runDir, { recursive: true, mode: 0o700 });
  await atomicWriteFile(keeperFiles(spec.runDir).launch, JSON.stringify(spec));
  let child: ChildProcess;
  if (warm && warm.exitCode === null && warm.signalCode === null && warm.stdin?.writable && warm.stdout) {
    child = warm;
    (child.stdout as Socket).ref();
    child.stdin?.end(`${spec.runDir}\n`);
  } else {
    if (warm) discardWarmKeeper(warm);
    child = spawnKeeper(entry, [spec.runDir], 'ignore');
  }
  const stdout = child.stdout as Socket;
  const report = await new Promise<StartReport>((resolve, reject) => {
    let text = '';
    stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.once('error', (error) => reject(new HangarError('INTERNAL', `The VM keeper could not start: ${error.message}`)));
    stdout.once('end', () => {
      const parsed = StartReport.safeParse((() => {
        try {
          return JSON.parse(text.split('\n')[0] ?? '');
        } catch {
          return null;
        }
      })());
      if (parsed.success) resolve(parsed.data);
      else reject(new HangarError('INTERNAL', 'The VM keeper ended without saying whether the VM started.'));
    });
  });
  child.unref();
  if (report.type === 'failed') {
    const error = new HangarError(report.code as ErrorCode, report.message);
    (error as HangarError & { log?: string[] }).log = report.log;
    throw error;
  }
  return { keeperPid: report.keeperPid, qemuPid: report.qemuPid };
}

export type RunFolder =
  | { kind: 'keeper'; client: KeeperClient }
  /** A keeper is being started, or is not answering yet: leave it alone. */
  | { kind: 'busy' }
  /** The keeper died but its QEMU runs on, unsupervised (only a forced stop can end it cleanly). */
  | { kind: 'orphan'; qemuPid: number }
  /** Nobody is behind the folder (or there is none); `stale` says a run ended unrecorded. */
  | { kind: 'none'; stale: boolean; launchedAt?: number };

async function livePid(file: string): Promise<number | null> {
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  const pid = text === null ? NaN : Number(text.trim());
  return isProcessAlive(pid) ? pid : null;
}

/** What is behind a VM's run folder: its keeper (connected), an orphaned QEMU, or nothing (then cleaned). */
export async function inspectRunFolder(runDir: string, vmId: string): Promise<RunFolder> {
  const files = keeperFiles(runDir);
  const hasPidFile = await fs.stat(files.keeperPid).then(() => true, () => false);
  const keeperPid = await livePid(files.keeperPid);
  if (keeperPid !== null) {
    try {
      const client = await KeeperClient.connect(files.control);
      if (client.hello.vmId === vmId && client.hello.keeperPid === keeperPid) return { kind: 'keeper', client };
      client.close();
    } catch {
      // still starting up
    }
    return { kind: 'busy' };
  }
  const launched = await fs.stat(files.launch).catch(() => null);
  if (!launched && !hasPidFile) return { kind: 'none', stale: false };
  // A keeper being started right now has not written its pid yet: leave young folders alone.
  if (!hasPidFile && Date.now() - launched!.mtimeMs < 30_000) return { kind: 'busy' };
  const qemuPid = await livePid(runPaths(runDir).pidFile);
  if (qemuPid !== null && qemuProcessName((await processArgv(qemuPid)) ?? []) === `hangar-${vmId}`) return { kind: 'orphan', qemuPid };
  // The keeper was killed, or the machine restarted: nothing runs, the files are stale.
  await fs.rm(runDir, { recursive: true, force: true });
  return { kind: 'none', stale: true, launchedAt: launched?.mtimeMs ?? 0 };
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
