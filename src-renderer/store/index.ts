import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import type { ApiClient } from '../api/client';
import type { FileDoor } from '../api/files';
import { createHostSlice, type HostSlice } from './host-slice';
import { createStorageSlice, type StorageSlice } from './storage-slice';
import { createUiSlice, type UiSlice } from './ui-slice';
import { createVmsSlice, type VmsSlice } from './vms-slice';
import { createWizardSlice, type WizardSlice } from './wizard-slice';

// The store is a cache of what the main process knows, fed by API answers and events.
// Nothing here is persisted: the main process is the source of truth.

export type AppState = HostSlice & UiSlice & VmsSlice & WizardSlice & StorageSlice;
export type SliceCreator<T> = StateCreator<AppState, [], [], T>;
export type AppStore = StoreApi<AppState>;

export function createAppStore(client: ApiClient, files: FileDoor): AppStore {
  const store = createStore<AppState>()((...args) => ({
    ...createHostSlice(client)(...args),
    ...createUiSlice(client)(...args),
    ...createVmsSlice(client, files)(...args),
    ...createWizardSlice(client, files)(...args),
    ...createStorageSlice(client)(...args),
  }));
  // Events are the only way state changes arrive: no polling.
  client.on('hostChecked', (report) => store.getState().receiveHostReport(report));
  client.on('vmChanged', (vm) => store.getState().receiveVm(vm));
  client.on('vmRemoved', ({ id }) => store.getState().removeVm(id));
  client.on('vmProgress', (progress) => store.getState().receiveProgress(progress));
  // The desktop shell's menu, and ISOs handed over by the file manager or a second launch.
  client.on('desktopCommand', (command) => {
    const state = store.getState();
    if (command.command === 'newVm') state.openWizard();
    else if (command.command === 'show') state.showScreen(command.screen);
    else {
      if (!state.wizardOpen || state.creating) state.openWizard();
      void store.getState().chooseIsoPath(command.path);
    }
  });
  return store;
}
