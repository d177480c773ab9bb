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

const TOKEN_KEY = 'hangar.token';

/** The web host's token comes in the address; keep it for reloads but take it out of the address bar. */
function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
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
  const token = takeToken() ?? '';
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const transport = webSocketTransport(`${scheme}//${window.location.host}/api?token=${encodeURIComponent(token)}`);
  return {
    client: createApiClient(transport),
    files: uploadFileDoor(window.location.origin, token),
    ready: transport.ready,
    onLost: (listener) => transport.onClose(listener),
  };
}
