import { version } from '../../package.json';
import type { FrontDoor } from '../../src-shared/app';
import type { HangarHandlers } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import type { ConsoleSession } from '../connection/connection';
import { probeEngineHost } from '../connection/engine-host';
import { LocalQemuConnection } from '../connection/local-qemu';
import { localProbe, type HostProbe } from '../host/probe';
import { checkHost } from '../host/report';
import { runtimeRoot } from '../qemu/supervisor';
import { libraryRoot, vmStoreDir } from '../vms/paths';
import { EventHub } from './events';

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
  /** Lets go of VMs and consoles (they keep running) so the process can exit. */
  close(): void;
}

/** The implementation of the contract. It knows nothing of Electron, HTTP or terminals. */
export function createHangarService({ door, hostProbe = localProbe(), env = process.env }: ServiceOptions): HangarService {
  const events = new EventHub();
  let connection: Promise<LocalQemuConnection> | null = null;
  const consoles = new Map<string, ConsoleSession>();

  // The engine opens on first use: `hangar doctor` never needs it.
  const engine = (): Promise<LocalQemuConnection> => {
    connection ??= (async () => {
      const opened = await LocalQemuConnection.open({
        libraryRoot: libraryRoot(env),
        runtimeRoot: await runtimeRoot(env),
        host: () => probeEngineHost(vmStoreDir(env), hostProbe),
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
    listVms: async () => (await engine()).listVms(),
    getVm: async ({ vm }) => (await engine()).getVm(vm),
    createVm: async (request) => (await engine()).defineVm(request),
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
    pauseVm: async ({ vm }) => (await engine()).pauseVm(vm),
    resumeVm: async ({ vm }) => (await engine()).resumeVm(vm),
    resetVm: async ({ vm }) => (await engine()).resetVm(vm),
    changeMedia: async ({ vm, iso }) => (await engine()).changeMedia(vm, iso),
    deleteVm: async ({ vm, keepDisks }) => (await engine()).deleteVm(vm, { keepDisks }),
    async attachConsole({ vm }) {
      const connected = await engine();
      const { summary } = await connected.getVm(vm);
      const existing = consoles.get(summary.id);
      if (existing) return { vm: summary.id, scrollback: existing.scrollback.toString('base64') };
      const session = await connected.openConsole(summary.id);
      consoles.set(summary.id, session);
      session.onData((chunk) => events.emit('consoleOutput', { vm: summary.id, data: chunk.toString('base64') }));
      session.onEnd(() => consoles.delete(summary.id));
      return { vm: summary.id, scrollback: session.scrollback.toString('base64') };
    },
    async sendConsoleInput({ vm, data }) {
      const connected = await engine();
      const { summary } = await connected.getVm(vm);
      let session = consoles.get(summary.id);
      if (!session) {
        await api.attachConsole({ vm: summary.id });
        session = consoles.get(summary.id);
      }
      session?.write(Buffer.from(data, 'base64'));
      return {};
    },
  };
  return {
    api,
    events,
    close() {
      for (const session of consoles.values()) session.close();
      consoles.clear();
      void connection?.then((opened) => opened.close(), () => {});
    },
  };
}
