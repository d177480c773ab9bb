import path from 'node:path';
import { formatBytes } from '../../../src-shared/format';
import { DISK_NONE } from '../../../src-shared/limits';
import { bootsWith } from '../../../src-shared/os';
import { call, JSON_OPTION, printJson, UsageError, type CliCommand } from '../command';
import { formatDoctorReport } from '../doctor-table';

// Verbs about this machine and Hangar itself: the host check, what an ISO is, the version,
// and serving the window to a browser.

export const hostVerbs = {
  doctor: {
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
  iso: {
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
  version: {
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
  web: {
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
      // Loaded only here: the web host (http, WebSocket) is no cost to every other verb.
      const { startWebHost } = await import('../../web/server');
      const host = await startWebHost({ service, rendererDir, port });
      io.out(`Hangar is serving on ${host.url}\nOpen that address in a browser on this machine. It works once: that browser then stays signed in (reloads and new tabs work). Press Ctrl-C to stop.\n`);
      await untilInterrupted();
      await host.close();
      service.close();
      return 0;
    },
  },
} satisfies Record<string, CliCommand>;
