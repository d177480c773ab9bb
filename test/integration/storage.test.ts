import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoredFiles } from '../../src-shared/storage';
import { createHangarService } from '../../src-main/api/service';
import { runCli, type CliContext } from '../../src-main/cli/commands';
import { call, makeSandbox, type Sandbox } from '../support/engine';
import { refusal } from '../support/refusal';
import { ensureTestIso } from '../support/test-iso';

// What Hangar keeps beside the VMs, through the real service and the hangar command: a kept
// ISO in a VM's CD drive, a disk kept from a deleted VM; listed, refused while used, removed.

let sandbox: Sandbox;
let storedIso: string;
let keptDisk: string;

function cli(): CliContext & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    io: { out: (text) => void (out += text), err: (text) => void (err += text), isTTY: false },
    rendererDir: '/nonexistent',
    createService: (door) => createHangarService({ door, env: sandbox.env }),
    untilInterrupted: () => Promise.resolve(),
    stdout: () => out,
    stderr: () => err,
  };
}

beforeAll(async () => {
  sandbox = await makeSandbox('hangar-storage-');
  const service = sandbox.service();
  await fs.mkdir(service.isoStoreDir, { recursive: true, mode: 0o700 });
  storedIso = path.join(service.isoStoreDir, 'guest.iso');
  await fs.copyFile(await ensureTestIso(), storedIso);
  await call(service, 'createVm', { name: 'Stored Guest', iso: storedIso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
  await call(service, 'createVm', { name: 'Old One', memoryMiB: 256, cpus: 1, diskGiB: 1 });
  const { keptDisksDir } = await call(service, 'deleteVm', { vm: 'Old One', keepDisks: true });
  keptDisk = path.join(keptDisksDir ?? '', 'disk-0.qcow2');
});

afterAll(async () => {
  await sandbox.cleanup();
});

describe('listStoredFiles and removeStoredFile', () => {
  it('lists the kept ISO with the VM that holds it and the kept disk with the VM it came from', async () => {
    const stored = StoredFiles.parse(await call(sandbox.service(), 'listStoredFiles', {}));
    expect(stored.isoDir).toBe(path.join(sandbox.env.HANGAR_HOME ?? '', 'isos'));
    expect(stored.keptDisksDir).toBe(path.join(sandbox.env.HANGAR_HOME ?? '', 'kept-disks'));
    expect(stored.isos).toEqual([{ path: storedIso, sizeBytes: (await fs.stat(storedIso)).size, modifiedAt: expect.any(String), usedBy: ['Stored Guest'] }]);
    expect(stored.keptDisks).toEqual([{ path: keptDisk, sizeBytes: (await fs.stat(keptDisk)).size, fromVm: 'old-one', keptAt: expect.any(String) }]);
  });

  it('refuses to remove the ISO while a VM has it, then removes it once ejected', async () => {
    const service = sandbox.service();
    const error = await refusal(call(service, 'removeStoredFile', { path: storedIso }));
    expect(error).toMatchObject({ code: 'FILE_IN_USE', message: 'guest.iso is in the CD drive of "Stored Guest". Eject it there (or delete that VM) first, then remove it.' });
    await call(service, 'changeMedia', { vm: 'Stored Guest', iso: null });
    await call(service, 'removeStoredFile', { path: storedIso });
    await expect(fs.stat(storedIso)).rejects.toThrow();
  });
});

describe('hangar storage', () => {
  it('lists both folders for people and as JSON', async () => {
    const text = cli();
    expect(await runCli(['storage'], text)).toBe(0);
    expect(text.stdout()).toContain(`Disks kept from deleted VMs in ${path.join(sandbox.env.HANGAR_HOME ?? '', 'kept-disks')}:`);
    expect(text.stdout()).toMatch(new RegExp(`  ${keptDisk.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\d+(\\.\\d)? KiB\\s+from old-one, kept \\d{4}-\\d\\d-\\d\\d`));
    expect(text.stdout()).toContain('Remove one with: hangar storage remove PATH');
    const json = cli();
    expect(await runCli(['storage', '--json'], json)).toBe(0);
    expect(StoredFiles.parse(JSON.parse(json.stdout())).keptDisks.map((disk) => disk.path)).toEqual([keptDisk]);
  });

  it('removes a kept disk, and refuses other files in words', async () => {
    const outside = cli();
    expect(await runCli(['storage', 'remove', '/etc/hostname'], outside)).toBe(1);
    expect(outside.stderr()).toContain('hangar storage: Hangar removes only the files it keeps');
    const usage = cli();
    expect(await runCli(['storage', 'remove'], usage)).toBe(2);
    expect(usage.stderr()).toContain('Usage: hangar storage [remove PATH] [--json]');
    const removed = cli();
    expect(await runCli(['storage', 'remove', keptDisk], removed)).toBe(0);
    expect(removed.stdout()).toBe(`Removed ${keptDisk}\n`);
    await expect(fs.stat(path.dirname(keptDisk))).rejects.toThrow();
  });
});
