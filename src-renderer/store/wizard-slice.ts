import type { IsoInfo } from '../../src-shared/os';
import { defaultsFor } from '../../src-shared/os';
import { suggestSize } from '../../src-shared/sizing';
import type { DiskBus, Firmware, NewVmRequest, NicModel } from '../../src-shared/vm';
import { vmNameFor } from '../../src-shared/vm-naming';
import type { ApiClient } from '../api/client';
import { whyNotAnIso, type FileDoor } from '../api/files';
import type { SliceCreator } from './index';
import { capacityOf } from './wizard-judge';

// The new-VM wizard: a draft the person shapes in at most four steps, prefilled from the
// ISO. Nothing is made until Create; the engine checks the same rules again then. Closing
// it stops a sending on its way and removes an ISO sent for it that no VM got.

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
  /** 'stopped': the person stopped the sending; nothing was kept. */
  phase: 'none' | 'sending' | 'reading' | 'ready' | 'failed' | 'stopped';
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
  /** Something was chosen or typed: closing with Escape asks first. */
  wizardDirty: boolean;
  /** The "discard this new VM?" question is showing. */
  confirmingDiscard: boolean;
  openWizard(): void;
  /** Closes the wizard and throws the draft away: a sending on its way stops, an ISO sent for it and unused goes. */
  closeWizard(): void;
  /** Escape: closes an untouched wizard, else asks first. */
  requestCloseWizard(): void;
  keepEditing(): void;
  /** Stops sending the ISO; the web host keeps nothing of it. */
  stopSending(): void;
  /** A file dropped on the window or picked with Open ISO…: checked, then the wizard opens prefilled. */
  takeIsoFile(file: File, isFolder: boolean): Promise<void>;
  /** A path typed into the wizard (or a disk image's path). */
  chooseIsoPath(path: string): Promise<void>;
  setDraft(change: Partial<WizardDraft>): void;
  goToStep(step: WizardStep): void;
  loadPreview(): Promise<void>;
  /** Creates the VM, starts it and opens it on its screen (most installers never write to a serial port). */
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

/** What a VM is called until an ISO names it or the person does. */
export const NEW_VM_NAME = 'New VM';

const NO_MEDIA: MediaStatus = { phase: 'none', fraction: null, fileName: null, error: null };
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A new draft: a free name, and the generic sizes cut to what this machine takes without a warning. */
function proposedDraft(report: Parameters<typeof capacityOf>[0], takenNames: readonly string[]): WizardDraft {
  const draft = emptyDraft();
  return { ...draft, name: freeVmName(NEW_VM_NAME, takenNames), ...suggestSize({ cpus: draft.cpus, memoryMiB: draft.memoryMiB, diskGiB: draft.diskGiB }, capacityOf(report)) };
}

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
    os: draft.media === 'iso' && draft.isoInfo ? { family: draft.isoInfo.os.family, name: draft.isoInfo.os.name } : null,
  };
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
    // The sending on its way, and ISOs sent for this draft that were stored new: they go when
    // the draft is thrown away (or replaced), so a cancelled wizard leaves nothing behind.
    let sending: AbortController | null = null;
    let freshUploads: string[] = [];
    /** Counts drops and wizard sessions: an answer for an older one changes nothing. */
    let dropSerial = 0;

    const forgetUploads = (keep: string | null): void => {
      const unused = freshUploads.filter((path) => path !== keep);
      freshUploads = freshUploads.filter((path) => path === keep);
      // Best effort: removeStoredFile refuses an ISO a VM took meanwhile, which is right.
      for (const path of unused) void client.removeStoredFile({ path }).catch(() => {});
    };

    const stopSending = (): void => {
      sending?.abort();
      sending = null;
    };

    /** Prefills the draft from what the ISO says about itself, keeping what the person typed. */
    const applyIso = (path: string, info: IsoInfo): void => {
      const { draft, hostReport } = get();
      const taken = Object.values(get().vms).map((vm) => vm.name);
      const size = suggestSize({ cpus: info.defaults.cpus, memoryMiB: info.defaults.memoryMiB, diskGiB: info.defaults.diskGiB }, capacityOf(hostReport));
      set({
        draft: {
          ...draft,
          media: 'iso',
          isoPath: path,
          isoInfo: info,
          name: draft.nameTouched ? draft.name : freeVmName(vmNameFor(info), taken),
          ...size,
          // inspectIso already chose a firmware the ISO boots with.
          firmware: info.defaults.firmware,
          tpm: info.defaults.tpm,
          diskBus: info.defaults.diskBus,
          nicModel: info.defaults.nicModel,
        },
        media: { ...get().media, phase: 'ready', fraction: null, error: null },
        preview: null,
      });
    };

    /** Reads the ISO and prefills the draft, unless another ISO or a closed wizard overtook it (serial). */
    const inspect = async (path: string, serial: number): Promise<void> => {
      set({ media: { ...get().media, phase: 'reading', fraction: null, error: null } });
      try {
        const info = await client.inspectIso({ path });
        if (serial === dropSerial) applyIso(path, info);
      } catch (error) {
        if (serial === dropSerial) set({ media: { ...get().media, phase: 'failed', error: message(error) } });
      }
    };

    const closed = { wizardOpen: false, creating: false, confirmingDiscard: false, wizardDirty: false } as const;

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
      wizardDirty: false,
      confirmingDiscard: false,
      openWizard: () => {
        dropSerial++;
        set({ wizardOpen: true, wizardStep: 1, draft: proposedDraft(get().hostReport, Object.values(get().vms).map((vm) => vm.name)), media: NO_MEDIA, preview: null, previewError: null, createError: null, wizardDirty: false, confirmingDiscard: false });
      },
      closeWizard() {
        dropSerial++;
        stopSending();
        forgetUploads(null);
        set({ ...closed, media: NO_MEDIA });
      },
      requestCloseWizard() {
        if (get().creating) return;
        if (get().wizardDirty) set({ confirmingDiscard: true });
        else get().closeWizard();
      },
      keepEditing: () => set({ confirmingDiscard: false }),
      stopSending,
      dismissDropError: () => set({ dropError: null }),
      async takeIsoFile(file, isFolder) {
        const refused = await whyNotAnIso(file, isFolder);
        if (refused) {
          // Nothing is opened or sent: the wizard, if open, keeps what it had.
          if (get().wizardOpen) set({ media: { ...get().media, phase: 'failed', error: refused } });
          else set({ dropError: refused });
          return;
        }
        if (!get().wizardOpen || get().creating) get().openWizard();
        stopSending(); // a second drop replaces the first
        const controller = new AbortController();
        sending = controller;
        const mine = ++dropSerial;
        set({ wizardStep: 1, wizardDirty: true, dropError: null, draft: { ...get().draft, media: 'iso' }, media: { phase: files.uploads ? 'sending' : 'reading', fraction: files.uploads ? 0 : null, fileName: file.name, error: null } });
        const current = (): boolean => mine === dropSerial;
        let path: string;
        try {
          const found = await files.isoPath(file, (fraction) => current() && set({ media: { ...get().media, phase: 'sending', fraction } }), controller.signal);
          path = found.path;
          if (found.fresh) freshUploads.push(found.path);
        } catch (error) {
          if (sending === controller) sending = null;
          // Replaced by a newer drop or closed: nothing to say. Stopped by the person: say so.
          if (current()) set({ media: { ...get().media, phase: controller.signal.aborted ? 'stopped' : 'failed', fraction: null, error: message(error) } });
          return;
        }
        if (sending === controller) sending = null;
        if (!current()) {
          // Arrived for a wizard that was closed meanwhile: nobody wants it.
          if (!get().wizardOpen) forgetUploads(null);
          return;
        }
        forgetUploads(path); // an ISO sent for an earlier drop is not needed any more
        await inspect(path, mine);
      },
      async chooseIsoPath(path) {
        stopSending();
        const mine = ++dropSerial;
        set({ wizardDirty: true, media: { ...NO_MEDIA, fileName: path.split('/').pop() ?? path } });
        await inspect(path, mine);
      },
      setDraft: (change) => set((state) => ({ draft: { ...state.draft, ...change }, wizardDirty: true, preview: null, previewError: null, createError: null })),
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
          if (JSON.stringify(requestOf(get().draft)) === JSON.stringify(request)) set({ preview: null, previewError: message(error) });
        }
      },
      async createFromWizard() {
        set({ creating: true, createError: null });
        let id: string;
        const request = requestOf(get().draft);
        try {
          const vm = await client.createVm(request);
          get().receiveVm(vm);
          id = vm.id;
        } catch (error) {
          set({ creating: false, createError: message(error) });
          return;
        }
        forgetUploads(request.iso ?? null);
        freshUploads = [];
        set({ ...closed, draft: emptyDraft(), media: NO_MEDIA, preview: null });
        get().openVm(id, 'screen');
        await get().runVmAction(id, 'startVm');
      },
    };
  };
