import { bootOrderOf } from '../../src-shared/devices';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { call, followConsole, makeSandbox, qemuPidsFor, waitForVm, type Sandbox } from '../support/engine';
import { hangarBin } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';

// The engine with real QEMU (TCG) and the tiny test guest: create, start, console, ACPI
// shutdown, and the faults a desktop user meets.

const MARKER = /HANGAR-TEST-GUEST-READY/;
let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox();
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

describe('a VM from the test ISO', () => {
  it('boots to a shell, echoes what is typed, and shuts down with ACPI', async () => {
    const created = await call(service, 'createVm', { name: 'Tiny Guest', iso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
    expect(created).toMatchObject({ id: 'tiny-guest', state: 'stopped', broken: null });

    const started = await call(service, 'startVm', { vm: 'Tiny Guest' });
    expect(started.state).toBe('running');
    expect(started.accelerator).toBe('tcg');
    expect(qemuPidsFor('tiny-guest')).toHaveLength(1);

    const console = await followConsole(service, 'tiny-guest');
    await console.waitFor(MARKER, 90_000);
    const token = `hi-${Date.now()}`;
    await console.type(`echo ${token}\n`);
    await console.waitFor(new RegExp(`\\n${token}`), 20_000);

    const stopped = await call(service, 'stopVm', { vm: 'tiny-guest', waitSeconds: 60 });
    expect(stopped.state).toBe('stopped');
    expect(stopped.problem).toBeNull();
    expect(qemuPidsFor('tiny-guest')).toEqual([]);
    console.stop();
    // The run folder is gone with the VM: no stale sockets (the keeper's own stay while it does).
    expect((await fs.readdir(path.join(sandbox.root, 'run'))).filter((name) => !name.startsWith('keeper.'))).toEqual([]);
  }, 180_000);
});

describe('other Hangar processes', () => {
  it('a VM created, started, stopped and deleted by the hangar command is seen here by event, unasked', async () => {
    // This service has its engine open (a window, say) and is never called again below.
    await call(service, 'listVms', {});
    const seen: string[] = [];
    const stopWatching = service.events.onAny((name, payload) => {
      const vm = payload as { id?: string; state?: string };
      if (vm.id === 'elsewhere') seen.push(name === 'vmRemoved' ? 'removed' : (vm.state ?? name));
    });
    const hangar = (...args: string[]): Promise<number | null> =>
      new Promise((resolve) => spawn(process.execPath, [hangarBin, ...args], { env: sandbox.env, stdio: 'ignore' }).once('exit', resolve));
    try {
      expect(await hangar('create', '--name', 'Elsewhere', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0')).toBe(0);
      await expect.poll(() => seen.includes('stopped'), { timeout: 30_000 }).toBe(true);
      expect(await hangar('start', 'elsewhere')).toBe(0);
      await expect.poll(() => seen.includes('running'), { timeout: 30_000 }).toBe(true);
      expect(await hangar('stop', 'elsewhere', '--force')).toBe(0);
      await expect.poll(() => seen.lastIndexOf('stopped') > seen.indexOf('running'), { timeout: 30_000 }).toBe(true);
      expect(await hangar('delete', 'elsewhere')).toBe(0);
      await expect.poll(() => seen.at(-1), { timeout: 30_000 }).toBe('removed');
    } finally {
      stopWatching();
    }
  }, 120_000);
});

describe('UEFI, TPM and the CD drive', () => {
  it('a UEFI VM with a TPM boots from the ISO; the CD can be changed and ejected while it runs', async () => {
    // OVMF with GRUB needs a little more than 256 MiB for this kernel.
    await call(service, 'createVm', { name: 'Modern', iso, memoryMiB: 512, cpus: 1, diskGiB: 1, firmware: 'uefi', tpm: true });
    const folder = path.join(sandbox.root, 'data', 'vms', 'modern');
    expect((await fs.stat(path.join(folder, 'uefi-vars.fd'))).size).toBeGreaterThan(0);
    await call(service, 'startVm', { vm: 'modern' });
    const console = await followConsole(service, 'modern');
    await console.waitFor(MARKER, 120_000);
    // swtpm runs beside it, and the guest sees a TPM.
    await console.type('ls /sys/class/tpm/\n');
    await console.waitFor(/\ntpm0/, 20_000);

    const other = path.join(sandbox.root, 'other.iso');
    await fs.copyFile(iso, other);
    const changed = await call(service, 'changeMedia', { vm: 'modern', iso: other });
    expect(changed.config?.devices.cdroms[0]?.iso).toBe(other);
    const ejected = await call(service, 'changeMedia', { vm: 'modern', iso: null });
    // Taking the install ISO out means the OS is installed: the disk boots first from now on.
    expect(ejected.config?.devices.cdroms[0]?.iso).toBeNull();
    expect(bootOrderOf(ejected.config!.devices)).toEqual(['disk0', 'cd0']);
    console.stop();
    await call(service, 'stopVm', { vm: 'modern', waitSeconds: 60 });
    expect((await call(service, 'getVm', { vm: 'modern' })).summary.state).toBe('stopped');
  }, 240_000);
});

describe('faults', () => {
  it('a QEMU killed with SIGKILL leaves the VM crashed, with the signal and its last lines', async () => {
    await call(service, 'createVm', { name: 'Victim', iso, memoryMiB: 128, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'victim' });
    const console = await followConsole(service, 'victim');
    await console.waitFor(MARKER, 90_000);
    const [pid] = qemuPidsFor('victim');
    process.kill(pid as number, 'SIGKILL');
    const crashed = await waitForVm(service, 'victim', (state) => state === 'crashed', 20_000);
    expect(crashed.problem?.message).toBe('QEMU was killed by SIGKILL.');
    expect(crashed.problem?.log.join('\n')).toMatch(MARKER);
    console.stop();
    // A new process sees the same: the outcome is kept on disk.
    const later = sandbox.service();
    const [seen] = (await call(later, 'listVms', {})).filter((vm) => vm.id === 'victim');
    expect(seen).toMatchObject({ state: 'crashed', problem: { message: 'QEMU was killed by SIGKILL.' } });
  }, 180_000);

  it('the VM outlives the processes that started and watched it, killed with SIGKILL; a new one reattaches with the scrollback', async () => {
    await call(service, 'createVm', { name: 'Survivor', iso, memoryMiB: 128, cpus: 1, diskGiB: 0 });
    // Real CLI processes: one starts the VM, another follows its console; both are killed.
    const starter = spawn(process.execPath, [hangarBin, 'start', 'survivor'], { env: sandbox.env, stdio: 'ignore' });
    expect(await new Promise((resolve) => starter.once('exit', resolve))).toBe(0);
    const watcher = spawn(process.execPath, [hangarBin, 'console', 'survivor'], { env: sandbox.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let watched = '';
    watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => void (watched += chunk));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no marker in the CLI console: ${watched.slice(-500)}`)), 90_000);
      watcher.stdout.on('data', () => {
        if (MARKER.test(watched)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    watcher.kill('SIGKILL');
    await new Promise((resolve) => watcher.once('exit', resolve));

    const fresh = sandbox.service();
    const [vm] = (await call(fresh, 'listVms', {})).filter((candidate) => candidate.id === 'survivor');
    expect(vm?.state).toBe('running');
    const reattached = await followConsole(fresh, 'survivor');
    expect(reattached.text()).toMatch(MARKER); // the scrollback, kept by the keeper
    await reattached.type('echo still-here\n');
    await reattached.waitFor(/\nstill-here/, 20_000);
    reattached.stop();
    await call(fresh, 'stopVm', { vm: 'survivor', force: true, waitSeconds: 20 });
  }, 180_000);

  it('a corrupt vm.json shows that VM as broken, untouched, while the others load', async () => {
    await call(service, 'createVm', { name: 'Corrupt Me', iso: null, memoryMiB: 128, diskGiB: 0 });
    const file = path.join(sandbox.root, 'data', 'vms', 'corrupt-me', 'vm.json');
    const garbage = '{"schema": 1, "id": "corrupt-me", "name": ';
    await fs.writeFile(file, garbage);
    const vms = await call(sandbox.service(), 'listVms', {});
    const broken = vms.find((vm) => vm.id === 'corrupt-me');
    expect(broken?.broken).toMatch(/not valid JSON/);
    expect(broken?.config).toBeNull();
    expect(vms.filter((vm) => !vm.broken).map((vm) => vm.id)).toEqual(expect.arrayContaining(['tiny-guest', 'victim', 'survivor']));
    expect(await fs.readFile(file, 'utf8')).toBe(garbage);
    await expect(call(service, 'startVm', { vm: 'corrupt-me' })).rejects.toMatchObject({ code: 'VM_BROKEN' });
  });

  it('a missing ISO is refused before QEMU starts, in words', async () => {
    const copy = path.join(sandbox.root, 'gone.iso');
    await fs.copyFile(iso, copy);
    await call(service, 'createVm', { name: 'No Media', iso: copy, memoryMiB: 128, diskGiB: 0 });
    await fs.rm(copy);
    await expect(call(service, 'startVm', { vm: 'no-media' })).rejects.toMatchObject({ code: 'ISO_NOT_FOUND', message: `The ISO ${copy} does not exist. Choose another one.` });
    expect(qemuPidsFor('no-media')).toEqual([]);
  });

  it('a QEMU that dies at start leaves the VM crashed with QEMU\'s own words', async () => {
    await call(service, 'createVm', { name: 'Bad Disk', iso: null, memoryMiB: 128, diskGiB: 1 });
    // Not a qcow2 image any more: QEMU refuses to open it.
    await fs.writeFile(path.join(sandbox.root, 'data', 'vms', 'bad-disk', 'disk-0.qcow2'), 'this is not a disk image');
    const failure = await call(service, 'startVm', { vm: 'bad-disk' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'QEMU_FAILED' });
    expect((failure as Error).message).toMatch(/^QEMU could not start the VM: .*qcow2/i);
    const { summary } = await call(service, 'getVm', { vm: 'bad-disk' });
    expect(summary.state).toBe('crashed');
    expect(summary.problem?.message).toBe((failure as Error).message);
    expect(qemuPidsFor('bad-disk')).toEqual([]);
  });

  it('two starts of one VM at once, from two processes\' connections, make one VM', async () => {
    await call(service, 'createVm', { name: 'Twice', iso: null, memoryMiB: 128, diskGiB: 0 });
    const [first, second] = await Promise.all([call(sandbox.service(), 'startVm', { vm: 'twice' }), call(sandbox.service(), 'startVm', { vm: 'twice' })]);
    expect([first.state, second.state]).toEqual(['running', 'running']);
    expect(qemuPidsFor('twice')).toHaveLength(1);
    expect(first.pid).toBe(second.pid);
    await call(service, 'stopVm', { vm: 'twice', force: true, waitSeconds: 20 });
    expect(qemuPidsFor('twice')).toEqual([]);
  });

  it('deleting a running VM is refused; once stopped it goes, keeping its disk when asked', async () => {
    await call(service, 'createVm', { name: 'Short Lived', iso: null, memoryMiB: 128, diskGiB: 1 });
    await call(service, 'startVm', { vm: 'short-lived' });
    await expect(call(service, 'deleteVm', { vm: 'short-lived' })).rejects.toMatchObject({ code: 'VM_RUNNING' });
    await call(service, 'stopVm', { vm: 'short-lived', force: true, waitSeconds: 20 });
    const { keptDisksDir } = await call(service, 'deleteVm', { vm: 'short-lived', keepDisks: true });
    expect(keptDisksDir).toBe(path.join(sandbox.root, 'data', 'kept-disks', 'short-lived'));
    expect(await fs.readdir(keptDisksDir as string)).toEqual(['disk-0.qcow2']);
    await expect(call(service, 'getVm', { vm: 'short-lived' })).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
  });

  it('refuses memory beyond the host and names beyond the rules', async () => {
    await expect(call(service, 'createVm', { name: 'Greedy', memoryMiB: 4 * 1024 * 1024 })).rejects.toMatchObject({ code: 'BAD_SETTINGS' });
    await expect(call(service, 'createVm', { name: 'x'.repeat(500) })).rejects.toMatchObject({ code: 'VM_NAME_INVALID' });
    await expect(call(service, 'createVm', { name: '   ' })).rejects.toMatchObject({ code: 'VM_NAME_INVALID' });
    await expect(call(service, 'createVm', { name: 'tiny guest' })).rejects.toMatchObject({ code: 'VM_NAME_TAKEN' });
    const odd = await call(service, 'createVm', { name: '../x; rm -rf ~', memoryMiB: 128, diskGiB: 0 });
    expect(odd.id).toBe('x-rm-rf');
    // Nothing appeared outside the library's own folders.
    expect((await fs.readdir(path.join(sandbox.root, 'data'))).sort()).toEqual(['kept-disks', 'vms']);
    expect(await fs.readdir(path.join(sandbox.root, 'data', 'vms'))).toContain('x-rm-rf');
  });

  it('a text file is not taken for an ISO', async () => {
    const text = path.join(sandbox.root, 'notes.iso');
    await fs.writeFile(text, 'just some notes\n'.repeat(4000));
    await expect(call(service, 'createVm', { name: 'Not An ISO', iso: text })).rejects.toMatchObject({ code: 'NOT_AN_ISO', message: expect.stringContaining(`${text} is not an ISO image`) });
    expect((await call(service, 'listVms', {})).some((vm) => vm.name === 'Not An ISO')).toBe(false);
  });
});

describe('when the keeper itself is killed', () => {
  it('an orphaned QEMU shows as running unsupervised, can be forced off, and its files are cleaned', async () => {
    await call(service, 'createVm', { name: 'Orphan', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: 'orphan' });
    const runDir = path.join(sandbox.root, 'run', 'orphan');
    const holderPid = Number((await fs.readFile(path.join(runDir, 'holder.pid'), 'utf8')).trim());
    process.kill(holderPid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const fresh = sandbox.service();
    const { summary } = await call(fresh, 'getVm', { vm: 'orphan' });
    expect(summary).toMatchObject({ state: 'running', pid: started.pid });
    expect(summary.problem?.message).toMatch(/lost this VM's keeper/);
    await expect(call(fresh, 'stopVm', { vm: 'orphan' })).rejects.toMatchObject({ code: 'VM_BUSY' });
    const stopped = await call(fresh, 'stopVm', { vm: 'orphan', force: true });
    expect(stopped).toMatchObject({ state: 'stopped', problem: null });
    expect(qemuPidsFor('orphan')).toEqual([]);
    await expect(fs.stat(runDir)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('a run whose keeper and QEMU both vanished (a reboot) is recorded as crashed, and stale files go', async () => {
    await call(service, 'createVm', { name: 'Rebooted', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    const started = await call(service, 'startVm', { vm: 'rebooted' });
    const runDir = path.join(sandbox.root, 'run', 'rebooted');
    const holderPid = Number((await fs.readFile(path.join(runDir, 'holder.pid'), 'utf8')).trim());
    process.kill(holderPid, 'SIGKILL');
    process.kill(started.pid as number, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const fresh = sandbox.service();
    const { summary } = await call(fresh, 'getVm', { vm: 'rebooted' });
    expect(summary.state).toBe('crashed');
    expect(summary.problem?.message).toMatch(/keeper process was killed, or this machine restarted/);
    await expect(fs.stat(runDir)).rejects.toThrow(/ENOENT/);
    // And it starts again as usual.
    expect((await call(fresh, 'startVm', { vm: 'rebooted' })).state).toBe('running');
    await call(fresh, 'stopVm', { vm: 'rebooted', force: true, waitSeconds: 20 });
  }, 60_000);
});
