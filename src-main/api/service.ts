import path from 'node:path';
import { version } from '../../package.json';
import type { FrontDoor } from '../../src-shared/app';
import type { HangarHandlers } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import { probeEngineHost } from '../connection/engine-host';
import { LocalQemuConnection } from '../connection/local-qemu';
import { hostShellCommand, sshCommand, TerminalManager } from '../consoles/terminals';
import { FollowedConsoles } from '../consoles/followed-consoles';
import { readSerialLogTail } from '../consoles/serial-log';
import { ScreenTickets } from '../consoles/screen-bridge';
import { localProbe, type HostProbe } from '../host/probe';
import { cachingProbe } from '../host/probe-cache';
import { inspectIso } from '../media/inspect';
import { checkHost } from '../host/report';
import { runtimeRoot } from '../qemu/supervisor';
import { cacheRoot, isoStoreDir, libraryRoot, vmStoreDir } from '../vms/paths';
import { listStoredFiles, removeStoredFile, type VmMedia } from '../vms/stored-files';
import { EventHub } from './events';
import { singleFlight } from './single-flight';

export interface ServiceOptions {
  /** Which front door this service answers through (each door runs its own service). */
  door: FrontDoor;
  /** The machine to check; the live one unless a test passes a captured tree. */
  hostProbe?: HostProbe;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface HangarService {
  api: HangarHandlers;
  events: EventHub;
  /** Where ISO images sent by a browser are kept (the web door's uploads). */
  isoStoreDir: string;
  /** Lets go of VMs and consoles (they keep running) so the process can exit. */
  close(): void;
  /** One-time tickets for VM screens: openScreen issues them, a door that bridges redeems them. */
  screenTickets: ScreenTickets;
  /** A door that bridges screens says where (ws://127.0.0.1:PORT/screen); without one, openScreen's url is null. */
  setScreenBridge(baseUrl: string | null): void;
}

/** The implementation of the contract. It knows nothing of Electron, HTTP or the CLI. */
export function createHangarService({ door, hostProbe = localProbe(), env = process.env }: ServiceOptions): HangarService {
  const events = new EventHub();
  let connection: Promise<LocalQemuConnection> | null = null;
  const consoles = new FollowedConsoles(
    async (ref) => (await (await engine()).getVm(ref)).summary.id,
    async (id) => (await engine()).openConsole(id),
    (id, data, offset) => events.emit('consoleOutput', { vm: id, data: data.toString('base64'), offset }),
  );
  // Terminals (host shell, ssh into a VM) live as long as this service; close() ends them.
  const terminals = new TerminalManager();
  terminals.onOutput((terminal, data) => events.emit('terminalOutput', { terminal, data: data.toString('base64') }));
  terminals.onExit((terminal, exit) => events.emit('terminalExited', { terminal, ...exit }));
  const screenTickets = new ScreenTickets();
  let screenBridge: string | null = null;

  // The engine opens on first use: `hangar doctor` never needs it.
  const engine = (): Promise<LocalQemuConnection> => {
    connection ??= (async () => {
      const opened = await LocalQemuConnection.open({
        libraryRoot: libraryRoot(env),
        runtimeRoot: await runtimeRoot(env),
        // The live machine's QEMU answers are kept between runs (host/probe-cache.ts); a captured one is read as it is.
        host: () => probeEngineHost(vmStoreDir(env), hostProbe.root === '/' ? cachingProbe(hostProbe, path.join(cacheRoot(env), 'host-probes.json')) : hostProbe),
      });
      opened.onEvent((event) => {
        if (event.type === 'vmChanged') events.emit('vmChanged', event.vm);
        else if (event.type === 'vmRemoved') events.emit('vmRemoved', { id: event.id });
        else events.emit('vmProgress', event.progress);
      });
      return opened;
    })();
    return connection;
  };

  // Every window lists the library on start and after changes; many lists at once (many
  // tabs, or one client in a loop) share a read instead of each opening every vm.json.
  const listVms = singleFlight(async () => (await engine()).listVms());
  /** What each VM's CD drive holds: a kept ISO in one cannot be removed. */
  const vmMedia = async (): Promise<VmMedia[]> => (await listVms()).flatMap((vm) => (vm.config ? [{ name: vm.name, isos: vm.config.devices.cdroms.flatMap((cd) => (cd.iso ? [cd.iso] : [])) }] : []));

  const api: HangarHandlers = {
    async getAppInfo() {
      return { name: 'Hangar', version, door, platform: `${process.platform}-${process.arch}` };
    },
    async checkHost() {
      try {
        const report = await checkHost({ probe: hostProbe, vmStorePath: vmStoreDir(env) });
        events.emit('hostChecked', report);
        return report;
      } catch (error) {
        throw new HangarError('HOST_CHECK_FAILED', `The host check could not finish: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    listVms: () => listVms(),
    getVm: async ({ vm }) => (await engine()).getVm(vm),
    createVm: async (request) => (await engine()).defineVm(request),
    inspectIso: async ({ path }) => inspectIso(path),
    previewVm: async (request) => (await engine()).previewVm(request),
    updateVm: async ({ vm, changes }) => (await engine()).updateVm(vm, changes),
    addDevice: async ({ vm, device }) => (await engine()).addDevice(vm, device),
    changeDevice: async ({ vm, device, change }) => (await engine()).changeDevice(vm, device, change),
    removeDevice: async ({ vm, device, keepFile }) => (await engine()).removeDevice(vm, device, { keepFile }),
    resizeDisk: async ({ vm, device, sizeGiB }) => (await engine()).resizeDisk(vm, device, sizeGiB),
    startVm: async ({ vm }) => (await engine()).startVm(vm),
    async stopVm({ vm, force, waitSeconds }) {
      const connected = await engine();
      const summary = await connected.stopVm(vm, { force });
      if (waitSeconds === 0) return summary;
      try {
        return await connected.waitForState(vm, ['stopped', 'crashed'], waitSeconds * 1000);
      } catch (error) {
        if (error instanceof HangarError && error.code === 'TIMEOUT' && !force) {
          await connected.refreshState(vm).catch(() => {});
          throw new HangarError('TIMEOUT', `"${summary.name}" did not shut down within ${waitSeconds} s: its OS may be busy or ignore the power button. You can force it off.`);
        }
        throw error;
      }
    },
    saveVm: async ({ vm }) => (await engine()).saveVm(vm),
    pauseVm: async ({ vm }) => (await engine()).pauseVm(vm),
    resumeVm: async ({ vm }) => (await engine()).resumeVm(vm),
    resetVm: async ({ vm }) => (await engine()).resetVm(vm),
    changeMedia: async ({ vm, iso, cdrom }) => (await engine()).changeMedia(vm, iso, cdrom),
    deleteVm: async ({ vm, keepDisks }) => (await engine()).deleteVm(vm, { keepDisks }),
    listStoredFiles: async () => listStoredFiles(libraryRoot(env), await vmMedia()),
    async removeStoredFile({ path }) {
      await removeStoredFile(libraryRoot(env), path, await vmMedia());
      return {};
    },
    async attachConsole({ vm }) {
      const { summary } = await (await engine()).getVm(vm);
      const { data, end } = await consoles.attach(summary.id);
      return { vm: summary.id, scrollback: data.toString('base64'), end };
    },
    async readConsoleLog({ vm }) {
      const { summary, dir } = await (await engine()).getVm(vm);
      const { data, truncated } = await readSerialLogTail(dir);
      return { vm: summary.id, data: data.toString('base64'), truncated };
    },
    async sendConsoleInput({ vm, data }) {
      await consoles.write(vm, Buffer.from(data, 'base64'));
      return {};
    },
    async openScreen({ vm }) {
      const socketPath = await (await engine()).screenSocket(vm);
      return { url: screenBridge ? `${screenBridge}?ticket=${screenTickets.issue({ socketPath })}` : null, socketPath };
    },
    async getScreenshot({ vm }) {
      const { png, width, height } = await (await engine()).screenshot(vm);
      return { png: png.toString('base64'), width, height };
    },
    async openTerminal({ target, cols, rows }) {
      const command = target.kind === 'host' ? hostShellCommand(env) : sshCommand(await (await engine()).getVm(target.vm), target.user, env);
      const { id, title } = await terminals.open(command, { cols, rows });
      return { terminal: id, title };
    },
    async writeTerminal({ terminal, data }) {
      terminals.write(terminal, Buffer.from(data, 'base64'));
      return {};
    },
    async resizeTerminal({ terminal, cols, rows }) {
      terminals.resize(terminal, cols, rows);
      return {};
    },
    async closeTerminal({ terminal }) {
      await terminals.close(terminal);
      return {};
    },
  };
  return {
    api,
    events,
    isoStoreDir: isoStoreDir(env),
    screenTickets,
    setScreenBridge(baseUrl) {
      screenBridge = baseUrl;
    },
    close() {
      consoles.closeAll();
      void terminals.closeAll();
      void connection?.then((opened) => opened.close(), () => {});
    },
  };
}
