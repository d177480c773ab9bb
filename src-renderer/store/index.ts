import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import type { ApiClient } from '../api/client';
import { createHostSlice, type HostSlice } from './host-slice';
import { createUiSlice, type UiSlice } from './ui-slice';

// The store is a cache of what the main process knows, fed by API answers and events.
// Nothing here is persisted: the main process is the source of truth.

export type AppState = HostSlice & UiSlice;
export type SliceCreator<T> = StateCreator<AppState, [], [], T>;
export type AppStore = StoreApi<AppState>;

export function createAppStore(client: ApiClient): AppStore {
  const store = createStore<AppState>()((...args) => ({
    ...createHostSlice(client)(...args),
    ...createUiSlice(client)(...args),
  }));
  client.on('hostChecked', (report) => store.getState().receiveHostReport(report));
  return store;
}
