import type { StoredFiles } from '../../src-shared/storage';
import type { ApiClient } from '../api/client';
import type { SliceCreator } from './index';

// What Hangar keeps beside the VMs (ISOs sent from a browser, disks of deleted VMs), for
// the Storage screen: asked for when the screen shows, and after each removal.

export interface StorageSlice {
  storedFiles: StoredFiles | null;
  /** Why the list could not be read, or a file not removed, in words. */
  storageError: string | null;
  /** Files being removed right now. */
  removing: Record<string, boolean>;
  loadStoredFiles(): Promise<void>;
  removeStoredFile(path: string): Promise<void>;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const createStorageSlice =
  (client: ApiClient): SliceCreator<StorageSlice> =>
  (set, get) => ({
    storedFiles: null,
    storageError: null,
    removing: {},
    async loadStoredFiles() {
      try {
        set({ storedFiles: await client.listStoredFiles({}), storageError: null });
      } catch (error) {
        set({ storageError: message(error) });
      }
    },
    async removeStoredFile(path) {
      set((state) => ({ removing: { ...state.removing, [path]: true }, storageError: null }));
      try {
        await client.removeStoredFile({ path });
      } catch (error) {
        set({ storageError: message(error) });
      } finally {
        set((state) => ({ removing: Object.fromEntries(Object.entries(state.removing).filter(([key]) => key !== path)) }));
      }
      await get().loadStoredFiles();
    },
  });
