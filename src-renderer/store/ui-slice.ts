import type { AppInfo } from '../../src-shared/app';
import type { ApiClient } from '../api/client';
import type { SliceCreator } from './index';

export type Screen = 'library' | 'vm' | 'host';
export type ConnectionState = { status: 'connecting' } | { status: 'ready' } | { status: 'lost'; reason: string };

export interface UiSlice {
  screen: Screen;
  /** The VM the VM screen shows. */
  selectedVm: string | null;
  /** The person has moved around already: nothing may take them elsewhere by itself. */
  navigated: boolean;
  connection: ConnectionState;
  appInfo: AppInfo | null;
  showScreen(screen: Screen): void;
  openVm(id: string): void;
  setConnection(connection: ConnectionState): void;
  loadAppInfo(): Promise<void>;
}

export const createUiSlice =
  (client: ApiClient): SliceCreator<UiSlice> =>
  (set) => ({
    screen: 'library',
    selectedVm: null,
    navigated: false,
    connection: { status: 'connecting' },
    appInfo: null,
    showScreen: (screen) => set({ screen, navigated: true }),
    openVm: (id) => set({ screen: 'vm', selectedVm: id, navigated: true }),
    setConnection: (connection) => set({ connection }),
    async loadAppInfo() {
      set({ appInfo: await client.getAppInfo({}) });
    },
  });
