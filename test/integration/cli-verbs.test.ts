import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmDetails, VmSummary } from '../../src-shared/vm';
import { makeSandbox, type Sandbox, runCli, type CliRun } from '../support/engine';
import { ensureTestIso } from '../support/test-iso';

// The hangar command as a user types it, against the built app and real QEMU.

let sandbox: Sandbox;
let iso: string;

const hangar = (...args: string[]): CliRun => runCli(sandbox.env, args);

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-cli-');
});
afterAll(async () => {
  await sandbox.cleanup();
});

describe('hangar VM verbs', () => {
  it('create, list, info, start, pause, resume, reset, stop, delete', () => {
    const created = hangar('create', '--name', 'Cli Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '1G', '--ssh-port', '2299', '--json');
    expect(created.code).toBe(0);
    expect(VmSummary.parse(JSON.parse(created.stdout))).toMatchObject({ id: 'cli-guest', state: 'stopped', config: { machine: { memoryMiB: 256, cpus: 1 } } });

    const listed = hangar('list', '--json');
    expect(VmSummary.array().parse(JSON.parse(listed.stdout)).map((vm) => vm.id)).toEqual(['cli-guest']);
    expect(hangar('list').stdout).toMatch(/^NAME\s+ID\s+STATE/);

    const info = VmDetails.parse(JSON.parse(hangar('info', 'cli-guest', '--json').stdout));
    expect(info.argv?.[0]).toMatch(/qemu-system-x86_64$/);
    expect(info.argv).toContain('user,id=nic0-net,hostfwd=tcp:127.0.0.1:2299-:22');

    expect(hangar('start', 'Cli Guest')).toMatchObject({ code: 0, stdout: 'Cli Guest is running.\n' });
    expect(hangar('pause', 'cli-guest').stdout).toBe('Cli Guest is paused.\n');
    expect(hangar('resume', 'cli-guest').stdout).toBe('Cli Guest is running.\n');
    expect(hangar('reset', 'cli-guest').stdout).toBe('Cli Guest was reset.\n');
    const busy = hangar('delete', 'cli-guest');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('is running. Shut it down before deleting it.');
    expect(hangar('stop', 'cli-guest', '--force')).toMatchObject({ code: 0, stdout: 'Cli Guest is stopped.\n' });
    expect(hangar('delete', 'cli-guest')).toMatchObject({ code: 0, stdout: 'Deleted cli-guest.\n' });
    expect(hangar('list').stdout).toContain('No VMs yet.');
  }, 180_000);

  it('disk import makes a VM from an existing image, with its progress', async () => {
    const source = path.join(sandbox.root, 'appliance.vdi');
    expect(spawnSync('qemu-img', ['create', '-f', 'vdi', source, '64M']).status).toBe(0);
    const imported = hangar('disk', 'import', source, '--name', 'Appliance', '--json');
    expect(imported.code).toBe(0);
    expect(VmSummary.parse(JSON.parse(imported.stdout)).config?.devices.disks).toMatchObject([{ id: 'disk0', file: 'disk-0.qcow2', format: 'qcow2', bus: 'virtio-blk', backing: null }]);
    const info = spawnSync('qemu-img', ['info', '--output=json', path.join(sandbox.root, 'data', 'vms', 'appliance', 'disk-0.qcow2')], { encoding: 'utf8' });
    expect(JSON.parse(info.stdout)).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * 1024 * 1024 });
    expect(await fs.readFile(source)).toBeTruthy(); // the source is left as it was
  });

  it('iso tells what an ISO installs; create --dry-run makes nothing; edit changes a stopped VM', () => {
    const about = hangar('iso', iso, '--json');
    expect(about.code).toBe(0);
    expect(JSON.parse(about.stdout)).toMatchObject({ path: iso, volumeId: 'HANGAR_TEST', bootable: true, uefiBootable: true, os: { family: 'other-linux' } });
    expect(hangar('iso', iso).stdout).toMatch(/^Other Linux — .*\n {2}volume: HANGAR_TEST; boots with BIOS and UEFI\n/);
    const notes = path.join(sandbox.root, 'notes.iso');
    spawnSync('sh', ['-c', `yes notes | head -c 100000 > '${notes}'`]);
    expect(hangar('iso', notes)).toMatchObject({ code: 1, stderr: expect.stringContaining(`${notes} is not an ISO image`) });

    const dry = hangar('create', '--name', 'Dry Run', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '1G', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/qemu-system-x86_64 -name 'guest=Dry Run,process=hangar-dry-run' .* -m 256M /);
    expect(hangar('list', '--json').stdout).not.toContain('Dry Run');
    const tooBig = hangar('create', '--name', 'Dry Run', '--memory', '500G', '--dry-run');
    expect(tooBig).toMatchObject({ code: 1, stderr: expect.stringContaining('more memory than this machine has') });

    expect(hangar('create', '--name', 'Editable', '--memory', '256M', '--cpus', '1', '--disk', '0').code).toBe(0);
    const edited = hangar('edit', 'editable', '--name', 'Edited', '--memory', '512M', '--uefi', '--ssh-port', '2298', '--json');
    expect(edited.code).toBe(0);
    expect(VmSummary.parse(JSON.parse(edited.stdout)).config).toMatchObject({ name: 'Edited', machine: { memoryMiB: 512, firmware: 'uefi' }, devices: { nics: [{ portForwards: [{ hostPort: 2298, guestPort: 22 }] }] } });
    expect(hangar('edit', 'edited', '--boot', 'cdrom')).toMatchObject({ code: 1, stderr: expect.stringContaining('has no ISO in its CD drive') });
    expect(hangar('edit', 'edited', '--memory', '500G')).toMatchObject({ code: 1, stderr: expect.stringContaining('more memory than this machine has') });
    expect(hangar('edit', 'edited')).toMatchObject({ code: 2, stderr: expect.stringContaining('Say what to change') });
    expect(hangar('delete', 'edited').code).toBe(0);
  });

  it('says what is wrong, in words, with the right exit codes', () => {
    expect(hangar('start', 'nope')).toMatchObject({ code: 1, stderr: 'hangar start: There is no VM called "nope". "hangar list" shows the VMs.\n' });
    expect(hangar('create', '--name', 'Huge', '--memory', '500G').stderr).toMatch(/500 GiB is more memory than this machine has \(\d+ GiB\)/);
    expect(hangar('create', '--name', 'Huger', '--memory', '9999G').stderr).toContain('The memory can be at most 4194304 MiB.');
    expect(hangar('create', '--memory', '2G').stderr).toContain('--name is required.');
    expect(hangar('create', '--name', 'X', '--memory', 'lots').stderr).toContain('--memory takes a size such as 2G or 2048M, not "lots".');
    expect(hangar('stop').stderr).toContain('Missing VM.');
    expect(hangar('media', 'appliance').code).toBe(2);
  });
});
