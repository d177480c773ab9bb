import path from 'node:path';
import type { HostProbe } from './probe';

// QEMU, its tools and firmware, found the way QEMU and libvirt find them.

/** Debian 12's QEMU, the oldest in the distributions we support; gives screendump to PNG (7.1). */
export const MINIMUM_QEMU = { major: 7, minor: 2 } as const;

export interface ProgramFacts {
  path: string;
  version: string | null;
}

export interface KvmProbe {
  /** QEMU ran and answered query-kvm. */
  answered: boolean;
  enabled: boolean;
  present: boolean;
  /** QEMU's own words when it refused KVM or failed to start. */
  error: string | null;
}

const HELPER_DIRS = ['/usr/libexec', '/usr/lib/qemu', '/usr/lib', '/usr/local/libexec'];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Finds an executable on PATH (and in helper folders, for programs such as virtiofsd). */
export async function findProgram(probe: HostProbe, name: string, extraDirs: readonly string[] = []): Promise<string | null> {
  const dirs = [...(probe.env.PATH ?? DEFAULT_PATH).split(':').filter((dir) => dir.startsWith('/')), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.posix.join(dir, name);
    const node = await probe.stat(candidate);
    if (node?.kind === 'file' && (node.mode & 0o111) !== 0) return candidate;
  }
  return null;
}

/** "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)" -> "7.2.22". */
export function parseQemuVersion(text: string): string | null {
  return /version (\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? null;
}

export function meetsMinimum(version: string, minimum: { major: number; minor: number } = MINIMUM_QEMU): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > minimum.major || (major === minimum.major && minor >= minimum.minor);
}

async function programFacts(probe: HostProbe, name: string): Promise<ProgramFacts | null> {
  const found = await findProgram(probe, name);
  if (!found) return null;
  const result = await probe.run(found, ['--version'], { timeoutMs: 10_000 });
  return { path: found, version: parseQemuVersion(result.stdout) };
}

export const QEMU_KVM_PROBE_ARGS = ['-machine', 'none,accel=kvm', '-nodefaults', '-display', 'none', '-qmp', 'stdio'] as const;
const QMP_SCRIPT = ['qmp_capabilities', 'query-kvm', 'quit'].map((execute) => JSON.stringify({ execute })).join('\n') + '\n';

/** Reads QEMU's answer to query-kvm from its QMP conversation on stdout. */
export function parseKvmProbe(stdout: string, stderr: string): KvmProbe {
  for (const line of stdout.split('\n')) {
    try {
      const message = JSON.parse(line) as { return?: { enabled?: unknown; present?: unknown } };
      if (message.return && typeof message.return.enabled === 'boolean') {
        return { answered: true, enabled: message.return.enabled, present: message.return.present === true, error: null };
      }
    } catch {
      // not a QMP line
    }
  }
  const error = stderr.split('\n').map((line) => line.replace(/^qemu-system-x86_64: /, '').trim()).find(Boolean) ?? 'QEMU did not answer.';
  return { answered: false, enabled: false, present: false, error };
}

/** Whether this QEMU was built with seccomp, so -sandbox can confine it: it is asked to start with it. */
export async function probeSandbox(probe: HostProbe, qemuPath: string): Promise<boolean> {
  const args = ['-sandbox', 'on', ...QEMU_KVM_PROBE_ARGS.map((arg) => (arg === 'none,accel=kvm' ? 'none' : arg))];
  const result = await probe.run(qemuPath, args, { input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n', timeoutMs: 15_000 });
  return result.code === 0;
}

/** Asks QEMU itself whether it can open KVM: no guest, no disk, a second at most. */
export async function probeKvm(probe: HostProbe, qemuPath: string): Promise<KvmProbe> {
  const result = await probe.run(qemuPath, QEMU_KVM_PROBE_ARGS, { input: QMP_SCRIPT, timeoutMs: 15_000 });
  if (result.spawnError) return { answered: false, enabled: false, present: false, error: result.spawnError };
  if (result.timedOut) return { answered: false, enabled: false, present: false, error: 'QEMU did not answer within 15 seconds.' };
  return parseKvmProbe(result.stdout, result.stderr);
}

interface FirmwareDescriptor {
  'interface-types'?: string[];
  targets?: { architecture?: string }[];
  mapping?: { executable?: { filename?: string; format?: string }; 'nvram-template'?: { filename?: string; format?: string } };
  features?: string[];
}

const FIRMWARE_DESCRIPTOR_DIRS = ['/etc/qemu/firmware', '/usr/share/qemu/firmware'];
/** UEFI firmware: the code (read-only) and the template of the variable store each VM copies. */
export interface OvmfFiles {
  code: string;
  vars: string;
}

const KNOWN_OVMF_FILES: OvmfFiles[] = [
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
  { code: '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', vars: '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd' },
  { code: '/usr/share/qemu/ovmf-x86_64-code.bin', vars: '/usr/share/qemu/ovmf-x86_64-vars.bin' },
];

/** Finds UEFI firmware for x86_64 through QEMU's firmware descriptors, then well-known paths. */
export async function findOvmf(probe: HostProbe): Promise<OvmfFiles | null> {
  for (const dir of FIRMWARE_DESCRIPTOR_DIRS) {
    for (const name of (await probe.list(dir)) ?? []) {
      if (!name.endsWith('.json')) continue;
      let descriptor: FirmwareDescriptor;
      try {
        descriptor = JSON.parse((await probe.readText(`${dir}/${name}`)) ?? '') as FirmwareDescriptor;
      } catch {
        continue;
      }
      const isUefi = descriptor['interface-types']?.includes('uefi');
      const isX86 = descriptor.targets?.some((target) => target.architecture === 'x86_64');
      const code = descriptor.mapping?.executable?.filename;
      const vars = descriptor.mapping?.['nvram-template']?.filename;
      // Hangar loads firmware as raw flash; Fedora also ships qcow2 builds, listed first.
      const raw = (descriptor.mapping?.executable?.format ?? 'raw') === 'raw' && (descriptor.mapping?.['nvram-template']?.format ?? 'raw') === 'raw';
      if (!raw) continue;
      // Plain UEFI first: Secure Boot with enrolled keys refuses unsigned test kernels.
      if (isUefi && isX86 && code && vars && !descriptor.features?.includes('secure-boot') && (await probe.stat(code)) && (await probe.stat(vars))) return { code, vars };
    }
  }
  for (const files of KNOWN_OVMF_FILES) if ((await probe.stat(files.code)) && (await probe.stat(files.vars))) return files;
  return null;
}

export interface QemuFacts {
  system: ProgramFacts | null;
  img: ProgramFacts | null;
  ovmf: OvmfFiles | null;
  swtpm: string | null;
  virtiofsd: string | null;
}

export async function readQemu(probe: HostProbe): Promise<QemuFacts> {
  // All at once: two of them are program runs.
  const [system, img, ovmf, swtpm, virtiofsd] = await Promise.all([
    programFacts(probe, 'qemu-system-x86_64'),
    programFacts(probe, 'qemu-img'),
    findOvmf(probe),
    findProgram(probe, 'swtpm'),
    findProgram(probe, 'virtiofsd', HELPER_DIRS),
  ]);
  return { system, img, ovmf, swtpm, virtiofsd };
}

export async function findBridgeHelper(probe: HostProbe): Promise<{ path: string; setuid: boolean } | null> {
  const found = await findProgram(probe, 'qemu-bridge-helper', HELPER_DIRS);
  if (!found) return null;
  const node = await probe.stat(found);
  return { path: found, setuid: node !== null && (node.mode & 0o4000) !== 0 && node.uid === 0 };
}
