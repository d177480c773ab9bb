import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { methodNames } from '../../src-shared/contract';
import { ipcChannelFor, type CallResult } from '../../src-shared/wire';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { isTrustedFrame } from './trust';

/** Registers exactly one ipcMain handler per contract method; returns a function that removes them. */
export function registerIpcHandlers(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, service: HangarService, rendererUrl: () => string): () => void {
  for (const method of methodNames) {
    ipcMain.handle(ipcChannelFor(method), async (event: IpcMainInvokeEvent, input: unknown): Promise<CallResult> => {
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
