import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { FrontDoor } from '../../src-shared/app';
import type { MethodName, MethodOutput } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import { ConsoleCursor } from '../../src-shared/console-stream';
import { formatBytes, shellQuote } from '../../src-shared/format';
import { DISK_NONE } from '../../src-shared/limits';
import { bootsWith } from '../../src-shared/os';
import type { NewVmRequest, VmSummary } from '../../src-shared/vm';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { atomicWriteFile } from '../util/atomic-write';
import { startWebHost } from '../web/server';
import { formatDoctorReport } from './doctor-table';
import { formatStoredFiles } from './storage-table';
import { parseSize } from './sizes';

// The hangar command: argument parsing and printing only; the work is the service's.

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Colour and tables only when a person is reading. */
  isTTY: boolean;
  /** Keystrokes for `hangar console`; raw mode when it is a terminal. */
  input?: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => unknown; isTTY?: boolean };
  /** The output terminal's size, for `hangar ssh`; absent or null when output is not a terminal. */
  terminalSize?: () => { cols: number; rows: number } | null;
  /** Calls back when the output terminal is resized; returns the unsubscribe function. */
  onTerminalResize?: (listener: () => void) => () => void;
}

export interface CliContext {
  io: CliIo;
  /** Where the built renderer is, for `hangar web`. */
  rendererDir: string;
  createService(door: FrontDoor): HangarService;
  /** Resolves when the user asks a long-running command to stop (Ctrl-C). */
  untilInterrupted(): Promise<void>;
}

type Values = Record<string, string | boolean | undefined>;

interface CliCommand {
  verb: string;
  /** The contract methods this verb serves. */
  methods: readonly MethodName[];
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes (the VM, a path). */
  positionals: readonly string[];
  /** The positionals may also be left out all together ("hangar storage" lists, "hangar storage remove PATH" removes). */
  positionalsOptional?: boolean;
  run(values: Values, positionals: string[], service: HangarService, context: CliContext): Promise<number>;
}

const JSON_OPTION = { json: { type: 'boolean' } } as const;
const CTRL_RIGHT_BRACKET = 0x1d;

class UsageError extends Error {}

/** Calls the service through the same dispatcher as the other doors, so input is validated the same way. */
async function call<M extends MethodName>(service: HangarService, method: M, input: unknown): Promise<MethodOutput<M>> {
  const result = await dispatch(service.api, method, input);
  if (!result.ok) throw HangarError.fromInfo(result.error);
  return result.value as MethodOutput<M>;
}

const printJson = (io: CliIo, value: unknown): void => io.out(JSON.stringify(value, null, 2) + '\n');

function describeVm(vm: VmSummary): string {
  if (vm.broken) return `${vm.id}: broken — ${vm.broken}`;
  const problem = vm.problem ? `\n  problem: ${vm.problem.message}` : '';
  return `${vm.name} (${vm.id}): ${vm.state}${problem}`;
}

function sizeOption(value: string | boolean | undefined, option: string, bareUnit: 'M' | 'G'): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseSize(String(value), bareUnit);
  if (bytes === null) throw new UsageError(`${option} takes a size such as ${bareUnit === 'M' ? '2G or 2048M' : '20G'}, not "${String(value)}".`);
  return bytes;
}

function countOption(value: string | boolean | undefined, option: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(String(value)) || Number(value) < 1 || Number(value) > max) throw new UsageError(`${option} takes a whole number from 1 to ${max}, not "${String(value)}".`);
  return Number(value);
}

const VM_SETTINGS_OPTIONS = {
  name: { type: 'string' },
  memory: { type: 'string' },
  cpus: { type: 'string' },
  uefi: { type: 'boolean' },
  'ssh-port': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The settings shared by `create` and `disk import`. */
function vmRequest(values: Values): NewVmRequest {
  if (typeof values.name !== 'string') throw new UsageError('--name is required.');
  const memory = sizeOption(values.memory, '--memory', 'M');
  const sshPort = values['ssh-port'] === undefined ? undefined : countOption(values['ssh-port'], '--ssh-port', 65535);
  return {
    name: values.name,
    ...(memory !== undefined ? { memoryMiB: Math.max(1, Math.round(memory / 1024 ** 2)) } : {}),
    ...(values.cpus !== undefined ? { cpus: countOption(values.cpus, '--cpus', 256) } : {}),
    ...(values.uefi ? { firmware: 'uefi' as const } : {}),
    ...(sshPort ? { portForwards: [{ protocol: 'tcp' as const, hostAddress: '127.0.0.1' as const, hostPort: sshPort, guestPort: 22 }] } : {}),
  };
}

async function createWithProgress(service: HangarService, io: CliIo, request: NewVmRequest, json: boolean): Promise<number> {
  const stop = service.events.on('vmProgress', (progress) => {
    if (io.isTTY) io.err(`\r${progress.step}${progress.percent === null ? '…' : ` ${progress.percent.toFixed(0)}%`}   `);
  });
  try {
    const vm = await call(service, 'createVm', request);
    if (io.isTTY) io.err('\n');
    if (json) printJson(io, vm);
    else io.out(`Created ${vm.name} (${vm.id}). Start it with: hangar start ${vm.id}\n`);
    return 0;
  } finally {
    stop();
  }
}

/** A VM-only verb: one positional (the VM), one method, print the summary. */
function vmAction(verb: string, method: 'startVm' | 'pauseVm' | 'resumeVm' | 'resetVm' | 'saveVm', summary: string, done: (vm: VmSummary) => string): CliCommand {
  return {
    verb,
    methods: [method],
    usage: `hangar ${verb} VM`,
    summary,
    options: {},
    positionals: ['VM'],
    async run(_values, [vm], service, { io }) {
      io.out(done(await call(service, method, { vm })) + '\n');
      return 0;
    },
  };
}

export const commands: readonly CliCommand[] = [
  {
    verb: 'doctor',
    methods: ['checkHost'],
    usage: 'hangar doctor [--json]',
    summary: 'Check whether this machine can run VMs, and how to fix what is missing. Exits 1 when no VM can run.',
    options: JSON_OPTION,
    positionals: [],
    async run(values, _positionals, service, { io }) {
      const report = await call(service, 'checkHost', {});
      if (values.json) printJson(io, report);
      else io.out(formatDoctorReport(report, io.isTTY));
      return report.can_run_vms ? 0 : 1;
    },
  },
  {
    verb: 'list',
    methods: ['listVms'],
    usage: 'hangar list [--json]',
    summary: 'List the VMs and their states.',
    options: JSON_OPTION,
    positionals: [],
    async run(values, _positionals, service, { io }) {
      const vms = await call(service, 'listVms', {});
      if (values.json) printJson(io, vms);
      else if (vms.length === 0) io.out('No VMs yet. Create one with: hangar create --name NAME --iso PATH\n');
      else {
        const rows = vms.map((vm) => [vm.name, vm.id, vm.broken ? 'broken' : vm.state, vm.config ? String(vm.config.cpus) : '-', vm.config ? formatBytes(vm.config.memoryMiB * 1024 ** 2) : '-']);
        const header = ['NAME', 'ID', 'STATE', 'CPUS', 'MEMORY'];
        const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
        for (const row of [header, ...rows]) io.out(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd() + '\n');
        for (const vm of vms.filter((candidate) => candidate.broken || candidate.problem)) io.out(`\n${describeVm(vm)}\n`);
      }
      return 0;
    },
  },
  {
    verb: 'info',
    methods: ['getVm'],
    usage: 'hangar info VM [--json]',
    summary: 'Show one VM, with the QEMU command line it runs (or would run).',
    options: JSON_OPTION,
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const details = await call(service, 'getVm', { vm });
      if (values.json) printJson(io, details);
      else {
        io.out(describeVm(details.summary) + '\n');
        io.out(`  folder: ${details.dir}\n`);
        if (details.argv) io.out(`  qemu: ${shellQuote(details.argv)}\n`);
      }
      return 0;
    },
  },
  {
    verb: 'iso',
    methods: ['inspectIso'],
    usage: 'hangar iso PATH [--json]',
    summary: 'Tell which OS an ISO image installs, and the VM settings that suit it.',
    options: JSON_OPTION,
    positionals: ['PATH'],
    async run(values, [file], service, { io }) {
      const info = await call(service, 'inspectIso', { path: path.resolve(file as string) });
      if (values.json) printJson(io, info);
      else {
        const { defaults } = info;
        io.out(`${info.os.name}${info.os.version && !info.os.name.includes(info.os.version) ? ` ${info.os.version}` : ''} — ${info.path}\n`);
        io.out(`  volume: ${info.volumeId || '(none)'}; boots with ${bootsWith(info) ?? 'nothing (not bootable)'}\n`);
        const disk = defaults.diskGiB === DISK_NONE ? 'no disk' : `${defaults.diskGiB} GiB disk (${defaults.diskBus})`;
        io.out(`  suggested: ${defaults.cpus} CPUs, ${formatBytes(defaults.memoryMiB * 1024 ** 2)} memory, ${disk}, ${defaults.nicModel}, ${defaults.firmware.toUpperCase()}${defaults.tpm ? ' with TPM' : ''}\n`);
        io.out(`  found: ${info.evidence.join('; ')}\n`);
      }
      return 0;
    },
  },
  {
    verb: 'create',
    methods: ['createVm', 'previewVm'],
    usage: 'hangar create --name NAME [--iso PATH] [--memory 2G] [--cpus 2] [--disk 20G] [--uefi] [--ssh-port 2222] [--dry-run] [--json]',
    summary: 'Create a VM with a new empty disk, booting from the ISO. --dry-run checks the settings and prints the QEMU command line, making nothing.',
    options: { ...VM_SETTINGS_OPTIONS, iso: { type: 'string' }, disk: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    positionals: [],
    async run(values, _positionals, service, { io }) {
      const disk = values.disk === '0' ? 0 : sizeOption(values.disk, '--disk', 'G');
      const request: NewVmRequest = {
        ...vmRequest(values),
        iso: typeof values.iso === 'string' ? path.resolve(values.iso) : null,
        ...(disk !== undefined ? { diskGiB: disk / 1024 ** 3 } : {}),
      };
      if (values['dry-run']) {
        const preview = await call(service, 'previewVm', request);
        if (values.json) printJson(io, preview);
        else {
          for (const warning of preview.warnings) io.err(`warning: ${warning}\n`);
          io.out(shellQuote(preview.argv) + '\n');
        }
        return 0;
      }
      return createWithProgress(service, io, request, Boolean(values.json));
    },
  },
  {
    verb: 'edit',
    methods: ['updateVm'],
    usage: 'hangar edit VM [--name NAME] [--memory 4G] [--cpus 2] [--uefi | --bios] [--boot cdrom|disk] [--ssh-port 2222] [--json]',
    summary: "Change a stopped VM's settings.",
    options: { ...VM_SETTINGS_OPTIONS, bios: { type: 'boolean' }, boot: { type: 'string' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      if (values.uefi && values.bios) throw new UsageError('Give --uefi or --bios, not both.');
      if (values.boot !== undefined && values.boot !== 'cdrom' && values.boot !== 'disk') throw new UsageError('--boot takes cdrom or disk.');
      const memory = sizeOption(values.memory, '--memory', 'M');
      const sshPort = values['ssh-port'] === undefined ? undefined : countOption(values['ssh-port'], '--ssh-port', 65535);
      const changes = {
        ...(typeof values.name === 'string' ? { name: values.name } : {}),
        ...(memory !== undefined ? { memoryMiB: Math.max(1, Math.round(memory / 1024 ** 2)) } : {}),
        ...(values.cpus !== undefined ? { cpus: countOption(values.cpus, '--cpus', 256) } : {}),
        ...(values.uefi ? { firmware: 'uefi' as const } : values.bios ? { firmware: 'bios' as const } : {}),
        ...(values.boot !== undefined ? { bootFrom: values.boot } : {}),
        ...(sshPort ? { portForwards: [{ protocol: 'tcp' as const, hostAddress: '127.0.0.1' as const, hostPort: sshPort, guestPort: 22 }] } : {}),
      };
      if (Object.keys(changes).length === 0) throw new UsageError('Say what to change, e.g. --memory 4G.');
      const summary = await call(service, 'updateVm', { vm, changes });
      if (values.json) printJson(io, summary);
      else io.out(`${summary.name} is changed.\n`);
      return 0;
    },
  },
  {
    verb: 'disk',
    methods: [],
    usage: 'hangar disk import IMAGE --name NAME [--memory 2G] [--cpus 2] [--uefi] [--json]',
    summary: 'Create a VM from an existing disk image (qcow2, raw, vmdk, vdi, vhdx), copied into the library.',
    options: VM_SETTINGS_OPTIONS,
    positionals: ['import', 'IMAGE'],
    async run(values, [subcommand, image], service, { io }) {
      if (subcommand !== 'import') throw new UsageError(`"hangar disk" knows only "import", not "${subcommand}".`);
      const request: NewVmRequest = { ...vmRequest(values), importDisk: path.resolve(image as string) };
      return createWithProgress(service, io, request, Boolean(values.json));
    },
  },
  vmAction('start', 'startVm', 'Start a VM. It keeps running after this command ends.', (vm) => `${vm.name} is ${vm.state}.`),
  {
    verb: 'stop',
    methods: ['stopVm'],
    usage: 'hangar stop VM [--force] [--wait SECONDS]',
    summary: 'Shut a VM down with the ACPI power button (waits 60 s by default), or --force it off.',
    options: { force: { type: 'boolean' }, wait: { type: 'string' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const waitSeconds = values.wait === undefined ? 60 : Number(values.wait);
      if (!/^\d+$/.test(String(values.wait ?? '60')) || waitSeconds > 600) throw new UsageError('--wait takes a number of seconds from 0 to 600.');
      try {
        const summary = await call(service, 'stopVm', { vm, force: Boolean(values.force), waitSeconds });
        io.out(`${summary.name} is ${summary.state}.\n`);
        return 0;
      } catch (error) {
        if (error instanceof HangarError && error.code === 'TIMEOUT') {
          io.err(`hangar stop: ${error.message} Run: hangar stop --force ${vm}\n`);
          return 1;
        }
        throw error;
      }
    },
  },
  vmAction('save', 'saveVm', 'Save a running VM to disk and stop it; "hangar start" resumes it where it was.', (vm) => `${vm.name} is ${vm.state}.`),
  vmAction('pause', 'pauseVm', 'Pause a running VM.', (vm) => `${vm.name} is ${vm.state}.`),
  vmAction('resume', 'resumeVm', 'Resume a paused VM.', (vm) => `${vm.name} is ${vm.state}.`),
  vmAction('reset', 'resetVm', 'Reset a VM, like pressing its reset button.', (vm) => `${vm.name} was reset.`),
  {
    verb: 'media',
    methods: ['changeMedia'],
    usage: 'hangar media VM (--iso PATH | --eject)',
    summary: "Put an ISO into a VM's CD drive, or eject it.",
    options: { iso: { type: 'string' }, eject: { type: 'boolean' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      if ((values.iso === undefined) === !values.eject) throw new UsageError('Give either --iso PATH or --eject.');
      const iso = typeof values.iso === 'string' ? path.resolve(values.iso) : null;
      const summary = await call(service, 'changeMedia', { vm, iso });
      io.out(iso ? `${summary.name} has ${iso} in its CD drive.\n` : `${summary.name}'s CD drive is empty.\n`);
      return 0;
    },
  },
  {
    verb: 'delete',
    methods: ['deleteVm'],
    usage: 'hangar delete VM [--keep-disks]',
    summary: 'Delete a stopped VM and its files; --keep-disks keeps its disk images.',
    options: { 'keep-disks': { type: 'boolean' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const { keptDisksDir } = await call(service, 'deleteVm', { vm, keepDisks: Boolean(values['keep-disks']) });
      io.out(keptDisksDir ? `Deleted ${vm}; its disks are in ${keptDisksDir}\n` : `Deleted ${vm}.\n`);
      return 0;
    },
  },
  {
    verb: 'storage',
    methods: ['listStoredFiles', 'removeStoredFile'],
    usage: 'hangar storage [remove PATH] [--json]',
    summary: 'List the ISOs Hangar keeps and the disks kept from deleted VMs, with where they are and their sizes; "remove PATH" removes one.',
    options: JSON_OPTION,
    positionals: ['remove', 'PATH'],
    positionalsOptional: true,
    async run(values, [subcommand, file], service, { io }) {
      if (subcommand !== undefined) {
        if (subcommand !== 'remove') throw new UsageError(`"hangar storage" knows only "remove", not "${subcommand}".`);
        const target = path.resolve(file as string);
        await call(service, 'removeStoredFile', { path: target });
        if (values.json) printJson(io, { removed: target });
        else io.out(`Removed ${target}\n`);
        return 0;
      }
      const stored = await call(service, 'listStoredFiles', {});
      if (values.json) printJson(io, stored);
      else io.out(formatStoredFiles(stored));
      return 0;
    },
  },
  {
    verb: 'console',
    methods: ['attachConsole', 'sendConsoleInput'],
    usage: 'hangar console VM',
    summary: "Connect this terminal to a VM's serial console. Ctrl-] detaches; the VM keeps running.",
    options: {},
    positionals: ['VM'],
    async run(_values, [vm], service, { io }) {
      const input = io.input;
      if (!input) throw new UsageError('hangar console needs a terminal or a pipe on its standard input.');
      // Live output may come before the scrollback; the cursor keeps them in order, once each.
      const cursor = new ConsoleCursor();
      const decoder = new TextDecoder('utf-8');
      const show = (parts: Uint8Array[]): void => {
        for (const part of parts) io.out(decoder.decode(part, { stream: true }));
      };
      let id: string | null = null;
      const stopOutput = service.events.on('consoleOutput', (chunk) => {
        if (id === null || chunk.vm === id) show(cursor.receive(Buffer.from(chunk.data, 'base64'), chunk.offset));
      });
      const attached = await call(service, 'attachConsole', { vm }).catch((error: unknown) => {
        stopOutput();
        throw error;
      });
      id = attached.vm;
      io.err(`Connected to ${id}. Ctrl-] detaches.\r\n`);
      show(cursor.start(Buffer.from(attached.scrollback, 'base64'), attached.end));
      return new Promise<number>((resolve) => {
        const stopState = service.events.on('vmChanged', (changed) => {
          if (changed.id === id && (changed.state === 'stopped' || changed.state === 'crashed')) finish(`\r\n${changed.name} is ${changed.state}.\r\n`, 0);
        });
        const wasRaw = input.isTTY ? input.setRawMode?.(true) : undefined;
        const onKeys = (keys: Buffer | string): void => {
          const bytes = typeof keys === 'string' ? Buffer.from(keys) : keys;
          const detach = bytes.indexOf(CTRL_RIGHT_BRACKET);
          const forward = detach >= 0 ? bytes.subarray(0, detach) : bytes;
          if (forward.length > 0) void call(service, 'sendConsoleInput', { vm: id, data: forward.toString('base64') }).catch(() => {});
          if (detach >= 0) finish('\r\nDetached; the VM keeps running.\r\n', 0);
        };
        const finish = (message: string, code: number): void => {
          stopOutput();
          stopState();
          input.off('data', onKeys);
          input.off('end', onEnd);
          if (input.isTTY && wasRaw !== undefined) input.setRawMode?.(false);
          input.pause();
          // A paused stdin pipe or terminal still holds the process open: let it end here.
          (input as { unref?: () => void }).unref?.();
          io.err(message);
          resolve(code);
        };
        // A pipe that ends (scripted use) leaves the console after its last keys are sent.
        const onEnd = (): void => setTimeout(() => finish('\r\nInput ended; the VM keeps running.\r\n', 0), 500).unref?.() as unknown as void;
        input.on('data', onKeys);
        input.on('end', onEnd);
        input.resume();
      });
    },
  },
  {
    verb: 'log',
    methods: ['readConsoleLog'],
    usage: 'hangar log VM',
    summary: "Print the end of what a VM's serial port printed (its serial log, at most 256 KiB), running or not.",
    options: {},
    positionals: ['VM'],
    async run(_values, [vm], service, { io }) {
      const log = await call(service, 'readConsoleLog', { vm });
      if (log.truncated) io.err(`hangar log: older output is left out; it is in serial.log and serial.log.1 in the VM's folder (${shellQuote(['hangar', 'info', vm as string])} shows where).\n`);
      io.out(new TextDecoder('utf-8').decode(Buffer.from(log.data, 'base64')));
      return 0;
    },
  },
  {
    verb: 'screen',
    methods: ['openScreen'],
    usage: 'hangar screen VM [--json]',
    summary: "Show where a running VM's screen is (a VNC unix socket) and how to open it with a viewer.",
    options: JSON_OPTION,
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      // The CLI has no bridge, so this issues no ticket: url is null and the socket is the way in.
      const screen = await call(service, 'openScreen', { vm });
      if (values.json) printJson(io, screen);
      else {
        io.out(`The screen of ${vm} is VNC on ${screen.socketPath}\nOpen it with a viewer on this machine:\n`);
        io.out(`  ${shellQuote(['remote-viewer', `vnc+unix://${screen.socketPath}`])}\n`);
        io.out(`  ${shellQuote(['vncviewer', screen.socketPath])}   (TigerVNC)\n`);
      }
      return 0;
    },
  },
  {
    verb: 'screenshot',
    methods: ['getScreenshot'],
    usage: 'hangar screenshot VM FILE.png',
    summary: "Save a picture of a running VM's screen as PNG.",
    options: {},
    positionals: ['VM', 'FILE'],
    async run(_values, [vm, file], service, { io }) {
      const shot = await call(service, 'getScreenshot', { vm });
      const target = path.resolve(file as string);
      try {
        await atomicWriteFile(target, Buffer.from(shot.png, 'base64'));
      } catch (error) {
        io.err(`hangar screenshot: ${target} cannot be written: ${(error as Error).message}\n`);
        return 1;
      }
      io.out(`Saved ${vm}'s screen (${shot.width}×${shot.height}) to ${target}\n`);
      return 0;
    },
  },
  {
    verb: 'ssh',
    methods: ['openTerminal', 'writeTerminal', 'resizeTerminal', 'closeTerminal'],
    usage: 'hangar ssh VM [--user NAME]',
    summary: 'SSH into a running VM over its forwarded port 22 (ssh -p PORT NAME@127.0.0.1; NAME defaults to yours). Ends when ssh does.',
    options: { user: { type: 'string' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const input = io.input;
      if (!input) throw new UsageError('hangar ssh needs a terminal or a pipe on its standard input.');
      const user = typeof values.user === 'string' ? values.user : os.userInfo().username;
      const size = io.terminalSize?.() ?? { cols: 80, rows: 24 };
      // Output may come before the id does: keep it until then.
      let id: string | null = null;
      const early: { terminal: string; data: string }[] = [];
      const decoder = new StringDecoder('utf8');
      const show = (data: string): void => io.out(decoder.write(Buffer.from(data, 'base64')));
      let ended: (code: number) => void = () => {};
      const exitCode = new Promise<number>((resolve) => (ended = resolve));
      const earlyExits = new Map<string, number>();
      const stopOutput = service.events.on('terminalOutput', (chunk) => {
        if (chunk.terminal === id) show(chunk.data);
        else if (id === null) early.push(chunk);
      });
      const stopExit = service.events.on('terminalExited', (exit) => {
        const code = exit.exitCode ?? 1;
        if (exit.terminal === id) ended(code);
        else if (id === null) earlyExits.set(exit.terminal, code);
      });
      const wasRaw = input.isTTY ? input.setRawMode?.(true) : undefined;
      const onKeys = (keys: Buffer | string): void => {
        const bytes = typeof keys === 'string' ? Buffer.from(keys) : keys;
        if (id && bytes.length > 0) void call(service, 'writeTerminal', { terminal: id, data: bytes.toString('base64') }).catch(() => {});
      };
      // A pipe that ends (scripted use) sends end-of-input, as Ctrl-D would.
      const onEnd = (): void => {
        if (id) void call(service, 'writeTerminal', { terminal: id, data: Buffer.from([4]).toString('base64') }).catch(() => {});
      };
      const onResize = (): void => {
        const now = io.terminalSize?.();
        if (id && now) void call(service, 'resizeTerminal', { terminal: id, ...now }).catch(() => {});
      };
      const stopResize = io.onTerminalResize?.(onResize);
      try {
        const opened = await call(service, 'openTerminal', { target: { kind: 'ssh', vm, user }, cols: size.cols, rows: size.rows });
        id = opened.terminal;
        for (const chunk of early.splice(0)) if (chunk.terminal === id) show(chunk.data);
        const exitedEarly = earlyExits.get(id);
        if (exitedEarly !== undefined) ended(exitedEarly);
        input.on('data', onKeys);
        input.on('end', onEnd);
        input.resume();
        return await exitCode;
      } finally {
        stopOutput();
        stopExit();
        stopResize?.();
        input.off('data', onKeys);
        input.off('end', onEnd);
        if (input.isTTY && wasRaw !== undefined) input.setRawMode?.(false);
        input.pause();
        io.out(decoder.end());
      }
    },
  },
  {
    verb: 'version',
    methods: ['getAppInfo'],
    usage: 'hangar version [--json]',
    summary: 'Print the version of Hangar.',
    options: JSON_OPTION,
    positionals: [],
    async run(values, _positionals, service, { io }) {
      const info = await call(service, 'getAppInfo', {});
      if (values.json) printJson(io, info);
      else io.out(`${info.name} ${info.version}\n`);
      return 0;
    },
  },
  {
    verb: 'web',
    methods: [],
    usage: 'hangar web [--port N]',
    summary: 'Serve the Hangar window to a browser on this machine only (127.0.0.1), from a one-time address.',
    options: { port: { type: 'string' } },
    positionals: [],
    async run(values, _positionals, _cliService, { io, rendererDir, untilInterrupted, createService }) {
      const port = values.port === undefined ? 0 : /^\d{1,5}$/.test(String(values.port)) ? Number(values.port) : NaN;
      if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be a number from 0 to 65535, not "${String(values.port)}".`);
      // The browser's clients come through the web door, and getAppInfo must say so.
      const service = createService('web');
      const host = await startWebHost({ service, rendererDir, port });
      io.out(`Hangar is serving on ${host.url}\nOpen that address in a browser on this machine. It works once: that browser then stays signed in (reloads and new tabs work). Press Ctrl-C to stop.\n`);
      await untilInterrupted();
      await host.close();
      service.close();
      return 0;
    },
  },
];

function helpText(): string {
  const width = Math.max(...commands.map((command) => command.usage.length));
  return [
    'Usage: hangar <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.usage.padEnd(width)}  ${command.summary}`),
    `  ${'hangar help'.padEnd(width)}  Show this help.`,
    '',
    'VM is a VM\'s name or id, as "hangar list" shows them.',
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const { io } = context;
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    io.out(helpText());
    return verb === undefined ? 2 : 0;
  }
  const command = commands.find((candidate) => candidate.verb === (verb === '--version' ? 'version' : verb));
  if (!command) {
    io.err(`hangar: there is no command "${verb}". Run "hangar help" to see the commands.\n`);
    return 2;
  }
  let service: HangarService | null = null;
  try {
    const { values, positionals } = parseArgs({ args: [...rest], options: command.options, strict: true, allowPositionals: command.positionals.length > 0 });
    if (positionals.length !== command.positionals.length && !(command.positionalsOptional && positionals.length === 0)) {
      throw new UsageError(positionals.length < command.positionals.length ? `Missing ${command.positionals.slice(positionals.length).join(' ')}.` : `Unexpected argument "${positionals[command.positionals.length]}".`);
    }
    service = context.createService('cli');
    return await command.run(values as Values, positionals, service, context);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`hangar ${command.verb}: ${error.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof HangarError) {
      io.err(`hangar ${command.verb}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    service?.close();
  }
}
