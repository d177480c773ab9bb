import type { AppInfo } from '../../src-shared/app';
import type { ApiClient } from '../api/client';
import type { SliceCreator } from './index';

export type Screen = 'overview' | 'host';
export type ConnectionState = { status: 'connecting' } | { status: 'ready' } | { status: 'lost'; reason: string };

export interface UiSlice {
  screen: Screen;
  connection: ConnectionState;
  appInfo: AppInfo | null;
  showScreen(screen: Screen): void;
  setConnection(connection: ConnectionState): void;
  loadAppInfo(): Promise<void>;
}

export const createUiSlice =
  (client: ApiClient): SliceCreator<UiSlice> =>
  (set) => ({
    screen: 'overview',
    connection: { status: 'connecting' },
    appInfo: null,
    showScreen: (screen) => set({ screen }),
    setConnection: (connection) => set({ connection }),
    async loadAppInfo() {
      set({ appInfo: await client.getAppInfo({}) });
    },
  });
