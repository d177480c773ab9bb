import { describe, expect, it } from 'vitest';
import { defaultsFor, type IsoInfo } from '../../../src-shared/os';
import type { HostCapacity } from '../../../src-shared/sizing';
import { NewVmRequest } from '../../../src-shared/vm';
import { blockerOf, judgeDraft } from '../../../src-renderer/store/wizard-judge';
import { emptyDraft, freeVmName, requestOf, type WizardDraft } from '../../../src-renderer/store/wizard-slice';

// What the wizard's draft turns into (the request the engine validates again), and how the
// wizard judges it as it is typed: the engine's rules, in the engine's words.

describe('requestOf', () => {
  it('an ISO install with an SSH forward', () => {
    const request = requestOf({ ...emptyDraft(), name: 'Debian 12', media: 'iso', isoPath: '/isos/debian.iso', cpus: 2, memoryMiB: 2048, diskGiB: 20, sshPort: 2222 });
    expect(NewVmRequest.parse(request)).toMatchObject({
      name: 'Debian 12',
      iso: '/isos/debian.iso',
      importDisk: null,
      diskGiB: 20,
      diskBus: 'virtio-blk',
      nicModel: 'virtio-net',
      portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 }],
    });
  });

  it('an imported disk gets no new disk and no ISO, even if one was chosen before', () => {
    const request = requestOf({ ...emptyDraft(), name: 'Appliance', media: 'disk', isoPath: '/isos/old.iso', diskPath: '/images/a.vmdk', diskGiB: 20 });
    expect(request).toMatchObject({ iso: null, importDisk: '/images/a.vmdk', diskGiB: 0 });
  });

  it('an empty VM has neither', () => {
    expect(requestOf({ ...emptyDraft(), name: 'Blank', media: 'empty', isoPath: '/isos/old.iso' })).toMatchObject({ iso: null, importDisk: null, portForwards: [] });
  });
});

describe('freeVmName', () => {
  it.each([
    { base: 'Debian 12', taken: [], expected: 'Debian 12' },
    { base: 'Debian 12', taken: ['debian 12'], expected: 'Debian 12 (2)' },
    { base: 'Debian 12', taken: ['Debian 12', 'Debian 12 (2)'], expected: 'Debian 12 (3)' },
  ])('$base with $taken taken is $expected', ({ base, taken, expected }) => {
    expect(freeVmName(base, taken)).toBe(expected);
  });
});

describe('requestOf with no disk', () => {
  it('sends 0 GiB, which the engine takes as no disk', () => {
    const request = requestOf({ ...emptyDraft(), name: 'Memtest', media: 'empty', diskGiB: 0 });
    expect(NewVmRequest.parse(request)).toMatchObject({ diskGiB: 0 });
  });
});

const GiB = 1024 ** 3;
const host: HostCapacity = { cpuThreads: 2, memoryTotalBytes: 8 * GiB, memoryAvailableBytes: 6 * GiB, diskFreeBytes: 100 * GiB };
const fine: WizardDraft = { ...emptyDraft(), name: 'Fine', media: 'empty', cpus: 1, memoryMiB: 1024, diskGiB: 10 };

describe('judgeDraft', () => {
  it('finds nothing wrong with what the wizard would propose', () => {
    expect(judgeDraft(fine, host, false)).toEqual({ errors: {}, warnings: [], firmware: null });
  });

  it.each([
    { change: { name: '' }, field: 'name', says: 'Give the VM a name.' },
    { change: { name: '   ' }, field: 'name', says: 'Give the VM a name.' },
    { change: { name: 'two\nlines' }, field: 'name', says: 'A VM name cannot contain control characters (such as new lines or tabs) or text-direction marks.' },
    { change: { cpus: 0 }, field: 'cpus', says: 'The CPUs must be at least 1.' },
    { change: { cpus: -5 }, field: 'cpus', says: 'The CPUs must be at least 1.' },
    { change: { cpus: 1.5 }, field: 'cpus', says: 'The CPUs must be a whole number (from 1 to 256), not 1.5.' },
    { change: { cpus: Number.NaN }, field: 'cpus', says: 'Give the CPUs as a number from 1 to 256.' },
    { change: { cpus: 3 }, field: 'cpus', says: 'This machine has 2 CPU threads; give the VM at most 2.' },
    { change: { memoryMiB: 0 }, field: 'memoryMiB', says: 'The memory must be at least 64 MiB.' },
    { change: { memoryMiB: -5 }, field: 'memoryMiB', says: 'The memory must be at least 64 MiB.' },
    { change: { memoryMiB: Number.NaN }, field: 'memoryMiB', says: 'Give the memory as a number from 64 MiB to 4194304 MiB.' },
    { change: { memoryMiB: 9 * 1024 }, field: 'memoryMiB', says: '9.0 GiB is more memory than this machine has (8.0 GiB). Choose at most 8192 MiB.' },
    { change: { diskGiB: 0.5 }, field: 'diskGiB', says: 'The disk size must be a whole number (from 1 GiB to 65536 GiB), not 0.5.' },
    { change: { diskGiB: Number.NaN }, field: 'diskGiB', says: 'Give the disk size as a number from 1 GiB to 65536 GiB.' },
    { change: { diskGiB: 200 }, field: 'diskGiB', says: 'A 200 GiB disk does not fit where VMs are stored: 100 GiB is free. Choose at most 100 GiB or free some space.' },
    { change: { sshPort: 0 }, field: 'sshPort', says: 'The port on this machine must be at least 1.' },
    { change: { sshPort: 70000 }, field: 'sshPort', says: 'The port on this machine can be at most 65535.' },
    { change: { media: 'iso' }, field: 'media', says: 'Choose an ISO image, or drop one on this window.' },
    { change: { media: 'disk', diskPath: 'appliance.vmdk' }, field: 'media', says: "Give the disk image's full path." },
  ] as { change: Partial<WizardDraft>; field: string; says: string }[])('$field $change: $says', ({ change, field, says }) => {
    const judgement = judgeDraft({ ...fine, ...change }, host, false);
    expect(judgement.errors).toEqual({ [field]: says });
    // Review cannot create it either.
    expect(blockerOf(4, judgement)).toBe(says);
  });

  it('takes 0 GiB as no disk, not as a size', () => {
    expect(judgeDraft({ ...fine, diskGiB: 0 }, host, false).errors).toEqual({});
  });

  it('blocks each step only on its own fields', () => {
    const judgement = judgeDraft({ ...fine, cpus: 1.5, sshPort: 0 }, host, false);
    expect(blockerOf(1, judgement)).toBeNull();
    expect(blockerOf(2, judgement)).toBe('The CPUs must be a whole number (from 1 to 256), not 1.5.');
    expect(blockerOf(3, judgement)).toBe('The port on this machine must be at least 1.');
  });

  it('warns when the firmware chosen cannot boot the ISO', () => {
    const biosOnly: IsoInfo = {
      path: '/isos/old.iso',
      sizeBytes: 700 * 1024 ** 2,
      volumeId: 'OLDLINUX',
      systemId: 'LINUX',
      publisher: '',
      applicationId: '',
      bootable: true,
      biosBootable: true,
      uefiBootable: false,
      os: { family: 'other-linux', name: 'Other Linux', version: null },
      defaults: defaultsFor('other-linux'),
      evidence: ['El Torito boot entry for BIOS'],
    };
    const iso: WizardDraft = { ...fine, media: 'iso', isoPath: '/isos/old.iso', isoInfo: biosOnly };
    expect(judgeDraft({ ...iso, firmware: 'uefi' }, host, true).firmware).toBe('This ISO boots only with BIOS: with UEFI the VM would stop at “No bootable option or device was found”. Choose BIOS.');
    expect(judgeDraft({ ...iso, firmware: 'bios' }, host, true).firmware).toBeNull();
  });
});
