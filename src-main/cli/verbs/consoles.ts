import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ConsoleCursor } from '../../../src-shared/console-stream';
import { shellQuote } from '../../../src-shared/format';
import { atomicWriteFile } from '../../util/atomic-write';
import { call, JSON_OPTION, printJson, UsageError, type CliCommand } from '../command';
import { readKeys } from '../keyboard';

// Verbs that show a VM: its serial console (live, or its log), its screen, and SSH into it.

const CTRL_RIGHT_BRACKET = 0x1d;

export const consoleVerbs: readonly CliCommand[] = [
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
        const finish = (message: string, code: number): void => {
          stopOutput();
          stopState();
          keys.stop();
          io.err(message);
          resolve(code);
        };
        const keys = readKeys(
          input,
          (bytes) => {
            const detach = bytes.indexOf(CTRL_RIGHT_BRACKET);
            const forward = detach >= 0 ? bytes.subarray(0, detach) : bytes;
            if (forward.length > 0) void call(service, 'sendConsoleInput', { vm: id, data: forward.toString('base64') }).catch(() => {});
            if (detach >= 0) finish('\r\nDetached; the VM keeps running.\r\n', 0);
          },
          // A pipe that ends (scripted use) leaves the console after its last keys are sent.
          () => void setTimeout(() => finish('\r\nInput ended; the VM keeps running.\r\n', 0), 500).unref(),
        );
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
      const stopResize = io.onTerminalResize?.(() => {
        const now = io.terminalSize?.();
        if (id && now) void call(service, 'resizeTerminal', { terminal: id, ...now }).catch(() => {});
      });
      let keys: ReturnType<typeof readKeys> | null = null;
      try {
        const opened = await call(service, 'openTerminal', { target: { kind: 'ssh', vm, user }, cols: size.cols, rows: size.rows });
        id = opened.terminal;
        for (const chunk of early.splice(0)) if (chunk.terminal === id) show(chunk.data);
        const exitedEarly = earlyExits.get(id);
        if (exitedEarly !== undefined) ended(exitedEarly);
        const terminal = id;
        keys = readKeys(
          input,
          (bytes) => void call(service, 'writeTerminal', { terminal, data: bytes.toString('base64') }).catch(() => {}),
          // A pipe that ends (scripted use) sends end-of-input, as Ctrl-D would.
          () => void call(service, 'writeTerminal', { terminal, data: Buffer.from([4]).toString('base64') }).catch(() => {}),
        );
        return await exitCode;
      } finally {
        stopOutput();
        stopExit();
        stopResize?.();
        keys?.stop();
        io.out(decoder.end());
      }
    },
  },
];
