import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { isMethodName } from '../../src-shared/contract';
import { IPC_EVENT_CHANNEL, ipcChannelFor, type CallResult, type HangarBridge } from '../../src-shared/wire';

// The renderer sees one frozen object, window.hangar, and never ipcRenderer itself.

const bridge: HangarBridge = Object.freeze({
  invoke(method: string, input: unknown): Promise<CallResult> {
    if (typeof method !== 'string' || !isMethodName(method)) {
      return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_METHOD', message: `Hangar has no method called "${String(method).slice(0, 64)}".` } });
    }
    return ipcRenderer.invoke(ipcChannelFor(method), input) as Promise<CallResult>;
  },
  onEvent(listener: (name: string, payload: unknown) => void): () => void {
    const forward = (_event: unknown, name: string, payload: unknown): void => listener(name, payload);
    ipcRenderer.on(IPC_EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, forward);
    };
  },
  pathForFile(file: unknown): string {
    // Anything but a real File gets no answer: the page cannot probe the file system this way.
    return file instanceof File ? webUtils.getPathForFile(file) : '';
  },
});

contextBridge.exposeInMainWorld('hangar', bridge);
