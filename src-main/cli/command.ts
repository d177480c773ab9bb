import type { ParseArgsConfig } from 'node:util';
import type { FrontDoor } from '../../src-shared/app';
import type { MethodName, MethodOutput } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import type { VmSummary } from '../../src-shared/vm';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { parseSize } from './sizes';

// What every verb of the hangar command is made of: its options and positionals, the
// contract methods it serves, and a few helpers to parse and print. The verbs live in
// verbs/, one file per kind of work.

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

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface CliCommand {
  verb: string;
  /** The contract methods this verb serves (each method is claimed by exactly one verb). */
  methods: readonly MethodName[];
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** The positional arguments it takes (the VM, a path). */
  positionals: readonly string[];
  /** The positionals may also be left out all together ("hangar storage" lists, "hangar storage remove PATH" removes). */
  positionalsOptional?: boolean;
  run(values: Values, positionals: string[], service: HangarService, context: CliContext): Promise<number>;
}

/** A verb with subcommands ("hangar disk add", "hangar disk resize"): each its own command. */
export interface CliGroup {
  verb: string;
  summary: string;
  /** The contract methods its subcommands serve. */
  methods: readonly MethodName[];
  subcommands: readonly CliCommand[];
}

export const JSON_OPTION = { json: { type: 'boolean' } } as const;

/** A mistake in how the command was typed: said with the usage line, exit code 2. */
export class UsageError extends Error {}

/** Calls the service through the same dispatcher as the other doors, so input is validated the same way. */
export async function call<M extends MethodName>(service: HangarService, method: M, input: unknown): Promise<MethodOutput<M>> {
  const result = await dispatch(service.api, method, input);
  if (!result.ok) throw HangarError.fromInfo(result.error);
  return result.value as MethodOutput<M>;
}

export const printJson = (io: CliIo, value: unknown): void => io.out(JSON.stringify(value, null, 2) + '\n');

export function describeVm(vm: VmSummary): string {
  if (vm.broken) return `${vm.id}: broken — ${vm.broken}`;
  const problem = vm.problem ? `\n  problem: ${vm.problem.message}` : '';
  return `${vm.name} (${vm.id}): ${vm.state}${problem}`;
}

export function sizeOption(value: Values[string], option: string, bareUnit: 'M' | 'G'): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseSize(String(value), bareUnit);
  if (bytes === null) throw new UsageError(`${option} takes a size such as ${bareUnit === 'M' ? '2G or 2048M' : '20G'}, not "${String(value)}".`);
  return bytes;
}

/** A whole number as typed; the contract's own rule says whether it is in range (in its words). */
export function numberOption(value: Values[string], option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,7}$/.test(String(value))) throw new UsageError(`${option} takes a whole number, not "${String(value)}".`);
  return Number(value);
}

/** Whole GiB from a size ("20G", "20"), as disks are sized. */
export function gibOption(value: Values[string], option: string): number | undefined {
  const bytes = sizeOption(value, option, 'G');
  if (bytes === undefined) return undefined;
  const gib = bytes / 1024 ** 3;
  if (!Number.isInteger(gib)) throw new UsageError(`${option} takes whole GiB, such as 20G, not "${String(value)}".`);
  return gib;
}

/** Whole MiB from a size ("2G", "2048"), as memory is sized. */
export function mibOption(value: Values[string], option: string): number | undefined {
  const bytes = sizeOption(value, option, 'M');
  return bytes === undefined ? undefined : Math.max(1, Math.round(bytes / 1024 ** 2));
}
