import { methodNames } from '../../src-shared/contract';
import { ipcChannelFor, type CallResult } from '../../src-shared/wire';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { isTrustedFrame, type SenderFrame } from './trust';

/** The part of Electron's ipcMain we use; narrow so the wiring can be tested without Electron. */
export interface IpcHandlerRegistry {
  handle(channel: string, listener: (event: { senderFrame: SenderFrame | null }, input: unknown) => Promise<CallResult>): void;
  removeHandler(channel: string): void;
}

/** Registers exactly one ipcMain handler per contract method; returns a function that removes them. */
export function registerIpcHandlers(ipcMain: IpcHandlerRegistry, service: HangarService, rendererUrl: () => string): () => void {
  for (const method of methodNames) {
    ipcMain.handle(ipcChannelFor(method), async (event, input) => {
      if (!isTrustedFrame(event.senderFrame, rendererUrl())) {
        return { ok: false, error: { code: 'UNAUTHORIZED', message: 'Only the Hangar window may use this API.' } };
      }
      return dispatch(service.api, method, input);
    });
  }
  return () => {
    for (const method of methodNames) ipcMain.removeHandler(ipcChannelFor(method));
  };
}
