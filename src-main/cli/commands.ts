import { parseArgs } from 'node:util';
import { HangarError } from '../../src-shared/errors';
import type { HangarService } from '../api/service';
import { UsageError, type CliCommand, type CliContext, type CliGroup, type Values } from './command';
import { consoleVerbs } from './verbs/consoles';
import { deviceGroups, mediaVerb } from './verbs/devices';
import { hostVerbs } from './verbs/host';
import { libraryVerbs } from './verbs/library';
import { lifecycleVerbs } from './verbs/lifecycle';

// The hangar command: which verb runs, its arguments parsed and checked, its errors said in
// words. The work is the service's, through the same dispatcher as every other door.

export type { CliContext, CliIo } from './command';

/** Every verb, and every group of subcommands ("hangar disk add"), in the order help lists them. */
export const commands: readonly (CliCommand | CliGroup)[] = [hostVerbs.doctor, hostVerbs.iso, ...libraryVerbs, ...deviceGroups, mediaVerb, ...lifecycleVerbs, ...consoleVerbs, hostVerbs.version, hostVerbs.web];

const isGroup = (command: CliCommand | CliGroup): command is CliGroup => 'subcommands' in command;
const usagesOf = (command: CliCommand | CliGroup): readonly { usage: string; summary: string }[] => (isGroup(command) ? command.subcommands : [command]);

function helpText(): string {
  const lines = commands.flatMap(usagesOf);
  const width = Math.min(60, Math.max(...lines.map((line) => line.usage.length)));
  return [
    'Usage: hangar <command> [options]',
    '',
    'Commands:',
    ...lines.map((line) => (line.usage.length > width ? `  ${line.usage}\n  ${''.padEnd(width)}  ${line.summary}` : `  ${line.usage.padEnd(width)}  ${line.summary}`)),
    `  ${'hangar help'.padEnd(width)}  Show this help.`,
    '',
    'VM is a VM\'s name or id, as "hangar list" shows them; DISK-ID and NIC-ID are a device\'s id, as "hangar info VM" shows them.',
    '',
  ].join('\n');
}

/** The command that runs for these arguments, and the arguments left for it. */
function resolve(verb: string, rest: readonly string[]): { command: CliCommand; args: string[]; name: string } | { unknown: string } {
  const found = commands.find((candidate) => candidate.verb === (verb === '--version' ? 'version' : verb));
  if (!found) return { unknown: `there is no command "${verb}". Run "hangar help" to see the commands.` };
  if (!isGroup(found)) return { command: found, args: [...rest], name: found.verb };
  const [sub, ...args] = rest;
  const command = found.subcommands.find((candidate) => candidate.verb === sub);
  const known = found.subcommands.map((candidate) => candidate.verb).join(', ');
  if (!command) return { unknown: sub === undefined ? `"hangar ${verb}" needs one of: ${known}.` : `"hangar ${verb}" knows ${known}, not "${sub}".` };
  return { command, args, name: `${found.verb} ${command.verb}` };
}

export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const { io } = context;
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    io.out(helpText());
    return verb === undefined ? 2 : 0;
  }
  const found = resolve(verb, rest);
  if ('unknown' in found) {
    io.err(`hangar: ${found.unknown}\n`);
    return 2;
  }
  const { command, args, name } = found;
  let service: HangarService | null = null;
  try {
    const { values, positionals } = parseArgs({ args, options: command.options, strict: true, allowPositionals: command.positionals.length > 0 });
    if (positionals.length !== command.positionals.length && !(command.positionalsOptional && positionals.length === 0)) {
      throw new UsageError(positionals.length < command.positionals.length ? `Missing ${command.positionals.slice(positionals.length).join(' ')}.` : `Unexpected argument "${positionals[command.positionals.length]}".`);
    }
    service = context.createService('cli');
    return await command.run(values as Values, positionals, service, context);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`hangar ${name}: ${error.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof HangarError) {
      io.err(`hangar ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    service?.close();
  }
}
