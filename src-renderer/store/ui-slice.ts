import type { AppInfo } from '../../src-shared/app';
import type { ApiClient } from '../api/client';
import type { SliceCreator } from './index';

export type Screen = 'library' | 'vm' | 'host' | 'storage';
/** The panes of the VM screen. */
export type VmTab = 'console' | 'screen' | 'terminal' | 'settings';
export type ConnectionState = { status: 'connecting' } | { status: 'ready' } | { status: 'lost'; reason: string };

export interface UiSlice {
  screen: Screen;
  /** The VM the VM screen shows. */
  selectedVm: string | null;
  vmTab: VmTab;
  /** The person has moved around already: nothing may take them elsewhere by itself. */
  navigated: boolean;
  connection: ConnectionState;
  appInfo: AppInfo | null;
  showScreen(screen: Screen): void;
  openVm(id: string, tab?: VmTab): void;
  showVmTab(tab: VmTab): void;
  setConnection(connection: ConnectionState): void;
  loadAppInfo(): Promise<void>;
}

export const createUiSlice =
  (client: ApiClient): SliceCreator<UiSlice> =>
  (set) => ({
    screen: 'library',
    selectedVm: null,
    vmTab: 'console',
    navigated: false,
    connection: { status: 'connecting' },
    appInfo: null,
    showScreen: (screen) => set({ screen, navigated: true }),
    openVm: (id, tab) => set((state) => ({ screen: 'vm', selectedVm: id, navigated: true, vmTab: tab ?? (state.selectedVm === id ? state.vmTab : 'console') })),
    showVmTab: (vmTab) => set({ vmTab }),
    setConnection: (connection) => set({ connection }),
    async loadAppInfo() {
      set({ appInfo: await client.getAppInfo({}) });
    },
  });
