import type { HostProbe } from './probe';

// Kernel modules and build configuration. /proc/modules lists only loadable modules and
// may not exist at all (a kernel built without module support, like this CI machine's),
// so built-in code is found through /sys/module and modules.builtin.

export type ModuleState = 'loaded' | 'builtin' | 'available' | 'absent';

export interface KernelFacts {
  release: string;
  modules: Record<string, ModuleState>;
  /** Module parameters we care about, e.g. { 'kvm_intel.nested': 'Y' }. */
  parameters: Record<string, string>;
  /** Parsed kernel config (CONFIG_X -> y/m/value), and the file it came from. */
  config: Record<string, string> | null;
  configSource: string | null;
}

/** Module names are written with '-' or '_' interchangeably; the kernel uses '_'. */
const canonical = (name: string): string => name.replaceAll('-', '_');

export function parseProcModules(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.split(' ')[0];
    if (name) names.add(canonical(name));
  }
  return names;
}

/** Module names from modules.builtin or modules.dep ("kernel/arch/x86/kvm/kvm-intel.ko[.xz]: ..."). */
export function parseModulePaths(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const file = line.split(':')[0]?.trim();
    if (!file) continue;
    const base = file.slice(file.lastIndexOf('/') + 1).replace(/\.ko(\.[a-z]+)?$/, '');
    names.add(canonical(base));
  }
  return names;
}

export function parseKernelConfig(text: string): Record<string, string> {
  const config: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) config[match[1] as string] = match[2] as string;
  }
  return config;
}

export async function readKernel(probe: HostProbe, moduleNames: readonly string[], parameterNames: readonly string[]): Promise<KernelFacts> {
  const release = ((await probe.readText('/proc/sys/kernel/osrelease')) ?? '').trim();
  const procModules = await probe.readText('/proc/modules');
  const loaded = procModules === null ? new Set<string>() : parseProcModules(procModules);
  const builtinText = release ? await probe.readText(`/lib/modules/${release}/modules.builtin`) : null;
  const builtin = builtinText === null ? new Set<string>() : parseModulePaths(builtinText);
  const depText = release ? await probe.readText(`/lib/modules/${release}/modules.dep`) : null;
  const available = depText === null ? new Set<string>() : parseModulePaths(depText);

  const modules: Record<string, ModuleState> = {};
  for (const name of moduleNames) {
    if (loaded.has(name)) modules[name] = 'loaded';
    else if (builtin.has(name)) modules[name] = 'builtin';
    else if (await probe.stat(`/sys/module/${name}`)) {
      // A loadable module has an initstate file; built-in code only has parameters.
      modules[name] = (await probe.stat(`/sys/module/${name}/initstate`)) ? 'loaded' : 'builtin';
    } else modules[name] = available.has(name) ? 'available' : 'absent';
  }

  const parameters: Record<string, string> = {};
  for (const qualified of parameterNames) {
    const [module, parameter] = qualified.split('.') as [string, string];
    const value = await probe.readText(`/sys/module/${module}/parameters/${parameter}`);
    if (value !== null) parameters[qualified] = value.trim();
  }

  let config: Record<string, string> | null = null;
  let configSource: string | null = null;
  const fromProc = await probe.readGzipText('/proc/config.gz');
  if (fromProc !== null) {
    config = parseKernelConfig(fromProc);
    configSource = '/proc/config.gz';
  } else if (release) {
    const fromBoot = await probe.readText(`/boot/config-${release}`);
    if (fromBoot !== null) {
      config = parseKernelConfig(fromBoot);
      configSource = `/boot/config-${release}`;
    }
  }
  return { release, modules, parameters, config, configSource };
}

export const isPresent = (state: ModuleState | undefined): boolean => state === 'loaded' || state === 'builtin';
