import { describe, expect, it } from 'vitest';
import { checkSize, suggestedCpus, suggestSize, type HostCapacity } from '../../../src-shared/sizing';

// The one set of size rules the wizard and the engine share.

const GiB = 1024 ** 3;
const host: HostCapacity = { cpuThreads: 8, memoryTotalBytes: 16 * GiB, memoryAvailableBytes: 6 * GiB, diskFreeBytes: 100 * GiB };

describe('checkSize', () => {
  it.each([
    { what: 'a small VM', request: { cpus: 2, memoryMiB: 2048, diskGiB: 20 }, errors: {}, warnings: 0 },
    { what: 'more CPUs than threads', request: { cpus: 9, memoryMiB: 2048, diskGiB: 20 }, errors: { cpus: 'This machine has 8 CPU threads; give the VM at most 8.' }, warnings: 0 },
    { what: 'every thread', request: { cpus: 8, memoryMiB: 2048, diskGiB: 20 }, errors: {}, warnings: 1 },
    { what: 'more memory than the host has', request: { cpus: 2, memoryMiB: 17 * 1024, diskGiB: 20 }, errors: { memoryMiB: '17 GiB is more memory than this machine has (16 GiB). Choose at most 16384 MiB.' }, warnings: 0 },
    { what: 'more memory than is free now', request: { cpus: 2, memoryMiB: 8 * 1024, diskGiB: 20 }, errors: {}, warnings: 1 },
    { what: 'a disk larger than the free space', request: { cpus: 2, memoryMiB: 2048, diskGiB: 101 }, errors: { diskGiB: 'A 101 GiB disk does not fit where VMs are stored: 100 GiB is free. Choose at most 100 GiB or free some space.' }, warnings: 0 },
    { what: 'a disk taking nearly all the free space', request: { cpus: 2, memoryMiB: 2048, diskGiB: 90 }, errors: {}, warnings: 1 },
    { what: 'no disk at all', request: { cpus: 2, memoryMiB: 2048, diskGiB: 0 }, errors: {}, warnings: 0 },
    { what: 'no memory', request: { cpus: 2, memoryMiB: 0, diskGiB: 20 }, errors: { memoryMiB: 'The memory must be at least 64 MiB.' }, warnings: 0 },
    { what: 'negative memory', request: { cpus: 2, memoryMiB: -5, diskGiB: 20 }, errors: { memoryMiB: 'The memory must be at least 64 MiB.' }, warnings: 0 },
    { what: 'an empty memory field', request: { cpus: 2, memoryMiB: Number.NaN, diskGiB: 20 }, errors: { memoryMiB: 'Give the memory as a number from 64 MiB to 4194304 MiB.' }, warnings: 0 },
    { what: 'a fraction of a CPU', request: { cpus: 1.5, memoryMiB: 2048, diskGiB: 20 }, errors: { cpus: 'The CPUs must be a whole number (from 1 to 256), not 1.5.' }, warnings: 0 },
    { what: 'half a GiB of disk', request: { cpus: 2, memoryMiB: 2048, diskGiB: 0.5 }, errors: { diskGiB: 'The disk size must be a whole number (from 1 GiB to 65536 GiB), not 0.5.' }, warnings: 0 },
    { what: 'a negative disk', request: { cpus: 2, memoryMiB: 2048, diskGiB: -1 }, errors: { diskGiB: 'The disk size must be at least 1 GiB.' }, warnings: 0 },
  ])('$what', ({ request, errors, warnings }) => {
    const verdict = checkSize(request, host);
    expect(verdict.errors).toEqual(errors);
    expect(verdict.warnings).toHaveLength(warnings);
  });

  it('judges nothing it does not know (a host report not yet in)', () => {
    expect(checkSize({ cpus: 64, memoryMiB: 1024 * 1024, diskGiB: 5000 }, { cpuThreads: 0, memoryTotalBytes: 0, memoryAvailableBytes: 0, diskFreeBytes: null })).toEqual({ errors: {}, warnings: [] });
  });

  it('says how much memory is free when it warns', () => {
    expect(checkSize({ cpus: 1, memoryMiB: 8192, diskGiB: 1 }, host).warnings[0]).toMatch(/^Only 6\.0 GiB of memory is free right now: with 8\.0 GiB the VM may push this machine into swap/);
  });
});

describe('a full disk', () => {
  it('says the disk is full instead of "choose at most 0 GiB", and offers no disk', () => {
    const full = { ...host, diskFreeBytes: 300 * 1024 ** 2 };
    const { errors } = checkSize({ cpus: 1, memoryMiB: 512, diskGiB: 1 }, full);
    expect(errors.diskGiB).toBe('There is no room for a new disk where VMs are stored: only 300 MiB is free. Free some space, or choose 0 for no disk.');
    expect(checkSize({ cpus: 1, memoryMiB: 512, diskGiB: 0 }, full).errors).toEqual({});
  });
});

describe('what the wizard proposes', () => {
  it.each([
    { threads: 2, osDefault: 2, expected: 1 },
    { threads: 8, osDefault: 2, expected: 2 },
    { threads: 4, osDefault: 4, expected: 3 },
    { threads: 1, osDefault: 2, expected: 1 },
    { threads: 0, osDefault: 2, expected: 2 }, // the host report is not in yet
  ])('$osDefault CPUs for the OS on $threads threads: $expected', ({ threads, osDefault, expected }) => {
    expect(suggestedCpus(threads, osDefault)).toBe(expected);
  });

  it.each([1, 2, 3, 4, 8, 16])('never proposes a CPU count that it then warns about (%i threads)', (threads) => {
    const capacity = { ...host, cpuThreads: threads };
    for (const osDefault of [1, 2, 4]) {
      expect(checkSize({ cpus: suggestedCpus(threads, osDefault), memoryMiB: 1024, diskGiB: 10 }, capacity)).toEqual({ errors: {}, warnings: [] });
    }
  });

  it('proposes sizes this machine takes without a warning: memory within what is free, a disk that fits', () => {
    const small = { cpuThreads: 2, memoryTotalBytes: 4 * GiB, memoryAvailableBytes: 3 * GiB, diskFreeBytes: 20 * GiB };
    const proposed = suggestSize({ cpus: 2, memoryMiB: 4096, diskGiB: 25 }, small);
    expect(proposed).toEqual({ cpus: 1, memoryMiB: 3072, diskGiB: 16 });
    expect(checkSize(proposed, small)).toEqual({ errors: {}, warnings: [] });
  });

  it('keeps the OS defaults where the machine has room, and no disk stays no disk', () => {
    expect(suggestSize({ cpus: 2, memoryMiB: 2048, diskGiB: 0 }, host)).toEqual({ cpus: 2, memoryMiB: 2048, diskGiB: 0 });
  });
});
