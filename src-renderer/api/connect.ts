import type { HangarBridge } from '../../src-shared/wire';
import { createApiClient, type ApiClient } from './client';
import { bridgeFileDoor, uploadFileDoor, type FileDoor } from './files';
import { bridgeTransport, webSocketTransport } from './transport';

declare global {
  interface Window {
    /** Set by the Electron preload; absent when the page is served by `hangar web`. */
    hangar?: HangarBridge;
  }
}

export interface Connection {
  client: ApiClient;
  /** Turns a dropped or picked file into a path on the machine the engine runs on. */
  files: FileDoor;
  /** Resolves when the client can be used; rejects with a HangarError explaining why not. */
  ready: Promise<void>;
  onLost(listener: (reason: string) => void): void;
}

export function connect(): Connection {
  const bridge = window.hangar;
  if (bridge) {
    const files = bridgeFileDoor((file) => bridge.pathForFile?.(file) ?? '');
    return { client: createApiClient(bridgeTransport(bridge)), files, ready: Promise.resolve(), onLost: () => {} };
  }
  // The page's session cookie (HttpOnly, set by hangar web) goes with the socket by itself.
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const transport = webSocketTransport(`${scheme}//${window.location.host}/api`);
  return {
    client: createApiClient(transport),
    files: uploadFileDoor(window.location.origin),
    ready: transport.ready,
    onLost: (listener) => transport.onClose(listener),
  };
}
