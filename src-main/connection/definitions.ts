import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { bootOrderOf, type CdromDevice, type Devices, type DiskDevice } from '../../src-shared/devices';
import { HangarError } from '../../src-shared/errors';
import type { VmOs } from '../../src-shared/os-family';
import { checkSize } from '../../src-shared/sizing';
import { NewVmRequest, VmChanges, type MachineSettings, type MachineType, type VmConfig, type VmSummary } from '../../src-shared/vm';
import { QemuImg } from '../qemu/img';
import { newMac } from '../vms/ids';
import { newDiskFileName, vmLayout } from '../vms/layout';
import type { NewVm } from '../vms/library';
import type { Engine } from './engine';
import { check, launchArgv } from './lifecycle';
import { capacityAt, checkIso, requireFirmware, requireTpm } from './requirements';

// A VM's definition: what a new VM request makes, checked before anything is made (the
// same checks for a preview and for the real thing), and the machine settings of an
// existing VM. Devices change one by one in device-changes.ts.

type Request = z.output<typeof NewVmRequest>;

/** Free PCIe ports a new q35 VM keeps for hot-plug; the old pc machine hot-plugs on its root bus. */
export const NEW_VM_HOTPLUG_PORTS = 2;

export function cdBusFor(machine: MachineType): CdromDevice['bus'] {
  return machine === 'pc' ? 'ide' : 'sata';
}

/** Everything a new VM is refused for, checked before anything is made; returns the warnings and the OS it installs. */
async function checkRequest(engine: Engine, request: Request): Promise<{ warnings: string[]; os: VmOs | null }> {
  const host = await engine.host();
  const verdict = checkSize({ cpus: request.cpus, memoryMiB: request.memoryMiB, diskGiB: request.importDisk === null ? request.diskGiB : 0 }, await capacityAt(engine.library.root, host));
  const sizeError = verdict.errors.memoryMiB ?? verdict.errors.cpus ?? verdict.errors.diskGiB;
  if (sizeError) throw new HangarError(verdict.errors.diskGiB === sizeError ? 'NO_SPACE' : 'BAD_SETTINGS', sizeError);
  const iso = request.iso === null ? null : await checkIso(request.iso);
  requireFirmware(host, request.firmware, 'choosing');
  requireTpm(host, request.tpm, 'choosing');
  if (request.machine === 'pc' && request.diskBus === 'sata') throw new HangarError('BAD_SETTINGS', 'The old pc machine has no SATA controller; choose IDE or the q35 machine.');
  if (request.importDisk !== null && !path.isAbsolute(request.importDisk)) throw new HangarError('BAD_SETTINGS', `Give the disk image's full path, not "${request.importDisk}".`);
  const warnings = [...verdict.warnings];
  if (iso?.bootable && request.firmware === 'uefi' && !iso.uefiBootable) warnings.push(`${path.basename(iso.path)} boots only with BIOS: with UEFI the VM would find nothing to boot. Choose BIOS.`);
  if (iso && request.firmware === 'bios' && iso.uefiBootable && !iso.bootable) warnings.push(`${path.basename(iso.path)} boots only with UEFI: with BIOS the VM would find nothing to boot. Choose UEFI.`);
  return { warnings, os: request.os ?? (iso ? { family: iso.os.family, name: iso.os.name } : null) };
}

/** The devices a request makes: the same as ever for someone who does not look (a virtio disk and NIC, one CD with the ISO). */
export function draftOf(request: Request, os: VmOs | null, mac = newMac()): NewVm {
  const wantsDisk = request.importDisk !== null || request.diskGiB > 0;
  const disks: DiskDevice[] = wantsDisk ? [{ id: 'disk0', file: newDiskFileName(new Set()), format: 'qcow2', bus: request.diskBus, cache: 'auto', discard: true, readOnly: false, backing: null, bootOrder: request.iso ? 2 : 1 }] : [];
  const devices: Devices = {
    disks,
    cdroms: [{ id: 'cd0', iso: request.iso, bus: cdBusFor(request.machine), bootOrder: request.iso || !wantsDisk ? 1 : 2 }],
    nics: [{ id: 'nic0', model: request.nicModel, network: 'user', mac, portForwards: request.portForwards }],
    sharedFolders: [],
    usb: [],
    tpm: request.tpm ? { id: 'tpm' } : null,
  };
  const machine: MachineSettings = { type: request.machine, firmware: request.firmware, cpus: request.cpus, memoryMiB: request.memoryMiB, accelerator: 'auto', hotplugPorts: request.machine === 'q35' ? NEW_VM_HOTPLUG_PORTS : 0 };
  return { name: request.name, os, machine, devices };
}

/** What defineVm would make, without making it: its warnings and its QEMU command line. */
export async function previewVm(engine: Engine, raw: unknown): Promise<{ argv: string[]; warnings: string[] }> {
  const request = NewVmRequest.parse(raw);
  const host = await engine.host();
  const { name, id } = await engine.library.idFor(request.name);
  const { warnings, os } = await checkRequest(engine, request);
  const draft = draftOf(request, os, '52:54:00:00:00:00');
  const config = engine.library.definitionOf({ ...draft, name }, id);
  // The disk does not exist yet, so O_DIRECT cannot be tried: shown as on most file systems
  // (a library on tmpfs falls back to the page cache when the VM starts).
  const argv = await launchArgv(engine, engine.library.vmDir(id), config, host, null, { probeDirectIo: false });
  return { argv: [host.qemuSystem ?? 'qemu-system-x86_64', ...argv], warnings };
}

export async function defineVm(engine: Engine, raw: unknown): Promise<VmSummary> {
  const request = NewVmRequest.parse(raw);
  const host = await engine.host();
  const { os } = await checkRequest(engine, request);
  const img = new QemuImg(host.qemuImg ?? 'qemu-img');
  const draft = draftOf(request, os);
  const disk = draft.devices.disks[0];
  const config = await engine.library.create(draft, async (staging, made) => {
    const progress = (step: string, percent: number | null): void => engine.emit({ type: 'vmProgress', progress: { vm: made.name, step, percent } });
    if (disk && request.importDisk !== null) {
      progress('Importing the disk', 0);
      await img.convert(request.importDisk, path.join(staging, disk.file), (percent) => progress('Importing the disk', percent));
    } else if (disk) {
      progress('Creating the disk', null);
      await img.create(path.join(staging, disk.file), Math.round(request.diskGiB * 1024 ** 3));
    }
    if (request.firmware === 'uefi' && host.ovmf) await fs.copyFile(host.ovmf.vars, vmLayout(staging).uefiVars);
  });
  return engine.publish(config.id);
}

/** Changes a VM's machine settings (and its name), by the same rules as a new VM's. */
export async function updateVm(engine: Engine, ref: string, raw: unknown): Promise<VmSummary> {
  const changes = VmChanges.parse(raw);
  const { vm, summary } = await engine.resolveConfigured(ref);
  const { config } = vm.entry;
  const { name, ...machineChanges } = changes;
  if (name !== undefined && name !== config.name) check('rename', summary);
  const changesMachine = Object.entries(machineChanges).some(([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(currentValue(config, key)));
  if (changesMachine) check('editMachine', summary);
  const host = await engine.host();
  const verdict = checkSize({ cpus: changes.cpus ?? config.machine.cpus, memoryMiB: changes.memoryMiB ?? config.machine.memoryMiB, diskGiB: 0 }, await capacityAt(engine.library.root, host));
  const sizeError = verdict.errors.memoryMiB ?? verdict.errors.cpus;
  if (sizeError && changesMachine) throw new HangarError('BAD_SETTINGS', sizeError);
  if (changes.firmware) requireFirmware(host, changes.firmware, 'choosing');
  if (changes.accelerator === 'kvm' && host.accelerator !== 'kvm') throw new HangarError('BAD_SETTINGS', `This machine cannot run VMs with KVM: ${host.acceleratorReason}`);
  if (changes.machine === 'pc' && config.devices.disks.some((disk) => disk.bus === 'sata')) throw new HangarError('BAD_SETTINGS', 'The old pc machine has no SATA controller: move the SATA disks to another bus first, or keep q35.');
  if (changes.bootOrder) checkBootOrder(config, changes.bootOrder);

  await engine.library.update(vm.entry.id, (current) => applyChanges(current, changes));
  return engine.publish(vm.entry.id);
}

function currentValue(config: VmConfig, key: string): unknown {
  if (key === 'machine') return config.machine.type;
  if (key === 'bootOrder') return bootOrderOf(config.devices);
  return (config.machine as Record<string, unknown>)[key];
}

function checkBootOrder(config: VmConfig, order: readonly string[]): void {
  const bootable = new Set([...config.devices.disks, ...config.devices.cdroms].map((device) => device.id));
  const stranger = order.find((id) => !bootable.has(id));
  if (stranger) throw new HangarError('BAD_SETTINGS', `"${config.name}" cannot boot from ${stranger}: only its disks and CD drives can be booted from.`);
  if (new Set(order).size !== order.length) throw new HangarError('BAD_SETTINGS', 'Each device can appear once in the boot order.');
  const first = config.devices.cdroms.find((cd) => cd.id === order[0]);
  if (first && first.iso === null) throw new HangarError('BAD_SETTINGS', `"${config.name}" has no ISO in its CD drive ${first.id} to boot from. Insert one first.`);
}

export function applyChanges(config: VmConfig, changes: z.output<typeof VmChanges>): VmConfig {
  const type = changes.machine ?? config.machine.type;
  const rank = (id: string): number | null => (changes.bootOrder ? changes.bootOrder.indexOf(id) + 1 || null : null);
  return {
    ...config,
    name: changes.name ?? config.name,
    machine: {
      ...config.machine,
      type,
      cpus: changes.cpus ?? config.machine.cpus,
      memoryMiB: changes.memoryMiB ?? config.machine.memoryMiB,
      firmware: changes.firmware ?? config.machine.firmware,
      accelerator: changes.accelerator ?? config.machine.accelerator,
      hotplugPorts: type === 'pc' ? 0 : config.machine.type === 'pc' ? NEW_VM_HOTPLUG_PORTS : config.machine.hotplugPorts,
    },
    devices: {
      ...config.devices,
      disks: config.devices.disks.map((disk) => ({ ...disk, bootOrder: changes.bootOrder ? rank(disk.id) : disk.bootOrder })),
      cdroms: config.devices.cdroms.map((cd) => ({ ...cd, bus: cdBusFor(type), bootOrder: changes.bootOrder ? rank(cd.id) : cd.bootOrder })),
    },
  };
}
