import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { allDevices, nextDeviceId, type CdromDevice, type DeviceKind, type Devices, type DiskBus, type DiskDevice } from '../../src-shared/devices';
import { HangarError } from '../../src-shared/errors';
import { clashingForward, formatForward } from '../../src-shared/network';
import { checkSize } from '../../src-shared/sizing';
import { DeviceChange, NewDevice, type VmConfig, type VmSummary } from '../../src-shared/vm';
import { mayChangeDevice, type DeviceOperation } from '../../src-shared/vm-rules';
import { qemuIds, type PciPlace } from '../qemu/devices';
import { freePort, growDisk, plugDisk, plugNic, plugUsb, unplugDisk, unplugNic, unplugUsb, type HotplugPeer } from '../qemu/hotplug';
import { QemuImg } from '../qemu/img';
import type { KeeperClient } from '../qemu/keeper/client';
import { newMac } from '../vms/ids';
import { diskPath, isExternalDisk, newDiskFileName } from '../vms/layout';
import { assignPciSlots, hotplugPortIds } from '../vms/pci-slots';
import { cdBusFor } from './definitions';
import type { Engine } from './engine';
import type { ConfiguredVm } from './library-cache';
import { supportsDirectIo } from './lifecycle';
import { capacityAt, checkIso, requireTpm } from './requirements';

// A VM's devices, one operation at a time: add, change, remove, and grow a disk. A stopped
// VM takes any change; a running one takes what QEMU can hot-plug (src-shared/vm-rules.ts
// says which), done over QMP through the VM's keeper and then written to vm.json.

const GiB = 1024 ** 3;

interface Target {
  vm: ConfiguredVm;
  summary: VmSummary;
  /** Set when the VM runs: changes go to QEMU first. */
  keeper: KeeperClient | null;
}

async function target(engine: Engine, ref: string): Promise<Target> {
  await engine.vms.find(ref).then((vm) => engine.vms.reload(vm.entry.id));
  const { vm, summary } = await engine.resolveConfigured(ref);
  return { vm, summary, keeper: engine.keepers.connected(vm.entry.id) };
}

function allow(summary: VmSummary, operation: DeviceOperation, device: { kind: DeviceKind; bus?: DiskBus }): void {
  const verdict = mayChangeDevice(summary, operation, device);
  if (!verdict.ok) throw new HangarError(verdict.code, verdict.reason);
}

function peerOf(keeper: KeeperClient): HotplugPeer {
  return { execute: (command, args) => keeper.execute(command, args), waitForEvent: (name, matches, timeoutMs) => keeper.waitForEvent(name, matches, timeoutMs) };
}

/** QEMU's refusal, in words. */
function qemuRefused(what: string, error: unknown): HangarError {
  if (error instanceof HangarError) return error;
  return new HangarError('QEMU_FAILED', `${what} failed: ${(error as Error).message}`);
}

function findDevice(config: VmConfig, id: string): { kind: DeviceKind; device: { id: string } } {
  const found = allDevices(config.devices).find((entry) => entry.device.id === id);
  if (!found) throw new HangarError('BAD_SETTINGS', `"${config.name}" has no device ${id}. "hangar info ${config.id}" lists its devices.`);
  return found;
}

/** Writes a device list change; a running VM's keeper holds its lock, so the change skips it. */
async function writeDevices(engine: Engine, t: Target, change: (config: VmConfig) => VmConfig): Promise<VmSummary> {
  await engine.library.update(t.vm.entry.id, change, { whileRunning: t.keeper !== null });
  return engine.publish(t.vm.entry.id);
}

/** Where a PCI device added to a running VM goes: a free hot-plug port (q35), or its own slot on pc's root bus. */
async function hotplugPlace(t: Target, peer: HotplugPeer, config: VmConfig, id: string): Promise<{ place: PciPlace; port: string | null }> {
  if (config.machine.type === 'pc') {
    const slot = assignPciSlots(config.machine, config.devices, config.pciSlots)[id];
    return { place: slot === undefined ? null : { slot }, port: null };
  }
  const port = await freePort(peer, hotplugPortIds(config.machine));
  if (!port) throw new HangarError('VM_BUSY', `"${config.name}" has no free hot-plug port left. Shut it down to add the device; it will have free ports again after its next start.`);
  return { place: { port }, port };
}

// ---- add ----

export async function addDevice(engine: Engine, ref: string, raw: unknown): Promise<VmSummary> {
  const request = NewDevice.parse(raw);
  const t = await target(engine, ref);
  const { config } = t.vm.entry;
  allow(t.summary, 'add', { kind: request.kind, ...(request.kind === 'disk' ? { bus: request.bus } : {}) });
  const id = nextDeviceId(config.devices, request.kind);
  switch (request.kind) {
    case 'disk':
      return addDisk(engine, t, id, request);
    case 'cdrom': {
      if (request.iso !== null) await checkIso(request.iso);
      checkDrivePorts(config, { extraCds: 1 });
      const cd: CdromDevice = { id, iso: request.iso, bus: cdBusFor(config.machine.type), bootOrder: null };
      return writeDevices(engine, t, (current) => withDevices(current, (devices) => ({ ...devices, cdroms: [...devices.cdroms, cd] }), id));
    }
    case 'nic': {
      const taken = new Set(config.devices.nics.map((nic) => nic.mac));
      const nic = { id, model: request.model, network: 'user' as const, mac: newMac(taken), portForwards: request.portForwards };
      checkForwards(config, [...config.devices.nics.flatMap((other) => other.portForwards), ...nic.portForwards]);
      let port: string | null = null;
      if (t.keeper) {
        const peer = peerOf(t.keeper);
        const planned = withDevices(config, (devices) => ({ ...devices, nics: [...devices.nics, nic] }), id);
        const where = await hotplugPlace(t, peer, { ...planned, pciSlots: assignPciSlots(planned.machine, planned.devices, config.pciSlots) }, id);
        port = where.port;
        await plugNic(peer, nic, where.place).catch((error: unknown) => {
          throw qemuRefused('Adding the network card', error);
        });
      }
      return writeDevices(engine, t, (current) => withHotplugged(withDevices(current, (devices) => ({ ...devices, nics: [...devices.nics, nic] }), id), id, port));
    }
    case 'tpm': {
      if (config.devices.tpm) throw new HangarError('BAD_SETTINGS', `"${config.name}" has a TPM already.`);
      requireTpm(await engine.host(), true, 'choosing');
      return writeDevices(engine, t, (current) => withDevices(current, (devices) => ({ ...devices, tpm: { id } }), id));
    }
    case 'sharedFolder': {
      const stats = await fs.stat(request.hostPath).catch(() => null);
      if (!stats?.isDirectory()) throw new HangarError('BAD_SETTINGS', `${request.hostPath} is not a folder on this machine.`);
      if (config.devices.sharedFolders.some((folder) => folder.tag === request.tag)) throw new HangarError('BAD_SETTINGS', `"${config.name}" shares a folder as ${request.tag} already; choose another mount tag.`);
      const folder = { id, hostPath: request.hostPath, tag: request.tag, readOnly: request.readOnly };
      return writeDevices(engine, t, (current) => withDevices(current, (devices) => ({ ...devices, sharedFolders: [...devices.sharedFolders, folder] }), id));
    }
    case 'usb': {
      if (config.devices.usb.some((usb) => usb.vendorId === request.vendorId && usb.productId === request.productId)) throw new HangarError('BAD_SETTINGS', `"${config.name}" has that USB device already.`);
      const usb = { id, vendorId: request.vendorId, productId: request.productId, label: request.label };
      if (t.keeper) await plugUsb(peerOf(t.keeper), usb).catch((error: unknown) => Promise.reject(qemuRefused('Adding the USB device', error)));
      return writeDevices(engine, t, (current) => withDevices(current, (devices) => ({ ...devices, usb: [...devices.usb, usb] }), id));
    }
  }
}

async function addDisk(engine: Engine, t: Target, id: string, request: Extract<z.output<typeof NewDevice>, { kind: 'disk' }>): Promise<VmSummary> {
  const { config, dir } = t.vm.entry;
  if ((request.sizeGiB === null) === (request.importFrom === null)) throw new HangarError('BAD_SETTINGS', 'Give the new disk either a size or an image to import, not both and not neither.');
  if (config.machine.type === 'pc' && request.bus === 'sata') throw new HangarError('BAD_SETTINGS', 'The old pc machine has no SATA controller; choose IDE, virtio or the q35 machine.');
  if (request.bus === 'sata' || request.bus === 'ide') checkDrivePorts(config, { extraDisks: 1 });
  const host = await engine.host();
  if (request.sizeGiB !== null) {
    const verdict = checkSize({ cpus: 1, memoryMiB: 64, diskGiB: request.sizeGiB }, await capacityAt(dir, host));
    if (verdict.errors.diskGiB) throw new HangarError('NO_SPACE', verdict.errors.diskGiB);
  }
  const names = new Set([...config.devices.disks.map((disk) => disk.file), ...(await fs.readdir(dir))]);
  const file = newDiskFileName(names);
  const hasBootDisk = config.devices.disks.some((disk) => disk.bootOrder !== null);
  const lastRank = Math.max(0, ...[...config.devices.disks, ...config.devices.cdroms].map((device) => device.bootOrder ?? 0));
  const disk: DiskDevice = { id, file, format: 'qcow2', bus: request.bus, cache: request.cache, discard: true, readOnly: false, backing: null, bootOrder: hasBootDisk ? null : lastRank + 1 };
  const img = new QemuImg(host.qemuImg ?? 'qemu-img');
  const where = path.join(dir, file);
  const progress = (step: string, percent: number | null): void => engine.emit({ type: 'vmProgress', progress: { vm: config.name, step, percent } });
  if (request.importFrom !== null) {
    progress('Importing the disk', 0);
    await img.convert(request.importFrom, where, (percent) => progress('Importing the disk', percent));
  } else {
    progress('Creating the disk', null);
    await img.create(where, (request.sizeGiB ?? 0) * GiB);
  }
  try {
    let port: string | null = null;
    if (t.keeper) {
      const peer = peerOf(t.keeper);
      const planned = withDevices(config, (devices) => ({ ...devices, disks: [...devices.disks, disk] }), id);
      const place = await hotplugPlace(t, peer, { ...planned, pciSlots: assignPciSlots(planned.machine, planned.devices, config.pciSlots) }, id);
      port = place.port;
      const direct = disk.cache === 'none' || (disk.cache === 'auto' && (await supportsDirectIo(where)));
      await plugDisk(peer, disk, { vmDir: dir, direct, machine: config.machine.type, place: place.place }).catch((error: unknown) => {
        throw qemuRefused('Adding the disk', error);
      });
    }
    return await writeDevices(engine, t, (current) => withHotplugged(withDevices(current, (devices) => ({ ...devices, disks: [...devices.disks, disk] }), id), id, port));
  } catch (error) {
    // A disk that was never attached is only litter.
    await fs.rm(where, { force: true });
    throw error;
  }
}

/** SATA ports (q35: six, the first CD on port 2 or after the disks) and IDE units (pc: two disks, two CD drives). */
function checkDrivePorts(config: VmConfig, extra: { extraDisks?: number; extraCds?: number }): void {
  const disks = config.devices.disks.filter((disk) => disk.bus === 'sata' || disk.bus === 'ide').length + (extra.extraDisks ?? 0);
  const cds = config.devices.cdroms.length + (extra.extraCds ?? 0);
  const fits = config.machine.type === 'q35' ? (cds === 0 ? disks <= 6 : Math.max(disks, 2) + cds <= 6) : disks <= 2 && cds <= 2;
  if (!fits) throw new HangarError('BAD_SETTINGS', `"${config.name}" has no free ${config.machine.type === 'q35' ? 'SATA port' : 'IDE unit'} left for that: remove a SATA or IDE disk or a CD drive, or use a virtio disk.`);
}

function checkForwards(config: VmConfig, forwards: Parameters<typeof clashingForward>[0]): void {
  const clash = clashingForward(forwards);
  if (clash) throw new HangarError('BAD_SETTINGS', `"${config.name}" forwards ${clash.protocol ?? 'tcp'} port ${clash.hostPort} of this machine twice (${formatForward(clash)}); each port on this machine can go to one place.`);
}

function withDevices(config: VmConfig, change: (devices: Devices) => Devices, id: string): VmConfig {
  const devices = change(config.devices);
  if (allDevices(devices).filter((entry) => entry.device.id === id).length > 1) throw new HangarError('VM_BUSY', `"${config.name}" was changed meanwhile; try again.`);
  return { ...config, devices };
}

function withHotplugged(config: VmConfig, id: string, port: string | null): VmConfig {
  if (port === null) return config;
  return { ...config, hotplugged: { ...config.hotplugged, [id]: port } };
}

// ---- change ----

export async function changeDevice(engine: Engine, ref: string, id: string, raw: unknown): Promise<VmSummary> {
  const change = DeviceChange.parse(raw);
  const t = await target(engine, ref);
  const { config } = t.vm.entry;
  const found = findDevice(config, id);
  if (found.kind !== change.kind) throw new HangarError('BAD_SETTINGS', `${id} is ${found.kind === 'cdrom' ? 'a CD drive' : `a ${found.kind}`}, not a ${change.kind}.`);
  if (change.kind === 'cdrom') return change.iso === undefined ? engine.publish(t.vm.entry.id) : changeMedia(engine, ref, change.iso, id);
  const disk = change.kind === 'disk' ? config.devices.disks.find((candidate) => candidate.id === id) : undefined;
  allow(t.summary, 'change', { kind: change.kind, ...(disk ? { bus: disk.bus } : {}) });
  if (change.kind === 'disk') {
    if (change.bus === 'sata' && config.machine.type === 'pc') throw new HangarError('BAD_SETTINGS', 'The old pc machine has no SATA controller; choose IDE, virtio or the q35 machine.');
    if ((change.bus === 'sata' || change.bus === 'ide') && disk && disk.bus !== 'sata' && disk.bus !== 'ide') checkDrivePorts(config, { extraDisks: 1 });
    return writeDevices(engine, t, (current) => ({
      ...current,
      devices: { ...current.devices, disks: current.devices.disks.map((candidate) => (candidate.id === id ? { ...candidate, ...definedOnly(change, ['bus', 'cache', 'discard', 'readOnly']) } : candidate)) },
    }));
  }
  if (change.kind === 'nic') {
    if (change.portForwards) checkForwards(config, [...config.devices.nics.filter((nic) => nic.id !== id).flatMap((nic) => nic.portForwards), ...change.portForwards]);
    return writeDevices(engine, t, (current) => ({
      ...current,
      devices: { ...current.devices, nics: current.devices.nics.map((nic) => (nic.id === id ? { ...nic, ...definedOnly(change, ['model', 'portForwards']) } : nic)) },
    }));
  }
  return writeDevices(engine, t, (current) => ({
    ...current,
    devices: { ...current.devices, sharedFolders: current.devices.sharedFolders.map((folder) => (folder.id === id ? { ...folder, ...definedOnly(change, ['readOnly']) } : folder)) },
  }));
}

function definedOnly<T extends object, K extends keyof T>(value: T, keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((key) => value[key] !== undefined).map((key) => [key, value[key]])) as Partial<Pick<T, K>>;
}

/** Puts an ISO in a CD drive (the first one unless named), or empties it with null; running or not. */
export async function changeMedia(engine: Engine, ref: string, iso: string | null, cdId?: string): Promise<VmSummary> {
  if (iso !== null) await checkIso(iso);
  const t = await target(engine, ref);
  const { config } = t.vm.entry;
  const cd = cdId ? config.devices.cdroms.find((candidate) => candidate.id === cdId) : config.devices.cdroms[0];
  if (!cd) throw new HangarError('BAD_SETTINGS', cdId ? `"${config.name}" has no CD drive ${cdId}.` : `"${config.name}" has no CD drive. Add one in its settings.`);
  // The rule first, even for no change: the answer must not depend on what is in the drive.
  allow(t.summary, 'change', { kind: 'cdrom' });
  if (cd.iso === iso) return engine.publish(t.vm.entry.id);
  if (t.keeper) {
    try {
      if (iso === null) await t.keeper.execute('eject', { id: qemuIds.cdDevice(cd), force: true });
      else await t.keeper.execute('blockdev-change-medium', { id: qemuIds.cdDevice(cd), filename: iso, format: 'raw', 'read-only-mode': 'read-only' });
    } catch (error) {
      throw new HangarError('QEMU_FAILED', `The CD could not be changed: ${(error as Error).message}`);
    }
  }
  return writeDevices(engine, t, (current) => {
    const ranks = [...current.devices.disks, ...current.devices.cdroms].map((device) => device.bootOrder ?? 0);
    const first = Math.min(...ranks.filter((rank) => rank > 0));
    return {
      ...current,
      devices: {
        ...current.devices,
        // Taking the install ISO out means the OS is installed: the disks boot first from now on.
        cdroms: current.devices.cdroms.map((candidate) => (candidate.id === cd.id ? { ...candidate, iso, bootOrder: iso === null && candidate.bootOrder === first ? Math.max(...ranks) + 1 : candidate.bootOrder } : candidate)),
      },
    };
  });
}

// ---- remove ----

export async function removeDevice(engine: Engine, ref: string, id: string, { keepFile }: { keepFile: boolean }): Promise<{ vm: VmSummary; keptFile: string | null }> {
  const t = await target(engine, ref);
  const { config, dir } = t.vm.entry;
  const found = findDevice(config, id);
  const disk = found.kind === 'disk' ? config.devices.disks.find((candidate) => candidate.id === id) : undefined;
  allow(t.summary, 'remove', { kind: found.kind, ...(disk ? { bus: disk.bus } : {}) });
  if (t.keeper) {
    const peer = peerOf(t.keeper);
    const nic = config.devices.nics.find((candidate) => candidate.id === id);
    const usb = config.devices.usb.find((candidate) => candidate.id === id);
    try {
      if (disk) await unplugDisk(peer, disk);
      else if (nic) await unplugNic(peer, nic);
      else if (usb) await unplugUsb(peer, usb);
    } catch (error) {
      throw new HangarError('QEMU_FAILED', `The guest did not let go of ${id}: ${(error as Error).message} It may not support removing devices while it runs (or no OS runs yet). Shut it down to remove the device.`);
    }
  }
  const vm = await writeDevices(engine, t, (current) => {
    const devices: Devices = {
      disks: current.devices.disks.filter((candidate) => candidate.id !== id),
      cdroms: current.devices.cdroms.filter((candidate) => candidate.id !== id),
      nics: current.devices.nics.filter((candidate) => candidate.id !== id),
      sharedFolders: current.devices.sharedFolders.filter((candidate) => candidate.id !== id),
      usb: current.devices.usb.filter((candidate) => candidate.id !== id),
      tpm: current.devices.tpm?.id === id ? null : current.devices.tpm,
    };
    const hotplugged = { ...current.hotplugged };
    delete hotplugged[id];
    return { ...current, devices, hotplugged };
  });
  let keptFile: string | null = null;
  // A disk kept elsewhere is never touched; one in the VM folder goes, or to kept-disks/.
  if (disk && !isExternalDisk(disk)) {
    const file = diskPath(dir, disk);
    if (keepFile) keptFile = await engine.library.keepDiskFile(t.vm.entry.id, file);
    else await fs.rm(file, { force: true });
  } else if (disk) keptFile = diskPath(dir, disk);
  return { vm, keptFile };
}

// ---- grow a disk ----

export async function resizeDisk(engine: Engine, ref: string, id: string, sizeGiB: number): Promise<VmSummary> {
  const t = await target(engine, ref);
  const { config, dir } = t.vm.entry;
  const disk = config.devices.disks.find((candidate) => candidate.id === id);
  if (!disk) throw new HangarError('BAD_SETTINGS', `"${config.name}" has no disk ${id}. "hangar info ${config.id}" lists its disks.`);
  allow(t.summary, 'resize', { kind: 'disk', bus: disk.bus });
  const host = await engine.host();
  const img = new QemuImg(host.qemuImg ?? 'qemu-img');
  const file = diskPath(dir, disk);
  const info = await img.info(file, disk.format);
  const bytes = sizeGiB * GiB;
  if (bytes < info.virtualSize) throw new HangarError('BAD_SETTINGS', `Shrinking ${id} (now ${Math.round((info.virtualSize / GiB) * 10) / 10} GiB) would cut off the data at its end; Hangar only makes disks larger.`);
  if (bytes === info.virtualSize) return engine.publish(t.vm.entry.id);
  const verdict = checkSize({ cpus: 1, memoryMiB: 64, diskGiB: Math.ceil((bytes - info.virtualSize) / GiB) }, await capacityAt(dir, host));
  if (verdict.errors.diskGiB) throw new HangarError('NO_SPACE', verdict.errors.diskGiB);
  // While it runs, QEMU grows the image itself and tells the guest (block_resize).
  if (t.keeper) await growDisk(peerOf(t.keeper), disk, bytes).catch((error: unknown) => Promise.reject(qemuRefused('Growing the disk', error)));
  else await img.resize(file, bytes, disk.format);
  return engine.publish(t.vm.entry.id);
}

