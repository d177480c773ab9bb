import { version } from '../../package.json';
import type { FrontDoor } from '../../src-shared/app';
import type { HangarApi } from '../../src-shared/contract';
import { HangarError } from '../../src-shared/errors';
import { localProbe, type HostProbe } from '../host/probe';
import { checkHost } from '../host/report';
import { vmStoreDir } from '../vms/paths';
import { EventHub } from './events';

export interface ServiceOptions {
  /** Which front door this service answers through (each door runs its own service). */
  door: FrontDoor;
  /** The machine to check; the live one unless a test passes a captured tree. */
  hostProbe?: HostProbe;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface HangarService {
  api: HangarApi;
  events: EventHub;
}

/** The implementation of the contract. It knows nothing of Electron, HTTP or terminals. */
export function createHangarService({ door, hostProbe = localProbe(), env = process.env }: ServiceOptions): HangarService {
  const events = new EventHub();
  const api: HangarApi = {
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
  };
  return { api, events };
}
