import type { Accelerator } from '../../src-shared/host';
import { isPvmOnly, vendorModule, type HostFacts } from './facts';
import { isPresent } from './kernel';

export interface AcceleratorChoice {
  accelerator: Accelerator;
  reason: string;
}

const SLOW = 'New VMs use software emulation (TCG): they work, but run several times slower.';

/**
 * KVM only when every layer agrees: the CPU offers VT-x or AMD-V, the vendor module is
 * active, /dev/kvm is usable by this user, and QEMU itself opened KVM. Anything less
 * picks TCG, because a VM started on a KVM that cannot run it hangs instead of failing.
 */
export function chooseAccelerator(facts: HostFacts): AcceleratorChoice {
  const tcg = (why: string): AcceleratorChoice => ({ accelerator: 'tcg', reason: `${why} ${SLOW}` });
  const { cpu, kernel, kvmDevice, kvmProbe } = facts;
  if (!cpu.vmx && !cpu.svm) {
    if (isPvmOnly(facts)) {
      return tcg(
        "This kernel's KVM is PVM (kvm_pvm), a paravirtual KVM that runs only guests built for it, and the CPU offers no VT-x or AMD-V. " +
          'QEMU accepts KVM here, but an ordinary guest kernel hangs at boot.',
      );
    }
    if (cpu.hypervisor) return tcg('This machine is itself a virtual machine and its host does not pass VT-x or AMD-V through (nested virtualization is off).');
    return tcg('The CPU offers no VT-x or AMD-V, or it is turned off in the firmware setup.');
  }
  const vendor = vendorModule(facts);
  if (!isPresent(kernel.modules.kvm) || (vendor && !isPresent(kernel.modules[vendor]))) {
    return tcg(`The ${vendor ?? 'kvm'} kernel module is not loaded.`);
  }
  if (!kvmDevice.node) return tcg('/dev/kvm does not exist.');
  if (kvmDevice.node.kind !== 'char') return tcg('/dev/kvm is not a device node.');
  if (!kvmDevice.usable) return tcg('You do not have permission to use /dev/kvm.');
  if (!facts.qemu.system) return tcg('KVM could not be tried because QEMU is not installed.');
  if (!kvmProbe?.enabled) return tcg(`QEMU could not use KVM: ${kvmProbe?.error ?? 'it did not say why'}.`);
  const hardware = cpu.vmx ? 'Intel VT-x' : 'AMD-V';
  return { accelerator: 'kvm', reason: `KVM works: ${hardware}, ${vendor ?? 'kvm'} active, /dev/kvm usable, and QEMU enabled KVM.` };
}
