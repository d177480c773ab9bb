import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { MethodName, MethodOutput } from '../../src-shared/contract';
import type { FrontDoor } from '../../src-shared/app';
import { HangarError } from '../../src-shared/errors';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { startWebHost } from '../web/server';
import { formatDoctorReport } from './doctor-table';

// The hangar command: argument parsing and printing only; the work is the service's.

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Colour and tables only when a person is reading. */
  isTTY: boolean;
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
  /** The contract method this verb serves; null for verbs that are not an API call. */
  method: MethodName | null;
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Values, service: HangarService, context: CliContext): Promise<number>;
}

const JSON_OPTION = { json: { type: 'boolean' } } as const;

class UsageError extends Error {}

/** Calls the service through the same dispatcher as the other doors, so input is validated the same way. */
async function call<M extends MethodName>(service: HangarService, method: M, input: unknown): Promise<MethodOutput<M>> {
  const result = await dispatch(service.api, method, input);
  if (!result.ok) throw HangarError.fromInfo(result.error);
  return result.value as MethodOutput<M>;
}

const printJson = (io: CliIo, value: unknown): void => io.out(JSON.stringify(value, null, 2) + '\n');

export const commands: readonly CliCommand[] = [
  {
    verb: 'doctor',
    method: 'checkHost',
    usage: 'hangar doctor [--json]',
    summary: 'Check whether this machine can run VMs, and how to fix what is missing. Exits 1 when no VM can run.',
    options: JSON_OPTION,
    async run(values, service, { io }) {
      const report = await call(service, 'checkHost', {});
      if (values.json) printJson(io, report);
      else io.out(formatDoctorReport(report, io.isTTY));
      return report.can_run_vms ? 0 : 1;
    },
  },
  {
    verb: 'version',
    method: 'getAppInfo',
    usage: 'hangar version [--json]',
    summary: 'Print the version of Hangar.',
    options: JSON_OPTION,
    async run(values, service, { io }) {
      const info = await call(service, 'getAppInfo', {});
      if (values.json) printJson(io, info);
      else io.out(`${info.name} ${info.version}\n`);
      return 0;
    },
  },
  {
    verb: 'web',
    method: null,
    usage: 'hangar web [--port N]',
    summary: 'Serve the Hangar window to a browser on this machine only (127.0.0.1), with a secret token in the address.',
    options: { port: { type: 'string' } },
    async run(values, _cliService, { io, rendererDir, untilInterrupted, createService }) {
      const port = values.port === undefined ? 0 : /^\d{1,5}$/.test(String(values.port)) ? Number(values.port) : NaN;
      if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be a number from 0 to 65535, not "${String(values.port)}".`);
      // The browser's clients come through the web door, and getAppInfo must say so.
      const host = await startWebHost({ service: createService('web'), rendererDir, port });
      io.out(`Hangar is serving on ${host.url}\nOpen that address in a browser on this machine. Press Ctrl-C to stop.\n`);
      await untilInterrupted();
      await host.close();
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
  try {
    const { values } = parseArgs({ args: [...rest], options: command.options, strict: true, allowPositionals: false });
    return await command.run(values as Values, context.createService('cli'), context);
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
  }
}
