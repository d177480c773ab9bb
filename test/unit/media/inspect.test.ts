import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectIso } from '../../../src-main/media/inspect';
import { fileByteSource, IsoImage, SECTOR_BYTES } from '../../../src-main/media/iso9660';
import { runProgram } from '../../../src-main/util/run';
import type { OsDefaults, OsFamily } from '../../../src-shared/os';
import { refusal } from '../../support/refusal';

// Real ISO 9660 images, built here by xorriso from tiny trees laid out like the real releases'
// (placeholder files, the same volume ids, labels and El Torito entries), then read by inspectIso.
// xorriso writes Rock Ridge unless told --norock, which Joliet-only and plain images need.

let work: string;
let built = 0;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-media-'));
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Relative path → contents of a placeholder file. */
type Tree = Record<string, string>;

async function buildIso(tree: Tree, mkisofsArgs: string[]): Promise<string> {
  const name = `image-${++built}`;
  const root = path.join(work, `${name}-tree`);
  for (const [file, contents] of Object.entries(tree)) {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.writeFile(path.join(root, file), contents);
  }
  const iso = path.join(work, `${name}.iso`);
  const result = await runProgram('xorriso', ['-as', 'mkisofs', '-o', iso, ...mkisofsArgs, root], { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`xorriso could not build ${name}: ${result.spawnError ?? result.stderr}`);
  return iso;
}

const biosBoot = (image: string): string[] => ['-b', image, '-no-emul-boot', '-boot-load-size', '4'];
const uefiBoot = (image: string): string[] => ['-eltorito-alt-boot', '-e', image, '-no-emul-boot'];

interface Release {
  release: string;
  tree: Tree;
  args: string[];
  family: OsFamily;
  name: string;
  version: string | null;
  bootable: boolean;
  uefiBootable: boolean;
  evidence: string[];
  defaults: Partial<OsDefaults>;
}

const RELEASES: Release[] = [
  {
    release: 'Debian 12.7 netinst (Rock Ridge and Joliet, BIOS and UEFI)',
    tree: {
      '.disk/info': 'Debian GNU/Linux 12.7.0 "Bookworm" - Official amd64 NETINST with firmware 20240831-10:38',
      'install.amd/vmlinuz': 'kernel',
      'install.amd/initrd.gz': 'initrd',
      'dists/bookworm/Release': 'Suite: stable\n',
      'pool/main/l/linux/placeholder': 'deb',
      'isolinux/isolinux.bin': 'isolinux',
      'boot/grub/efi.img': 'efi image',
      'EFI/boot/bootx64.efi': 'shim',
    },
    args: ['-V', 'Debian 12.7.0 amd64 n', '-sysid', 'LINUX', '-publisher', 'Debian CD', '-R', '-J', ...biosBoot('isolinux/isolinux.bin'), ...uefiBoot('boot/grub/efi.img')],
    family: 'debian',
    name: 'Debian 12',
    version: '12.7.0',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "Debian 12.7.0 amd64 n"', 'has /install.amd', 'has /dists', 'El Torito boot entry for BIOS', 'El Torito boot entry for UEFI', 'has /EFI/BOOT/BOOTX64.EFI'],
    defaults: { firmware: 'bios', diskBus: 'virtio-blk', nicModel: 'virtio-net' },
  },
  {
    release: 'Ubuntu 24.04.1 desktop',
    tree: {
      '.disk/info': 'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827.1)',
      'casper/vmlinuz': 'kernel',
      'casper/initrd': 'initrd',
      'boot/grub/grub.cfg': 'menuentry "Try or Install Ubuntu" {}\n',
      'boot/grub/i386-pc/eltorito.img': 'grub',
      'boot/grub/efi.img': 'efi image',
      'EFI/boot/bootx64.efi': 'shim',
      'dists/noble/Release': 'Suite: noble\n',
      'pool/main/placeholder': 'deb',
    },
    args: ['-V', 'Ubuntu 24.04.1 LTS amd64', '-R', '-J', ...biosBoot('boot/grub/i386-pc/eltorito.img'), ...uefiBoot('boot/grub/efi.img')],
    family: 'ubuntu',
    name: 'Ubuntu 24.04',
    version: '24.04.1',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "Ubuntu 24.04.1 LTS amd64"', 'has /casper', 'El Torito boot entry for BIOS', 'El Torito boot entry for UEFI'],
    defaults: { firmware: 'bios', memoryMiB: 4096 },
  },
  {
    release: 'Fedora Workstation 41 live (Joliet names only)',
    tree: {
      'LiveOS/squashfs.img': 'root',
      'images/pxeboot/vmlinuz': 'kernel',
      'images/pxeboot/initrd.img': 'initrd',
      'images/eltorito.img': 'grub',
      'images/efiboot.img': 'efi image',
      'boot/grub2/grub.cfg': 'set default=0\n',
      'EFI/BOOT/BOOTX64.EFI': 'shim',
    },
    args: ['-V', 'Fedora-WS-Live-41-1-4', '--norock', '-J', '-joliet-long', ...biosBoot('images/eltorito.img'), ...uefiBoot('images/efiboot.img')],
    family: 'fedora',
    name: 'Fedora 41',
    version: '41',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "Fedora-WS-Live-41-1-4"', 'has /images/pxeboot', 'has /LiveOS'],
    defaults: { firmware: 'bios', memoryMiB: 4096 },
  },
  {
    release: 'Arch Linux 2024.11.01',
    tree: {
      'arch/boot/x86_64/vmlinuz-linux': 'kernel',
      'arch/boot/x86_64/initramfs-linux.img': 'initrd',
      'arch/version': '2024.11.01\n',
      'boot/syslinux/isolinux.bin': 'isolinux',
      'EFI/archiso/efiboot.img': 'efi image',
      'EFI/BOOT/BOOTx64.EFI': 'systemd-boot',
    },
    args: [
      ...['-V', 'ARCH_202411', '-sysid', 'LINUX', '-publisher', 'ARCH LINUX <HTTPS://ARCHLINUX.ORG>', '-A', 'ARCH LINUX LIVE/RESCUE DVD', '-R', '-J'],
      ...biosBoot('boot/syslinux/isolinux.bin'),
      ...uefiBoot('EFI/archiso/efiboot.img'),
    ],
    family: 'arch',
    name: 'Arch Linux',
    version: '2024.11.01',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "ARCH_202411"', 'publisher "ARCH LINUX <HTTPS://ARCHLINUX.ORG>"', 'has /arch/boot'],
    defaults: { firmware: 'bios', diskBus: 'virtio-blk' },
  },
  {
    release: 'Alpine Linux 3.20.3 standard',
    tree: {
      '.alpine-release': 'alpine-standard-3.20.3 240906\n',
      'apks/x86_64/APKINDEX.tar.gz': 'index',
      'boot/vmlinuz-lts': 'kernel',
      'boot/syslinux/isolinux.bin': 'isolinux',
      'boot/grub/efi.img': 'efi image',
      'efi/boot/bootx64.efi': 'grub',
    },
    args: ['-V', 'alpine-std 3.20.3 x86_64', '-R', '-J', ...biosBoot('boot/syslinux/isolinux.bin'), ...uefiBoot('boot/grub/efi.img')],
    family: 'alpine',
    name: 'Alpine Linux 3.20',
    version: '3.20.3',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "alpine-std 3.20.3 x86_64"', 'has /.alpine-release', 'has /apks'],
    defaults: { firmware: 'bios', memoryMiB: 512, cpus: 1 },
  },
  {
    release: 'openSUSE Tumbleweed DVD, bootable only through UEFI',
    tree: {
      'media.1/products': '/ openSUSE 20241105-0\n',
      'boot/x86_64/loader/linux': 'kernel',
      'boot/x86_64/loader/initrd': 'initrd',
      'boot/x86_64/efi': 'efi image',
      'EFI/BOOT/bootx64.efi': 'shim',
    },
    args: ['-V', 'openSUSE-Tumbleweed-DVD-x86_64', '-publisher', 'SUSE LLC <https://www.suse.com/>', '-R', '-J', '-e', 'boot/x86_64/efi', '-no-emul-boot'],
    family: 'opensuse',
    name: 'openSUSE Tumbleweed',
    version: null,
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "openSUSE-Tumbleweed-DVD-x86_64"', 'has /boot/x86_64/loader', 'El Torito boot entry for UEFI', 'no El Torito boot entry for BIOS, so UEFI firmware'],
    defaults: { firmware: 'uefi', memoryMiB: 4096 },
  },
  {
    release: 'Windows 11 23H2, remastered with its files on the ISO 9660 side (plain 8.3 names)',
    tree: {
      'sources/install.wim': 'wim',
      'sources/boot.wim': 'wim',
      'sources/idwbinfo.txt': '[BUILDINFO]\r\nBuildArch=amd64\r\nBuildBranch=ni_release\r\nBuildNumber=22631\r\n',
      bootmgr: 'bootmgr',
      'boot/etfsboot.com': 'etfsboot',
      'efi/microsoft/boot/efisys.bin': 'efi image',
      'efi/boot/bootx64.efi': 'bootmgfw',
    },
    args: ['-V', 'CCCOMA_X64FRE_EN-US_DV9', '-publisher', 'MICROSOFT CORPORATION', '--norock', ...biosBoot('boot/etfsboot.com'), ...uefiBoot('efi/microsoft/boot/efisys.bin')],
    family: 'windows',
    name: 'Windows 11',
    version: '11',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "CCCOMA_X64FRE_EN-US_DV9"', 'publisher "MICROSOFT CORPORATION"', 'has /sources/install.wim', 'has /bootmgr', '/sources/idwbinfo.txt says build 22631'],
    defaults: { firmware: 'uefi', tpm: true, diskBus: 'sata', nicModel: 'e1000' },
  },
  {
    release: "Windows 10 or 11 as Microsoft ships it (a README on the ISO 9660 side, the rest in UDF)",
    tree: {
      'README.TXT': 'This disc contains a "UDF" file system and requires an operating system\r\nthat supports the ISO-13346 "UDF" file system specification.\r\n',
      'boot/etfsboot.com': 'etfsboot',
      'efi/microsoft/boot/efisys.bin': 'efi image',
    },
    args: ['-V', 'CCCOMA_X64FRE_EN-US_DV9', '-publisher', 'MICROSOFT CORPORATION', '--norock', ...biosBoot('boot/etfsboot.com'), ...uefiBoot('efi/microsoft/boot/efisys.bin')],
    family: 'windows',
    name: 'Windows 10 or 11',
    version: null,
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "CCCOMA_X64FRE_EN-US_DV9"', '/README.TXT points to a UDF file system'],
    defaults: { firmware: 'uefi', tpm: true, diskBus: 'sata', nicModel: 'e1000' },
  },
  {
    release: 'FreeBSD 14.1 disc 1',
    tree: {
      'boot/kernel/kernel': 'kernel',
      'boot/loader.efi': 'loader',
      'boot/cdboot': 'cdboot',
      'boot/efiboot.img': 'efi image',
      'bin/freebsd-version': '#!/bin/sh\nUSERLAND_VERSION="14.1-RELEASE"\n',
    },
    args: ['-V', '14_1_RELEASE_AMD64_CD', '-R', ...biosBoot('boot/cdboot'), ...uefiBoot('boot/efiboot.img')],
    family: 'freebsd',
    name: 'FreeBSD 14.1',
    version: '14.1',
    bootable: true,
    uefiBootable: true,
    evidence: ['volume id "14_1_RELEASE_AMD64_CD"', 'has /boot/kernel/kernel'],
    defaults: { firmware: 'bios' },
  },
  {
    release: 'a generic Linux image with GRUB and a kernel in /boot, BIOS only',
    tree: {
      'boot/grub/grub.cfg': 'linux /boot/vmlinuz-6.1.0-26-amd64\n',
      'boot/grub/i386-pc/eltorito.img': 'grub',
      'boot/vmlinuz-6.1.0-26-amd64': 'kernel',
    },
    args: ['-V', 'MYLINUX', '-R', ...biosBoot('boot/grub/i386-pc/eltorito.img')],
    family: 'other-linux',
    name: 'Other Linux',
    version: null,
    bootable: true,
    uefiBootable: false,
    evidence: ['has a Linux kernel at /boot/vmlinuz-6.1.0-26-amd64', 'has /boot/grub', 'El Torito boot entry for BIOS'],
    defaults: { firmware: 'bios', memoryMiB: 2048 },
  },
  {
    release: 'a disc of photos: nothing recognisable, not bootable',
    tree: { 'DCIM/100CANON/IMG_0001.JPG': 'not really a photo' },
    args: ['-V', 'HOLIDAY_2019', '-R', '-J'],
    family: 'other',
    name: 'Other',
    version: null,
    bootable: false,
    uefiBootable: false,
    evidence: ['volume id "HOLIDAY_2019"'],
    defaults: { firmware: 'bios' },
  },
];

describe('inspectIso on images laid out like real releases', () => {
  it.each(RELEASES)('$release', async (release) => {
    const iso = await buildIso(release.tree, release.args);
    const info = await inspectIso(iso, { osinfoDir: null });
    expect(info.os).toEqual({ family: release.family, name: release.name, version: release.version });
    expect({ bootable: info.bootable, uefiBootable: info.uefiBootable }).toEqual({ bootable: release.bootable, uefiBootable: release.uefiBootable });
    expect(info.biosBootable).toBe(release.args.includes('-b'));
    expect(info.evidence).toEqual(expect.arrayContaining(release.evidence));
    expect(info.defaults).toMatchObject(release.defaults);
    expect(info.path).toBe(iso);
    expect(info.sizeBytes).toBe((await fs.stat(iso)).size);
  });

  it('counts /EFI/BOOT/BOOTX64.EFI as a way to boot with UEFI, even without an El Torito entry for it', async () => {
    const iso = await buildIso({ 'isolinux/isolinux.bin': 'isolinux', 'EFI/BOOT/BOOTX64.EFI': 'loader' }, ['-V', 'MYLINUX', '-R', ...biosBoot('isolinux/isolinux.bin')]);
    const info = await inspectIso(iso, { osinfoDir: null });
    expect(info).toMatchObject({ bootable: true, uefiBootable: true, defaults: { firmware: 'bios' } });
    expect(info.evidence).toEqual(expect.arrayContaining(['El Torito boot entry for BIOS', 'has /EFI/BOOT/BOOTX64.EFI']));
    expect(info.evidence).not.toContain('El Torito boot entry for UEFI');
  });

  it('reports the labels the image was made with', async () => {
    const arch = RELEASES.find((release) => release.family === 'arch');
    if (!arch) throw new Error('the Arch row is missing');
    const info = await inspectIso(await buildIso(arch.tree, arch.args), { osinfoDir: null });
    expect(info).toMatchObject({ volumeId: 'ARCH_202411', systemId: 'LINUX', publisher: 'ARCH LINUX <HTTPS://ARCHLINUX.ORG>', applicationId: 'ARCH LINUX LIVE/RESCUE DVD' });
  });
});

describe('inspectIso picks the firmware the ISO can boot', () => {
  it('BIOS for an image with only a BIOS boot entry, even for an OS that would get UEFI (Windows Server)', async () => {
    const iso = await buildIso({ 'sources/install.wim': 'wim', 'boot/etfsboot.com': 'boot' }, ['-V', 'SSS_X64FREE_EN-US_DV9', '-R', ...biosBoot('boot/etfsboot.com')]);
    const info = await inspectIso(iso, { osinfoDir: null });
    expect(info).toMatchObject({ os: { family: 'windows' }, biosBootable: true, uefiBootable: false, defaults: { firmware: 'bios', tpm: false } });
    expect(info.evidence).toContain('no way to boot with UEFI, so BIOS firmware');
  });

  it('UEFI for an image with only an EFI boot entry', async () => {
    const iso = await buildIso({ 'boot/vmlinuz': 'kernel', 'boot/grub/efi.img': 'efi' }, ['-V', 'MYLINUX', '-R', ...uefiBoot('boot/grub/efi.img')]);
    const info = await inspectIso(iso, { osinfoDir: null });
    expect(info).toMatchObject({ bootable: true, biosBootable: false, uefiBootable: true, defaults: { firmware: 'uefi' } });
  });
});

// Real tool images: Debian's own memtest86+ and iPXE ISOs, GRUB's rescue image as grub-mkrescue
// makes it, and GParted, Clonezilla and SystemRescue laid out as their builders lay them out
// (create-gparted-live, ocs-iso, SystemRescue's build.sh: the same labels and files).
const DEBIAN_TOOL_ISOS = [
  { file: '/usr/lib/memtest86+/memtest86+x64.iso', packageName: 'memtest86+', name: 'Memtest86+', volumeId: 'MT86PLUS_64' },
  { file: '/usr/lib/ipxe/ipxe.iso', packageName: 'ipxe', name: 'iPXE', volumeId: 'ISOIMAGE' },
];

describe('inspectIso on tool images', () => {
  it.each(DEBIAN_TOOL_ISOS)('$name from Debian ($file)', async ({ file, packageName, name, volumeId }) => {
    const present = await fs.stat(file).catch(() => null);
    if (!present) throw new Error(`${file} is missing: install the Debian package ${packageName} (scripts/setup-host.sh --dev does).`);
    const info = await inspectIso(file, { osinfoDir: null });
    expect(info).toMatchObject({ volumeId, os: { family: 'tool', name }, biosBootable: true, uefiBootable: true, defaults: { cpus: 1, diskGiB: 0, firmware: 'bios' } });
  });

  it('GRUB rescue, made by grub-mkrescue', async () => {
    const iso = path.join(work, 'grub-rescue.iso');
    const made = await runProgram('grub-mkrescue', ['-o', iso], { timeoutMs: 120_000 });
    if (made.code !== 0) throw new Error(`grub-mkrescue failed (Debian packages grub-common, grub-pc-bin, grub-efi-amd64-bin, xorriso, mtools): ${made.spawnError ?? made.stderr}`);
    const info = await inspectIso(iso, { osinfoDir: null });
    expect(info).toMatchObject({ os: { family: 'tool', name: 'GRUB rescue', version: null }, biosBootable: true, uefiBootable: true, defaults: { diskGiB: 0 } });
  });

  const liveTree = (versionFile: string, version: string): Tree => ({
    [versionFile]: `${version}\nThis was created by a test.\n`,
    'live/vmlinuz': 'kernel',
    'live/initrd.img': 'initrd',
    'live/filesystem.squashfs': 'root',
    'syslinux/isolinux.bin': 'isolinux',
    'boot/grub/grub.cfg': 'menuentry live {}\n',
    'boot/grub/efi.img': 'efi image',
    'EFI/boot/bootx64.efi': 'grub',
    '.disk/info': 'Debian GNU/Linux 12 "Bookworm" - Official Snapshot amd64 LIVE Binary 20240126',
    GPL: 'licence',
  });
  const drblArgs = (volumeId: string, application: string, publisher: string): string[] => ['-R', '-r', '-J', '-joliet-long', '-l', '-iso-level', '3', '-A', application, '-publisher', publisher, '-V', volumeId, ...biosBoot('syslinux/isolinux.bin'), ...uefiBoot('boot/grub/efi.img')];

  it.each([
    { name: 'GParted Live', version: '1.6.0-3', tree: liveTree('GParted-Live-Version', 'gparted-live-1.6.0-3-amd64'), args: drblArgs('GParted-live', 'GParted Live CD', 'GParted https://gparted.org') },
    { name: 'Clonezilla Live', version: '3.1.2-22', tree: liveTree('Clonezilla-Live-Version', 'clonezilla-live-3.1.2-22-amd64'), args: drblArgs('3.1.2-22-amd64', 'Clonezilla live CD', 'DRBL/Clonezilla https://drbl.org https://clonezilla.org') },
    {
      name: 'SystemRescue',
      version: '11.03',
      tree: { 'sysresccd/boot/x86_64/vmlinuz': 'kernel', 'sysresccd/boot/x86_64/sysresccd.img': 'initrd', 'sysresccd/x86_64/airootfs.sfs': 'root', 'isolinux/isolinux.bin': 'isolinux', 'EFI/boot/bootx64.efi': 'grub', 'boot/grub/grubsrcd.cfg': 'menu', 'efiboot.img': 'efi image' },
      args: ['-R', '-J', '-V', 'RESCUE1103', '-A', 'SystemRescue', '-publisher', 'SystemRescue <http://www.system-rescue.org>', ...biosBoot('isolinux/isolinux.bin'), ...uefiBoot('efiboot.img')],
    },
  ])('$name $version, laid out as its builder does', async ({ name, version, tree, args }) => {
    const info = await inspectIso(await buildIso(tree, args), { osinfoDir: null });
    expect(info).toMatchObject({ os: { family: 'tool', name, version }, biosBootable: true, uefiBootable: true, defaults: { cpus: 1, diskGiB: 0 } });
  });
});

describe('reading ISO 9660 names', () => {
  const tree: Tree = { 'boot/vmlinuz-6.1.0-26-amd64': 'kernel', 'boot/Config.txt': 'x', 'EFI/BOOT/BOOTX64.EFI': 'loader' };

  it.each([
    { names: 'rock-ridge', args: ['-R'], listed: ['Config.txt', 'vmlinuz-6.1.0-26-amd64'] },
    { names: 'joliet', args: ['--norock', '-J'], listed: ['Config.txt', 'vmlinuz-6.1.0-26-amd64'] },
    // Plain ISO 9660 (level 1): upper case 8.3 names, the version ";1" dropped.
    { names: 'iso9660', args: ['--norock'], listed: ['CONFIG.TXT', expect.stringMatching(/^VMLINUZ[A-Z0-9_]{0,1}\.[A-Z0-9_]{1,3}$/)] },
  ])('takes names from $names when that is what the image has', async ({ names, args, listed }) => {
    const source = await fileByteSource(await buildIso(tree, args));
    try {
      const image = await IsoImage.open(source, 'test.iso');
      expect(image.nameSource).toBe(names);
      const entries = (await image.listDir('/boot')) ?? [];
      expect(entries.map((entry) => entry.name).sort()).toEqual(listed); // listed in sorted order
      expect(entries.every((entry) => !entry.isDir && entry.size > 0)).toBe(true);
      // Looked up without regard to case, as people and detect.ts write paths.
      expect(await image.exists('/efi/boot/bootx64.efi')).toBe(true);
      expect(await image.exists('/efi/boot/missing.efi')).toBe(false);
      expect(new TextDecoder().decode((await image.readFile('/boot/config.txt', 100)) ?? new Uint8Array())).toBe('x');
    } finally {
      await source.close();
    }
  });

  it('reads no more of a file than asked', async () => {
    const source = await fileByteSource(await buildIso({ 'big.txt': 'y'.repeat(5000) }, ['-R']));
    try {
      const image = await IsoImage.open(source, 'test.iso');
      expect((await image.readFile('/big.txt', 100))?.length).toBe(100);
      expect((await image.readFile('/big.txt', 1_000_000))?.length).toBe(5000);
    } finally {
      await source.close();
    }
  });
});

const ROCKY_XML = `<?xml version="1.0" encoding="UTF-8"?>
<libosinfo version="0.0.1">
  <os id="http://rockylinux.org/rocky/9.4">
    <short-id>rocky9.4</short-id>
    <name>Rocky Linux 9.4</name>
    <version>9.4</version>
    <vendor>Rocky Enterprise Software Foundation</vendor>
    <family>linux</family>
    <distro>rocky</distro>
    <media arch="x86_64">
      <iso>
        <volume-id>Rocky-9-4-x86_64-(dvd|boot)</volume-id>
      </iso>
      <kernel>images/pxeboot/vmlinuz</kernel>
    </media>
  </os>
</libosinfo>
`;

describe('inspectIso with osinfo-db', () => {
  let rockyIso: string;
  let osinfoDir: string;

  beforeAll(async () => {
    rockyIso = await buildIso({ EULA: 'terms' }, ['-V', 'Rocky-9-4-x86_64-dvd', '-R', '-J']);
    osinfoDir = path.join(work, 'osinfo');
    await fs.mkdir(path.join(osinfoDir, 'os', 'rockylinux.org'), { recursive: true });
    await fs.writeFile(path.join(osinfoDir, 'os', 'rockylinux.org', 'rocky-9.4.xml'), ROCKY_XML);
  });

  it('names a release Hangar has no rule for when osinfo-db knows its volume id', async () => {
    const info = await inspectIso(rockyIso, { osinfoDir });
    expect(info.os).toEqual({ family: 'other-linux', name: 'Rocky Linux 9.4', version: '9.4' });
    expect(info.evidence).toContain('osinfo-db: rocky9.4');
  });

  it('leaves osinfo-db out when told to', async () => {
    expect((await inspectIso(rockyIso, { osinfoDir: null })).os.family).toBe('other');
  });

  it('works without osinfo-db installed', async () => {
    const info = await inspectIso(rockyIso, { osinfoDir: path.join(work, 'no-osinfo-here') });
    expect(info.os).toEqual({ family: 'other', name: 'Other', version: null });
  });
});

describe('inspectIso refuses, in words, what it cannot read', () => {
  let smallIso: string;

  beforeAll(async () => {
    smallIso = await buildIso({ 'boot/grub/grub.cfg': 'menu', 'boot/vmlinuz': 'kernel', 'isolinux/isolinux.bin': 'isolinux' }, ['-V', 'MYLINUX', '-R', ...biosBoot('isolinux/isolinux.bin')]);
  });

  async function fileWith(name: string, contents: string | Uint8Array): Promise<string> {
    const file = path.join(work, name);
    await fs.writeFile(file, contents);
    return file;
  }

  it('a missing file', async () => {
    const file = path.join(work, 'gone.iso');
    const error = await refusal(inspectIso(file));
    expect(error.code).toBe('ISO_NOT_FOUND');
    expect(error.message).toContain(file);
  });

  it('a folder', async () => {
    const folder = path.join(work, 'debian-12.7.0-amd64-netinst');
    await fs.mkdir(folder);
    const error = await refusal(inspectIso(folder));
    expect(error.code).toBe('NOT_AN_ISO');
    expect(error.message).toBe(`${folder} is a folder, not an ISO image. Choose the .iso file inside it.`);
  });

  it('a text file named .iso', async () => {
    const file = await fileWith('notes.iso', 'Remember to download the ISO.\n');
    const error = await refusal(inspectIso(file));
    expect(error.code).toBe('NOT_AN_ISO');
    expect(error.message).toMatch(new RegExp(`^${escape(file)} is not an ISO image \\(a CD or DVD image file\\)`));
  });

  it('a picture big enough to hold volume descriptors, but none', async () => {
    const png = new Uint8Array(64 * 1024);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const file = await fileWith('screenshot.iso', png);
    const error = await refusal(inspectIso(file));
    expect(error.code).toBe('NOT_AN_ISO');
    expect(error.message).toContain(`${file} is not an ISO image (a CD or DVD image file): it has no ISO 9660 volume descriptor`);
  });

  it('an empty file', async () => {
    const file = await fileWith('empty.iso', '');
    const error = await refusal(inspectIso(file));
    expect(error.code).toBe('NOT_AN_ISO');
    expect(error.message).toContain(`${file} is not an ISO image`);
    expect(error.message).toContain('empty');
  });

  it('a named pipe, without waiting for a writer', async () => {
    const fifo = path.join(work, 'pipe.iso');
    const made = await runProgram('mkfifo', [fifo]);
    expect(made.code).toBe(0);
    const error = await refusal(inspectIso(fifo));
    expect(error.code).toBe('NOT_AN_ISO');
    expect(error.message).toContain(`${fifo} is not a regular file`);
  });

  it('the first 20 KB of a real ISO, which ends before its volume descriptors', async () => {
    const file = await fileWith('cut-early.iso', (await fs.readFile(smallIso)).subarray(0, 20 * 1024));
    const error = await refusal(inspectIso(file));
    expect(error.code).toBe('NOT_AN_ISO');
    expect(error.message).toContain(file);
    expect(error.message).toContain('cut short');
  });

  it('the first 64 KB of a real ISO, whose descriptors promise more', async () => {
    const file = await fileWith('cut-late.iso', (await fs.readFile(smallIso)).subarray(0, 64 * 1024));
    const error = await refusal(inspectIso(file));
    expect(error.code).toBe('ISO_UNREADABLE');
    expect(error.message).toContain(`The ISO ${file} is damaged or incomplete`);
  });

  it('a file the user may not read', async () => {
    // Root reads every file, so as root the read is tried as the user "nobody" would try it.
    const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-media-private-'));
    try {
      await fs.chmod(folder, 0o755);
      const file = path.join(folder, 'private.iso');
      await fs.copyFile(smallIso, file);
      await fs.chmod(file, 0o000);
      const error = await refusal(asUnprivilegedUser(() => inspectIso(file)));
      expect(error.code).toBe('ISO_UNREADABLE');
      expect(error.message).toContain(file);
      expect(error.message).toContain('permission denied');
    } finally {
      await fs.rm(folder, { recursive: true, force: true });
    }
  });
});

describe('inspectIso on hostile images', () => {
  const tree: Tree = { 'boot/grub/grub.cfg': 'menu', 'boot/vmlinuz': 'kernel' };

  it('a folder record pointing past the end of the file', async () => {
    const iso = await buildIso(tree, ['-V', 'HOSTILE', '-R']);
    const image = await fs.readFile(iso);
    const boot = rootRecordOffset(image, 'BOOT');
    setBothEndian(image, boot + 2, 0x00ffffff);
    await fs.writeFile(iso, image);
    const error = await refusal(inspectIso(iso, { osinfoDir: null }));
    expect(error.code).toBe('ISO_UNREADABLE');
    expect(error.message).toMatch(/the folder \/boot lies beyond the end of the file/);
  });

  it('a folder that contains itself', async () => {
    const iso = await buildIso(tree, ['-V', 'HOSTILE', '-R']);
    const image = await fs.readFile(iso);
    const root = 16 * SECTOR_BYTES + 156;
    const boot = rootRecordOffset(image, 'BOOT');
    setBothEndian(image, boot + 2, image.readUInt32LE(root + 2));
    setBothEndian(image, boot + 10, image.readUInt32LE(root + 10));
    await fs.writeFile(iso, image);
    const error = await refusal(inspectIso(iso, { osinfoDir: null }));
    expect(error.code).toBe('ISO_UNREADABLE');
    expect(error.message).toContain('(a loop)');
  });

  it('a folder claiming gigabytes of records', async () => {
    const iso = await buildIso(tree, ['-V', 'HOSTILE', '-R']);
    const image = await fs.readFile(iso);
    setBothEndian(image, rootRecordOffset(image, 'BOOT') + 10, 0xfff00000);
    await fs.writeFile(iso, image);
    const error = await refusal(inspectIso(iso, { osinfoDir: null }));
    expect(error.code).toBe('ISO_UNREADABLE');
    expect(error.message).toContain('the folder /boot claims to hold');
  });

  it('leaves no file open, whatever the outcome', async () => {
    const good = await buildIso(tree, ['-V', 'MYLINUX', '-R']);
    const bad = await buildIso(tree, ['-V', 'HOSTILE', '-R']);
    const image = await fs.readFile(bad);
    setBothEndian(image, rootRecordOffset(image, 'BOOT') + 2, 0x00ffffff);
    await fs.writeFile(bad, image);
    await inspectIso(good, { osinfoDir: null });
    await refusal(inspectIso(bad, { osinfoDir: null }));
    const text = path.join(work, 'readme.iso');
    await fs.writeFile(text, 'x'.repeat(40 * 1024));
    await refusal(inspectIso(text));
    expect(await openFilesUnder(work)).toEqual([]);
  });
});

/** Where, in the image, the root folder's record named `name` (a plain ISO 9660 name) starts. */
function rootRecordOffset(image: Buffer, name: string): number {
  const rootRecord = 16 * SECTOR_BYTES + 156;
  let offset = image.readUInt32LE(rootRecord + 2) * SECTOR_BYTES;
  const end = offset + image.readUInt32LE(rootRecord + 10);
  while (offset < end) {
    const length = image.readUInt8(offset);
    if (length === 0) {
      offset = (Math.floor(offset / SECTOR_BYTES) + 1) * SECTOR_BYTES;
      continue;
    }
    const nameLength = image.readUInt8(offset + 32);
    if (image.toString('latin1', offset + 33, offset + 33 + nameLength) === name) return offset;
    offset += length;
  }
  throw new Error(`The test image has no ${name} in its root folder.`);
}

/** ISO 9660 stores its numbers twice: little-endian, then big-endian. */
function setBothEndian(image: Buffer, offset: number, value: number): void {
  image.writeUInt32LE(value, offset);
  image.writeUInt32BE(value, offset + 4);
}

async function openFilesUnder(folder: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await fs.readdir('/proc/self/fd')) {
    const target = await fs.readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(folder)) open.push(target);
  }
  return open;
}

const NOBODY = 65534;

/** Runs `action` with the rights of an ordinary user: as root, with the effective uid of "nobody". */
async function asUnprivilegedUser<T>(action: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return action();
  if (!process.seteuid) throw new Error('This test needs process.seteuid (a forked test worker, not a thread) to drop root rights.');
  process.seteuid(NOBODY);
  try {
    return await action();
  } finally {
    process.seteuid(0);
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
