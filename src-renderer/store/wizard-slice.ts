import type { IsoInfo } from '../../src-shared/os';
import { defaultsFor } from '../../src-shared/os';
import type { DiskBus, Firmware, NewVmRequest, NicModel } from '../../src-shared/vm';
import type { ApiClient } from '../api/client';
import { whyNotAnIso, type FileDoor } from '../api/files';
import type { SliceCreator } from './index';

// The new-VM wizard: a draft the person shapes in at most four steps, prefilled from the
// ISO. Nothing is made until Create; the engine checks the same rules again then.

export type MediaKind = 'iso' | 'disk' | 'empty';
export type WizardStep = 1 | 2 | 3 | 4;

export interface WizardDraft {
  name: string;
  /** The person typed a name: the detected OS no longer renames the VM. */
  nameTouched: boolean;
  media: MediaKind;
  isoPath: string;
  isoInfo: IsoInfo | null;
  diskPath: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  firmware: Firmware;
  tpm: boolean;
  diskBus: DiskBus;
  nicModel: NicModel;
  /** Host port forwarded to the guest's SSH port 22, or null for none. */
  sshPort: number | null;
}

export interface MediaStatus {
  phase: 'none' | 'sending' | 'reading' | 'ready' | 'failed';
  /** Of the upload, 0–1, while sending. */
  fraction: number | null;
  fileName: string | null;
  error: string | null;
}

export interface WizardSlice {
  wizardOpen: boolean;
  wizardStep: WizardStep;
  draft: WizardDraft;
  media: MediaStatus;
  preview: { argv: string[]; warnings: string[] } | null;
  previewError: string | null;
  creating: boolean;
  createError: string | null;
  /** A dropped file that was refused, in words; shown until dismissed or replaced. */
  dropError: string | null;
  openWizard(): void;
  closeWizard(): void;
  /** A file dropped on the window or picked with Open ISO…: checked, then the wizard opens prefilled. */
  takeIsoFile(file: File, isFolder: boolean): Promise<void>;
  /** A path typed into the wizard (or a disk image's path). */
  chooseIsoPath(path: string): Promise<void>;
  setDraft(change: Partial<WizardDraft>): void;
  goToStep(step: WizardStep): void;
  loadPreview(): Promise<void>;
  /** Creates the VM, starts it and opens it on its console. */
  createFromWizard(): Promise<void>;
  dismissDropError(): void;
}

const GENERIC = defaultsFor('other-linux');

export const emptyDraft = (): WizardDraft => ({
  name: '',
  nameTouched: false,
  media: 'iso',
  isoPath: '',
  isoInfo: null,
  diskPath: '',
  cpus: GENERIC.cpus,
  memoryMiB: GENERIC.memoryMiB,
  diskGiB: GENERIC.diskGiB,
  firmware: GENERIC.firmware,
  tpm: GENERIC.tpm,
  diskBus: GENERIC.diskBus,
  nicModel: GENERIC.nicModel,
  sshPort: null,
});

const NO_MEDIA: MediaStatus = { phase: 'none', fraction: null, fileName: null, error: null };
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The draft as the engine's request. */
export function requestOf(draft: WizardDraft): NewVmRequest {
  return {
    name: draft.name,
    iso: draft.media === 'iso' && draft.isoPath ? draft.isoPath : null,
    importDisk: draft.media === 'disk' ? draft.diskPath : null,
    memoryMiB: draft.memoryMiB,
    cpus: draft.cpus,
    diskGiB: draft.media === 'disk' ? 0 : draft.diskGiB,
    firmware: draft.firmware,
    diskBus: draft.diskBus,
    nicModel: draft.nicModel,
    tpm: draft.tpm,
    portForwards: draft.sshPort ? [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: draft.sshPort, guestPort: 22 }] : [],
    os: draft.media === 'iso' && draft.isoInfo ? { family: draft.isoInfo.os.family, name: osLabel(draft.isoInfo) } : null,
  };
}

/** "Debian 12.7.0", or the name alone when it already says the version. */
export function osLabel(info: IsoInfo): string {
  return info.os.version && !info.os.name.includes(info.os.version) ? `${info.os.name} ${info.os.version}` : info.os.name;
}

/** "Debian 12", or "Debian 12 (2)" when that name is taken. */
export function freeVmName(base: string, taken: readonly string[]): string {
  const lower = new Set(taken.map((name) => name.toLowerCase()));
  if (!lower.has(base.toLowerCase())) return base;
  for (let n = 2; ; n++) if (!lower.has(`${base} (${n})`.toLowerCase())) return `${base} (${n})`;
}

export const createWizardSlice =
  (client: ApiClient, files: FileDoor): SliceCreator<WizardSlice> =>
  (set, get) => {
    /** Prefills the draft from what the ISO says about itself, keeping what the person typed. */
    const applyIso = (path: string, info: IsoInfo): void => {
      const { draft, hostReport } = get();
      const threads = hostReport?.resources.cpu_threads ?? 0;
      const label = osLabel(info);
      const taken = Object.values(get().vms).map((vm) => vm.name);
      set({
        draft: {
          ...draft,
          media: 'iso',
          isoPath: path,
          isoInfo: info,
          name: draft.nameTouched ? draft.name : freeVmName(label, taken),
          // Never suggest more CPUs than the machine has.
          cpus: threads > 0 ? Math.min(info.defaults.cpus, threads) : info.defaults.cpus,
          memoryMiB: info.defaults.memoryMiB,
          diskGiB: info.defaults.diskGiB,
          firmware: info.defaults.firmware === 'bios' && !info.bootable && info.uefiBootable ? 'uefi' : info.defaults.firmware,
          tpm: info.defaults.tpm,
          diskBus: info.defaults.diskBus,
          nicModel: info.defaults.nicModel,
        },
        media: { ...get().media, phase: 'ready', fraction: null, error: null },
        preview: null,
      });
    };

    const inspect = async (path: string): Promise<void> => {
      set({ media: { ...get().media, phase: 'reading', fraction: null, error: null } });
      try {
        applyIso(path, await client.inspectIso({ path }));
      } catch (error) {
        set({ media: { ...get().media, phase: 'failed', error: message(error) } });
      }
    };

    return {
      wizardOpen: false,
      wizardStep: 1,
      draft: emptyDraft(),
      media: NO_MEDIA,
      preview: null,
      previewError: null,
      creating: false,
      createError: null,
      dropError: null,
      openWizard: () => set({ wizardOpen: true, wizardStep: 1, draft: emptyDraft(), media: NO_MEDIA, preview: null, previewError: null, createError: null }),
      closeWizard: () => set({ wizardOpen: false, creating: false }),
      dismissDropError: () => set({ dropError: null }),
      async takeIsoFile(file, isFolder) {
        const refused = await whyNotAnIso(file, isFolder);
        if (refused) {
          // Nothing is opened or sent: the wizard, if open, keeps what it had.
          if (get().wizardOpen) set({ media: { ...get().media, phase: 'failed', error: refused } });
          else set({ dropError: refused });
          return;
        }
        if (!get().wizardOpen || get().creating) set({ wizardOpen: true, draft: emptyDraft(), preview: null, previewError: null, createError: null });
        set({ wizardStep: 1, dropError: null, media: { phase: files.uploads ? 'sending' : 'reading', fraction: files.uploads ? 0 : null, fileName: file.name, error: null } });
        let path: string;
        try {
          path = await files.isoPath(file, (fraction) => set({ media: { ...get().media, phase: 'sending', fraction } }));
        } catch (error) {
          set({ media: { ...get().media, phase: 'failed', fraction: null, error: message(error) } });
          return;
        }
        await inspect(path);
      },
      async chooseIsoPath(path) {
        set({ media: { ...NO_MEDIA, fileName: path.split('/').pop() ?? path } });
        await inspect(path);
      },
      setDraft: (change) => set((state) => ({ draft: { ...state.draft, ...change }, preview: null, previewError: null, createError: null })),
      goToStep(step) {
        set({ wizardStep: step });
        if (step === 4) void get().loadPreview();
      },
      async loadPreview() {
        const request = requestOf(get().draft);
        try {
          const preview = await client.previewVm(request);
          // The draft may have changed while the engine answered.
          if (JSON.stringify(requestOf(get().draft)) === JSON.stringify(request)) set({ preview, previewError: null });
        } catch (error) {
          set({ preview: null, previewError: message(error) });
        }
      },
      async createFromWizard() {
        set({ creating: true, createError: null });
        let id: string;
        try {
          const vm = await client.createVm(requestOf(get().draft));
          get().receiveVm(vm);
          id = vm.id;
        } catch (error) {
          set({ creating: false, createError: message(error) });
          return;
        }
        set({ wizardOpen: false, creating: false, draft: emptyDraft(), media: NO_MEDIA, preview: null });
        get().openVm(id, 'console');
        await get().runVmAction(id, 'startVm');
      },
    };
  };
