import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HangarError } from '../../src-shared/errors';
import type { IsoInfo } from '../../src-shared/os';
import type { HostCapacity } from '../../src-shared/sizing';
import type { Firmware, VmConfig } from '../../src-shared/vm';
import { inspectIso } from '../media/inspect';
import { freeBytes } from '../util/free-space';
import type { EngineHost } from './engine-host';

// What this machine must have for a VM, said once: QEMU itself, UEFI firmware, swtpm, the
// ISO in a drive, room and memory. Whether a person is choosing a setting or starting a VM
// that already has it, the same check, with the words that fit the moment.

/** 'choosing': a setting being picked (create, edit); 'starting': a VM that has it. */
export type Moment = 'choosing' | 'starting';

const DOCTOR = '"hangar doctor" says how to install it';

export function requireQemu(host: EngineHost): string {
  if (!host.qemuSystem) throw new HangarError('QEMU_FAILED', `QEMU is not installed, so no VM can start. ${capitalised(DOCTOR)}.`);
  return host.qemuSystem;
}

export function requireFirmware(host: EngineHost, firmware: Firmware, moment: Moment): void {
  if (firmware !== 'uefi' || host.ovmf) return;
  if (moment === 'starting') throw new HangarError('QEMU_FAILED', `This VM uses UEFI, but the UEFI firmware (OVMF) is not installed. ${capitalised(DOCTOR)}.`);
  throw new HangarError('BAD_SETTINGS', `UEFI firmware (OVMF) is not installed; choose BIOS or install it (${DOCTOR}).`);
}

export function requireTpm(host: EngineHost, wanted: boolean, moment: Moment): void {
  if (!wanted || host.swtpm) return;
  if (moment === 'starting') throw new HangarError('QEMU_FAILED', `This VM has a TPM, but swtpm is not installed. ${capitalised(DOCTOR)}.`);
  throw new HangarError('BAD_SETTINGS', `swtpm is not installed, so the VM cannot have a TPM (${DOCTOR}).`);
}

/** The accelerator a VM runs with: its own choice where this machine allows it, else what the host check chose. */
export function acceleratorFor(config: VmConfig, host: EngineHost): EngineHost['accelerator'] {
  const wanted = config.machine.accelerator;
  if (wanted === 'auto') return host.accelerator;
  if (wanted === 'kvm' && host.accelerator !== 'kvm') {
    throw new HangarError('BAD_SETTINGS', `"${config.name}" is set to use KVM, but this machine cannot run VMs with KVM: ${host.acceleratorReason} Set its accelerator to automatic or software emulation.`);
  }
  return wanted;
}

/** An ISO a VM is to use: an absolute path to a readable ISO 9660 image, or a clear error. */
export async function checkIso(file: string): Promise<IsoInfo> {
  if (!path.isAbsolute(file)) throw new HangarError('BAD_SETTINGS', `Give the ISO's full path, not "${file}".`);
  return inspectIso(file, { osinfoDir: null });
}

/** How much room and memory there is now, for checkSize; `dir` is where the disks would go. */
export async function capacityAt(dir: string, host: EngineHost): Promise<HostCapacity> {
  let existing = dir;
  // The folder may not exist yet: ask the nearest one that does.
  while (!(await fs.stat(existing).catch(() => null)) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  return {
    cpuThreads: host.cpuThreads,
    memoryTotalBytes: host.memoryTotalBytes,
    memoryAvailableBytes: os.freemem(), // MemAvailable on Linux (libuv), not MemFree
    diskFreeBytes: await freeBytes(existing).catch(() => null),
  };
}

function capitalised(text: string): string {
  return text.charAt(0) === '"' ? text : text.charAt(0).toUpperCase() + text.slice(1);
}
