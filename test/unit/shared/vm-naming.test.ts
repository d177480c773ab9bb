import { describe, expect, it } from 'vitest';
import type { IsoOs } from '../../../src-shared/os';
import { osTitle, vmNameFor } from '../../../src-shared/vm-naming';

// What a new VM is called, from what its ISO said about itself: the OS once (never
// "Debian 12 12.8.0"), else the volume id, else the file name (never "Other", "Other (2)").

const os = (family: IsoOs['family'], name: string, version: string | null = null): IsoOs => ({ family, name, version });

describe('vmNameFor', () => {
  it.each([
    { what: 'Debian, whose name has the major release', os: os('debian', 'Debian 12', '12.8.0'), volumeId: 'Debian 12.8.0 amd64 n', file: 'debian-12.8.0-amd64-netinst.iso', expected: 'Debian 12' },
    { what: 'Ubuntu', os: os('ubuntu', 'Ubuntu 24.04', '24.04.1'), volumeId: 'Ubuntu 24.04.1 LTS amd64', file: 'ubuntu.iso', expected: 'Ubuntu 24.04' },
    { what: 'Alpine', os: os('alpine', 'Alpine Linux 3.20', '3.20.3'), volumeId: 'alpine-std 3.20.3 x86_64', file: 'a.iso', expected: 'Alpine Linux 3.20' },
    { what: 'SUSE, whose service pack is in the name', os: os('opensuse', 'SUSE Linux Enterprise 15 SP6', '15.6'), volumeId: 'SLE-15-SP6-Full-x86_64', file: 's.iso', expected: 'SUSE Linux Enterprise 15 SP6' },
    { what: 'Windows 11', os: os('windows', 'Windows 11', '11'), volumeId: 'CCCOMA_X64FRE_EN-US_DV9', file: 'Win11.iso', expected: 'Windows 11' },
    { what: 'Arch, whose name has no release', os: os('arch', 'Arch Linux', '2024.11.01'), volumeId: 'ARCH_202411', file: 'archlinux.iso', expected: 'Arch Linux 2024.11.01' },
    { what: 'GParted Live', os: os('tool', 'GParted Live', '1.6.0-3'), volumeId: 'GParted-live', file: 'gparted-live-1.6.0-3-amd64.iso', expected: 'GParted Live 1.6.0-3' },
    { what: 'memtest86+', os: os('tool', 'Memtest86+'), volumeId: 'MT86PLUS_64', file: 'memtest86+x64.iso', expected: 'Memtest86+' },
    { what: 'iPXE', os: os('tool', 'iPXE'), volumeId: 'ISOIMAGE', file: 'ipxe.iso', expected: 'iPXE' },
    { what: 'GRUB rescue', os: os('tool', 'GRUB rescue'), volumeId: 'ISOIMAGE', file: 'rescue.iso', expected: 'GRUB rescue' },
    { what: 'nothing known, with a volume id of its own', os: os('other', 'Other'), volumeId: 'FREEDOS2022', file: 'FD13LIVE.iso', expected: 'FREEDOS2022' },
    { what: 'nothing known, with a generic volume id: the file name', os: os('other', 'Other'), volumeId: 'ISOIMAGE', file: 'my-rescue-disc.iso', expected: 'my-rescue-disc' },
    { what: 'nothing known and no volume id', os: os('other', 'Other'), volumeId: '', file: 'disc.ISO', expected: 'disc' },
    { what: 'some Linux without a name', os: os('other-linux', 'Other Linux'), volumeId: 'HANGAR_TEST', file: 'hangar-test.iso', expected: 'HANGAR_TEST' },
    { what: 'some Linux that says its name', os: os('other-linux', 'Linux Mint 22', '22'), volumeId: 'Linux Mint 22 Cinnamon 64-bit', file: 'mint.iso', expected: 'Linux Mint 22' },
    { what: 'a volume id with padding and a control character', os: os('other', 'Other'), volumeId: '  DISC\u0007ONE  ', file: 'x.iso', expected: 'DISCONE' },
  ])('$what: $expected', ({ os: detected, volumeId, file, expected }) => {
    expect(vmNameFor({ os: detected, volumeId, path: `/home/me/Downloads/${file}` })).toBe(expected);
  });

  it('keeps a long name within what a VM name may be', () => {
    expect(vmNameFor({ os: os('other', 'Other'), volumeId: '', path: `/isos/${'a'.repeat(300)}.iso` })).toHaveLength(100);
  });
});

describe('osTitle', () => {
  it.each([
    { os: os('debian', 'Debian 12', '12.8.0'), expected: 'Debian 12 (12.8.0)' },
    { os: os('fedora', 'Fedora 41', '41'), expected: 'Fedora 41' },
    { os: os('arch', 'Arch Linux', '2024.11.01'), expected: 'Arch Linux 2024.11.01' },
    { os: os('tool', 'Memtest86+'), expected: 'Memtest86+' },
  ])('$expected', ({ os: detected, expected }) => {
    expect(osTitle(detected)).toBe(expected);
  });
});
