import type { HostReport } from '../../src-shared/host';
import { chooseAccelerator } from './accelerator';
import { buildChecks } from './checks';
import { gatherFacts, type HostFacts } from './facts';
import { localProbe, type HostProbe } from './probe';
import { meetsMinimum } from './qemu';

export function reportFromFacts(facts: HostFacts, now: Date = new Date()): HostReport {
  const { accelerator, reason } = chooseAccelerator(facts);
  const { system, img } = facts.qemu;
  return {
    accelerator,
    accelerator_reason: reason,
    can_run_vms: system !== null && (system.version === null || meetsMinimum(system.version)) && img !== null,
    distro: { id: facts.distro.id, name: facts.distro.name },
    qemu_version: system?.version ?? null,
    resources: {
      cpu_threads: facts.cpu.threads,
      memory_total_bytes: facts.memory.totalBytes,
      memory_available_bytes: facts.memory.availableBytes,
      vm_store_path: facts.vmStorePath,
      disk_free_bytes: facts.diskFreeBytes,
    },
    checks: buildChecks(facts),
    checked_at: now.toISOString(),
  };
}

export interface CheckHostOptions {
  probe?: HostProbe;
  vmStorePath: string;
}

/** Checks this machine (or the captured one behind `probe`). */
export async function checkHost({ probe = localProbe(), vmStorePath }: CheckHostOptions): Promise<HostReport> {
  return reportFromFacts(await gatherFacts(probe, vmStorePath));
}
