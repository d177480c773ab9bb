import { describe, expect, it } from 'vitest';
import { detectOs, type IsoFacts } from '../../../src-main/media/detect';
import type { OsinfoMedium } from '../../../src-main/media/osinfo';
import { defaultsFor, OsDefaults, type OsFamily } from '../../../src-shared/os';

// detectOs is pure: each row is what inspect.ts would gather from a real release's image
// (its volume id and labels, which well-known paths exist, its small release files).

interface Image {
  volumeId: string;
  systemId?: string;
  publisher?: string;
  applicationId?: string;
  paths?: string[];
  texts?: Record<string, string>;
  osinfo?: OsinfoMedium[];
}

/** Facts as inspect.ts hands them over: paths and text keys absolute and lower-case. */
function factsOf(image: Image): IsoFacts {
  const texts = Object.fromEntries(Object.entries(image.texts ?? {}).map(([path, text]) => [path.toLowerCase(), text]));
  const paths = new Set([...(image.paths ?? []), ...Object.keys(image.texts ?? {})].map((path) => path.toLowerCase()));
  return {
    volumeId: image.volumeId,
    systemId: image.systemId ?? '',
    publisher: image.publisher ?? '',
    applicationId: image.applicationId ?? '',
    paths,
    texts,
    ...(image.osinfo ? { osinfo: image.osinfo } : {}),
  };
}

interface Row {
  release: string;
  image: Image;
  family: OsFamily;
  name: string;
  version: string | null;
  /** Each of these must appear in the evidence (strings, or matchers for long quoted lines). */
  evidence: unknown[];
  /** The settings that matter most for this OS to install at all. */
  defaults: Partial<OsDefaults>;
}

const LINUX_DEFAULTS = { firmware: 'bios', tpm: false, diskBus: 'virtio-blk', nicModel: 'virtio-net' } as const;
const WINDOWS_README = 'This disc contains a "UDF" file system and requires an operating system\nthat supports the ISO-13346 "UDF" file system specification.\n';

const ROWS: Row[] = [
  {
    release: 'Debian 12.7 netinst',
    image: {
      volumeId: 'Debian 12.7.0 amd64 n',
      systemId: 'LINUX',
      paths: ['/install.amd', '/install.amd/vmlinuz', '/dists', '/pool', '/isolinux', '/boot/grub', '/EFI/BOOT', '/EFI/BOOT/BOOTX64.EFI'],
      texts: { '/.disk/info': 'Debian GNU/Linux 12.7.0 "Bookworm" - Official amd64 NETINST with firmware 20240831-10:38' },
    },
    family: 'debian',
    name: 'Debian 12',
    version: '12.7.0',
    evidence: ['volume id "Debian 12.7.0 amd64 n"', expect.stringMatching(/^\/\.disk\/info says "Debian GNU\/Linux 12\.7\.0 "Bookworm"/), 'has /install.amd', 'has /dists'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 2048 },
  },
  {
    release: 'Debian testing, named only by /.disk/info and its installer folder',
    image: {
      volumeId: 'CDROM',
      paths: ['/install.amd', '/dists', '/pool'],
      texts: { '/.disk/info': 'Debian GNU/Linux testing "Trixie" - Official Snapshot amd64 NETINST 20241104-05:41' },
    },
    family: 'debian',
    name: 'Debian testing',
    version: null,
    evidence: ['has /install.amd'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'Ubuntu 24.04.1 desktop',
    image: {
      volumeId: 'Ubuntu 24.04.1 LTS amd64',
      paths: ['/casper', '/casper/vmlinuz', '/boot/grub', '/dists', '/pool', '/EFI/BOOT/BOOTX64.EFI'],
      texts: { '/.disk/info': 'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827.1)' },
    },
    family: 'ubuntu',
    name: 'Ubuntu 24.04',
    version: '24.04.1',
    evidence: ['volume id "Ubuntu 24.04.1 LTS amd64"', 'has /casper'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 4096 },
  },
  {
    release: 'Kubuntu 24.04, its volume id cut to 32 characters, named by /.disk/info',
    image: {
      volumeId: 'Kubuntu 24.04.1 LTS amd64',
      paths: ['/casper', '/casper/vmlinuz'],
      texts: { '/.disk/info': 'Kubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)' },
    },
    family: 'ubuntu',
    name: 'Kubuntu 24.04',
    version: '24.04.1',
    evidence: ['has /casper'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'Fedora Workstation 41 live',
    image: {
      volumeId: 'Fedora-WS-Live-41-1-4',
      paths: ['/LiveOS', '/images/pxeboot', '/images/pxeboot/vmlinuz', '/boot/grub2', '/EFI/BOOT', '/EFI/BOOT/BOOTX64.EFI'],
    },
    family: 'fedora',
    name: 'Fedora 41',
    version: '41',
    evidence: ['volume id "Fedora-WS-Live-41-1-4"', 'has /LiveOS', 'has /images/pxeboot'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 4096 },
  },
  {
    release: 'Fedora Server 41 DVD, whose volume id carries the architecture',
    image: {
      volumeId: 'Fedora-S-dvd-x86_64-41',
      paths: ['/images/pxeboot', '/images/pxeboot/vmlinuz'],
      texts: { '/.treeinfo': '[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n[release]\nname = Fedora\nshort = Fedora\nversion = 41\n' },
    },
    family: 'fedora',
    name: 'Fedora 41',
    version: '41',
    evidence: ['/.treeinfo says "Fedora 41"'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'Arch Linux 2024.11.01',
    image: {
      volumeId: 'ARCH_202411',
      publisher: 'ARCH LINUX <HTTPS://ARCHLINUX.ORG>',
      applicationId: 'ARCH LINUX LIVE/RESCUE DVD',
      paths: ['/arch/boot', '/arch/boot/x86_64/vmlinuz-linux', '/boot/grub', '/EFI/BOOT/BOOTX64.EFI'],
      texts: { '/arch/version': '2024.11.01\n' },
    },
    family: 'arch',
    name: 'Arch Linux',
    version: '2024.11.01',
    evidence: ['volume id "ARCH_202411"', 'has /arch/boot'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 2048 },
  },
  {
    release: 'an Arch derivative (EndeavourOS) that keeps /arch/boot',
    image: { volumeId: 'EOS_202411', paths: ['/arch/boot', '/arch/boot/x86_64/vmlinuz-linux'] },
    family: 'arch',
    name: 'Arch-based Linux',
    version: null,
    evidence: ['has /arch/boot'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'Alpine Linux 3.20.3 standard',
    image: {
      volumeId: 'alpine-std 3.20.3 x86_64',
      paths: ['/apks', '/boot/vmlinuz-lts', '/boot/grub', '/EFI/BOOT/BOOTX64.EFI'],
      texts: { '/.alpine-release': 'alpine-standard-3.20.3 240906\n' },
    },
    family: 'alpine',
    name: 'Alpine Linux 3.20',
    version: '3.20.3',
    evidence: ['volume id "alpine-std 3.20.3 x86_64"', 'has /.alpine-release', 'has /apks'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 512, cpus: 1 },
  },
  {
    release: 'openSUSE Tumbleweed DVD',
    image: {
      volumeId: 'openSUSE-Tumbleweed-DVD-x86_64',
      publisher: 'SUSE LLC <https://www.suse.com/>',
      paths: ['/media.1', '/boot/x86_64/loader', '/boot/x86_64/loader/linux', '/EFI/BOOT/BOOTX64.EFI'],
      texts: { '/media.1/products': '/ openSUSE 20241105-0\n' },
    },
    family: 'opensuse',
    name: 'openSUSE Tumbleweed',
    version: null,
    evidence: ['volume id "openSUSE-Tumbleweed-DVD-x86_64"', '/media.1/products names "/ openSUSE 20241105-0"', 'has /boot/x86_64/loader'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 4096 },
  },
  {
    release: 'openSUSE Leap 15.6',
    image: { volumeId: 'openSUSE-Leap-15.6-DVD-x86_64710', paths: ['/boot/x86_64/loader'] },
    family: 'opensuse',
    name: 'openSUSE Leap 15.6',
    version: '15.6',
    evidence: ['volume id "openSUSE-Leap-15.6-DVD-x86_64710"'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: "Windows 11 or 10 from Microsoft (the ISO 9660 side holds only a README; the rest is UDF)",
    image: { volumeId: 'CCCOMA_X64FRE_EN-US_DV9', publisher: 'MICROSOFT CORPORATION', texts: { '/README.TXT': WINDOWS_README } },
    family: 'windows',
    name: 'Windows 10 or 11',
    version: null,
    evidence: ['volume id "CCCOMA_X64FRE_EN-US_DV9"', 'publisher "MICROSOFT CORPORATION"', '/README.TXT points to a UDF file system'],
    // Unknown which of the two: the settings Windows 11 needs, which Windows 10 accepts.
    defaults: { firmware: 'uefi', tpm: true, diskBus: 'sata', nicModel: 'e1000', memoryMiB: 4096 },
  },
  {
    release: 'Windows 11 23H2, remastered with its files visible',
    image: {
      volumeId: 'CCCOMA_X64FRE_EN-US_DV9',
      paths: ['/sources/install.wim', '/sources/boot.wim', '/bootmgr', '/EFI/BOOT/BOOTX64.EFI'],
      texts: { '/sources/idwbinfo.txt': '[BUILDINFO]\r\nBuildArch=amd64\r\nBuildBranch=ni_release\r\nBuildNumber=22631\r\nBuildQfe=2428\r\n' },
    },
    family: 'windows',
    name: 'Windows 11',
    version: '11',
    evidence: ['has /sources/install.wim', 'has /bootmgr', '/sources/idwbinfo.txt says build 22631'],
    defaults: { firmware: 'uefi', tpm: true, diskBus: 'sata', nicModel: 'e1000' },
  },
  {
    release: 'Windows 10 22H2, remastered',
    image: {
      volumeId: 'CCCOMA_X64FRE_EN-US_DV9',
      paths: ['/sources/install.esd', '/bootmgr'],
      texts: { '/sources/idwbinfo.txt': '[BUILDINFO]\r\nBuildArch=amd64\r\nBuildNumber=19041\r\n' },
    },
    family: 'windows',
    name: 'Windows 10',
    version: '10',
    evidence: ['has /sources/install.esd', '/sources/idwbinfo.txt says build 19041'],
    defaults: { firmware: 'bios', tpm: false, diskBus: 'sata', nicModel: 'e1000' },
  },
  {
    release: 'Windows 10 32-bit (Windows 11 has none)',
    image: { volumeId: 'CCCOMA_X86FRE_EN-US_DV9', paths: ['/bootmgr'] },
    family: 'windows',
    name: 'Windows 10',
    version: '10',
    evidence: ['volume id "CCCOMA_X86FRE_EN-US_DV9"'],
    defaults: { firmware: 'bios', tpm: false, diskBus: 'sata' },
  },
  {
    release: 'Windows 7 SP1',
    image: { volumeId: 'GRMCULFRER_EN_DVD', paths: ['/sources/install.wim', '/bootmgr'] },
    family: 'windows',
    name: 'Windows 7',
    version: '7',
    evidence: ['volume id "GRMCULFRER_EN_DVD"'],
    defaults: { firmware: 'bios', tpm: false, diskBus: 'sata', memoryMiB: 2048 },
  },
  {
    release: 'FreeBSD 14.1 disc 1',
    image: {
      volumeId: '14_1_RELEASE_AMD64_CD',
      paths: ['/boot/kernel/kernel', '/boot/loader.efi'],
      texts: { '/bin/freebsd-version': '#!/bin/sh\nUSERLAND_VERSION="14.1-RELEASE"\n' },
    },
    family: 'freebsd',
    name: 'FreeBSD 14.1',
    version: '14.1',
    evidence: ['volume id "14_1_RELEASE_AMD64_CD"', 'has /boot/kernel/kernel'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 2048 },
  },
  {
    release: 'FreeBSD 14.2 RC1, bootonly',
    image: { volumeId: '14_2_RC1_AMD64_BO', paths: ['/boot/kernel/kernel'] },
    family: 'freebsd',
    name: 'FreeBSD 14.2 RC1',
    version: '14.2',
    evidence: ['volume id "14_2_RC1_AMD64_BO"'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'a FreeBSD image with a volume id of its own, named by /bin/freebsd-version',
    image: {
      volumeId: 'MYBSD',
      paths: ['/boot/kernel/kernel', '/boot/loader.efi'],
      texts: { '/bin/freebsd-version': 'USERLAND_VERSION="14.1-RELEASE-p5"\n' },
    },
    family: 'freebsd',
    name: 'FreeBSD 14.1',
    version: '14.1',
    evidence: ['/bin/freebsd-version says 14.1-RELEASE'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'Linux Mint 22, an Ubuntu derivative named by /.disk/info',
    image: {
      volumeId: 'Linux Mint 22 Cinnamon 64-bit',
      paths: ['/casper', '/casper/vmlinuz', '/boot/grub'],
      texts: { '/.disk/info': 'Linux Mint 22 "Wilma" - Release amd64 20240624' },
    },
    family: 'other-linux',
    name: 'Linux Mint 22',
    version: '22',
    evidence: ['has a Linux kernel at /casper/vmlinuz', 'has /casper'],
    defaults: LINUX_DEFAULTS,
  },
  {
    release: 'a generic Linux image with GRUB and a kernel',
    image: { volumeId: 'MYLINUX', paths: ['/boot/grub', '/boot/vmlinuz-6.1.0-26-amd64', '/boot/initrd.img-6.1.0-26-amd64'] },
    family: 'other-linux',
    name: 'Other Linux',
    version: null,
    evidence: ['has a Linux kernel at /boot/vmlinuz-6.1.0-26-amd64', 'has /boot/grub'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 2048 },
  },
  {
    release: 'nothing recognisable (a disc of photos)',
    image: { volumeId: 'HOLIDAY_2019', paths: ['/dcim', '/dcim/100canon'] },
    family: 'other',
    name: 'Other',
    version: null,
    evidence: ['volume id "HOLIDAY_2019"'],
    defaults: { ...LINUX_DEFAULTS, memoryMiB: 2048 },
  },
];

// Tools boot by themselves and work in memory: no OS to install, so no disk, little memory, one CPU.
const TOOL_DEFAULTS = { cpus: 1, diskGiB: 0, firmware: 'bios', tpm: false } as const;

const TOOL_ROWS: Row[] = [
  {
    release: "memtest86+ 6.10 (Debian's /usr/lib/memtest86+/memtest86+x64.iso)",
    image: { volumeId: 'MT86PLUS_64', paths: ['/EFI', '/EFI/BOOT', '/EFI/BOOT/BOOTX64.EFI', '/boot', '/boot/floppy.img', '/boot.catalog'] },
    family: 'tool',
    name: 'Memtest86+',
    version: null,
    evidence: ['volume id "MT86PLUS_64"'],
    defaults: TOOL_DEFAULTS,
  },
  {
    release: "iPXE (Debian's /usr/lib/ipxe/ipxe.iso)",
    image: { volumeId: 'ISOIMAGE', publisher: 'HTTP://IPXE.ORG/', applicationId: 'IPXE  - OPEN SOURCE NETWORK BOOT FIRMWARE', paths: ['/boot.cat', '/efi.img', '/ipxe.krn', '/isolinux.bin', '/isolinux.cfg', '/ldlinux.c32'] },
    family: 'tool',
    name: 'iPXE',
    version: null,
    evidence: ['publisher "HTTP://IPXE.ORG/"', 'has /ipxe.krn'],
    defaults: TOOL_DEFAULTS,
  },
  {
    release: 'GRUB rescue (grub-mkrescue with nothing else)',
    image: { volumeId: 'ISOIMAGE', paths: ['/System', '/boot', '/boot/grub', '/boot/grub/i386-pc', '/boot/grub/x86_64-efi', '/boot.catalog', '/efi.img', '/mach_kernel'] },
    family: 'tool',
    name: 'GRUB rescue',
    version: null,
    evidence: ['has /boot/grub/i386-pc', 'has /boot/grub/x86_64-efi', 'no OS kernel'],
    defaults: TOOL_DEFAULTS,
  },
  {
    release: 'GParted Live 1.6.0-3',
    image: {
      volumeId: 'GParted-live',
      publisher: 'GParted https://gparted.org',
      applicationId: 'GParted Live CD',
      paths: ['/live', '/live/vmlinuz', '/syslinux', '/EFI', '/boot/grub', '/utils', '/GPL'],
      texts: { '/GParted-Live-Version': 'gparted-live-1.6.0-3-amd64\nThis GParted Live was created by:\ncreate-gparted-live -d sid -b sid -k amd64\n' },
    },
    family: 'tool',
    name: 'GParted Live',
    version: '1.6.0-3',
    evidence: ['volume id "GParted-live"', '/GParted-Live-Version says "gparted-live-1.6.0-3-amd64"'],
    defaults: TOOL_DEFAULTS,
  },
  {
    release: 'Clonezilla Live 3.1.2-22, whose /.disk/info names the Debian it is built on',
    image: {
      volumeId: '3.1.2-22-amd64',
      publisher: 'DRBL/Clonezilla https://drbl.org https://clonezilla.org',
      applicationId: 'Clonezilla live CD',
      paths: ['/live', '/live/vmlinuz', '/syslinux', '/EFI', '/boot/grub', '/utils', '/GPL'],
      texts: {
        '/Clonezilla-Live-Version': 'clonezilla-live-3.1.2-22-amd64\nThis Clonezilla live iso file was created by this command:\nocs-iso -j -s -i 3.1.2-22-amd64\n',
        '/.disk/info': 'Debian GNU/Linux 12 "Bookworm" - Official Snapshot amd64 LIVE Binary 20240126',
      },
    },
    family: 'tool',
    name: 'Clonezilla Live',
    version: '3.1.2-22',
    evidence: ['application id "Clonezilla live CD"', '/Clonezilla-Live-Version says "clonezilla-live-3.1.2-22-amd64"'],
    defaults: TOOL_DEFAULTS,
  },
  {
    release: 'SystemRescue 11.03, Arch-based with its own folder',
    image: {
      volumeId: 'RESCUE1103',
      publisher: 'SystemRescue <http://www.system-rescue.org>',
      applicationId: 'SystemRescue',
      paths: ['/sysresccd', '/isolinux', '/EFI', '/EFI/BOOT', '/EFI/BOOT/BOOTX64.EFI', '/boot/grub', '/autorun'],
    },
    family: 'tool',
    name: 'SystemRescue',
    version: '11.03',
    evidence: ['volume id "RESCUE1103"', 'has /sysresccd'],
    defaults: TOOL_DEFAULTS,
  },
];

describe('detectOs on tool images', () => {
  it.each(TOOL_ROWS)('$release', (row) => {
    const found = detectOs(factsOf(row.image));
    expect({ family: found.family, name: found.name, version: found.version }).toEqual({ family: row.family, name: row.name, version: row.version });
    expect(found.evidence).toEqual(expect.arrayContaining(row.evidence));
    const defaults = defaultsFor(found.family, found.version);
    expect(OsDefaults.parse(defaults)).toEqual(defaults);
    expect(defaults).toMatchObject(row.defaults);
    expect(defaults.memoryMiB).toBeLessThanOrEqual(1024);
  });

  it('takes a GRUB image with a Linux kernel for Linux, not for GRUB rescue (the test guest is one)', () => {
    const found = detectOs(factsOf({ volumeId: 'HANGAR_TEST', paths: ['/System', '/boot', '/boot/grub', '/boot/grub/i386-pc', '/boot/grub/x86_64-efi', '/boot/vmlinuz', '/boot/initrd.gz', '/mach_kernel'] }));
    expect(found.family).toBe('other-linux');
  });
});

describe('detectOs on the facts of real releases', () => {
  it.each(ROWS)('$release', (row) => {
    const found = detectOs(factsOf(row.image));
    expect({ family: found.family, name: found.name, version: found.version }).toEqual({ family: row.family, name: row.name, version: row.version });
    expect(found.evidence).toEqual(expect.arrayContaining(row.evidence));

    const defaults = defaultsFor(found.family, found.version);
    expect(OsDefaults.parse(defaults)).toEqual(defaults);
    expect(defaults).toMatchObject(row.defaults);
    // Enough to install anything on the list, without asking for a workstation.
    expect(defaults.memoryMiB).toBeGreaterThanOrEqual(512);
    expect(defaults.memoryMiB).toBeLessThanOrEqual(8192);
    expect(defaults.diskGiB).toBeGreaterThanOrEqual(8);
  });

  it('finds nothing, and no evidence, in an image without a volume id or files', () => {
    expect(detectOs(factsOf({ volumeId: '' }))).toEqual({ family: 'other', name: 'Other', version: null, evidence: [] });
  });

  it('does not take an Ubuntu image for Debian although both have /dists and /pool', () => {
    const found = detectOs(factsOf({ volumeId: 'Ubuntu-Server 24.04.1 LTS amd64', paths: ['/casper', '/dists', '/pool'] }));
    expect(found).toMatchObject({ family: 'ubuntu', name: 'Ubuntu Server 24.04', version: '24.04.1' });
  });

  it('does not call an image Windows for a stray file of another name', () => {
    expect(detectOs(factsOf({ volumeId: 'MYLINUX', paths: ['/sources', '/boot/grub', '/boot/vmlinuz'] })).family).toBe('other-linux');
  });
});

const ROCKY_94: OsinfoMedium = {
  osId: 'http://rockylinux.org/rocky/9.4',
  shortId: 'rocky9.4',
  name: 'Rocky Linux 9.4',
  version: '9.4',
  distro: 'rocky',
  family: 'linux',
  volumeId: /^Rocky-9-4-x86_64-/,
  systemId: null,
  publisher: null,
  applicationId: null,
};

describe('detectOs with osinfo-db', () => {
  it('names a release Hangar has no rule for', () => {
    const found = detectOs(factsOf({ volumeId: 'Rocky-9-4-x86_64-dvd', osinfo: [ROCKY_94] }));
    expect(found).toEqual({ family: 'other-linux', name: 'Rocky Linux 9.4', version: '9.4', evidence: ['volume id "Rocky-9-4-x86_64-dvd"', 'osinfo-db: rocky9.4'] });
  });

  it('adds the release when Hangar knows the family but the image does not say the version', () => {
    const tumbleweed: OsinfoMedium = { ...ROCKY_94, osId: 'http://opensuse.org/opensuse/15.6', shortId: 'opensuse15.6', name: 'openSUSE Leap 15.6', version: '15.6', distro: 'opensuse' };
    const found = detectOs(factsOf({ volumeId: 'openSUSE-Tumbleweed-DVD-x86_64', paths: ['/boot/x86_64/loader'], osinfo: [tumbleweed] }));
    expect(found).toMatchObject({ family: 'opensuse', version: '15.6' });
    expect(found.evidence).toContain('osinfo-db: opensuse15.6');
  });

  it('ignores osinfo-db when it matches several OSes (Windows 10 and 11 share volume ids)', () => {
    const win10: OsinfoMedium = { ...ROCKY_94, osId: 'http://microsoft.com/win/10', shortId: 'win10', name: 'Microsoft Windows 10', version: '10.0', distro: 'win', family: 'winnt' };
    const win11: OsinfoMedium = { ...win10, osId: 'http://microsoft.com/win/11', shortId: 'win11', name: 'Microsoft Windows 11', version: '11' };
    const found = detectOs(factsOf({ volumeId: 'CCCOMA_X64FRE_EN-US_DV9', osinfo: [win10, win11] }));
    expect(found).toMatchObject({ family: 'windows', name: 'Windows 10 or 11', version: null });
  });

  it('keeps the release the image states over osinfo-db', () => {
    const wrong: OsinfoMedium = { ...ROCKY_94, osId: 'http://debian.org/debian/11', shortId: 'debian11', name: 'Debian 11', version: '11', distro: 'debian' };
    const found = detectOs(factsOf({ volumeId: 'Debian 12.7.0 amd64 n', paths: ['/install.amd'], osinfo: [wrong] }));
    expect(found).toMatchObject({ family: 'debian', version: '12.7.0' });
  });
});
