import { HangarError } from '../../../src-shared/errors';
import type { VmSummary } from '../../../src-shared/vm';
import { call, UsageError, type CliCommand } from '../command';

// Verbs that start, stop and hold a VM. A VM keeps running when the command ends.

/** How long `hangar stop` waits for the guest to power off, unless told. */
export const STOP_WAIT_SECONDS = 60;

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

const isNow = (vm: VmSummary): string => `${vm.name} is ${vm.state}.`;

export const lifecycleVerbs: readonly CliCommand[] = [
  vmAction('start', 'startVm', 'Start a VM (a saved one resumes where it was). It keeps running after this command ends.', isNow),
  {
    verb: 'stop',
    methods: ['stopVm'],
    usage: 'hangar stop VM [--force] [--wait SECONDS]',
    summary: `Shut a VM down with the ACPI power button (waits ${STOP_WAIT_SECONDS} s by default), or --force it off (a saved VM forgets its state).`,
    options: { force: { type: 'boolean' }, wait: { type: 'string' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const waitSeconds = values.wait === undefined ? STOP_WAIT_SECONDS : Number(values.wait);
      if (!/^\d+$/.test(String(values.wait ?? STOP_WAIT_SECONDS)) || waitSeconds > 600) throw new UsageError('--wait takes a number of seconds from 0 to 600.');
      try {
        const summary = await call(service, 'stopVm', { vm, force: Boolean(values.force), waitSeconds });
        io.out(`${isNow(summary)}\n`);
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
  vmAction('save', 'saveVm', 'Save a running VM to disk and stop it; "hangar start" resumes it where it was.', isNow),
  vmAction('pause', 'pauseVm', 'Pause a running VM.', isNow),
  vmAction('resume', 'resumeVm', 'Resume a paused VM.', isNow),
  vmAction('reset', 'resetVm', 'Reset a VM, like pressing its reset button.', (vm) => `${vm.name} was reset.`),
];
