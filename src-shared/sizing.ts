import { formatBytes } from './format';
import { DISK_NONE, diskSizeProblem, LIMITS, numberProblem } from './limits';

// How big a VM may be on this machine. One set of rules for the wizard (live, as the person
// types) and the engine (the last word before anything is made), so they never disagree.

export interface HostCapacity {
  cpuThreads: number;
  memoryTotalBytes: number;
  /** Memory free right now; 0 when unknown. */
  memoryAvailableBytes: number;
  /** Free space where VM disks go; null when unknown. */
  diskFreeBytes: number | null;
}

export interface SizeRequest {
  cpus: number;
  memoryMiB: number;
  /** A new empty disk's size; 0 for none (or an imported disk, sized by its file). */
  diskGiB: number;
}

export interface SizeVerdict {
  /** What stops the VM from being made, one sentence each, keyed by field. */
  errors: Partial<Record<keyof SizeRequest, string>>;
  /** What works but the person should know. */
  warnings: string[];
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export function checkSize(request: SizeRequest, host: HostCapacity): SizeVerdict {
  const errors: SizeVerdict['errors'] = {};
  const warnings: string[] = [];
  const memoryBytes = request.memoryMiB * MiB;
  // First what no machine takes (a fraction of a CPU, no memory), then what this one cannot give.
  const shape = { cpus: numberProblem('cpus', request.cpus), memoryMiB: numberProblem('memoryMiB', request.memoryMiB), diskGiB: diskSizeProblem(request.diskGiB) };
  for (const [field, problem] of Object.entries(shape)) if (problem) errors[field as keyof SizeRequest] = problem;

  if (errors.cpus) {
    // already said
  } else if (host.cpuThreads > 0 && request.cpus > host.cpuThreads) {
    errors.cpus = `This machine has ${host.cpuThreads} CPU threads; give the VM at most ${host.cpuThreads}.`;
  } else if (host.cpuThreads > 1 && request.cpus === host.cpuThreads) {
    warnings.push('The VM gets every CPU thread of this machine, so the machine itself may feel slow while the VM is busy.');
  }

  if (errors.memoryMiB) {
    // already said
  } else if (host.memoryTotalBytes > 0 && memoryBytes > host.memoryTotalBytes) {
    errors.memoryMiB = `${formatBytes(memoryBytes)} is more memory than this machine has (${formatBytes(host.memoryTotalBytes)}). Choose at most ${Math.floor(host.memoryTotalBytes / MiB)} MiB.`;
  } else if (host.memoryAvailableBytes > 0 && memoryBytes > host.memoryAvailableBytes) {
    warnings.push(`Only ${formatBytes(host.memoryAvailableBytes)} of memory is free right now: with ${formatBytes(memoryBytes)} the VM may push this machine into swap. Close other programs or choose less.`);
  }

  // New disks are sparse and grow as the guest writes; bounding them by the free space keeps
  // a guest from ever filling the person's disk (QEMU would then pause the VM mid-write).
  if (!errors.diskGiB && host.diskFreeBytes !== null && request.diskGiB > 0) {
    const diskBytes = request.diskGiB * GiB;
    if (host.diskFreeBytes < LIMITS.diskGiB.min * GiB) {
      // "Choose at most 0 GiB" would be no advice at all: say the disk is full, and the way out.
      errors.diskGiB = `There is no room for a new disk where VMs are stored: only ${formatBytes(host.diskFreeBytes)} is free. Free some space, or choose ${DISK_NONE} for no disk.`;
    } else if (diskBytes > host.diskFreeBytes) {
      errors.diskGiB = `A ${formatBytes(diskBytes)} disk does not fit where VMs are stored: ${formatBytes(host.diskFreeBytes)} is free. Choose at most ${Math.floor(host.diskFreeBytes / GiB)} GiB or free some space.`;
    } else if (diskBytes > host.diskFreeBytes * 0.8) {
      warnings.push(`The disk can grow to ${formatBytes(diskBytes)}, nearly all of the ${formatBytes(host.diskFreeBytes)} free where VMs are stored.`);
    }
  }
  return { errors, warnings };
}

/**
 * The CPUs to propose for an OS that wants `osDefault`: never every thread of a machine with
 * more than one, which checkSize would warn about; the OS's own number when the host is unknown.
 */
export function suggestedCpus(threads: number, osDefault: number): number {
  if (threads <= 0) return osDefault;
  if (threads === 1) return 1;
  return Math.max(1, Math.min(osDefault, threads - 1));
}

const MEMORY_STEP_MiB = 256;

/**
 * What the wizard proposes from an OS's defaults: the same sizes where this machine has room,
 * else the most it takes without a warning (memory within what is free now, a disk within
 * 80 % of the free space). No disk stays no disk; what cannot fit at all is left for checkSize to say.
 */
export function suggestSize(defaults: SizeRequest, host: HostCapacity): SizeRequest {
  const memoryRoom = host.memoryAvailableBytes > 0 ? host.memoryAvailableBytes : host.memoryTotalBytes;
  let memoryMiB = defaults.memoryMiB;
  if (memoryRoom > 0 && memoryMiB * MiB > memoryRoom) {
    memoryMiB = Math.max(LIMITS.memoryMiB.min, Math.floor(memoryRoom / MiB / MEMORY_STEP_MiB) * MEMORY_STEP_MiB);
  }
  let diskGiB = defaults.diskGiB;
  if (diskGiB !== DISK_NONE && host.diskFreeBytes !== null && diskGiB * GiB > host.diskFreeBytes * 0.8) {
    const room = Math.floor((host.diskFreeBytes * 0.8) / GiB);
    if (room >= LIMITS.diskGiB.min) diskGiB = room;
  }
  return { cpus: suggestedCpus(host.cpuThreads, defaults.cpus), memoryMiB, diskGiB };
}
