import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CURRENT_SCHEMA, MIGRATIONS, parseVmJson, serializeVmJson, type Migration, type ParsedVmJson, type VmConfigValidator } from '../../../src-main/vms/schema';
import { omit, sampleConfig, withDevices, withMachine } from './sample';

const text = (value: unknown): string => JSON.stringify(value);

function reasonOf(result: ParsedVmJson): string {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.config)}`);
  return result.reason;
}

describe('parseVmJson', () => {
  it('reads a valid current vm.json as it is', () => {
    const config = sampleConfig();
    expect(CURRENT_SCHEMA).toBe(3);
    expect(parseVmJson(text(config))).toEqual({ ok: true, config, migrated: false });
  });

  it('fills in defaults of nested fields (port forward protocol and address, disk options)', () => {
    const config = sampleConfig();
    const raw = {
      ...config,
      devices: {
        ...config.devices,
        disks: [{ id: 'disk0', file: 'disk.qcow2', format: 'qcow2', bus: 'virtio-blk' }],
        nics: [{ id: 'nic0', model: 'e1000', mac: '52:54:00:12:34:56', portForwards: [{ hostPort: 8080, guestPort: 80 }] }],
      },
    };
    const result = parseVmJson(text(raw));
    expect(result.ok && result.config.devices.nics[0]).toEqual({ id: 'nic0', model: 'e1000', network: 'user', mac: '52:54:00:12:34:56', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }] });
    expect(result.ok && result.config.devices.disks[0]).toEqual({ id: 'disk0', file: 'disk.qcow2', format: 'qcow2', bus: 'virtio-blk', cache: 'auto', discard: true, readOnly: false, backing: null, bootOrder: null });
  });

  it('round-trips what serializeVmJson writes (two-space JSON, final new line)', () => {
    const config = withDevices(sampleConfig(), { disks: [], cdroms: [] });
    const written = serializeVmJson(config);
    expect(written.endsWith('}\n')).toBe(true);
    expect(written).toContain('\n  "schema": 3,\n');
    expect(parseVmJson(written)).toEqual({ ok: true, config, migrated: false });
  });

  it.each([
    ['empty file', ''],
    ['truncated JSON', text(sampleConfig()).slice(0, 40)],
    ['garbage bytes', '\u0000\u0001garbage'],
    ['YAML', 'schema: 1\nname: x\n'],
  ])('refuses %s as not valid JSON', (_what, input) => {
    expect(reasonOf(parseVmJson(input))).toMatch(/^vm\.json is not valid JSON \(.+\)\.$/s);
  });

  // Regression (was a bug): the JSON error quotes the file's own bytes, so a reason shown in a
  // list or printed by the CLI can span lines and carry terminal escape sequences.
  it('the not-JSON reason is one line without control characters', () => {
    const reason = reasonOf(parseVmJson('oops\n\u001b]0;owned\u0007'));
    // eslint-disable-next-line no-control-regex
    expect(reason).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it.each([
    ['an array', text([sampleConfig()])],
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"Debian"'],
  ])('refuses JSON that is %s: "does not hold a VM definition"', (_what, input) => {
    expect(reasonOf(parseVmJson(input))).toBe('vm.json does not hold a VM definition.');
  });

  it.each([
    ['missing', omit(sampleConfig(), 'schema')],
    ['a string', { ...sampleConfig(), schema: '1' }],
    ['zero', { ...sampleConfig(), schema: 0 }],
    ['negative', { ...sampleConfig(), schema: -1 }],
    ['a fraction', { ...sampleConfig(), schema: 1.5 }],
    ['null', { ...sampleConfig(), schema: null }],
  ])('refuses a schema version that is %s', (_what, document) => {
    expect(reasonOf(parseVmJson(text(document)))).toBe('vm.json has no schema version.');
  });

  it('refuses a vm.json from a newer Hangar, saying to update', () => {
    const reason = reasonOf(parseVmJson(text({ ...sampleConfig(), schema: 4, aNewField: true })));
    expect(reason).toBe('vm.json was written by a newer Hangar (schema 4); update Hangar to open this VM.');
  });

  const disk = sampleConfig().devices.disks[0]!;
  it.each([
    ['cpus', withMachine(sampleConfig(), { cpus: 0 })],
    ['cpus', withMachine(sampleConfig(), { cpus: 2.5 })],
    ['memoryMiB', withMachine(sampleConfig(), { memoryMiB: 8 })],
    ['id', { ...sampleConfig(), id: '../escape' }],
    ['firmware', { ...sampleConfig(), machine: { ...sampleConfig().machine, firmware: 'coreboot' } }],
    ['disks', withDevices(sampleConfig(), { disks: Array.from({ length: 17 }, (_, index) => ({ ...disk, id: `disk${index}` })) })],
    // A relative path with a folder in it would run this VM on another VM's disk.
    ['file', withDevices(sampleConfig(), { disks: [{ ...disk, file: '../victim/disk-0.qcow2' }] })],
    ['file', withDevices(sampleConfig(), { disks: [{ ...disk, file: '/home/ada/../../etc/shadow' }] })],
    ['devices', withDevices(sampleConfig(), { disks: [disk, { ...disk, file: 'other.qcow2' }] })],
    ['name', { ...sampleConfig(), name: 'x'.repeat(300) }],
    ['pciSlots', { ...sampleConfig(), pciSlots: { ...sampleConfig().pciSlots, nic0: 3 } }],
  ])('names the bad field (%s) in its reason', (field, document) => {
    const reason = reasonOf(parseVmJson(text(document)));
    expect(reason.startsWith('vm.json is not a valid VM definition: ')).toBe(true);
    expect(reason).toContain(field);
    expect(reason).not.toContain('\n');
  });

  it('says which field when a required one is missing, and refuses unknown fields', () => {
    expect(reasonOf(parseVmJson(text(omit(sampleConfig(), 'devices'))))).toContain('devices');
    expect(reasonOf(parseVmJson(text({ ...sampleConfig(), colour: 'blue' })))).toContain('colour');
  });

  it('ships one step per version before the current one', () => {
    expect(Object.keys(MIGRATIONS).map(Number)).toEqual(Array.from({ length: CURRENT_SCHEMA - 1 }, (_, index) => index + 1));
  });
});

describe('parseVmJson with a migration table', () => {
  // A made-up history: v1 called cpus "cores", v2 called memory "ram".
  const Made = z.strictObject({ schema: z.literal(3), id: z.string(), cpus: z.number().int().min(1), memory: z.number() });
  const validate: VmConfigValidator = (document) => Made.safeParse(document) as unknown as ReturnType<VmConfigValidator>;
  function history(calls: Array<{ step: number; input: Record<string, unknown> }>): Record<number, Migration> {
    return {
      1: (old) => {
        calls.push({ step: 1, input: structuredClone(old) });
        const { cores, ...rest } = old;
        return { ...rest, cpus: cores };
      },
      2: (old) => {
        calls.push({ step: 2, input: structuredClone(old) });
        const { ram, ...rest } = old;
        return { ...rest, memory: ram };
      },
    };
  }
  const version1 = { schema: 1, id: 'made', cores: 2, ram: 2048 };

  it('runs the steps in order, each on the output of the one before, stamping each version', () => {
    const calls: Array<{ step: number; input: Record<string, unknown> }> = [];
    const result = parseVmJson(text(version1), history(calls), 3, validate);
    expect(calls.map((call) => call.step)).toEqual([1, 2]);
    expect(calls[0]?.input).toMatchObject({ schema: 1, cores: 2, ram: 2048 });
    // Step 2 sees what step 1 made: cpus renamed, and the version stamped as 2.
    expect(calls[1]?.input).toMatchObject({ schema: 2, cpus: 2, ram: 2048 });
    expect(calls[1]?.input).not.toHaveProperty('cores');
    expect(result).toEqual({ ok: true, migrated: true, config: { schema: 3, id: 'made', cpus: 2, memory: 2048 } });
  });

  it('starts from the version the file has: a version-2 file skips step 1', () => {
    const calls: Array<{ step: number; input: Record<string, unknown> }> = [];
    parseVmJson(text({ schema: 2, id: 'made', cpus: 2, ram: 2048 }), history(calls), 3, validate);
    expect(calls.map((call) => call.step)).toEqual([2]);
  });

  it('validates what the migrations produce, naming the bad field', () => {
    const broken: Record<number, Migration> = { 1: (old) => ({ ...old, cpus: 0, memory: 1 }), 2: (old) => old };
    const reason = reasonOf(parseVmJson(text(version1), broken, 3, validate));
    expect(reason).toMatch(/^vm\.json is not a valid VM definition: /);
    expect(reason).toContain('cpus');
  });

  it('refuses a version with no step to the next one', () => {
    const calls: Array<{ step: number; input: Record<string, unknown> }> = [];
    const { 1: first } = history(calls);
    const reason = reasonOf(parseVmJson(text(version1), { 1: first! }, 3, validate));
    expect(reason).toBe('vm.json has schema 2, which this Hangar cannot upgrade.');
    expect(calls.map((call) => call.step)).toEqual([1]);
  });

  it('still refuses a newer version than the given current one', () => {
    expect(reasonOf(parseVmJson(text({ schema: 4 }), history([]), 3, validate))).toBe('vm.json was written by a newer Hangar (schema 4); update Hangar to open this VM.');
  });

  // Regression (was a bug): a step that throws escapes parseVmJson (which promises {ok:false}),
  // so VmLibrary.list() rejects and hides every VM instead of showing one as broken.
  it('a migration step that throws gives a reason instead of an exception', () => {
    const throwing: Record<number, Migration> = {
      1: (old) => {
        const nic = old.nic as { model: string } | undefined;
        return { ...old, nicModel: nic!.model.toUpperCase() };
      },
    };
    expect(parseVmJson(text({ schema: 1 }), throwing, 2).ok).toBe(false);
  });
});
