import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { VmId } from '../../../src-shared/vm';
import { lineReader } from '../../util/json-lines';
import { trace } from '../../util/trace';
import { isProcessAlive } from '../../util/process';
import { holderFiles } from '../holder/paths';
import { KeptVm } from './keeper';
import { KeeperDaemonRequest, keeperDaemonFiles, type RescanReply, type StartReport } from './protocol';

// The keeper: one per user, started on demand by the first Hangar process that needs it (as
// libvirt's session daemon is), gone once nobody has been connected for a while, even with
// VMs running: it only interprets for Hangar processes (state, QMP, save), and the holders
// keep the VMs and record how their runs end without it. It keeps every running VM (keeper.ts); it is nobody's parent that matters, so its
// own death loses nothing: the holders keep QEMU, and the next keeper reattaches to them.

/** How long a keeper nobody is connected to waits before it ends. */
export const IDLE_MS = 10_000;

export interface KeeperDaemon {
  /** Settles when the keeper has ended (idle, or told to). */
  ended: Promise<void>;
  /** Ends it now (a signal): its socket and pid file go, the VMs run on under their holders. */
  stop(): void;
}

/** Binds keeper.sock, unless another keeper answers there: then null (that one serves). */
async function bindOnce(socketFile: string, onConnection: (socket: net.Socket) => void): Promise<net.Server | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = net.createServer(onConnection);
    const bound = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
      server.listen(socketFile, () => resolve(true));
    });
    if (bound) return server;
    const answered = await new Promise<boolean>((resolve) => {
      const probe = net.createConnection(socketFile);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (answered) return null;
    // A socket file left by a keeper that died: nobody listens, take its place.
    await fs.rm(socketFile, { force: true });
  }
  return null;
}

export async function runKeeperDaemon(runtimeRoot: string, holderBinary: string, onListening: (serving: boolean) => void = () => {}): Promise<KeeperDaemon> {
  const files = keeperDaemonFiles(runtimeRoot);
  const kept = new Map<string, Promise<void>>();
  /** What keeps the keeper: connections (keeper.sock, every VM's control.sock), starts and rescans under way. */
  let holds = 0;
  let idleTimer: NodeJS.Timeout | null = null;
  let endDaemon: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    endDaemon = resolve;
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server?.close();
    // Our files go only while they are ours: a successor may have bound the name already.
    void fs.readFile(files.pid, 'utf8').then((pid) => (Number(pid) === process.pid ? fs.rm(files.pid, { force: true }) : undefined), () => {}).finally(endDaemon);
  };

  const checkIdle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (holds > 0) return;
    idleTimer = setTimeout(() => {
      if (holds === 0) stop();
    }, IDLE_MS);
    idleTimer.unref?.();
  };

  const hold = (): (() => void) => {
    holds++;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      holds--;
      checkIdle();
    };
  };

  const keep = (vmId: string, running: Promise<void>): void => {
    kept.set(vmId, running);
    void running.catch(() => {}).finally(() => {
      if (kept.get(vmId) === running) kept.delete(vmId);
      checkIdle();
    });
  };

  /** Keeps every VM whose holder runs without a keeper: at the keeper's start, and when asked. */
  let scanning: Promise<void> | null = null;
  const rescan = (): Promise<void> => (scanning ??= scanOnce().finally(() => (scanning = null)));
  const scanOnce = async (): Promise<void> => {
    const release = hold();
    const names = await fs.readdir(runtimeRoot).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        if (!VmId.safeParse(name).success || kept.has(name)) return;
        const runDir = path.join(runtimeRoot, name);
        const holderPid = Number((await fs.readFile(holderFiles(runDir).pid, 'utf8').catch(() => '')).trim());
        if (!isProcessAlive(holderPid)) return;
        const vm = await KeptVm.reattach(runDir, hold);
        trace(`keeper: reattached ${name}: ${vm !== null}`);
        if (vm && !kept.has(name)) keep(name, vm.keepUntilEnd());
      }),
    );
    release();
  };

  const start = (runDir: string, answer: (report: StartReport) => void): void => {
    const vmId = path.basename(runDir);
    if (path.dirname(runDir) !== path.resolve(runtimeRoot) || !VmId.safeParse(vmId).success) {
      answer({ type: 'failed', code: 'BAD_REQUEST', message: 'A VM is started only from its own run folder in Hangar\'s runtime folder.', log: [] });
      return;
    }
    if (kept.has(vmId)) {
      answer({ type: 'failed', code: 'VM_RUNNING', message: 'This VM is running already.', log: [] });
      return;
    }
    const release = hold();
    keep(
      vmId,
      KeptVm.start(runDir, holderBinary, hold, (report) => {
        release();
        answer(report);
      }),
    );
  };

  const serve = (client: net.Socket): void => {
    client.on('error', () => {});
    client.once('close', hold());
    const reply = (message: unknown): void => {
      if (!client.destroyed) client.write(JSON.stringify(message) + '\n');
    };
    client.setEncoding('utf8').on(
      'data',
      lineReader(
        (line) => {
          let request: KeeperDaemonRequest;
          try {
            request = KeeperDaemonRequest.parse(JSON.parse(line));
          } catch {
            client.destroy(); // not one of ours
            return;
          }
          if (request.type === 'start') start(path.resolve(request.runDir), reply);
          else void rescan().then(() => reply({ type: 'done', kept: [...kept.keys()] } satisfies RescanReply));
        },
        { maxLine: 64 * 1024, onOverflow: () => client.destroy() },
      ),
    );
  };

  const server = await bindOnce(files.socket, serve);
  onListening(server !== null);
  if (!server) return { ended: Promise.resolve(), stop: () => {} };
  await fs.writeFile(files.pid, `${process.pid}\n`, { mode: 0o600 });
  await rescan();
  return { ended, stop };
}
