import type { OsFamily } from '../../src-shared/os';
import { detectGrubRescue, detectTool, TOOL_PATHS, TOOL_TEXTS } from './detect-tools';
import { capitalise, Facts, firstLine, quote, type Detector, type IsoFacts, type OsDetection } from './facts';
import type { OsinfoMedium } from './osinfo';

// Which OS an ISO installs, from what the image says about itself (volume id, system id,
// publisher) and which well-known files it holds. Pure: inspect.ts gathers the facts.
// Tools that boot by themselves (memtest86+, iPXE, GParted…) are told apart first, in detect-tools.ts.

export type { IsoFacts, OsDetection } from './facts';

/** Paths whose presence says something; inspect.ts looks each one up. */
export const PROBED_PATHS = [
  '/casper',
  '/casper/vmlinuz',
  '/isolinux',
  '/isolinux/vmlinuz',
  '/EFI/BOOT',
  '/EFI/BOOT/BOOTX64.EFI',
  '/boot/grub',
  '/boot/grub2',
  '/.disk/info',
  '/dists',
  '/pool',
  '/install.amd',
  '/install.amd/vmlinuz',
  '/live/vmlinuz',
  '/arch/boot',
  '/arch/boot/x86_64/vmlinuz-linux',
  '/apks',
  '/boot/x86_64/loader',
  '/boot/x86_64/loader/linux',
  '/media.1',
  '/images/pxeboot',
  '/images/pxeboot/vmlinuz',
  '/LiveOS',
  '/boot/kernel/kernel',
  '/boot/loader.efi',
  '/sources/install.wim',
  '/sources/install.esd',
  '/sources/install.swm',
  '/sources/boot.wim',
  '/bootmgr',
  ...TOOL_PATHS,
] as const;

/** Folders whose entries are all facts (a kernel named /boot/vmlinuz-lts, say). */
export const LISTED_FOLDERS = ['/', '/boot'] as const;

/** Small text files that name a release; read when present. */
export const PROBED_TEXTS = [
  '/.disk/info',
  '/README.diskdefines',
  '/.treeinfo',
  '/arch/version',
  '/.alpine-release',
  '/media.1/products',
  '/sources/idwbinfo.txt',
  '/bin/freebsd-version',
  '/README.TXT',
  ...TOOL_TEXTS,
] as const;

export function detectOs(input: IsoFacts): OsDetection {
  const facts = new Facts(input);
  const osinfo = unambiguousOsinfo(input.osinfo ?? []);
  const tool = detectTool(facts);
  if (tool) return tool;
  for (const detector of DETECTORS) {
    const found = detector(facts);
    if (!found) continue;
    // osinfo-db may know the release when the image itself does not say.
    if (found.version === null && osinfo && familyOf(osinfo) === found.family && osinfo.version && /\d/.test(osinfo.version)) {
      return { ...found, version: osinfo.version, evidence: [...found.evidence, `osinfo-db: ${osinfo.shortId ?? osinfo.osId}`] };
    }
    return found;
  }
  if (osinfo) {
    const evidence = [facts.volumeEvidence(), `osinfo-db: ${osinfo.shortId ?? osinfo.osId}`];
    return { family: familyOf(osinfo), name: osinfo.name, version: osinfo.version && /\d/.test(osinfo.version) ? osinfo.version : null, evidence };
  }
  // A GRUB image without a kernel is GRUB's own rescue shell; with one it is some Linux.
  return otherLinux(facts) ?? detectGrubRescue(facts) ?? { family: 'other', name: 'Other', version: null, evidence: input.volumeId ? [facts.volumeEvidence()] : [] };
}

// ---- Windows ----

const WINDOWS_VOLUMES: { pattern: RegExp; name: string; version: string | null }[] = [
  // Windows 10 (1809 and later) and 11 share these volume ids: only the files in the UDF part tell them apart.
  { pattern: /^(J_)?(CCSN?A|C?CCOMA)_(X64|A64)FREE?_/i, name: 'Windows 10 or 11', version: null },
  { pattern: /^(J_)?(CCSN?A|C?CCOMA)_X86FREE?_/i, name: 'Windows 10', version: '10' }, // 11 has no 32-bit release
  { pattern: /^(\w+_)?SSS_(X64|A64)FREE?_/i, name: 'Windows Server', version: null },
  { pattern: /^IR[3-6]_/i, name: 'Windows 8.1', version: '8.1' },
  { pattern: /^HRM_/i, name: 'Windows 8', version: '8' },
  { pattern: /^G(SP1)?RM\w*FRE\w*_DVD$/i, name: 'Windows 7', version: '7' },
  { pattern: /_(X64|X86|A64)FRE[EV]?_/i, name: 'Windows', version: null },
];

const windows: Detector = (facts) => {
  const evidence: string[] = [];
  const known = WINDOWS_VOLUMES.find(({ pattern }) => pattern.test(facts.volume));
  if (known) evidence.push(facts.volumeEvidence());
  if (/^MICROSOFT CORPORATION/i.test(facts.raw.publisher)) evidence.push(`publisher ${quote(facts.raw.publisher)}`);
  evidence.push(...facts.present('/sources/install.wim', '/sources/install.esd', '/sources/install.swm', '/bootmgr'));
  // Microsoft's ISOs keep their files in UDF; the ISO 9660 side holds only a README saying so.
  if (/UDF/.test(facts.text('/README.TXT') ?? '') && evidence.length > 0) evidence.push('/README.TXT points to a UDF file system');
  if (evidence.length === 0) return null;
  let name = known?.name ?? 'Windows';
  let version = known?.version ?? null;

  // Remastered images may show /sources/idwbinfo.txt: Windows 11 builds start at 22000.
  const build = /^\s*Build(?:Number|Lab)\s*=\s*(\d{5})/im.exec(facts.text('/sources/idwbinfo.txt') ?? '')?.[1];
  const hint = /win(?:dows)?[ _-]?(10|11)(?!\d)/i.exec(facts.volume)?.[1];
  if (name !== 'Windows Server' && build) {
    version = Number(build) >= 22000 ? '11' : Number(build) >= 10240 ? '10' : version;
    evidence.push(`/sources/idwbinfo.txt says build ${build}`);
  } else if (name === 'Windows' && hint) {
    version = hint;
    if (!known) evidence.unshift(facts.volumeEvidence());
  }
  if (version === '10' || version === '11') name = `Windows ${version}`;
  return { family: 'windows', name, version, evidence };
};

// ---- FreeBSD ----

const freebsd: Detector = (facts) => {
  const evidence: string[] = [];
  // "14_1_RELEASE_AMD64_CD", "14_1_RELEASE_AMD64_BO" (bootonly), "14_2_RC1_AMD64_DVD".
  const release = /^(\d+)_(\d+)_([A-Z0-9]+)_(AMD64|I386|ARM64|AARCH64|RISCV64|POWERPC\w*)_(CD|DVD\d?|BO|DISC\d)$/i.exec(facts.volume);
  if (release || /^FreeBSD/i.test(facts.volume)) evidence.push(facts.volumeEvidence());
  if (/^FreeBSD$/i.test(facts.raw.systemId)) evidence.push(`system id ${quote(facts.raw.systemId)}`);
  const hasKernel = facts.has('/boot/kernel/kernel');
  if (evidence.length === 0 && !(hasKernel && facts.has('/boot/loader.efi'))) return null;
  evidence.push(...facts.present('/boot/kernel/kernel'));
  let version: string | null = null;
  let stage = 'RELEASE';
  if (release) {
    version = `${release[1]}.${release[2]}`;
    stage = (release[3] ?? 'RELEASE').toUpperCase();
  } else {
    const userland = /USERLAND_VERSION="?(\d+)\.(\d+)-([A-Z0-9]+)/.exec(facts.text('/bin/freebsd-version') ?? '');
    if (userland) {
      version = `${userland[1]}.${userland[2]}`;
      stage = userland[3] ?? stage;
      evidence.push(`/bin/freebsd-version says ${version}-${stage}`);
    }
  }
  const name = version ? `FreeBSD ${version}${stage === 'RELEASE' ? '' : ` ${stage}`}` : 'FreeBSD';
  return { family: 'freebsd', name, version, evidence };
};

// ---- Ubuntu ----

// "Ubuntu 24.04.1 LTS amd64", "Ubuntu-Server 24.04.1 LTS amd64", "Kubuntu 24.04 LTS amd64".
const UBUNTU = /^(\w*ubuntu)(?:[- ](Server|MATE|Budgie|Studio|Unity|Kylin|Cinnamon))? (\d{1,2}\.\d{2}(?:\.\d+)?)/i;

const ubuntu: Detector = (facts) => {
  const evidence: string[] = [];
  let match = UBUNTU.exec(facts.volume);
  if (match) evidence.push(facts.volumeEvidence());
  const info = facts.text('/.disk/info');
  if (!match && info) {
    match = UBUNTU.exec(info);
    if (match) evidence.push(`/.disk/info says ${quote(firstLine(info))}`);
  }
  const defines = facts.text('/README.diskdefines');
  if (!match && defines) {
    // Older images: "#define DISKNAME  Ubuntu 14.04.6 LTS "Trusty Tahr" - Release amd64".
    match = UBUNTU.exec(/#define DISKNAME\s+(.*)/.exec(defines)?.[1] ?? '');
    if (match) evidence.push('/README.diskdefines names it');
  }
  if (!match) return null;
  evidence.push(...facts.present('/casper'));
  const [, base = 'Ubuntu', flavour, version = ''] = match;
  const release = /^\d+\.\d+/.exec(version)?.[0] ?? version;
  const product = base.toLowerCase() === 'ubuntu' ? 'Ubuntu' : capitalise(base);
  return { family: 'ubuntu', name: `${product}${flavour ? ` ${flavour}` : ''} ${release}`, version, evidence };
};

// ---- Debian ----

const debian: Detector = (facts) => {
  const evidence: string[] = [];
  let version: string | null = null;
  let codename: string | null = null;
  // "Debian 12.7.0 amd64 n" (netinst), "Debian 12.7.0 amd64 1" (DVD 1), "d-live 12.7.0 gn amd64" (live).
  const volume = /^(?:Debian|d-live) (\d+(?:\.\d+)*|testing|unstable|sid) /i.exec(facts.volume);
  if (volume) {
    evidence.push(facts.volumeEvidence());
    version = volume[1] ?? null;
  }
  const info = facts.text('/.disk/info');
  const said = info ? /^Debian GNU\/Linux (\d+(?:\.\d+)*|testing|unstable|sid)?\s*(?:"([^"]*)")?/i.exec(info) : null;
  if (said && info) {
    evidence.push(`/.disk/info says ${quote(firstLine(info))}`);
    version ??= said[1] ?? null;
    codename = said[2] ?? null;
  }
  if (evidence.length === 0) {
    // The installer's own folder is Debian's alone; /dists and /pool are shared with Ubuntu.
    if (!facts.has('/install.amd')) return null;
    evidence.push(...facts.present('/install.amd', '/dists'));
  } else {
    evidence.push(...facts.present('/dists', '/install.amd', '/live/vmlinuz'));
  }
  if (version && !/^\d/.test(version)) return { family: 'debian', name: `Debian ${version.toLowerCase()}`, version: null, evidence };
  const major = version?.split('.')[0];
  return { family: 'debian', name: major ? `Debian ${major}` : codename ? `Debian ${capitalise(codename)}` : 'Debian', version, evidence };
};

// ---- Fedora ----

const fedora: Detector = (facts) => {
  const evidence: string[] = [];
  let version: string | null = null;
  if (/^Fedora[-_ ]/i.test(facts.volume)) {
    evidence.push(facts.volumeEvidence());
    // "Fedora-WS-Live-41-1-4", "Fedora-S-dvd-x86_64-41": the first 2-3 digit part that is not the architecture.
    const parts = facts.volume.replace(/x86_64|aarch64|ppc64le|s390x|i386/gi, '').split(/[-_ ]/);
    version = parts.find((part) => /^\d{2,3}$/.test(part)) ?? null;
  }
  const tree = treeinfo(facts.text('/.treeinfo'));
  if (tree && /^Fedora/i.test(tree.name)) {
    evidence.push(`/.treeinfo says ${quote(`${tree.name} ${tree.version ?? ''}`.trim())}`);
    version ??= tree.version;
  }
  if (evidence.length === 0) return null;
  evidence.push(...facts.present('/images/pxeboot', '/LiveOS'));
  return { family: 'fedora', name: version ? `Fedora ${version}` : 'Fedora', version, evidence };
};

// ---- Arch ----

const arch: Detector = (facts) => {
  const evidence: string[] = [];
  const volume = /^ARCH_(\d{4})(\d{2})$/i.exec(facts.volume);
  if (volume) evidence.push(facts.volumeEvidence());
  if (/ARCH ?LINUX/i.test(facts.raw.publisher)) evidence.push(`publisher ${quote(facts.raw.publisher)}`);
  const official = evidence.length > 0;
  evidence.push(...facts.present('/arch/boot'));
  if (evidence.length === 0) return null;
  const stated = facts.text('/arch/version')?.trim();
  const version = stated && /^\d{4}\.\d{2}\.\d{2}$/.test(stated) ? stated : volume ? `${volume[1]}.${volume[2]}` : null;
  // Derivatives (EndeavourOS, say) keep Arch's /arch/boot but use their own volume ids.
  return { family: 'arch', name: official ? 'Arch Linux' : 'Arch-based Linux', version, evidence };
};

// ---- Alpine ----

const alpine: Detector = (facts) => {
  const evidence: string[] = [];
  let version: string | null = null;
  // "alpine-std 3.20.3 x86_64", "alpine-virt 3.20.3 x86_64", "alpine-ext 3.20.3 x86_64".
  const volume = /^alpine-\w+ (\d+\.\d+(?:\.\d+)?)\b/i.exec(facts.volume);
  if (volume) {
    evidence.push(facts.volumeEvidence());
    version = volume[1] ?? null;
  }
  const release = facts.text('/.alpine-release');
  if (release) {
    evidence.push('has /.alpine-release');
    version ??= /(\d+\.\d+(?:\.\d+)?)/.exec(release)?.[1] ?? null;
  }
  if (evidence.length === 0 && !facts.has('/apks')) return null;
  evidence.push(...facts.present('/apks'));
  const series = version ? /^\d+\.\d+/.exec(version)?.[0] : null;
  return { family: 'alpine', name: series ? `Alpine Linux ${series}` : 'Alpine Linux', version, evidence };
};

// ---- openSUSE ----

const opensuse: Detector = (facts) => {
  const evidence: string[] = [];
  let name: string | null = null;
  let version: string | null = null;
  // "openSUSE-Tumbleweed-DVD-x86_64", "openSUSE-Leap-15.6-DVD-x86_64…", "SLE-15-SP6-Full-x86_64…".
  const volume = /^openSUSE-(Tumbleweed|Slowroll|MicroOS|Leap-Micro-(\d+\.\d+)|Leap-(\d+\.\d+))/i.exec(facts.volume);
  const sle = /^SLE-(\d+)(?:-SP(\d+))?-/i.exec(facts.volume);
  if (volume) {
    evidence.push(facts.volumeEvidence());
    version = volume[2] ?? volume[3] ?? null;
    const product = (volume[1] ?? '').replace(/-(\d+\.\d+)$/, '').replace(/-/g, ' ');
    name = `openSUSE ${product}${version ? ` ${version}` : ''}`;
  } else if (sle) {
    evidence.push(facts.volumeEvidence());
    version = `${sle[1]}.${sle[2] ?? 0}`;
    name = `SUSE Linux Enterprise ${sle[1]}${sle[2] ? ` SP${sle[2]}` : ''}`;
  }
  const products = facts.text('/media.1/products');
  if (products && /openSUSE|SLE/i.test(products)) evidence.push(`/media.1/products names ${quote(firstLine(products))}`);
  else if (/SUSE/i.test(facts.raw.publisher) && facts.has('/boot/x86_64/loader')) evidence.push(`publisher ${quote(facts.raw.publisher)}`);
  if (evidence.length === 0) return null;
  evidence.push(...facts.present('/boot/x86_64/loader'));
  return { family: 'opensuse', name: name ?? 'openSUSE', version, evidence };
};

const DETECTORS: Detector[] = [windows, freebsd, ubuntu, debian, fedora, arch, alpine, opensuse];

// ---- anything else with a Linux kernel ----

const KERNEL_PATHS = ['/casper/vmlinuz', '/live/vmlinuz', '/install.amd/vmlinuz', '/images/pxeboot/vmlinuz', '/isolinux/vmlinuz', '/boot/x86_64/loader/linux', '/arch/boot/x86_64/vmlinuz-linux'];

function otherLinux(facts: Facts): OsDetection | null {
  const evidence: string[] = [];
  const kernel = KERNEL_PATHS.find((path) => facts.has(path)) ?? [...facts.raw.paths].find((path) => /^\/boot\/(vmlinuz|bzimage)[^/]*$/.test(path));
  if (kernel) evidence.push(`has a Linux kernel at ${kernel}`);
  evidence.push(...facts.present('/casper', '/isolinux', '/boot/grub'));
  let name = 'Other Linux';
  let version: string | null = null;
  // Ubuntu derivatives (Linux Mint, Pop!_OS) say who they are in /.disk/info; RHEL's in /.treeinfo.
  const info = facts.text('/.disk/info');
  const tree = treeinfo(facts.text('/.treeinfo'));
  if (info && firstLine(info)) {
    name = firstLine(info).split(/\s+"|\s+-\s+/)[0]?.trim() || name;
    version = /\b(\d+(?:\.\d+)*)\b/.exec(name)?.[1] ?? null;
    evidence.push(`/.disk/info says ${quote(firstLine(info))}`);
  } else if (tree) {
    name = tree.version && !tree.name.includes(tree.version) ? `${tree.name} ${tree.version}` : tree.name;
    version = tree.version;
    evidence.push(`/.treeinfo says ${quote(name)}`);
  } else if (!kernel && !facts.has('/isolinux') && !facts.has('/casper')) {
    return null;
  }
  return { family: 'other-linux', name, version, evidence };
}

// ---- helpers ----

/** The release in a productmd .treeinfo: [release] name/version, or the older [general] family/version. */
function treeinfo(text: string | null): { name: string; version: string | null } | null {
  if (!text) return null;
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const section = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (section) {
      current = new Map();
      sections.set((section[1] ?? '').toLowerCase(), current);
      continue;
    }
    const pair = /^\s*([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (pair && current) current.set((pair[1] ?? '').toLowerCase(), pair[2] ?? '');
  }
  const release = sections.get('release');
  const general = sections.get('general');
  const name = release?.get('name') ?? general?.get('family') ?? general?.get('name');
  if (!name) return null;
  return { name, version: release?.get('version') ?? general?.get('version') ?? null };
}

/** The single OS that osinfo-db matched, or null when none or several (Windows 10 and 11 share ids). */
function unambiguousOsinfo(media: readonly OsinfoMedium[]): OsinfoMedium | null {
  const ids = new Set(media.map((medium) => medium.osId));
  return ids.size === 1 ? (media[0] ?? null) : null;
}

const FAMILY_BY_DISTRO: Record<string, OsFamily> = {
  ubuntu: 'ubuntu',
  debian: 'debian',
  fedora: 'fedora',
  archlinux: 'arch',
  alpinelinux: 'alpine',
  opensuse: 'opensuse',
  win: 'windows',
  freebsd: 'freebsd',
};

function familyOf(medium: OsinfoMedium): OsFamily {
  const family = FAMILY_BY_DISTRO[medium.distro ?? ''];
  if (family) return family;
  if (medium.family === 'linux') return 'other-linux';
  if (medium.family === 'winnt' || medium.family === 'win9x') return 'windows';
  if (medium.family === 'freebsd') return 'freebsd';
  return 'other';
}
