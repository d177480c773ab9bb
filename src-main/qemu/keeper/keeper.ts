import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { HangarError } from '../../../src-shared/errors';
import type { VmProblem } from '../../../src-shared/vm';
import { vmLayout } from '../../vms/layout';
import { acquireLock, type VmLock } from '../../vms/lock';
import { isProcessAlive, processArgv } from '../../util/process';
import { lineReader } from '../../util/json-lines';
import { connectSocket } from '../../util/connect-socket';
import { qemuProcessName } from '../process-name';
import { writeLastRun } from '../../vms/run-record';
import { QmpClient, QmpError } from '../qmp';
import { errorLines, explainQemuFailure } from '../qemu-errors';
import { runPaths } from '../argv';
import { initialTracker, track, type Tracker, type TrackerInput } from '../vm-state';
import { holderFiles } from '../holder/paths';
import { HolderLink, type QemuExit } from './holder-link';
import { spawnHolder } from './holder-start';
import { readRunLogs } from './run-logs';
import { KeeperRequest, LaunchSpec, keeperFiles, qmpArgumentsProblem, type KeeperMessage, type SaveReply, type StartReport } from './protocol';
import { RestoreFailure, restoreVmState, saveVmState } from './save-restore';
import { trace } from '../../util/trace';

// One running VM as the keeper keeps it: QEMU runs under its holder (qemu/holder/), and the
// keeper speaks QMP through the holder's monitor relay, follows the VM's state, saves and
// resumes it, records how its run ended, and answers every Hangar process on control.sock.
// A keeper that dies loses no VM: the next one reattaches (KeptVm.reattach).

const LOG_TAIL_LINES = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function listen(file: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection);
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function readLaunchSpec(runDir: string): Promise<LaunchSpec> {
  const spec = LaunchSpec.parse(JSON.parse(await fs.readFile(keeperFiles(runDir).launch, 'utf8')));
  if (spec.runDir !== runDir) throw new Error('The launch file belongs to another run folder.');
  return spec;
}

export class KeptVm {
  private tracker: Tracker = initialTracker();
  private readonly controlClients = new Set<net.Socket>();
  private server: net.Server | null = null;
  private logNote: string | null = null;
  private swtpm: ChildProcess | null = null;
  private saving = false;
  /** State messages go out in the order the state changed, each with its problem read from the logs. */
  private announcing: Promise<void> = Promise.resolve();
  private readonly exited: Promise<QemuExit>;

  private constructor(
    readonly spec: LaunchSpec,
    private readonly link: HolderLink,
    private readonly qmp: QmpClient,
    private readonly startedAt: string,
    /** Keeps the keeper running while a client is connected (daemon.ts); released when it goes. */
    private readonly hold: () => () => void,
  ) {
    this.exited = new Promise((resolve) => {
      if (link.exit) resolve(link.exit);
      link.once('exit', resolve);
    });
    link.on('logStopped', (message) => {
      this.logNote = `Its serial log is no longer kept: ${message}`;
      this.announce();
    });
    qmp.on('event', (event) => {
      this.broadcast({ type: 'event', event: event.event, data: event.data });
      this.feed({ type: 'qmp-event', event });
    });
  }

  get vmId(): string {
    return this.spec.vmId;
  }

  /**
   * Starts a VM from the launch file in its run folder and keeps it. `report` hears once
   * whether QEMU runs; the promise settles when the run has ended and is recorded.
   */
  static async start(runDir: string, holderBinary: string, hold: () => () => void, report: (message: StartReport) => void): Promise<void> {
    const fail = (code: string, message: string, log: string[] = []): void => report({ type: 'failed', code, message, log });
    let spec: LaunchSpec;
    try {
      spec = await readLaunchSpec(runDir);
    } catch (error) {
      return fail('INTERNAL', `The VM's launch file could not be read: ${(error as Error).message}`);
    }
    const run = runPaths(runDir);
    const layout = vmLayout(spec.vmDir);
    // A QEMU of this VM still running here, its holder gone (an orphan another process missed):
    // never start a second one over it, and leave its run folder as it is.
    const running = Number((await fs.readFile(run.pidFile, 'utf8').catch(() => '')).trim());
    if (isProcessAlive(running) && qemuProcessName((await processArgv(running)) ?? []) === `hangar-${spec.vmId}`) {
      return fail('VM_RUNNING', `"${spec.vmName}" is still running without its keeper. Force it off first.`);
    }

    const startedAt = new Date().toISOString();
    // Before QEMU starts, so this run's errors can be told from an earlier run's (run-logs.ts).
    await fs.appendFile(layout.qemuLog, `\n--- ${startedAt} start: ${spec.qemuBinary} ${spec.argv.join(' ')}\n`, { mode: 0o600 }).catch(() => {});
    const { holder, started } = spawnHolder(holderBinary, spec);
    // The lock names the holder: it lives exactly as long as the VM, and removes the lock last.
    let lock: VmLock;
    try {
      lock = await acquireLock(spec.vmDir, spec.vmName, 'running', holder.pid ?? -1);
    } catch (error) {
      holder.stdin?.end(); // its stdin ends before "go": it exits having made nothing
      return fail((error as { code?: string }).code ?? 'VM_BUSY', (error as Error).message);
    }
    holder.unref();
    trace('keeper: locked');

    let swtpm: ChildProcess | null = null;
    if (spec.swtpm) {
      await fs.mkdir(spec.swtpm.stateDir, { recursive: true, mode: 0o700 });
      // Detached too: it ends by itself when QEMU closes its connection (--terminate).
      swtpm = spawn(spec.swtpm.binary, ['socket', '--tpm2', '--tpmstate', `dir=${spec.swtpm.stateDir}`, '--ctrl', `type=unixio,path=${spec.swtpm.socket}`, '--terminate'], { stdio: 'ignore', detached: true });
      swtpm.unref();
      for (let waited = 0; waited < 200 && swtpm.exitCode === null && !(await fs.stat(spec.swtpm.socket).then(() => true, () => false)); waited++) await sleep(25);
    }
    holder.stdin?.end('go\n');
    const outcome = await started;
    if ('failed' in outcome) {
      swtpm?.kill('SIGTERM');
      await fs.rm(runDir, { recursive: true, force: true });
      await lock.release();
      return fail('QEMU_FAILED', `The VM could not start: ${outcome.failed}.`);
    }
    trace('keeper: QEMU spawned');

    const files = holderFiles(runDir);
    let link: HolderLink | null = null;
    let kept: KeptVm | null = null;
    try {
      link = await HolderLink.connect(files.control);
      const ended = new Promise<never>((_, reject) => (link as HolderLink).once('exit', () => reject(new Error('QEMU ended as it started.'))));
      ended.catch(() => {});
      // QEMU greets once its main loop runs; a QEMU that dies first ends the wait with its exit.
      const qmp = await Promise.race([QmpClient.over(await connectSocket(files.monitor), 60_000), ended]);
      trace('keeper: QMP connected');
      kept = new KeptVm(spec, link, qmp, startedAt, hold);
      kept.swtpm = swtpm;
      // A saved VM: QEMU waits (-incoming defer) for its state before anyone may see it.
      if (spec.restore) await restoreVmState({ qmp, qemuEnded: kept.exited.then(() => {}) }, { socket: keeperFiles(runDir).state, files: layout, resume: spec.restore.resume });
      const status = await qmp.execute<{ status: string }>('query-status');
      kept.feed({ type: 'status', status: status.status });
      trace(`keeper: QEMU ${status.status}`);
      kept.server = await listen(keeperFiles(runDir).control, (client) => void kept?.serveControl(client));
    } catch (error) {
      await KeptVm.failedStart(spec, link, swtpm);
      const { stderr } = await readRunLogs(spec.vmDir);
      let message = stderr.trim() ? explainQemuFailure(stderr) : `The VM could not start: ${(error as Error).message}`;
      if (error instanceof RestoreFailure) {
        // QEMU's own words first (it exits saying why a load failed), else what the keeper saw.
        const words = errorLines(stderr).slice(-3).join('; ') || error.message;
        message = `The saved state of "${spec.vmName}" could not be restored: ${words}`;
      }
      // The saved state goes only once it has loaded: when it is still there, say so.
      const stateKept = spec.restore ? await fs.stat(spec.restore.stateFile).then(() => true, () => false) : false;
      if (stateKept) message = `${message.replace(/\.?$/, '.')} Its saved state is kept: start it to try again, or force it off to forget the state and start afresh.`;
      const log = errorLines(stderr).slice(-LOG_TAIL_LINES);
      await writeLastRun(spec.vmDir, { state: 'crashed', problem: { message, log }, endedAt: new Date().toISOString(), exitCode: link?.exit?.code ?? null, signal: link?.exit?.signal ?? null });
      link?.done();
      await link?.closed;
      return fail('QEMU_FAILED', message, log);
    }
    report({ type: 'ready', holderPid: holder.pid ?? -1, qemuPid: outcome.qemuPid });
    trace('keeper: reported ready');
    await kept.keepUntilEnd();
  }

  /** Ends a start that went wrong after QEMU began: QEMU is stopped, and its end awaited. */
  private static async failedStart(spec: LaunchSpec, link: HolderLink | null, swtpm: ChildProcess | null): Promise<void> {
    if (!link) {
      // No word from the holder at all: end what it started, by its pid file's QEMU.
      const qemuPid = Number((await fs.readFile(runPaths(spec.runDir).pidFile, 'utf8').catch(() => '')).trim());
      if (isProcessAlive(qemuPid)) process.kill(qemuPid, 'SIGKILL');
      return;
    }
    if (!link.exit) {
      try {
        process.kill(link.qemuPid, 'SIGKILL');
      } catch {
        // already gone
      }
      await new Promise<void>((resolve) => {
        if (link.exit) return resolve();
        link.once('exit', () => resolve());
        link.once('close', () => resolve());
      });
    }
    swtpm?.kill('SIGTERM');
  }

  /**
   * Keeps a VM whose holder runs without a keeper (the previous keeper died): null when the
   * folder has no live holder, or another keeper has it.
   */
  static async reattach(runDir: string, hold: () => () => void): Promise<KeptVm | null> {
    const files = holderFiles(runDir);
    let link: HolderLink | null = null;
    try {
      const spec = await readLaunchSpec(runDir);
      link = await HolderLink.connect(files.control);
      const qmp = QmpClient.attached(await connectSocket(files.monitor));
      const startedAt = (await fs.stat(files.pid)).mtime.toISOString();
      const kept = new KeptVm(spec, link, qmp, startedAt, hold);
      // What the previous keeper knew is gone; QEMU says where the VM is now.
      const status = await Promise.race([qmp.execute<{ status: string }>('query-status'), sleep(10_000).then(() => Promise.reject(new Error('QEMU did not answer.')))]);
      kept.feed({ type: 'status', status: status.status });
      // The previous keeper's socket is left behind; nobody listens on it.
      await fs.rm(keeperFiles(runDir).control, { force: true });
      kept.server = await listen(keeperFiles(runDir).control, (client) => void kept.serveControl(client));
      return kept;
    } catch {
      link?.close();
      return null;
    }
  }

  /** Follows the VM until QEMU has ended, its end is recorded and the holder has cleaned up. */
  async keepUntilEnd(): Promise<void> {
    const ended = await Promise.race([this.exited, this.link.closed.then(() => null)]);
    if (ended === null) {
      // The holder was killed: QEMU runs on unsupervised (an orphan), or ended unrecorded.
      // Hang up: every client looks at the run folder again and finds out which.
      this.server?.close();
      this.qmp.close();
      await this.hangUp();
      return;
    }
    // Recording the end is work under way: the keeper stays until the holder is told done.
    const release = this.hold();
    // Give the last QMP events a moment to arrive before judging.
    await sleep(50);
    // Not feed(): the final state is announced only after the holder has cleaned up (below).
    this.tracker = track(this.tracker, { type: 'exited', code: ended.code, signal: ended.signal });
    const problem = await this.problemOf(this.tracker);
    await writeLastRun(this.spec.vmDir, {
      state: this.tracker.state === 'stopped' || this.tracker.state === 'saved' ? this.tracker.state : 'crashed',
      problem,
      endedAt: new Date().toISOString(),
      exitCode: ended.code,
      signal: ended.signal,
    });
    this.swtpm?.kill('SIGTERM');
    this.qmp.close();
    // The holder removes the run folder and the lock, then goes: only then is the VM stopped
    // for a client that hears it (it can start it again at once).
    this.link.done();
    await this.link.closed;
    release();
    this.server?.close();
    this.broadcast({ type: 'state', state: this.tracker.state, problem });
    await this.hangUp();
  }

  private async problemOf(t: Tracker): Promise<VmProblem | null> {
    if (!t.problem && !this.logNote) return null;
    const log = t.problem ? await this.logTail() : [];
    return { message: [t.problem, this.logNote].filter(Boolean).join(' '), log };
  }

  private async logTail(): Promise<string[]> {
    const { stderr, serial } = await readRunLogs(this.spec.vmDir);
    return [...errorLines(stderr).slice(-LOG_TAIL_LINES / 2), ...serial.split(/\r?\n/).filter(Boolean).slice(-LOG_TAIL_LINES / 2)];
  }

  private broadcast(message: KeeperMessage): void {
    const line = JSON.stringify(message) + '\n';
    for (const client of this.controlClients) client.write(line);
  }

  private feed(input: TrackerInput): void {
    const before = this.tracker;
    this.tracker = track(this.tracker, input);
    if (before.state !== this.tracker.state || before.problem !== this.tracker.problem) this.announce();
  }

  /** Tells every client the state, in the order the changes happened (a reply waits for these: handleRequest). */
  private announce(): void {
    const snapshot = this.tracker;
    this.announcing = this.announcing.then(async () => {
      // Unreadable logs cost the problem its lines, never the announcement (nor every later one).
      const problem = await this.problemOf(snapshot).catch(() => (snapshot.problem ? { message: snapshot.problem, log: [] } : null));
      this.broadcast({ type: 'state', state: snapshot.state, problem });
    });
  }

  private async hangUp(): Promise<void> {
    await Promise.all([...this.controlClients].map((client) => new Promise<void>((resolve) => client.end(resolve))));
  }

  private async serveControl(client: net.Socket): Promise<void> {
    const release = this.hold();
    const gone = (): void => {
      this.controlClients.delete(client);
      release();
    };
    client.on('error', gone);
    client.on('close', gone);
    const hello: KeeperMessage = {
      type: 'hello',
      vmId: this.spec.vmId,
      holderPid: this.link.holderPid,
      keeperPid: process.pid,
      qemuPid: this.link.qemuPid,
      state: this.tracker.state,
      problem: await this.problemOf(this.tracker),
      startedAt: this.startedAt,
      accelerator: this.spec.accelerator,
      argv: [this.spec.qemuBinary, ...this.spec.argv],
    };
    if (client.destroyed) return;
    // Joins the broadcasts only now, so the hello is its first line.
    this.controlClients.add(client);
    client.write(JSON.stringify(hello) + '\n');
    client.setEncoding('utf8').on(
      'data',
      lineReader((line) => void this.handleRequest(client, line), { maxLine: 1024 * 1024, onOverflow: () => client.destroy() }),
    );
  }

  private async handleRequest(client: net.Socket, line: string): Promise<void> {
    let request: KeeperRequest;
    try {
      request = KeeperRequest.parse(JSON.parse(line));
    } catch {
      client.destroy(); // not one of ours
      return;
    }
    const reply = (message: KeeperMessage): void => void client.write(JSON.stringify(message) + '\n');
    const refusal = request.type === 'qmp' ? qmpArgumentsProblem(request.execute, request.arguments, this.spec.runDir) : null;
    if (refusal) {
      reply({ type: 'reply', id: request.id, ok: false, error: { qmpClass: 'HangarError', code: 'BAD_REQUEST', message: refusal } });
      return;
    }
    if (request.type === 'save') {
      try {
        const value = await this.save();
        await this.announcing;
        reply({ type: 'reply', id: request.id, ok: true, value });
      } catch (error) {
        const code = error instanceof HangarError ? error.code : 'QEMU_FAILED';
        reply({ type: 'reply', id: request.id, ok: false, error: { qmpClass: 'HangarError', code, message: (error as Error).message } });
      }
      return;
    }
    try {
      const value = await this.qmp.execute(request.execute, request.arguments);
      // A status someone asked for is news for everyone (a guest that ignored the power button is running again).
      if (request.execute === 'query-status') this.feed({ type: 'status', status: (value as { status: string }).status });
      // QEMU sends the event a command caused (RESUME for cont) before its reply: the state
      // it makes goes out first too, so the client that asked sees it when the answer comes.
      await this.announcing;
      reply({ type: 'reply', id: request.id, ok: true, value });
    } catch (error) {
      reply({ type: 'reply', id: request.id, ok: false, error: { qmpClass: error instanceof QmpError ? error.qmpClass : 'Disconnected', message: (error as Error).message } });
    }
  }

  /** Writes the VM's state to its folder, then quits QEMU: the run ends 'saved'. */
  private async save(): Promise<SaveReply> {
    const { vmName } = this.spec;
    const state = this.tracker.state;
    if (this.saving) throw new HangarError('VM_BUSY', `"${vmName}" is being saved already.`);
    if (state === 'shutting-down') throw new HangarError('VM_NOT_RUNNING', `"${vmName}" is shutting down, so there is nothing to save.`);
    if (state !== 'running' && state !== 'paused') throw new HangarError('VM_NOT_RUNNING', `"${vmName}" is ${state}, not running, so there is nothing to save.`);
    this.saving = true;
    let saved;
    try {
      saved = await saveVmState({ qmp: this.qmp, qemuEnded: this.exited.then(() => {}) }, { vmName, socket: keeperFiles(this.spec.runDir).state, files: vmLayout(this.spec.vmDir), argv: this.spec.argv });
    } catch (error) {
      this.saving = false;
      throw error;
    }
    // From here the run ends 'saved' however QEMU goes: its state is whole on disk.
    this.feed({ type: 'saved' });
    // QEMU may close QMP before its reply to quit arrives: the exit is what counts.
    await this.qmp.execute('quit').catch(() => {});
    return { bytes: saved.bytes };
  }
}
