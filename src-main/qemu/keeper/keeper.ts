import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import net from 'node:net';
import { HangarError } from '../../../src-shared/errors';
import type { VmProblem } from '../../../src-shared/vm';
import { RingBuffer } from '../../consoles/ring-buffer';
import { lineReader } from '../../util/json-lines';
import { vmLayout } from '../../vms/layout';
import { acquireLock, type VmLock } from '../../vms/lock';
import { isProcessAlive, processArgv } from '../../util/process';
import { qemuProcessName } from '../process-name';
import { writeLastRun } from '../../vms/run-record';
import { QmpClient, QmpError } from '../qmp';
import { errorLines, explainQemuFailure } from '../qemu-errors';
import { INHERITED_FDS, runPaths } from '../argv';
import { initialTracker, track, type Tracker, type TrackerInput } from '../vm-state';
import { ConsoleViewers } from './console-viewers';
import { KeeperRequest, LaunchSpec, keeperFiles, qmpArgumentsProblem, type KeeperMessage, type SaveReply, type StartReport } from './protocol';
import { RestoreFailure, restoreVmState, saveVmState } from './save-restore';
import { SerialLogWriter } from './serial-log-writer';
import { trace } from '../../util/trace';

const SCROLLBACK_BYTES = 256 * 1024;
const LOG_TAIL_LINES = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function connectWhenListening<T>(connect: () => Promise<T>, stillWorthTrying: () => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connect();
    } catch (error) {
      if (!stillWorthTrying() || Date.now() > deadline) throw error;
      await sleep(25);
    }
  }
}

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

/** Runs one VM from start to end. Resolves when QEMU has ended and everything is cleaned. */
export async function runKeeper(runDir: string, report: (message: StartReport) => void): Promise<void> {
  const files = keeperFiles(runDir);
  const spec = LaunchSpec.parse(JSON.parse(await fs.readFile(files.launch, 'utf8')));
  const run = runPaths(runDir);
  const qemuLogFile = vmLayout(spec.vmDir).qemuLog;
  process.umask(0o077);

  let lock: VmLock;
  try {
    lock = await acquireLock(spec.vmDir, spec.vmName, 'running');
  } catch (error) {
    report({ type: 'failed', code: (error as { code?: string }).code ?? 'VM_BUSY', message: (error as Error).message, log: [] });
    return;
  }
  // A QEMU of this VM still running here, its keeper gone (an orphan another process missed):
  // never start a second one over it, and leave its run folder as it is.
  const running = Number((await fs.readFile(run.pidFile, 'utf8').catch(() => '')).trim());
  if (isProcessAlive(running) && qemuProcessName((await processArgv(running)) ?? []) === `hangar-${spec.vmId}`) {
    await lock.release();
    report({ type: 'failed', code: 'VM_RUNNING', message: `"${spec.vmName}" is still running without its keeper. Force it off first.`, log: [] });
    return;
  }
  await fs.writeFile(files.keeperPid, `${process.pid}\n`, { mode: 0o600 });
  trace('keeper: locked');

  let swtpm: ChildProcess | null = null;
  let qemu: ChildProcess | null = null;
  let stderrText = '';
  let tracker: Tracker = initialTracker();
  const outcome: { exited: { code: number | null; signal: string | null } | null } = { exited: null };
  let markExited: (ended: { code: number | null; signal: string | null }) => void = () => {};
  const exitedPromise = new Promise<void>((resolve) => {
    markExited = (ended) => {
      outcome.exited ??= ended;
      resolve();
    };
  });
  const scrollback = new RingBuffer(SCROLLBACK_BYTES);
  const controlClients = new Set<net.Socket>();
  const viewers = new ConsoleViewers();
  let serialLog: SerialLogWriter | null = null;
  let serial: net.Socket | null = null;
  let qmp: QmpClient | null = null;
  let servers: net.Server[] = [];
  const startedAt = new Date().toISOString();

  const problemOf = (t: Tracker): VmProblem | null => {
    const logNote = serialLog?.stoppedNote;
    if (!t.problem && !logNote) return null;
    return { message: [t.problem, logNote].filter(Boolean).join(' '), log: t.problem ? logTail() : [] };
  };
  const logTail = (): string[] => [...errorLines(stderrText).slice(-LOG_TAIL_LINES / 2), ...scrollback.contents().toString('utf8').split(/\r?\n/).filter(Boolean).slice(-LOG_TAIL_LINES / 2)];
  const broadcast = (message: KeeperMessage): void => {
    const line = JSON.stringify(message) + '\n';
    for (const client of controlClients) client.write(line);
  };
  const feed = (input: TrackerInput): void => {
    const before = tracker;
    tracker = track(tracker, input);
    if (before.state !== tracker.state || before.problem !== tracker.problem) broadcast({ type: 'state', state: tracker.state, problem: problemOf(tracker) });
  };

  // Everything is released before the final state goes out, so a client that hears
  // "stopped" can start the VM again at once without tripping over our lock or sockets.
  const cleanUp = async (): Promise<void> => {
    for (const server of servers) server.close();
    viewers.closeAll();
    serial?.destroy();
    await serialLog?.close();
    qmp?.close();
    swtpm?.kill('SIGTERM');
    await fs.rm(runDir, { recursive: true, force: true });
    await lock.release();
  };
  const hangUp = async (): Promise<void> => {
    await Promise.all([...controlClients].map((client) => new Promise<void>((resolve) => client.end(resolve))));
  };

  try {
    if (spec.swtpm) {
      await fs.mkdir(spec.swtpm.stateDir, { recursive: true, mode: 0o700 });
      swtpm = spawn(spec.swtpm.binary, ['socket', '--tpm2', '--tpmstate', `dir=${spec.swtpm.stateDir}`, '--ctrl', `type=unixio,path=${spec.swtpm.socket}`, '--terminate'], { stdio: 'ignore' });
      await connectWhenListening(() => fs.stat(spec.swtpm?.socket ?? ''), () => swtpm?.exitCode === null, 5000);
    }

    // Before QEMU starts, so its first line is kept; a log that fails is a note in the VM's problem.
    serialLog = await SerialLogWriter.open(vmLayout(spec.vmDir).serialLog, { onStopped: () => broadcast({ type: 'state', state: tracker.state, problem: problemOf(tracker) }) });
    const qemuLog = createWriteStream(qemuLogFile, { flags: 'a', mode: 0o600 });
    // A full disk costs the log, never the keeper (an unhandled stream error would end it, and QEMU with it).
    qemuLog.on('error', () => {});
    qemuLog.write(`\n--- ${startedAt} start: ${spec.qemuBinary} ${spec.argv.join(' ')}\n`);
    // fds 3 and 4: the serial port and the monitor, connected to us before QEMU runs (qemu/argv.ts 'inherited').
    const stdio: StdioOptions = ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'];
    qemu = spawn(spec.qemuBinary, spec.argv, { stdio });
    trace('keeper: QEMU spawned');
    qemu.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderrText = (stderrText + chunk).slice(-64 * 1024);
      qemuLog.write(chunk);
    });
    // 'close', not 'exit': it comes after stderr has been read to the end, so the error line is there.
    qemu.on('close', (code, signal) => markExited({ code, signal }));
    qemu.on('error', (error) => {
      stderrText += `${error.message}\n`;
      markExited({ code: null, signal: null });
    });

    // Connected before QEMU ran, so serial.log and the scrollback have the first boot line.
    serial = qemu.stdio[INHERITED_FDS.serial] as net.Socket;
    serial.on('error', () => {}); // QEMU ending closes it; 'close' is all we need
    serial.on('data', (chunk: Buffer) => {
      scrollback.write(chunk);
      serialLog?.write(chunk);
      viewers.broadcast(chunk);
    });
    // QEMU greets once its main loop runs; a QEMU that dies first closes the socket, which ends the wait.
    qmp = await QmpClient.over(qemu.stdio[INHERITED_FDS.qmp] as net.Socket, 60_000);
    trace('keeper: QMP connected');
    qmp.on('event', (event) => {
      broadcast({ type: 'event', event: event.event, data: event.data });
      feed({ type: 'qmp-event', event });
    });
    // A saved VM: QEMU waits (-incoming defer) for its state before anyone may see it.
    if (spec.restore) await restoreVmState({ qmp, qemuEnded: exitedPromise }, { socket: files.state, files: vmLayout(spec.vmDir), resume: spec.restore.resume });
    const status = await qmp.execute<{ status: string }>('query-status');
    feed({ type: 'status', status: status.status });
    trace(`keeper: QEMU ${status.status}`);

    servers = [
      await listen(files.control, (client) => serveControl(client)),
      await listen(files.console, (viewer) => {
        // Scrollback first, then live bytes: both in this tick, so nothing falls between them.
        viewers.add(viewer, scrollback.contents());
        viewer.on('data', (keys: Buffer) => serial?.write(keys));
      }),
    ];
    report({ type: 'ready', keeperPid: process.pid, qemuPid: qemu.pid ?? -1 });
    trace('keeper: reported ready');
  } catch (error) {
    if (qemu && outcome.exited === null) {
      qemu.kill('SIGKILL');
      await exitedPromise;
    }
    let message = stderrText.trim() ? explainQemuFailure(stderrText) : `The VM could not start: ${(error as Error).message}`;
    if (error instanceof RestoreFailure) {
      // QEMU's own words first (it exits saying why a load failed), else what the keeper saw.
      const words = errorLines(stderrText).slice(-3).join('; ') || error.message;
      message = `The saved state of "${spec.vmName}" could not be restored: ${words}`;
    }
    // The saved state goes only once it has loaded: when it is still there, say so.
    const stateKept = spec.restore ? await fs.stat(spec.restore.stateFile).then(() => true, () => false) : false;
    if (stateKept) message = `${message.replace(/\.?$/, '.')} Its saved state is kept: start it to try again, or force it off to forget the state and start afresh.`;
    await writeLastRun(spec.vmDir, { state: 'crashed', problem: { message, log: errorLines(stderrText).slice(-LOG_TAIL_LINES) }, endedAt: new Date().toISOString(), exitCode: outcome.exited?.code ?? null, signal: outcome.exited?.signal ?? null });
    await cleanUp();
    report({ type: 'failed', code: 'QEMU_FAILED', message, log: errorLines(stderrText).slice(-LOG_TAIL_LINES) });
    await hangUp();
    return;
  }

  function serveControl(client: net.Socket): void {
    controlClients.add(client);
    client.on('close', () => controlClients.delete(client));
    client.on('error', () => controlClients.delete(client));
    const hello: KeeperMessage = {
      type: 'hello',
      vmId: spec.vmId,
      keeperPid: process.pid,
      qemuPid: qemu?.pid ?? -1,
      state: tracker.state,
      problem: problemOf(tracker),
      startedAt,
      accelerator: spec.accelerator,
      argv: [spec.qemuBinary, ...spec.argv],
    };
    client.write(JSON.stringify(hello) + '\n');
    client.setEncoding('utf8').on(
      'data',
      lineReader((line) => void handleRequest(client, line), { maxLine: 1024 * 1024, onOverflow: () => client.destroy() }),
    );
  }

  async function handleRequest(client: net.Socket, line: string): Promise<void> {
    let request: KeeperRequest;
    try {
      request = KeeperRequest.parse(JSON.parse(line));
    } catch {
      client.destroy(); // not one of ours
      return;
    }
    const reply = (message: KeeperMessage): void => void client.write(JSON.stringify(message) + '\n');
    const refusal = request.type === 'qmp' ? qmpArgumentsProblem(request.execute, request.arguments, runDir) : null;
    if (refusal) {
      reply({ type: 'reply', id: request.id, ok: false, error: { qmpClass: 'HangarError', code: 'BAD_REQUEST', message: refusal } });
      return;
    }
    if (request.type === 'save') {
      try {
        reply({ type: 'reply', id: request.id, ok: true, value: await save() });
      } catch (error) {
        const code = error instanceof HangarError ? error.code : 'QEMU_FAILED';
        reply({ type: 'reply', id: request.id, ok: false, error: { qmpClass: 'HangarError', code, message: (error as Error).message } });
      }
      return;
    }
    try {
      const value = await (qmp as QmpClient).execute(request.execute, request.arguments);
      // A status someone asked for is news for everyone (a guest that ignored the power button is running again).
      if (request.execute === 'query-status') feed({ type: 'status', status: (value as { status: string }).status });
      reply({ type: 'reply', id: request.id, ok: true, value });
    } catch (error) {
      reply({ type: 'reply', id: request.id, ok: false, error: { qmpClass: error instanceof QmpError ? error.qmpClass : 'Disconnected', message: (error as Error).message } });
    }
  }

  let saving = false;
  /** Writes the VM's state to its folder, then quits QEMU: the run ends 'saved'. */
  async function save(): Promise<SaveReply> {
    if (saving) throw new HangarError('VM_BUSY', `"${spec.vmName}" is being saved already.`);
    if (tracker.state === 'shutting-down') throw new HangarError('VM_NOT_RUNNING', `"${spec.vmName}" is shutting down, so there is nothing to save.`);
    if (tracker.state !== 'running' && tracker.state !== 'paused') throw new HangarError('VM_NOT_RUNNING', `"${spec.vmName}" is ${tracker.state}, not running, so there is nothing to save.`);
    saving = true;
    let saved;
    try {
      saved = await saveVmState({ qmp: qmp as QmpClient, qemuEnded: exitedPromise }, { vmName: spec.vmName, socket: files.state, files: vmLayout(spec.vmDir), argv: spec.argv });
    } catch (error) {
      saving = false;
      throw error;
    }
    // From here the run ends 'saved' however QEMU goes: its state is whole on disk.
    feed({ type: 'saved' });
    // QEMU may close QMP before its reply to quit arrives: the exit is what counts.
    await (qmp as QmpClient).execute('quit').catch(() => {});
    return { bytes: saved.bytes };
  }

  // A signal to the keeper (logout, system shutdown) asks QEMU to end cleanly too.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => qemu?.kill('SIGTERM'));
  process.on('SIGHUP', () => {});

  await exitedPromise;
  const ended = outcome.exited ?? { code: null, signal: null };
  // Give the last serial bytes and QMP events a moment to arrive before judging.
  await sleep(50);
  // Not feed(): the final state is announced only after cleanUp (below).
  tracker = track(tracker, { type: 'exited', code: ended.code, signal: ended.signal });
  await writeLastRun(spec.vmDir, {
    state: tracker.state === 'stopped' || tracker.state === 'saved' ? tracker.state : 'crashed',
    problem: problemOf(tracker),
    endedAt: new Date().toISOString(),
    exitCode: ended.code,
    signal: ended.signal,
  });
  await cleanUp();
  broadcast({ type: 'state', state: tracker.state, problem: problemOf(tracker) });
  await hangUp();
}
