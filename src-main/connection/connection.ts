import type { ConsoleSession } from '../consoles/console-session';
import type { DeviceChange, NewDevice, NewVmRequest, VmChanges, VmDetails, VmProgress, VmSummary } from '../../src-shared/vm';

// The engine behind the API, as one small interface. The local-QEMU connection is the
// embedded default; a libvirt connection (remote hosts over qemu+ssh) can sit beside it
// without the API or the renderer changing.

export type { ConsoleSession } from '../consoles/console-session';

export type ConnectionEvent =
  | { type: 'vmChanged'; vm: VmSummary }
  | { type: 'vmRemoved'; id: string }
  | { type: 'vmProgress'; progress: VmProgress };

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
  /** Changes a VM's machine settings and name. */
  updateVm(ref: string, changes: VmChanges): Promise<VmSummary>;
  /** Devices, one at a time; a running VM takes what QEMU can hot-plug. */
  addDevice(ref: string, device: NewDevice): Promise<VmSummary>;
  changeDevice(ref: string, device: string, change: DeviceChange): Promise<VmSummary>;
  removeDevice(ref: string, device: string, options: { keepFile: boolean }): Promise<{ vm: VmSummary; keptFile: string | null }>;
  /** Grows a disk (never shrinks it); a running guest is told. */
  resizeDisk(ref: string, device: string, sizeGiB: number): Promise<VmSummary>;
  startVm(ref: string): Promise<VmSummary>;
  /** ACPI power button, or with force the power cord. Resolves when the request is sent. */
  stopVm(ref: string, options: { force: boolean }): Promise<VmSummary>;
  /** Saves a running VM's state to disk and stops it: state 'saved'; startVm resumes it. */
  saveVm(ref: string): Promise<VmSummary>;
  pauseVm(ref: string): Promise<VmSummary>;
  resumeVm(ref: string): Promise<VmSummary>;
  resetVm(ref: string): Promise<VmSummary>;
  /** Puts an ISO in a CD drive (the first unless named), or empties it with null; running or not. */
  changeMedia(ref: string, iso: string | null, cdrom?: string): Promise<VmSummary>;
  deleteVm(ref: string, options: { keepDisks: boolean }): Promise<{ keptDisksDir: string | null }>;
  openConsole(ref: string): Promise<ConsoleSession>;
  /** The running VM's screen as VNC: the unix socket a bridge or a local viewer connects to. */
  screenSocket(ref: string): Promise<string>;
  /** A picture of the running VM's screen. */
  screenshot(ref: string): Promise<ScreenPicture>;
  onEvent(listener: (event: ConnectionEvent) => void): () => void;
  close(): void;
}

