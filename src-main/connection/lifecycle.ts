import path from 'node:path';
import { constants, promises as fs } from 'node:fs';
import { HangarError } from '../../src-shared/errors';
import type { VmConfig, VmSummary } from '../../src-shared/vm';
import { isLive, mayI, type VmAction } from '../../src-shared/vm-rules';
import { buildQemuArgv, runPaths, type ControlChannels, type LaunchPlan } from '../qemu/argv';
import type { KeeperClient } from '../qemu/keeper/client';
import { KeeperCommandError } from '../qemu/keeper/client';
import type { LaunchSpec } from '../qemu/keeper/protocol';
import { keeperEntry, launchKeeper, stopOrphan } from '../qemu/supervisor';
import { findKeeperEntry, wakeKeeper } from '../qemu/keeper/wake';
import { diskPath, vmLayout } from '../vms/layout';
import { endedNow, writeLastRun } from '../vms/run-record';
import { discardSavedState, removeSaveLeftovers, type SavedState } from '../vms/saved-state';
import { trace } from '../util/trace';
import type { Engine } from './engine';
import type { EngineHost } from './engine-host';
import type { ConfiguredVm, KnownVm } from './library-cache';
import { acceleratorFor, checkIso, requireFirmware, requireQemu, requireTpm } from './requirements';

// Starting, stopping, saving and the buttons in between. Each asks the shared rules
// (src-shared/vm-rules.ts) before it acts, so the window, the CLI and the engine agree.

/** Throws the rule's own words when the action may not happen now. */
export function check(action: VmAction, summary: VmSummary): void {
  const verdict = mayI(action, summary);
  if (!verdict.ok) throw new HangarError(verdict.code, verdict.reason);
}

export async function supportsDirectIo(file: string): Promise<boolean> {
  try {
    await (await fs.open(file, constants.O_RDONLY | constants.O_DIRECT)).close();
    return true;
  } catch {
    return false;
  }
}

/** How QEMU would be started for this VM on this machine. */
export async function launchPlan(engine: Engine, vmDir: string, config: VmConfig, host: EngineHost, options: { probeDirectIo?: boolean } = {}): Promise<LaunchPlan> {
  const probe = options.probeDirectIo ?? true;
  const direct = await Promise.all(config.devices.disks.map(async (disk) => [disk.id, probe ? await supportsDirectIo(diskPath(vmDir, disk)) : true] as const));
  return {
    config,
    vmDir,
    run: runPaths(engine.runDir(config.id)),
    accelerator: acceleratorFor(config, host),
    uefiCode: host.ovmf?.code ?? null,
    directIo: new Set(direct.filter(([, ok]) => ok).map(([id]) => id)),
    sandbox: host.sandbox,
  };
}

/** The argv a start would use: a saved VM's on its versioned machine, waiting for its state (-incoming defer). */
export async function launchArgv(engine: Engine, vmDir: string, config: VmConfig, host: EngineHost, saved: SavedState | null, options: { probeDirectIo?: boolean; channels?: ControlChannels } = {}): Promise<string[]> {
  const argv = buildQemuArgv({ ...(await launchPlan(engine, vmDir, config, host, options)), pinnedMachine: saved?.machine ?? null, channels: options.channels ?? 'socket-files' });
  return saved ? [...argv, '-incoming', 'defer'] : argv;
}

export function startVm(engine: Engine, ref: string): Promise<VmSummary> {
  // What this machine can do is learned while the VM is looked up: neither needs the other.
  engine.host().catch(() => {});
  return engine.vms.find(ref).then((vm) => {
    const id = vm.entry.id;
    // Two starts from this process share one attempt.
    const pending = engine.starting.get(id);
    if (pending) return pending;
    const attempt = start(engine, id).finally(() => engine.starting.delete(id));
    engine.starting.set(id, attempt);
    return attempt;
  });
}

async function start(engine: Engine, id: string): Promise<VmSummary> {
  trace('engine: start asked');
  // A keeper not running yet loads while the rest is prepared (qemu/keeper/wake.ts).
  wakeKeeper(path.dirname(engine.runDir(id)), engine.options.keeperEntry ?? findKeeperEntry());
  // The definition as it is on disk now: a start acts on nothing stale.
  await engine.vms.reload(id);
  const found = await engine.resolve(id);
  // This very start is what shows it as 'starting': judge the state under it.
  check('start', found.summary.state === 'starting' ? { ...found.summary, state: found.vm.saved ? 'saved' : 'stopped' } : found.summary);
  const { vm } = await engine.resolveConfigured(id);
  trace('engine: VM resolved');
  const host = await engine.host();
  trace('engine: host known');
  const qemuBinary = requireQemu(host);
  const saved = vm.saved;
  if (!saved) await removeSaveLeftovers(vm.entry.dir);
  const config = await readyForStart(engine, vm, host, saved);

  const run = runPaths(engine.runDir(id));
  const spec: LaunchSpec = {
    vmId: id,
    vmName: config.name,
    vmDir: vm.entry.dir,
    runDir: run.runDir,
    qemuBinary,
    argv: await launchArgv(engine, vm.entry.dir, config, host, saved, { channels: 'inherited' }),
    accelerator: acceleratorFor(config, host),
    swtpm: config.devices.tpm && host.swtpm ? { binary: host.swtpm, stateDir: vmLayout(vm.entry.dir).tpmState, socket: run.tpmSocket } : null,
    // The keeper streams the state into QEMU, and removes it once loaded.
    restore: saved ? { stateFile: vmLayout(vm.entry.dir).savedState, resume: saved.resume } : null,
  };
  await engine.publish(id);
  trace('engine: launching keeper');
  try {
    await launchKeeper(spec, engine.options.keeperEntry ?? keeperEntry());
  } catch (error) {
    // Another Hangar process won the race: that one VM is the result.
    if (!(error instanceof HangarError && error.code === 'VM_RUNNING')) {
      engine.starting.delete(id);
      await engine.publish(id).catch(() => {});
      throw error;
    }
  }
  trace('engine: keeper reported');
  await waitForKeeper(engine, id);
  trace('engine: keeper attached');
  engine.starting.delete(id);
  return engine.publish(id);
}

/**
 * Checks what a start needs (ISOs, disks, memory, firmware, TPM) and prepares the folder (UEFI
 * variables). A fresh start also puts devices added while the VM last ran into their own
 * slots; a resume keeps the machine exactly as it was saved.
 */
async function readyForStart(engine: Engine, vm: ConfiguredVm, host: EngineHost, saved: SavedState | null): Promise<VmConfig> {
  let config = vm.entry.config;
  for (const cd of config.devices.cdroms) {
    if (cd.iso === null) continue;
    await checkIso(cd.iso).catch((error: unknown) => {
      if (!saved || !(error instanceof HangarError)) throw error;
      const why = error.code === 'ISO_NOT_FOUND' ? 'no longer exists' : 'cannot be read now';
      throw new HangarError(error.code, `"${config.name}" was saved with the ISO ${cd.iso} in its CD drive, and that file ${why}. Put it back to resume the VM, or force it off to forget the saved state.`);
    });
  }
  for (const disk of config.devices.disks) {
    for (const file of [disk, ...(disk.backing ? [disk.backing] : [])]) {
      const where = diskPath(vm.entry.dir, file);
      if (!(await fs.stat(where).catch(() => null))?.isFile()) throw new HangarError('DISK_NOT_FOUND', `The disk ${where} of "${config.name}" no longer exists.`);
    }
  }
  if (host.memoryTotalBytes > 0 && config.machine.memoryMiB * 1024 * 1024 > host.memoryTotalBytes) {
    throw new HangarError('BAD_SETTINGS', `"${config.name}" wants ${config.machine.memoryMiB} MiB of memory, more than this machine has. Give it less in its settings.`);
  }
  requireFirmware(host, config.machine.firmware, 'starting');
  requireTpm(host, config.devices.tpm !== null, 'starting');
  acceleratorFor(config, host);
  const uefiVars = vmLayout(vm.entry.dir).uefiVars;
  if (config.machine.firmware === 'uefi' && host.ovmf && !(await fs.stat(uefiVars).catch(() => null))) await fs.copyFile(host.ovmf.vars, uefiVars);
  const placed = Object.keys(config.hotplugged).length === 0;
  // VMs from before hot-plug (schema 2) get their free ports at their first fresh start.
  const needsPorts = config.machine.type === 'q35' && config.machine.hotplugPorts === 0;
  if (!saved && (!placed || needsPorts)) {
    config = await engine.library.update(config.id, (current) => ({ ...current, hotplugged: {}, machine: { ...current.machine, hotplugPorts: needsPorts ? 2 : current.machine.hotplugPorts } }));
    await engine.vms.reload(config.id);
  }
  return config;
}

/** After a launch: attach to the keeper (ours, or the one another process started meanwhile). */
async function waitForKeeper(engine: Engine, id: string, timeoutMs = 60_000): Promise<KeeperClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (engine.keepers.isClosed) throw new HangarError('DISCONNECTED', 'Hangar stopped waiting for the VM: this program is closing. The VM may still be starting; "hangar list" shows it.');
    const client = await engine.keepers.attach(id, { fresh: true });
    if (client) return client;
    if (Date.now() > deadline) throw new HangarError('TIMEOUT', 'The VM did not come up within a minute.');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The running VM's keeper, or the rule's words for why it has none. */
export async function running(engine: Engine, ref: string, action: VmAction): Promise<{ vm: KnownVm; keeper: KeeperClient; summary: VmSummary }> {
  const { vm, summary } = await engine.resolve(ref);
  check(action, summary);
  const keeper = engine.keepers.connected(vm.entry.id);
  if (!keeper) throw new HangarError('VM_NOT_RUNNING', `"${summary.name}" is not running.`);
  return { vm, keeper, summary };
}

async function command(engine: Engine, ref: string, action: VmAction, execute: Parameters<KeeperClient['execute']>[0]): Promise<VmSummary> {
  const { vm, keeper } = await running(engine, ref, action);
  try {
    await keeper.execute(execute);
  } catch (error) {
    throw new HangarError('QEMU_FAILED', `QEMU refused to ${execute.replace(/[_-]/g, ' ')}: ${(error as Error).message}`);
  }
  return engine.publish(vm.entry.id);
}

export const pauseVm = (engine: Engine, ref: string): Promise<VmSummary> => command(engine, ref, 'pause', 'stop');
export const resumeVm = (engine: Engine, ref: string): Promise<VmSummary> => command(engine, ref, 'resume', 'cont');
export const resetVm = (engine: Engine, ref: string): Promise<VmSummary> => command(engine, ref, 'reset', 'system_reset');

/** Asks QEMU for the VM's status, which corrects the state everywhere (e.g. after an ignored power button). */
export async function refreshState(engine: Engine, ref: string): Promise<VmSummary> {
  const { vm, keeper } = await running(engine, ref, 'reset');
  await keeper.execute('query-status').catch(() => {});
  return engine.publish(vm.entry.id);
}

export async function stopVm(engine: Engine, ref: string, { force }: { force: boolean }): Promise<VmSummary> {
  // Not resolveConfigured: a VM whose vm.json broke while it runs can still be shut down.
  const { vm, summary } = await engine.resolve(ref);
  const id = vm.entry.id;
  if (summary.orphaned) {
    check(force ? 'forceOff' : 'shutDown', summary);
    await stopOrphan(engine.runDir(id), summary.pid ?? -1);
    engine.keepers.forgetOrphan(id);
    await writeLastRun(vm.entry.dir, endedNow('stopped'));
    return engine.publish(id);
  }
  // The power cord of a saved VM (or of one whose resume failed): forget its state, so it boots afresh next time.
  if (force && summary.savedState && !isLive(summary.state)) {
    check('discardSavedState', summary);
    await discardSavedState(vm.entry.dir, summary.name);
    return engine.publish(id);
  }
  return command(engine, id, force ? 'forceOff' : 'shutDown', force ? 'quit' : 'system_powerdown');
}

/**
 * Saves a running (or paused) VM's state into its folder and ends its QEMU: the keeper does
 * the work (see qemu/keeper/save-restore.ts); this waits until the keeper has recorded the
 * run as saved and gone.
 */
export async function saveVm(engine: Engine, ref: string): Promise<VmSummary> {
  const { vm, keeper, summary } = await running(engine, ref, 'save');
  const gone = new Promise<void>((resolve) => {
    if (!keeper.isConnected) resolve();
    else keeper.once('gone', () => resolve());
  });
  try {
    await keeper.save();
  } catch (error) {
    if (error instanceof KeeperCommandError && error.code) throw new HangarError(error.code, error.message);
    throw new HangarError('QEMU_FAILED', `"${summary.name}" could not be saved: ${(error as Error).message}`);
  }
  // The state is on disk; the keeper hangs up once QEMU has ended and last-run.json says so.
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
  return engine.publish(vm.entry.id);
}

/** Resolves when the VM reaches one of the states, or rejects after the timeout. */
export async function waitForState(engine: Engine, ref: string, states: readonly VmSummary['state'][], timeoutMs: number): Promise<VmSummary> {
  const { vm, summary } = await engine.resolve(ref);
  const id = vm.entry.id;
  if (states.includes(summary.state)) return summary;
  return new Promise((resolve, reject) => {
    const finish = (result: VmSummary | null, error?: Error): void => {
      clearTimeout(timer);
      unsubscribe();
      if (result) resolve(result);
      else reject(error);
    };
    const unsubscribe = engine.onEvent((event) => {
      if (event.type === 'vmChanged' && event.vm.id === id && states.includes(event.vm.state)) finish(event.vm);
    });
    const timer = setTimeout(() => finish(null, new HangarError('TIMEOUT', `"${summary.name}" did not become ${states.join(' or ')} within ${Math.round(timeoutMs / 1000)} s.`)), timeoutMs);
    // It may have got there between the look above and the subscription.
    void engine.publish(id).then((now) => {
      if (states.includes(now.state)) finish(now);
    }, () => {});
  });
}

/** Deletes a stopped VM; disks are kept (moved to kept-disks/) when asked. */
export async function deleteVm(engine: Engine, ref: string, { keepDisks }: { keepDisks: boolean }): Promise<{ keptDisksDir: string | null }> {
  const { vm, summary } = await engine.resolve(ref);
  check('delete', summary);
  const result = await engine.library.remove(vm.entry.id, keepDisks);
  await engine.vms.reload(vm.entry.id);
  engine.removed(vm.entry.id, { always: true });
  return result;
}
