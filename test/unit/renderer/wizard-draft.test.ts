import { describe, expect, it } from 'vitest';
import { NewVmRequest } from '../../../src-shared/vm';
import { emptyDraft, freeVmName, requestOf } from '../../../src-renderer/store/wizard-slice';

// What the wizard's draft turns into: the request the engine validates again.

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
