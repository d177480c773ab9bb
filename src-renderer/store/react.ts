import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { ApiClient } from '../api/client';
import type { AppState, AppStore } from './index';

export const StoreContext = createContext<AppStore | null>(null);

export function useAppStore<T>(selector: (state: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStore is used outside <StoreContext.Provider>.');
  return useStore(store, selector);
}

/** The typed API client, for components that stream (the console) rather than keep state. */
export const ClientContext = createContext<ApiClient | null>(null);

export function useClient(): ApiClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient is used outside <ClientContext.Provider>.');
  return client;
}
