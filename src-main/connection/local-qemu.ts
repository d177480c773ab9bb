import type { DeviceChange, NewDevice, VmChanges, VmDetails, VmSummary } from '../../src-shared/vm';
import type { ConsoleSession } from '../consoles/console-session';
import { imageSizes } from '../qemu/image-size';
import { diskPath, isExternalDisk } from '../vms/layout';
import type { Connection, ConnectionEvent, ScreenPicture } from './connection';
import { defineVm, previewVm, updateVm } from './definitions';
import { addDevice, changeDevice, changeMedia, removeDevice, resizeDisk } from './device-changes';
import { openConsole, screenshot, screenSocket } from './displays';
import { Engine, type EngineOptions } from './engine';
import { deleteVm, launchArgv, pauseVm, refreshState, resetVm, resumeVm, saveVm, startVm, stopVm, waitForState } from './lifecycle';

// The embedded default engine: VMs in a folder of the user's, each run by a keeper process
// that this connection talks to. No daemon: every Hangar process opens its own connection
// and finds the running VMs again through their run folders. This class only wires the
// engine's rooms (engine.ts and the files it names) to the Connection interface.

export type LocalQemuOptions = EngineOptions;

export class LocalQemuConnection implements Connection {
  private constructor(private readonly engine: Engine) {}

  /** Opens the library and reattaches to every VM that is still running. */
  static async open(options: LocalQemuOptions): Promise<LocalQemuConnection> {
    const engine = new Engine(options);
    await engine.open();
    return new LocalQemuConnection(engine);
  }

  get library() {
    return this.engine.library;
  }

  listVms(): Promise<VmSummary[]> {
    return this.engine.list();
  }

  async getVm(ref: string): Promise<VmDetails> {
    const { vm, summary } = await this.engine.resolve(ref);
    const { entry } = vm;
    let argv: string[] | null = this.engine.keepers.connected(entry.id)?.hello.argv ?? null;
    if (!argv && entry.config) {
      const host = await this.engine.host();
      // e.g. UEFI without firmware: no command line now; a start says why.
      argv = await launchArgv(this.engine, entry.dir, entry.config, host, vm.saved).then((args) => [host.qemuSystem ?? 'qemu-system-x86_64', ...args], () => null);
    }
    const disks = await Promise.all(
      (entry.config?.devices.disks ?? []).map(async (disk) => ({ id: disk.id, path: diskPath(entry.dir, disk), external: isExternalDisk(disk), format: disk.format, ...(await imageSizes(diskPath(entry.dir, disk), disk.format)) })),
    );
    return { summary, argv, dir: entry.dir, disks, keptDisksDir: this.engine.library.keptDisksDir };
  }

  defineVm = (request: unknown): Promise<VmSummary> => defineVm(this.engine, request);
  previewVm = (request: unknown): Promise<{ argv: string[]; warnings: string[] }> => previewVm(this.engine, request);
  updateVm = (ref: string, changes: VmChanges): Promise<VmSummary> => updateVm(this.engine, ref, changes);
  addDevice = (ref: string, device: NewDevice): Promise<VmSummary> => addDevice(this.engine, ref, device);
  changeDevice = (ref: string, device: string, change: DeviceChange): Promise<VmSummary> => changeDevice(this.engine, ref, device, change);
  removeDevice = (ref: string, device: string, options: { keepFile: boolean }): Promise<{ vm: VmSummary; keptFile: string | null }> => removeDevice(this.engine, ref, device, options);
  resizeDisk = (ref: string, device: string, sizeGiB: number): Promise<VmSummary> => resizeDisk(this.engine, ref, device, sizeGiB);
  changeMedia = (ref: string, iso: string | null, cdrom?: string): Promise<VmSummary> => changeMedia(this.engine, ref, iso, cdrom);
  startVm = (ref: string): Promise<VmSummary> => startVm(this.engine, ref);
  stopVm = (ref: string, options: { force: boolean }): Promise<VmSummary> => stopVm(this.engine, ref, options);
  saveVm = (ref: string): Promise<VmSummary> => saveVm(this.engine, ref);
  pauseVm = (ref: string): Promise<VmSummary> => pauseVm(this.engine, ref);
  resumeVm = (ref: string): Promise<VmSummary> => resumeVm(this.engine, ref);
  resetVm = (ref: string): Promise<VmSummary> => resetVm(this.engine, ref);
  refreshState = (ref: string): Promise<VmSummary> => refreshState(this.engine, ref);
  waitForState = (ref: string, states: readonly VmSummary['state'][], timeoutMs: number): Promise<VmSummary> => waitForState(this.engine, ref, states, timeoutMs);
  deleteVm = (ref: string, options: { keepDisks: boolean }): Promise<{ keptDisksDir: string | null }> => deleteVm(this.engine, ref, options);
  openConsole = (ref: string): Promise<ConsoleSession> => openConsole(this.engine, ref);
  screenSocket = (ref: string): Promise<string> => screenSocket(this.engine, ref);
  screenshot = (ref: string): Promise<ScreenPicture> => screenshot(this.engine, ref);

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.engine.onEvent(listener);
  }

  close(): void {
    this.engine.close();
  }
}
