import { readDevice, readUser, type DeviceFacts, type GroupEntry, type UserFacts } from './access';
import { readCpu, type CpuFacts } from './cpu';
import { readDistro, type Distro } from './distro';
import { readKernel, type KernelFacts } from './kernel';
import type { HostProbe } from './probe';
import { findBridgeHelper, probeKvm, probeSandbox, readQemu, type KvmProbe, type QemuFacts } from './qemu';
import { readMemory, type MemoryFacts } from './resources';

// Everything the host check knows, as plain data. Gathering touches the machine;
// judging (checks.ts, accelerator.ts) is pure and tested against captured machines.

export const KVM_MODULES = ['kvm', 'kvm_intel', 'kvm_amd', 'kvm_pvm', 'tun', 'vhost_net'] as const;
const KVM_PARAMETERS = ['kvm_intel.nested', 'kvm_amd.nested'] as const;

export interface HostFacts {
  distro: Distro;
  cpu: CpuFacts;
  kernel: KernelFacts;
  user: UserFacts & { name: string | null; groupFile: GroupEntry[] };
  kvmDevice: DeviceFacts;
  tunDevice: DeviceFacts;
  vhostNetDevice: DeviceFacts;
  qemu: QemuFacts;
  /** QEMU's own answer on KVM; null when it could not be asked (no QEMU or no usable /dev/kvm). */
  kvmProbe: KvmProbe | null;
  /** QEMU starts with -sandbox on (built with seccomp); false when it cannot be asked. */
  qemuSandbox: boolean;
  bridgeHelper: { path: string; setuid: boolean } | null;
  bridgeConf: string | null;
  memory: MemoryFacts;
  vmStorePath: string;
  diskFreeBytes: number | null;
}

export async function gatherFacts(probe: HostProbe, vmStorePath: string): Promise<HostFacts> {
  const [distro, cpu, kernel, user, kvmDevice, tunDevice, vhostNetDevice, qemu, bridgeHelper, bridgeConf, memory, diskFreeBytes] =
    await Promise.all([
      readDistro(probe),
      readCpu(probe),
      readKernel(probe, KVM_MODULES, KVM_PARAMETERS),
      readUser(probe),
      readDevice(probe, '/dev/kvm'),
      readDevice(probe, '/dev/net/tun'),
      readDevice(probe, '/dev/vhost-net'),
      readQemu(probe),
      findBridgeHelper(probe),
      probe.readText('/etc/qemu/bridge.conf'),
      readMemory(probe),
      probe.freeBytes(vmStorePath),
    ]);
  // The two questions for QEMU itself, at once: each is a QEMU start.
  const [kvmProbe, qemuSandbox] = await Promise.all([qemu.system && kvmDevice.usable ? probeKvm(probe, qemu.system.path) : null, qemu.system ? probeSandbox(probe, qemu.system.path) : false]);
  return { distro, cpu, kernel, user, kvmDevice, tunDevice, vhostNetDevice, qemu, kvmProbe, qemuSandbox, bridgeHelper, bridgeConf, memory, vmStorePath, diskFreeBytes };
}

/** The vendor KVM module this CPU needs. */
export function vendorModule(facts: HostFacts): 'kvm_intel' | 'kvm_amd' | null {
  if (facts.cpu.vmx || facts.cpu.vendor === 'intel') return 'kvm_intel';
  if (facts.cpu.svm || facts.cpu.vendor === 'amd') return 'kvm_amd';
  return null;
}

/** PVM: a paravirtual KVM that needs no VT-x/AMD-V and runs only guests built for it. */
export function isPvmOnly(facts: HostFacts): boolean {
  const pvm = facts.kernel.modules.kvm_pvm === 'loaded' || facts.kernel.modules.kvm_pvm === 'builtin' || facts.kernel.config?.CONFIG_KVM_PVM === 'y';
  return pvm && !facts.cpu.vmx && !facts.cpu.svm;
}
