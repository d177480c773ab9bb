import type { Accelerator } from '../../src-shared/host';
import { chooseAccelerator } from '../host/accelerator';
import { gatherFacts } from '../host/facts';
import { localProbe, type HostProbe } from '../host/probe';
import { QEMU_KVM_PROBE_ARGS, type OvmfFiles } from '../host/qemu';

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
  let sandbox = false;
  if (facts.qemu.system) {
    const args = ['-sandbox', 'on', ...QEMU_KVM_PROBE_ARGS.map((arg) => (arg === 'none,accel=kvm' ? 'none' : arg))];
    const result = await probe.run(facts.qemu.system.path, args, { input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n', timeoutMs: 15_000 });
    sandbox = result.code === 0;
  }
  return {
    accelerator,
    acceleratorReason: reason,
    qemuSystem: facts.qemu.system?.path ?? null,
    qemuImg: facts.qemu.img?.path ?? null,
    ovmf: facts.qemu.ovmf,
    swtpm: facts.qemu.swtpm,
    memoryTotalBytes: facts.memory.totalBytes,
    cpuThreads: facts.cpu.threads,
    sandbox,
  };
}
