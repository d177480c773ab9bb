import type { HostProbe } from './probe';

// Fix commands are only useful when they are the exact command for this distribution.

export type PackageManager = 'apt' | 'dnf' | 'pacman' | 'zypper';

export interface Distro {
  id: string;
  name: string;
  packageManager: PackageManager | null;
}

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key, raw] = match as unknown as [string, string, string];
    fields[key] = raw.replace(/^(["'])(.*)\1$/, '$2');
  }
  return fields;
}

const MANAGER_BY_ID: Record<string, PackageManager> = {
  debian: 'apt',
  ubuntu: 'apt',
  linuxmint: 'apt',
  pop: 'apt',
  elementary: 'apt',
  fedora: 'dnf',
  rhel: 'dnf',
  centos: 'dnf',
  rocky: 'dnf',
  almalinux: 'dnf',
  arch: 'pacman',
  manjaro: 'pacman',
  endeavouros: 'pacman',
  opensuse: 'zypper',
  'opensuse-leap': 'zypper',
  'opensuse-tumbleweed': 'zypper',
  suse: 'zypper',
};

export function distroFromOsRelease(fields: Record<string, string>): Distro {
  const id = fields.ID ?? 'linux';
  const candidates = [id, ...(fields.ID_LIKE ?? '').split(/\s+/).filter(Boolean)];
  const packageManager = candidates.map((candidate) => MANAGER_BY_ID[candidate]).find(Boolean) ?? null;
  return { id, name: fields.PRETTY_NAME ?? fields.NAME ?? id, packageManager };
}

export async function readDistro(probe: HostProbe): Promise<Distro> {
  const text = (await probe.readText('/etc/os-release')) ?? (await probe.readText('/usr/lib/os-release'));
  return distroFromOsRelease(text ? parseOsRelease(text) : {});
}

/** What Hangar may ask the user to install, by package manager. */
export type PackageKey = 'qemuSystem' | 'qemuImg' | 'ovmf' | 'swtpm' | 'virtiofsd' | 'bridgeHelper';

const PACKAGES: Record<PackageKey, Record<PackageManager, string>> = {
  qemuSystem: { apt: 'qemu-system-x86', dnf: 'qemu-system-x86-core', pacman: 'qemu-system-x86', zypper: 'qemu-x86' },
  qemuImg: { apt: 'qemu-utils', dnf: 'qemu-img', pacman: 'qemu-img', zypper: 'qemu-tools' },
  ovmf: { apt: 'ovmf', dnf: 'edk2-ovmf', pacman: 'edk2-ovmf', zypper: 'qemu-ovmf-x86_64' },
  swtpm: { apt: 'swtpm swtpm-tools', dnf: 'swtpm swtpm-tools', pacman: 'swtpm', zypper: 'swtpm' },
  virtiofsd: { apt: 'virtiofsd', dnf: 'virtiofsd', pacman: 'virtiofsd', zypper: 'virtiofsd' },
  bridgeHelper: { apt: 'qemu-system-common', dnf: 'qemu-common', pacman: 'qemu-common', zypper: 'qemu' },
};

const INSTALL_PREFIX: Record<PackageManager, string> = {
  apt: 'sudo apt install',
  dnf: 'sudo dnf install',
  pacman: 'sudo pacman -S --needed',
  zypper: 'sudo zypper install',
};

/** The install command for a package on this distribution, or undefined when we do not know it. */
export function installCommand(distro: Distro, key: PackageKey): string | undefined {
  if (!distro.packageManager) return undefined;
  return `${INSTALL_PREFIX[distro.packageManager]} ${PACKAGES[key][distro.packageManager]}`;
}
