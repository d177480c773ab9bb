import type { NewVmRequest, VmChanges, VmDetails, VmProgress, VmSummary } from '../../src-shared/vm';

// The engine behind the API, as one small interface. The local-QEMU connection is the
// embedded default; a libvirt connection (remote hosts over qemu+ssh) can sit beside it
// without the API or the renderer changing.

export type ConnectionEvent =
  | { type: 'vmChanged'; vm: VmSummary }
  | { type: 'vmRemoved'; id: string }
  | { type: 'vmProgress'; progress: VmProgress };

export interface ConsoleSession {
  /** What the console printed before this session attached. */
  scrollback: Buffer;
  onData(listener: (chunk: Buffer) => void): () => void;
  onEnd(listener: () => void): void;
  write(data: Uint8Array | string): void;
  close(): void;
}

export interface ScreenPicture {
  png: Buffer;
  width: number;
  height: number;
}

export interface Connection {
  listVms(): Promise<VmSummary[]>;
  getVm(ref: string): Promise<VmDetails>;
  defineVm(request: NewVmRequest): Promise<VmSummary>;
  /** Checks a new VM's settings as defineVm would, making nothing; its QEMU command line and warnings. */
  previewVm(request: NewVmRequest): Promise<{ argv: string[]; warnings: string[] }>;
  /** Changes a stopped VM's settings. */
  updateVm(ref: string, changes: VmChanges): Promise<VmSummary>;
  startVm(ref: string): Promise<VmSummary>;
  /** ACPI power button, or with force the power cord. Resolves when the request is sent. */
  stopVm(ref: string, options: { force: boolean }): Promise<VmSummary>;
  /** Saves a running VM's state to disk and stops it: state 'saved'; startVm resumes it. */
  saveVm(ref: string): Promise<VmSummary>;
  pauseVm(ref: string): Promise<VmSummary>;
  resumeVm(ref: string): Promise<VmSummary>;
  resetVm(ref: string): Promise<VmSummary>;
  /** Puts an ISO in the CD drive (or empties it with null), running or not. */
  changeMedia(ref: string, iso: string | null): Promise<VmSummary>;
  deleteVm(ref: string, options: { keepDisks: boolean }): Promise<{ keptDisksDir: string | null }>;
  openConsole(ref: string): Promise<ConsoleSession>;
  /** The running VM's screen as VNC: the unix socket a bridge or a local viewer connects to. */
  screenSocket(ref: string): Promise<string>;
  /** A picture of the running VM's screen. */
  screenshot(ref: string): Promise<ScreenPicture>;
  onEvent(listener: (event: ConnectionEvent) => void): () => void;
  close(): void;
}
