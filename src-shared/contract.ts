import { z } from 'zod';
import { AppInfo } from './app';
import { HostReport } from './host';
import { DesktopCommand } from './desktop';
import { IsoInfo } from './os';
import { ScreenAccess, Screenshot } from './screen';
import { StoredFiles } from './storage';
import { TerminalChunk, TerminalExited, TerminalId, TerminalSize, TerminalTarget } from './terminal';
import { DeviceId } from './devices';
import { ConsoleChunk, DeviceChange, NewDevice, NewVmRequest, VmChanges, VmDetails, VmId, VmProgress, VmRef, VmSummary } from './vm';

const vmOnly = z.strictObject({ vm: VmRef });

// The one list of what a client may ask and what it may hear. Every door (Electron IPC,
// the web host's WebSocket, the CLI) serves exactly these methods, checked by a test.

interface MethodSpec {
  input: z.ZodType;
  output: z.ZodType;
  /** One line for help texts and docs. */
  summary: string;
}

export const methods = {
  getAppInfo: {
    input: z.strictObject({}),
    output: AppInfo,
    summary: 'Name, version and which front door the client came through.',
  },
  checkHost: {
    input: z.strictObject({}),
    output: HostReport,
    summary: 'Check whether this machine can run VMs, with KVM or by software emulation, and how to fix what is missing.',
  },
  listVms: {
    input: z.strictObject({}),
    output: z.array(VmSummary),
    summary: 'Every VM in the library, with its state; broken ones say why.',
  },
  getVm: {
    input: vmOnly,
    output: VmDetails,
    summary: 'One VM (by id or name), with the QEMU command line it runs or would run.',
  },
  createVm: {
    input: NewVmRequest,
    output: VmSummary,
    summary: 'Create a VM: its folder, its disk (new or imported), and its definition.',
  },
  inspectIso: {
    input: z.strictObject({ path: z.string().min(1).max(4096) }),
    output: IsoInfo,
    summary: 'Read an ISO image: which OS it installs and the VM settings that suit it.',
  },
  previewVm: {
    input: NewVmRequest,
    output: z.strictObject({ argv: z.array(z.string()), warnings: z.array(z.string()) }),
    summary: "Check a new VM's settings without making anything, and show the QEMU command line it would run.",
  },
  updateVm: {
    input: z.strictObject({ vm: VmRef, changes: VmChanges }),
    output: VmSummary,
    summary: "Change a VM's name or its machine settings (CPUs, memory, firmware, machine type, accelerator, boot order).",
  },
  addDevice: {
    input: z.strictObject({ vm: VmRef, device: NewDevice }),
    output: VmSummary,
    summary: 'Add a device: a disk (new or imported), a CD drive, a network card, a TPM, a shared folder or a USB device. A running VM takes virtio disks, network cards and USB devices.',
  },
  changeDevice: {
    input: z.strictObject({ vm: VmRef, device: DeviceId, change: DeviceChange }),
    output: VmSummary,
    summary: "Change one device's options (a disk's bus or cache, a network card's model or port forwards, the ISO in a CD drive).",
  },
  removeDevice: {
    input: z.strictObject({ vm: VmRef, device: DeviceId, keepFile: z.boolean().default(false) }),
    output: z.strictObject({ vm: VmSummary, keptFile: z.string().nullable() }),
    summary: "Remove a device. A removed disk's image is deleted, or kept (moved to kept-disks/) with keepFile; a disk kept outside the VM's folder is never touched.",
  },
  resizeDisk: {
    input: z.strictObject({ vm: VmRef, device: DeviceId, sizeGiB: z.number().int().min(1).max(64 * 1024) }),
    output: VmSummary,
    summary: 'Grow a disk to a new size (never shrink it); a running guest is told.',
  },
  startVm: { input: vmOnly, output: VmSummary, summary: 'Start a VM; it keeps running when this program exits.' },
  stopVm: {
    input: z.strictObject({
      vm: VmRef,
      /** Pull the plug instead of pressing the ACPI power button. */
      force: z.boolean().default(false),
      /** Wait this long for the VM to stop; past it the answer is TIMEOUT, and force off is the way out. */
      waitSeconds: z.number().min(0).max(600).default(0),
    }),
    output: VmSummary,
    summary: 'Shut a VM down through ACPI, or force it off.',
  },
  saveVm: {
    input: vmOnly,
    output: VmSummary,
    summary: "Save a running VM's state to disk and stop it; starting it again resumes where it was (force off forgets the state).",
  },
  pauseVm: { input: vmOnly, output: VmSummary, summary: 'Pause a running VM.' },
  resumeVm: { input: vmOnly, output: VmSummary, summary: 'Resume a paused VM.' },
  resetVm: { input: vmOnly, output: VmSummary, summary: 'Reset a VM, like its reset button.' },
  changeMedia: {
    input: z.strictObject({ vm: VmRef, iso: z.string().min(1).max(4096).nullable(), cdrom: DeviceId.optional() }),
    output: VmSummary,
    summary: 'Put an ISO in a CD drive (the first one unless named), or eject it (null).',
  },
  deleteVm: {
    input: z.strictObject({ vm: VmRef, keepDisks: z.boolean().default(false) }),
    output: z.strictObject({ keptDisksDir: z.string().nullable() }),
    summary: 'Delete a stopped VM, optionally keeping its disk images.',
  },
  listStoredFiles: {
    input: z.strictObject({}),
    output: StoredFiles,
    summary: 'The ISOs Hangar keeps (sent from a browser) and the disks kept from deleted VMs: where they are, their sizes, which VMs use an ISO.',
  },
  removeStoredFile: {
    input: z.strictObject({ path: z.string().min(1).max(4096) }),
    output: z.strictObject({}),
    summary: "Remove a kept ISO or kept disk; refused for any other file, and for an ISO in a VM's CD drive.",
  },
  attachConsole: {
    input: vmOnly,
    output: z.strictObject({ vm: VmId, scrollback: z.string(), end: z.number().int().nonnegative() }),
    summary: "Follow a running VM's serial console: its scrollback now (base64) and where it ends in the stream, then consoleOutput events.",
  },
  readConsoleLog: {
    input: vmOnly,
    output: z.strictObject({ vm: VmId, data: z.base64(), truncated: z.boolean() }),
    summary: "What a VM's serial port printed lately, running or not: the end of its serial log (at most 256 KiB, base64); truncated when older output was left out.",
  },
  sendConsoleInput: {
    input: z.strictObject({ vm: VmRef, data: z.base64().max(256 * 1024) }),
    output: z.strictObject({}),
    summary: "Type into a VM's serial console (base64 bytes).",
  },
  // The VM's screen (see screen.ts).
  openScreen: {
    input: vmOnly,
    output: ScreenAccess,
    summary: "Open a running VM's screen: a one-time loopback WebSocket address for noVNC (null without a bridge), and its VNC socket for local viewers.",
  },
  getScreenshot: {
    input: vmOnly,
    output: Screenshot,
    summary: "A picture of a running VM's screen, as PNG (base64).",
  },
  // Terminals on the host through node-pty (see terminal.ts): a login shell, or ssh into a VM.
  openTerminal: {
    input: z.strictObject({ target: TerminalTarget, ...TerminalSize }),
    output: z.strictObject({ terminal: TerminalId, title: z.string() }),
    summary: 'Open a terminal: a login shell on this machine, or ssh into a running VM over its forwarded port 22; then terminalOutput events.',
  },
  writeTerminal: {
    input: z.strictObject({ terminal: TerminalId, data: z.base64().max(256 * 1024) }),
    output: z.strictObject({}),
    summary: 'Type into a terminal (base64 bytes).',
  },
  resizeTerminal: {
    input: z.strictObject({ terminal: TerminalId, ...TerminalSize }),
    output: z.strictObject({}),
    summary: 'Tell a terminal its new size in columns and rows.',
  },
  closeTerminal: {
    input: z.strictObject({ terminal: TerminalId }),
    output: z.strictObject({}),
    summary: 'Close a terminal: its program is hung up (and killed if it ignores that).',
  },
} as const satisfies Record<string, MethodSpec>;

export const events = {
  /** A new host report, after any client asked for a check. */
  hostChecked: HostReport,
  /** A VM was created or changed state or settings. */
  vmChanged: VmSummary,
  vmRemoved: z.strictObject({ id: VmId }),
  /** Progress of long work on a VM (creating or importing its disk). */
  vmProgress: VmProgress,
  /**
   * What the desktop shell asks of the window: a menu item, or an ISO handed to Hangar by
   * the file manager or a second launch. Only the Electron door sends it.
   */
  desktopCommand: DesktopCommand,
  /** Bytes from a followed serial console. */
  consoleOutput: ConsoleChunk,
  /** Bytes a terminal printed. */
  terminalOutput: TerminalChunk,
  /** A terminal's program ended; no more output follows. */
  terminalExited: TerminalExited,
} as const satisfies Record<string, z.ZodType>;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

/** What every door offers, in the same shape: one async function per contract method. */
export type HangarApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutput<M>>;
};

/** What implements the contract: each handler gets its input already parsed (defaults filled in). */
export type HangarHandlers = {
  [M in MethodName]: (input: z.output<Methods[M]['input']>) => Promise<MethodOutput<M>>;
};

export const methodNames = Object.keys(methods) as MethodName[];
export const eventNames = Object.keys(events) as EventName[];

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}
