import type { HostReport } from '../../src-shared/host';
import { numberProblem } from '../../src-shared/limits';
import { firmwareProblem } from '../../src-shared/os';
import { checkSize, type HostCapacity } from '../../src-shared/sizing';
import { VmName } from '../../src-shared/vm';
import type { WizardDraft, WizardStep } from './wizard-slice';

// The wizard's draft judged as the person types, by the rules the engine applies (sizing.ts,
// limits.ts, the VM name's schema): no rule of its own, so Next never lets through what
// Create would refuse. Pure, for the wizard's steps and their tests.

export interface DraftJudgement {
  /** What stops the VM from being made, one sentence per field. */
  errors: Partial<Record<'name' | 'cpus' | 'memoryMiB' | 'diskGiB' | 'sshPort' | 'media', string>>;
  /** What works but the person should know (free memory, a disk nearly as big as the free space). */
  warnings: string[];
  /** Why the chosen firmware will not boot the ISO, or null. */
  firmware: string | null;
}

export function capacityOf(report: HostReport | null): HostCapacity {
  return {
    cpuThreads: report?.resources.cpu_threads ?? 0,
    memoryTotalBytes: report?.resources.memory_total_bytes ?? 0,
    memoryAvailableBytes: report?.resources.memory_available_bytes ?? 0,
    diskFreeBytes: report?.resources.disk_free_bytes ?? null,
  };
}

export function judgeDraft(draft: WizardDraft, capacity: HostCapacity, mediaReady: boolean): DraftJudgement {
  const verdict = checkSize({ cpus: draft.cpus, memoryMiB: draft.memoryMiB, diskGiB: draft.media === 'disk' ? 0 : draft.diskGiB }, capacity);
  const errors: DraftJudgement['errors'] = {};
  if (draft.media === 'iso' && !mediaReady) errors.media = 'Choose an ISO image, or drop one on this window.';
  if (draft.media === 'disk' && !draft.diskPath.startsWith('/')) errors.media = "Give the disk image's full path.";
  const name = VmName.safeParse(draft.name);
  if (!name.success) errors.name = name.error.issues[0]?.message ?? 'Give the VM a name.';
  Object.assign(errors, verdict.errors);
  if (draft.sshPort !== null) {
    const port = numberProblem('hostPort', draft.sshPort);
    if (port) errors.sshPort = port;
  }
  const iso = draft.media === 'iso' ? draft.isoInfo : null;
  return { errors, warnings: verdict.warnings, firmware: iso ? firmwareProblem(draft.firmware, iso) : null };
}

/** The fields each step asks for, in the order they are shown. */
const FIELDS_OF: Record<WizardStep, (keyof DraftJudgement['errors'])[]> = {
  1: ['media'],
  2: ['name', 'cpus', 'memoryMiB', 'diskGiB'],
  3: ['sshPort'],
  4: ['media', 'name', 'cpus', 'memoryMiB', 'diskGiB', 'sshPort'],
};

/** Why the person cannot go past `step` yet (at Review: cannot create), or null. */
export function blockerOf(step: WizardStep, judgement: DraftJudgement): string | null {
  for (const field of FIELDS_OF[step]) {
    const error = judgement.errors[field];
    if (error) return error;
  }
  return null;
}
