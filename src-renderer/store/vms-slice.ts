import { HangarError } from '../../src-shared/errors';
import type { DeviceChange, NewDevice, VmChanges, VmDetails, VmProgress, VmSummary } from '../../src-shared/vm';
import type { ApiClient } from '../api/client';
import { whyNotAnIso, type FileDoor } from '../api/files';
import type { SliceCreator } from './index';

export type { VmAction } from './vm-controls';
import type { VmAction } from './vm-controls';

export interface VmsSlice {
  vms: Record<string, VmSummary>;
  vmsLoaded: boolean;
  vmsError: string | null;
  /** The last thing that went wrong with a VM action, per VM, in words. */
  vmErrors: Record<string, string>;
  /** VMs with an action on its way, so buttons can wait. */
  vmBusy: Record<string, boolean>;
  /** VMs whose guest ignored the last press of the power button: Force off is offered wherever they are shown. */
  vmShutdownIgnored: Record<string, boolean>;
  progress: VmProgress | null;
  loadVms(): Promise<void>;
  receiveVm(vm: VmSummary): void;
  removeVm(id: string): void;
  receiveProgress(progress: VmProgress): void;
  runVmAction(id: string, action: VmAction): Promise<void>;
  /** ACPI shutdown, or force off. A TIMEOUT comes back as the error, to offer force off. */
  stopVm(id: string, force: boolean): Promise<void>;
  deleteVm(id: string, keepDisks: boolean): Promise<void>;
  /** Puts an ISO (a path on the engine's machine) in the CD drive, or ejects it with null. */
  changeMedia(id: string, iso: string | null, cdrom?: string): Promise<void>;
  /** Puts a picked or dropped ISO file in the CD drive (sent to the engine first in a browser). */
  insertIsoFile(id: string, file: File, cdrom?: string): Promise<void>;
  /** Changes a VM's name or machine settings; resolves true when they were taken. */
  updateVm(id: string, changes: VmChanges): Promise<boolean>;
  /** A VM's details (its disks' sizes and files, where kept disks go), for its Settings. */
  vmDetails: Record<string, VmDetails>;
  loadVmDetails(id: string): Promise<void>;
  /** Device changes, one at a time; each resolves true when the engine took it. */
  addDevice(id: string, device: NewDevice): Promise<boolean>;
  changeDevice(id: string, device: string, change: DeviceChange): Promise<boolean>;
  /** Resolves with where a kept disk file went (null when deleted), or false when refused. */
  removeDevice(id: string, device: string, keepFile: boolean): Promise<string | null | false>;
  resizeDisk(id: string, device: string, sizeGiB: number): Promise<boolean>;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** How long a shutdown waits for the guest to power off before it is reported as ignored. */
export const SHUTDOWN_WAIT_SECONDS = 60;
/** States in which QEMU no longer runs: a shutdown that timed out has been overtaken. */
const ENDED: ReadonlySet<VmSummary['state']> = new Set(['stopped', 'crashed', 'saved']);

export const createVmsSlice =
  (client: ApiClient, files: FileDoor): SliceCreator<VmsSlice> =>
  (set, get) => {
    const act = async (id: string, work: () => Promise<VmSummary | null>): Promise<void> => {
      set((state) => ({ vmBusy: { ...state.vmBusy, [id]: true }, vmErrors: withoutKey(state.vmErrors, id), vmShutdownIgnored: withoutKey(state.vmShutdownIgnored, id) }));
      try {
        const vm = await work();
        if (vm) get().receiveVm(vm);
      } catch (error) {
        set((state) => ({ vmErrors: { ...state.vmErrors, [id]: message(error) } }));
      } finally {
        set((state) => ({ vmBusy: withoutKey(state.vmBusy, id) }));
      }
    };
    return {
      vms: {},
      vmsLoaded: false,
      vmsError: null,
      vmErrors: {},
      vmBusy: {},
      vmShutdownIgnored: {},
      progress: null,
      async loadVms() {
        try {
          const list = await client.listVms({});
          set({ vms: Object.fromEntries(list.map((vm) => [vm.id, vm])), vmsLoaded: true, vmsError: null });
        } catch (error) {
          set({ vmsError: message(error), vmsLoaded: true });
        }
      },
      receiveVm: (vm) =>
        set((state) =>
          // The guest powered off after all (or was forced off elsewhere): the warning is old news.
          ENDED.has(vm.state) && state.vmShutdownIgnored[vm.id]
            ? { vms: { ...state.vms, [vm.id]: vm }, vmErrors: withoutKey(state.vmErrors, vm.id), vmShutdownIgnored: withoutKey(state.vmShutdownIgnored, vm.id) }
            : { vms: { ...state.vms, [vm.id]: vm } },
        ),
      removeVm: (id) => set((state) => ({ vms: withoutKey(state.vms, id) })),
      receiveProgress: (progress) => set({ progress }),
      runVmAction: (id, action) => act(id, () => client[action]({ vm: id })),
      // The power button needs time; past the wait the engine answers TIMEOUT with the reason
      // (the VM runs on), and the VM page and its library row offer force off.
      stopVm: (id, force) =>
        act(id, async () => {
          try {
            return await client.stopVm({ vm: id, force, waitSeconds: force ? 30 : SHUTDOWN_WAIT_SECONDS });
          } catch (error) {
            if (!force && error instanceof HangarError && error.code === 'TIMEOUT') set((state) => ({ vmShutdownIgnored: { ...state.vmShutdownIgnored, [id]: true } }));
            throw error;
          }
        }),
      changeMedia: (id, iso, cdrom) => act(id, () => client.changeMedia({ vm: id, iso, ...(cdrom ? { cdrom } : {}) })),
      insertIsoFile: (id, file, cdrom) =>
        act(id, async () => {
          const refused = await whyNotAnIso(file, false);
          if (refused) throw new Error(refused);
          return client.changeMedia({ vm: id, iso: (await files.isoPath(file, () => {})).path, ...(cdrom ? { cdrom } : {}) });
        }),
      async updateVm(id, changes) {
        await act(id, () => client.updateVm({ vm: id, changes }));
        return get().vmErrors[id] === undefined;
      },
      vmDetails: {},
      async loadVmDetails(id) {
        try {
          const details = await client.getVm({ vm: id });
          set((state) => ({ vmDetails: { ...state.vmDetails, [id]: details } }));
        } catch (error) {
          set((state) => ({ vmErrors: { ...state.vmErrors, [id]: message(error) } }));
        }
      },
      async addDevice(id, device) {
        await act(id, () => client.addDevice({ vm: id, device }));
        void get().loadVmDetails(id);
        return get().vmErrors[id] === undefined;
      },
      async changeDevice(id, device, change) {
        await act(id, () => client.changeDevice({ vm: id, device, change }));
        void get().loadVmDetails(id);
        return get().vmErrors[id] === undefined;
      },
      async removeDevice(id, device, keepFile) {
        let kept: string | null = null;
        await act(id, async () => {
          const result = await client.removeDevice({ vm: id, device, keepFile });
          kept = result.keptFile;
          return result.vm;
        });
        void get().loadVmDetails(id);
        return get().vmErrors[id] === undefined ? kept : false;
      },
      async resizeDisk(id, device, sizeGiB) {
        await act(id, () => client.resizeDisk({ vm: id, device, sizeGiB }));
        void get().loadVmDetails(id);
        return get().vmErrors[id] === undefined;
      },
      deleteVm: (id, keepDisks) =>
        act(id, async () => {
          await client.deleteVm({ vm: id, keepDisks });
          get().removeVm(id);
          return null;
        }),
    };
  };

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  const copy = { ...record };
  delete copy[key];
  return copy;
}
