import type { Accelerator } from '../../src-shared/host';
import { chooseAccelerator } from '../host/accelerator';
import { gatherFacts } from '../host/facts';
import { localProbe, type HostProbe } from '../host/probe';
import type { OvmfFiles } from '../host/qemu';

// What the engine needs to know about this machine to start VMs, learned once per process
// from the same facts as the host check, so the two can never disagree.

export interface EngineHost {
  accelerator: Accelerator;
  acceleratorReason: string;
  qemuSystem: string | null;
  qemuImg: string | null;
  ovmf: OvmfFiles | null;
  swtpm: string | null;
  memoryTotalBytes: number;
  cpuThreads: number;
  /** QEMU was built with seccomp, so -sandbox can be used. */
  sandbox: boolean;
}

export async function probeEngineHost(vmStorePath: string, probe: HostProbe = localProbe()): Promise<EngineHost> {
  const facts = await gatherFacts(probe, vmStorePath);
  const { accelerator, reason } = chooseAccelerator(facts);
  return {
    accelerator,
    acceleratorReason: reason,
    qemuSystem: facts.qemu.system?.path ?? null,
    qemuImg: facts.qemu.img?.path ?? null,
    ovmf: facts.qemu.ovmf,
    swtpm: facts.qemu.swtpm,
    memoryTotalBytes: facts.memory.totalBytes,
    cpuThreads: facts.cpu.threads,
    sandbox: facts.qemuSandbox,
  };
}
