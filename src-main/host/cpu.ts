import type { HostProbe } from './probe';

export type CpuVendor = 'intel' | 'amd' | 'other';

export interface CpuFacts {
  threads: number;
  vendor: CpuVendor;
  model: string | null;
  /** Intel VT-x. */
  vmx: boolean;
  /** AMD-V. */
  svm: boolean;
  /** This machine is itself a virtual machine. */
  hypervisor: boolean;
}

export function parseCpuinfo(text: string): CpuFacts {
  let threads = 0;
  let vendorId = '';
  let model: string | null = null;
  const flags = new Set<string>();
  for (const line of text.split('\n')) {
    const separator = line.indexOf(':');
    if (separator < 0) continue;
    const key = line.slice(0, separator).trim();
    const value = line.slice(separator + 1).trim();
    if (key === 'processor') threads++;
    else if (key === 'vendor_id' && !vendorId) vendorId = value;
    else if (key === 'model name' && model === null) model = value;
    // Flags are the same on every thread of an x86 machine; the first line is enough.
    else if (key === 'flags' && flags.size === 0) for (const flag of value.split(/\s+/)) flags.add(flag);
  }
  const vendor: CpuVendor = vendorId === 'GenuineIntel' ? 'intel' : vendorId === 'AuthenticAMD' ? 'amd' : 'other';
  return { threads, vendor, model, vmx: flags.has('vmx'), svm: flags.has('svm'), hypervisor: flags.has('hypervisor') };
}

export async function readCpu(probe: HostProbe): Promise<CpuFacts> {
  const text = await probe.readText('/proc/cpuinfo');
  return parseCpuinfo(text ?? '');
}
