import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-shared/errors';
import type { VmConfig } from '../../../src-shared/vm';
import { VM_JSON, VmLibrary } from '../../../src-main/vms/library';
import { parseVmJson } from '../../../src-main/vms/schema';
import { sampleDraft } from './sample';

const sampleDisk = sampleDraft().devices.disks[0]!;
import { refusal } from '../../support/refusal';

let root: string;
let library: VmLibrary;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-library-'));
  library = new VmLibrary(root);
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});


const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;
const listing = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).sort();
const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

function deadPid(): number {
  const child = spawnSync('true');
  expect(child.status).toBe(0);
  return child.pid!;
}

/** Creates a VM whose folder holds a (tiny, fake) disk file named in its vm.json. */
async function createWithDisk(name: string, diskBytes = 'disk bytes'): Promise<VmConfig> {
  return library.create(sampleDraft({ name }), async (staging) => {
    await fs.writeFile(path.join(staging, 'disk.qcow2'), diskBytes);
  });
}

describe('VmLibrary.create', () => {
  it('makes a 0700 folder with a 0600 vm.json that reads back as the returned definition', async () => {
    const before = Date.now();
    const config = await library.create(sampleDraft({ name: '  Debian 12  ' }));
    expect(config).toMatchObject({ ...sampleDraft(), schema: 3, id: 'debian-12', name: 'Debian 12' });
    expect(Date.parse(config.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(config.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);

    const dir = path.join(root, 'vms', 'debian-12');
    expect(library.vmDir('debian-12')).toBe(dir);
    expect(await mode(path.join(root, 'vms'))).toBe(0o700);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(path.join(dir, VM_JSON))).toBe(0o600);
    expect(await listing(dir)).toEqual([VM_JSON]);
    expect(parseVmJson(await fs.readFile(path.join(dir, VM_JSON), 'utf8'))).toEqual({ ok: true, config, migrated: false });
    expect(await library.list()).toEqual([{ id: 'debian-12', dir, config, broken: null }]);
  });

  it('runs populate in a hidden staging folder inside vms/, with the final definition', async () => {
    let seen: { staging: string; config: VmConfig; listing: string[] } | undefined;
    const config = await library.create(sampleDraft(), async (staging, draftConfig) => {
      seen = { staging, config: draftConfig, listing: await listing(path.join(root, 'vms')) };
      await fs.writeFile(path.join(staging, 'disk.qcow2'), 'disk');
    });
    expect(seen?.staging).toBe(path.join(root, 'vms', `.creating-debian-12-${process.pid}`));
    expect(seen?.listing).toEqual([`.creating-debian-12-${process.pid}`]);
    expect(seen?.config).toEqual(config);
    // While it is staged, the VM is not listed.
    expect(await listing(path.join(root, 'vms'))).toEqual(['debian-12']);
    expect(await listing(library.vmDir('debian-12'))).toEqual(['disk.qcow2', VM_JSON]);
  });

  it('refuses a name already taken (any case, any padding) with VM_NAME_TAKEN, making nothing', async () => {
    await library.create(sampleDraft({ name: 'Debian 12' }));
    for (const name of ['Debian 12', 'debian 12', '  DEBIAN 12 ']) {
      const error = await refusal(library.create(sampleDraft({ name })));
      expect(error.code).toBe('VM_NAME_TAKEN');
      expect(error.message).toBe('There is already a VM called "Debian 12". Choose another name.');
    }
    expect(await listing(path.join(root, 'vms'))).toEqual(['debian-12']);
  });

  it('gives names that make the same id the next free one: -2, -3', async () => {
    const ids = [];
    for (const name of ['Debian!', 'Debian?', 'débian']) ids.push((await library.create(sampleDraft({ name }))).id);
    expect(ids).toEqual(['debian', 'debian-2', 'debian-3']);
    expect((await library.list()).map((entry) => entry.config?.name)).toEqual(['Debian!', 'Debian?', 'débian']);
  });

  it.each([
    ['', 'Give the VM a name.'],
    ['   ', 'Give the VM a name.'],
    ['a'.repeat(500), 'A VM name can be at most 100 characters.'],
    ['two\nlines', 'A VM name cannot contain control characters (such as new lines or tabs) or text-direction marks.'],
  ])('refuses the name %j with VM_NAME_INVALID before making anything', async (name, message) => {
    const error = await refusal(library.create(sampleDraft({ name })));
    expect(error.code).toBe('VM_NAME_INVALID');
    expect(error.message).toBe(message);
    expect(await listing(root)).toEqual([]);
  });

  it('refuses an invalid definition before making anything', async () => {
    await expect(library.create(sampleDraft({ machine: { ...sampleDraft().machine, cpus: 0 } }))).rejects.toMatchObject({ code: 'BAD_SETTINGS', message: expect.stringMatching(/cpus/) });
    expect(await library.list()).toEqual([]);
    // Not even the vms folder was made.
    await expect(listing(path.join(root, 'vms'))).rejects.toThrow(/ENOENT/);
  });

  it('a populate that throws leaves no folder behind, not even the staging one, and passes its error on', async () => {
    const failure = new Error('qemu-img exploded');
    let staging = '';
    await expect(
      library.create(sampleDraft(), async (dir) => {
        staging = dir;
        await fs.writeFile(path.join(dir, 'disk.qcow2'), 'half a disk');
        await fs.mkdir(path.join(dir, 'nested'));
        await fs.writeFile(path.join(dir, 'nested', 'log'), 'x');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(staging).not.toBe('');
    expect(await exists(staging)).toBe(false);
    expect(await listing(path.join(root, 'vms'))).toEqual([]);
    expect(await library.list()).toEqual([]);
    // And the name is free again.
    expect((await library.create(sampleDraft())).id).toBe('debian-12');
  });

  it('a populate failing with ENOSPC is reported as NO_SPACE in words', async () => {
    const error = await refusal(
      library.create(sampleDraft(), async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }),
    );
    expect(error.code).toBe('NO_SPACE');
    expect(error.message).toBe('The disk is full. Free some space and try again; nothing was changed.');
    expect(await listing(path.join(root, 'vms'))).toEqual([]);
  });

  it.each([
    ['../x', 'x'],
    ['../../etc/passwd', 'etc-passwd'],
    ['a/b', 'a-b'],
    [';rm -rf ~', 'rm-rf'],
    ['..', 'vm'],
    ['/', 'vm-2'],
    ['.hidden', 'hidden'],
  ])('the name %j makes the folder vms/%s and nothing outside it', async (name, id) => {
    // '..' and '/' both become "vm": the second one gets vm-2.
    if (id === 'vm-2') await library.create(sampleDraft({ name: '..' }));
    const config = await library.create(sampleDraft({ name }));
    expect(config.id).toBe(id);
    expect(config.name).toBe(name);
    expect(await listing(root)).toEqual(['vms']);
    expect(await listing(path.join(root, 'vms'))).toContain(id);
    expect(await listing(path.dirname(root))).toContain(path.basename(root));
    expect((await library.find(name)).id).toBe(id);
  });

  it('keeps hostile names apart from each other, all inside vms/', async () => {
    const names = ['../x', 'x', '../../x', 'a/b', 'a-b', ';rm -rf ~', '$(touch pwned)', '`touch pwned`'];
    for (const name of names) await library.create(sampleDraft({ name }));
    expect(await listing(root)).toEqual(['vms']);
    expect(await listing(path.join(root, 'vms'))).toEqual(['a-b', 'a-b-2', 'rm-rf', 'touch-pwned', 'touch-pwned-2', 'x', 'x-2', 'x-3']);
    expect(await exists(path.join(process.cwd(), 'pwned'))).toBe(false);
  });

  // Regression (was a bug): two creates of one name at the same time both pass the name check, then
  // the second's mkdir of the same staging folder fails with a raw EEXIST error.
  it('two creates of one name at once: one VM, the other told VM_NAME_TAKEN', async () => {
    const results = await Promise.allSettled([library.create(sampleDraft()), library.create(sampleDraft())]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect((rejected?.reason as HangarError | undefined)?.code).toBe('VM_NAME_TAKEN');
  });
});

describe('VmLibrary.list, find and get', () => {
  it('lists nothing when the library does not exist yet', async () => {
    expect(await new VmLibrary(path.join(root, 'not-yet')).list()).toEqual([]);
  });

  it('lists VMs sorted by id, skipping hidden folders', async () => {
    for (const name of ['Zeta', 'alpha', 'Mid 2', 'mid']) await library.create(sampleDraft({ name }));
    await fs.mkdir(path.join(root, 'vms', '.trash'));
    expect((await library.list()).map((entry) => entry.id)).toEqual(['alpha', 'mid', 'mid-2', 'zeta']);
  });

  it('finds by exact id and by name in any case, with surrounding spaces', async () => {
    await library.create(sampleDraft({ name: 'Debian 12' }));
    await library.create(sampleDraft({ name: 'Windows 11' }));
    for (const ref of ['debian-12', 'Debian 12', 'debian 12', 'DEBIAN 12', '  Debian 12 ']) {
      expect((await library.find(ref)).id).toBe('debian-12');
    }
    expect((await library.get('WINDOWS 11')).config.name).toBe('Windows 11');
  });

  it('prefers an exact id over another VM whose name is that id', async () => {
    await library.create(sampleDraft({ name: 'beta' }));
    await library.create(sampleDraft({ name: 'gamma' }));
    await library.update('beta', (config) => ({ ...config, name: 'Bee' }));
    await library.update('gamma', (config) => ({ ...config, name: 'beta' }));
    expect((await library.find('beta')).config?.name).toBe('Bee');
    expect((await library.find('BETA')).id).toBe('gamma');
  });

  it.each(['nope', 'debian', 'Debian 1', '../debian-12', ''])('refuses %j with VM_NOT_FOUND, saying how to see the VMs', async (ref) => {
    await library.create(sampleDraft({ name: 'Debian 12' }));
    const error = await refusal(library.find(ref));
    expect(error.code).toBe('VM_NOT_FOUND');
    expect(error.message).toBe(`There is no VM called "${ref}". "hangar list" shows the VMs.`);
  });

  it('shows a VM with a corrupt vm.json as broken with a reason, loads the others, and leaves the file as it was', async () => {
    const good1 = await library.create(sampleDraft({ name: 'Alpha' }));
    const bad = await library.create(sampleDraft({ name: 'Broken' }));
    const good2 = await library.create(sampleDraft({ name: 'Zulu' }));
    const garbage = Buffer.from([0x7b, 0x22, 0x73, 0x63, 0x68, 0xff, 0x00, 0xfe, 0x0a, 0x67, 0x61, 0x72, 0x62]);
    const badFile = path.join(library.vmDir(bad.id), VM_JSON);
    await fs.writeFile(badFile, garbage);
    const badStats = await fs.stat(badFile);

    const entries = await library.list();
    expect(entries.map((entry) => entry.id)).toEqual(['alpha', 'broken', 'zulu']);
    expect(entries[0]).toMatchObject({ config: good1, broken: null });
    expect(entries[2]).toMatchObject({ config: good2, broken: null });
    expect(entries[1]).toMatchObject({ id: 'broken', config: null });
    expect(entries[1]?.broken).toMatch(/^vm\.json is not valid JSON/);

    // find still finds it by id (not by name: the name is in the unreadable file).
    expect((await library.find('broken')).broken).toBe(entries[1]?.broken);
    const error = await refusal(library.get('broken'));
    expect(error.code).toBe('VM_BROKEN');
    expect(error.message).toBe(`The VM "broken" cannot be loaded: ${entries[1]?.broken}`);
    await expect(library.update('broken', (config) => ({ ...config, machine: { ...config.machine, cpus: 4 } }))).rejects.toMatchObject({ code: 'VM_BROKEN' });

    expect((await fs.readFile(badFile)).equals(garbage)).toBe(true);
    expect((await fs.stat(badFile)).mtimeMs).toBe(badStats.mtimeMs);
    expect(await listing(library.vmDir(bad.id))).toEqual([VM_JSON]);
  });

  it("keeps an id taken by a broken VM: a new VM of that name gets the next id", async () => {
    const bad = await library.create(sampleDraft({ name: 'Broken' }));
    await fs.writeFile(path.join(library.vmDir(bad.id), VM_JSON), 'garbage');
    const again = await library.create(sampleDraft({ name: 'Broken' }));
    expect(again.id).toBe('broken-2');
    await expect(fs.readFile(path.join(library.vmDir('broken'), VM_JSON), 'utf8')).resolves.toBe('garbage');
  });

  it("shows a folder without vm.json as broken: 'vm.json is missing.'", async () => {
    await library.create(sampleDraft({ name: 'Good' }));
    await fs.mkdir(path.join(root, 'vms', 'orphan'));
    await fs.writeFile(path.join(root, 'vms', 'orphan', 'disk.qcow2'), 'disk');
    const entries = await library.list();
    expect(entries.map((entry) => [entry.id, entry.broken])).toEqual([
      ['good', null],
      ['orphan', 'vm.json is missing.'],
    ]);
    expect(entries[1]?.config).toBeNull();
    expect(entries[1]?.dir).toBe(path.join(root, 'vms', 'orphan'));
  });

  it('shows a vm.json that belongs to another folder as broken, and skips stray files', async () => {
    const config = await library.create(sampleDraft({ name: 'Original' }));
    await fs.cp(library.vmDir(config.id), path.join(root, 'vms', 'copy'), { recursive: true });
    await fs.writeFile(path.join(root, 'vms', 'notes.txt'), 'not a VM');
    const entries = await library.list();
    expect(entries.map((entry) => [entry.id, entry.broken])).toEqual([
      ['copy', 'vm.json belongs to "original", not to this folder.'],
      ['original', null],
    ]);
  });

  it('names the field when vm.json is JSON but not a valid definition', async () => {
    const config = await library.create(sampleDraft({ name: 'Bad CPUs' }));
    const file = path.join(library.vmDir(config.id), VM_JSON);
    await fs.writeFile(file, JSON.stringify({ ...config, machine: { ...config.machine, cpus: 0 } }));
    const [entry] = await library.list();
    expect(entry?.broken).toMatch(/^vm\.json is not a valid VM definition: .*cpus/);
  });

  it('cleans up a staging or deleting folder abandoned by a dead process, and keeps a live one', async () => {
    await library.create(sampleDraft({ name: 'Keep' }));
    const dead = deadPid();
    const abandoned = [`.creating-x-${dead}`, `.creating-debian-12-${dead}`, `.deleting-old-${dead}`];
    for (const name of abandoned) {
      await fs.mkdir(path.join(root, 'vms', name));
      await fs.writeFile(path.join(root, 'vms', name, 'disk.qcow2'), 'half');
    }
    const live = `.creating-busy-${process.pid}`;
    await fs.mkdir(path.join(root, 'vms', live));
    expect((await library.list()).map((entry) => entry.id)).toEqual(['keep']);
    expect(await listing(path.join(root, 'vms'))).toEqual([live, 'keep']);
  });
});

describe('VmLibrary.update', () => {
  it('changes fields, keeps id and schema, and leaves only vm.json in the folder', async () => {
    const config = await library.create(sampleDraft());
    const change = (current: VmConfig): VmConfig => ({ ...current, machine: { ...current.machine, cpus: 8, memoryMiB: 4096 }, devices: { ...current.devices, cdroms: [{ ...current.devices.cdroms[0]!, iso: null }] } });
    const updated = await library.update('Debian 12', change);
    expect(updated).toEqual(change(config));
    const file = path.join(library.vmDir(config.id), VM_JSON);
    expect(parseVmJson(await fs.readFile(file, 'utf8'))).toEqual({ ok: true, config: updated, migrated: false });
    expect(await mode(file)).toBe(0o600);
    expect(await listing(library.vmDir(config.id))).toEqual([VM_JSON]);
  });

  it('renames (trimmed), keeping the folder: the id never changes', async () => {
    const config = await library.create(sampleDraft());
    const renamed = await library.update(config.id, (current) => ({ ...current, name: '  Debian Bookworm ' }));
    expect(renamed.name).toBe('Debian Bookworm');
    expect(renamed.id).toBe('debian-12');
    expect((await library.find('debian bookworm')).id).toBe('debian-12');
    await expect(library.find('Debian 12')).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
    // A change of case only is allowed: the only VM with that name is this one.
    expect((await library.update(config.id, (current) => ({ ...current, name: 'DEBIAN BOOKWORM' }))).name).toBe('DEBIAN BOOKWORM');
  });

  it('refuses to rename onto another VM\'s name (any case) with VM_NAME_TAKEN, changing nothing', async () => {
    await library.create(sampleDraft({ name: 'Debian 12' }));
    const other = await library.create(sampleDraft({ name: 'Fedora' }));
    const file = path.join(library.vmDir(other.id), VM_JSON);
    const before = await fs.readFile(file);
    const error = await refusal(library.update('Fedora', (current) => ({ ...current, name: 'debian 12', machine: { ...current.machine, cpus: 16 } })));
    expect(error.code).toBe('VM_NAME_TAKEN');
    expect(error.message).toBe('There is already a VM called "debian 12". Choose another name.');
    expect((await fs.readFile(file)).equals(before)).toBe(true);
    expect(await listing(library.vmDir(other.id))).toEqual([VM_JSON]);
  });

  it.each([
    ['', 'VM_NAME_INVALID'],
    ['tab\there', 'VM_NAME_INVALID'],
  ])('refuses the new name %j, changing nothing', async (name, code) => {
    const config = await library.create(sampleDraft());
    const file = path.join(library.vmDir(config.id), VM_JSON);
    const before = await fs.readFile(file);
    await expect(library.update(config.id, (current) => ({ ...current, name }))).rejects.toMatchObject({ code });
    expect((await fs.readFile(file)).equals(before)).toBe(true);
  });

  it('refuses an invalid change (cpus: 0), leaving vm.json as it was', async () => {
    const config = await library.create(sampleDraft());
    const file = path.join(library.vmDir(config.id), VM_JSON);
    const before = await fs.readFile(file);
    await expect(library.update(config.id, (current) => ({ ...current, machine: { ...current.machine, cpus: 0 } }))).rejects.toThrow(/cpus/);
    expect((await fs.readFile(file)).equals(before)).toBe(true);
    expect(await listing(library.vmDir(config.id))).toEqual([VM_JSON]);
  });

  it('refuses an unknown VM with VM_NOT_FOUND', async () => {
    await expect(library.update('ghost', (current) => current)).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
  });
});

describe('VmLibrary.remove', () => {
  it('with keepDisks moves the VM\'s own disks to kept-disks/<id>/ and deletes the folder', async () => {
    const config = await library.create(
      sampleDraft({
        devices: {
          ...sampleDraft().devices,
          disks: [
            { ...sampleDisk, id: 'disk0', file: 'disk.qcow2', bus: 'virtio-blk' },
            { ...sampleDisk, id: 'disk1', file: 'data.raw', format: 'raw', bus: 'sata' },
            { ...sampleDisk, id: 'disk2', file: path.join(root, 'elsewhere.qcow2'), bus: 'sata' },
          ],
        },
      }),
      async (staging) => {
        await fs.writeFile(path.join(staging, 'disk.qcow2'), 'system disk');
        await fs.writeFile(path.join(staging, 'data.raw'), 'data disk');
        await fs.writeFile(path.join(staging, 'OVMF_VARS.fd'), 'nvram');
      },
    );
    await fs.writeFile(path.join(root, 'elsewhere.qcow2'), 'not ours');

    const result = await library.remove('Debian 12', true);
    const kept = path.join(root, 'kept-disks', config.id);
    expect(result).toEqual({ keptDisksDir: kept });
    expect(await listing(kept)).toEqual(['data.raw', 'disk.qcow2']);
    await expect(fs.readFile(path.join(kept, 'disk.qcow2'), 'utf8')).resolves.toBe('system disk');
    await expect(fs.readFile(path.join(kept, 'data.raw'), 'utf8')).resolves.toBe('data disk');
    await expect(fs.readFile(path.join(root, 'elsewhere.qcow2'), 'utf8')).resolves.toBe('not ours');
    expect(await mode(kept)).toBe(0o700);
    expect(await listing(path.join(root, 'vms'))).toEqual([]);
    expect(await library.list()).toEqual([]);
  });

  it('with keepDisks but no disk of its own keeps nothing and says so', async () => {
    await library.create(sampleDraft({ devices: { ...sampleDraft().devices, disks: [] } }));
    expect(await library.remove('debian-12', true)).toEqual({ keptDisksDir: null });
    expect(await listing(root)).toEqual(['vms']);
  });

  it('without keepDisks deletes everything of the VM, and nothing of another', async () => {
    await createWithDisk('Debian 12');
    const other = await createWithDisk('Other');
    await fs.writeFile(path.join(root, 'elsewhere.qcow2'), 'not ours');
    expect(await library.remove('debian-12', false)).toEqual({ keptDisksDir: null });
    expect(await listing(root)).toEqual(['elsewhere.qcow2', 'vms']);
    expect(await listing(path.join(root, 'vms'))).toEqual([other.id]);
    expect(await listing(library.vmDir(other.id))).toEqual(['disk.qcow2', VM_JSON]);
    await expect(library.find('Debian 12')).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
  });

  it('removes a broken VM by its id', async () => {
    await fs.mkdir(path.join(root, 'vms', 'orphan'), { recursive: true });
    await library.remove('orphan', false);
    expect(await listing(path.join(root, 'vms'))).toEqual([]);
  });

  it('refuses an unknown VM with VM_NOT_FOUND', async () => {
    await expect(library.remove('ghost', false)).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
  });

  // Regression (was a bug): kept disks go to kept-disks/<id>/<file> with rename(), which silently
  // replaces a disk kept earlier from another VM that had the same id.
  it('keeping the disks of a second VM with the same id does not overwrite the first one\'s', async () => {
    await createWithDisk('Debian 12', 'first VM disk');
    const first = await library.remove('debian-12', true);
    await createWithDisk('Debian 12', 'second VM disk');
    const second = await library.remove('debian-12', true);
    const keptFiles = [first.keptDisksDir, second.keptDisksDir].map((dir) => path.join(dir!, 'disk.qcow2'));
    const contents = await Promise.all(keptFiles.map((file) => fs.readFile(file, 'utf8').catch(() => null)));
    expect(contents.sort()).toEqual(['first VM disk', 'second VM disk']);
  });

  // Regression (was a bug): for a broken VM (vm.json unreadable) keepDisks is ignored and the disks
  // are deleted with the folder, although the user asked to keep them.
  it('removing a broken VM with keepDisks does not delete its disk images', async () => {
    const config = await createWithDisk('Debian 12', 'precious');
    await fs.writeFile(path.join(library.vmDir(config.id), VM_JSON), 'garbage');
    await library.remove('debian-12', true).catch(() => {});
    const survivors = await Promise.all([path.join(library.vmDir(config.id), 'disk.qcow2'), path.join(root, 'kept-disks', config.id, 'disk.qcow2')].map((file) => fs.readFile(file, 'utf8').catch(() => null)));
    expect(survivors).toContain('precious');
  });
});
