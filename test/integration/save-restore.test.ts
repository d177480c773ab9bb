import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHangarService, type HangarService } from '../../src-main/api/service';
import { call, followConsole, makeSandbox, processesMentioning, qemuPidsFor, type Sandbox } from '../support/engine';
import { hangarBin } from '../support/paths';
import { refusal } from '../support/refusal';
import { ensureTestIso } from '../support/test-iso';
import { fillUp, withTmpfs } from '../support/tmpfs';

// Save a running VM to disk and resume it later, with real QEMU (TCG) and the test guest:
// the keeper carries QEMU's migration stream into the VM folder and back.

const MARKER = /HANGAR-TEST-GUEST-READY/;
let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-save-');
});
afterAll(async () => {
  await sandbox.cleanup();
});

const vmFolder = (id: string, root = path.join(sandbox.root, 'data')): string => path.join(root, 'vms', id);
const exists = (file: string): Promise<boolean> => fs.stat(file).then(() => true, () => false);

/** The hangar command, run as its own process against the sandbox. */
function hangar(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [hangarBin, ...args], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('save and resume', () => {
  beforeAll(() => {
    service = sandbox.service();
  });

  it('saves a running guest to disk and resumes it where it was, without a reboot; force off forgets the state', async () => {
    await call(service, 'createVm', { name: 'Sleeper', iso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
    await call(service, 'startVm', { vm: 'sleeper' });
    const before = await followConsole(service, 'sleeper');
    await before.waitFor(MARKER, 90_000);
    await before.type('X=hangar-$((6*7))\n');
    await before.type('echo typed-ok\n');
    await before.waitFor(/\ntyped-ok/, 20_000);
    before.stop();

    const folder = vmFolder('sleeper');
    const stateFile = path.join(folder, 'saved-state.bin');
    const savedAt = Date.now();
    const saved = await call(service, 'saveVm', { vm: 'sleeper' });
    const saveMs = Date.now() - savedAt;
    expect(saved).toMatchObject({ state: 'saved', problem: null, pid: null });
    expect(qemuPidsFor('sleeper')).toEqual([]);
    const stats = await fs.stat(stateFile);
    expect(stats.mode & 0o777).toBe(0o600);
    expect(stats.size).toBeGreaterThan(1024 * 1024);
    expect(JSON.parse(await fs.readFile(path.join(folder, 'saved.json'), 'utf8'))).toMatchObject({ resume: 'running', machine: expect.stringMatching(/^pc-q35-/), bytes: stats.size });
    expect(await exists(`${stateFile}.partial`)).toBe(false);
    // The run folder went with QEMU; another process sees the VM saved too.
    expect((await fs.readdir(path.join(sandbox.root, 'run'))).filter((name) => !name.startsWith('keeper.'))).toEqual([]);
    expect((await call(sandbox.service(), 'getVm', { vm: 'sleeper' })).summary.state).toBe('saved');
    const details = await call(service, 'getVm', { vm: 'sleeper' });
    expect(details.argv?.slice(-2)).toEqual(['-incoming', 'defer']);
    console.log(`saved ${(stats.size / 1024 / 1024).toFixed(1)} MiB in ${saveMs} ms`);

    const resumedAt = Date.now();
    const resumed = await call(service, 'startVm', { vm: 'sleeper' });
    console.log(`resumed in ${Date.now() - resumedAt} ms`);
    expect(resumed.state).toBe('running');
    expect(qemuPidsFor('sleeper')).toHaveLength(1);
    // Loaded, so gone: the guest writes to its disk from now on and the old memory would not match it.
    expect(await exists(stateFile)).toBe(false);
    expect(await exists(path.join(folder, 'saved.json'))).toBe(false);
    const after = await followConsole(service, 'sleeper');
    // The console is as it was when saved: the earlier run's text first, not a blank screen.
    const asSaved = after.text();
    expect(asSaved).toMatch(/\ntyped-ok/);
    await after.type('echo got-$X\n');
    await after.waitFor(/\ngot-hangar-42/, 20_000);
    // No boot happened: the guest's ready line is only in the text from before the save.
    expect(after.text().match(new RegExp(MARKER, 'g'))).toHaveLength(1);
    expect(after.text().slice(asSaved.length)).not.toMatch(MARKER);
    after.stop();

    // Save again, then pull the power cord of the saved VM: the state is forgotten.
    expect((await call(service, 'saveVm', { vm: 'sleeper' })).state).toBe('saved');
    expect(await exists(stateFile)).toBe(true);
    const forced = await call(service, 'stopVm', { vm: 'sleeper', force: true });
    expect(forced).toMatchObject({ state: 'stopped', problem: null });
    expect(await exists(stateFile)).toBe(false);
    expect(await exists(path.join(folder, 'saved.json'))).toBe(false);

    // Nothing to save now, said in words.
    const notRunning = await refusal(call(service, 'saveVm', { vm: 'sleeper' }));
    expect(notRunning.code).toBe('VM_NOT_RUNNING');
    expect(notRunning.message).toBe('"Sleeper" is stopped, so there is nothing to save.');

    // And it boots afresh next time.
    await call(service, 'startVm', { vm: 'sleeper' });
    const fresh = await followConsole(service, 'sleeper');
    await fresh.waitFor(MARKER, 90_000);
    await fresh.type('echo fresh-[$X]\n');
    await fresh.waitFor(/\nfresh-\[\]/, 20_000);
    fresh.stop();
    await call(service, 'stopVm', { vm: 'sleeper', force: true, waitSeconds: 20 });
  }, 300_000);

  it('a saved VM keeps its machine: settings and the CD are refused in words, a new name is fine, delete takes the state along', async () => {
    await call(service, 'createVm', { name: 'Frozen', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'frozen' });
    await call(service, 'pauseVm', { vm: 'frozen' });
    expect((await call(service, 'saveVm', { vm: 'frozen' })).state).toBe('saved');
    const folder = vmFolder('frozen');
    expect(JSON.parse(await fs.readFile(path.join(folder, 'saved.json'), 'utf8'))).toMatchObject({ resume: 'paused' });

    const settings = await refusal(call(service, 'updateVm', { vm: 'frozen', changes: { memoryMiB: 128 } }));
    expect(settings.code).toBe('VM_BUSY');
    expect(settings.message).toBe(
      '"Frozen" is saved, so its settings (other than its name) cannot change until it runs again: its saved memory belongs to this exact machine. Start it (it resumes where it was), or force it off to forget the saved state.',
    );
    const media = await refusal(call(service, 'changeMedia', { vm: 'frozen', iso }));
    expect(media.code).toBe('VM_BUSY');
    expect(media.message).toMatch(/^"Frozen" is saved, so the CD in its drive cannot change until it runs again/);
    const powerButton = await refusal(call(service, 'stopVm', { vm: 'frozen' }));
    expect(powerButton).toMatchObject({ code: 'VM_NOT_RUNNING', message: '"Frozen" is saved, not running. Start it to resume where it was.' });
    const again = await refusal(call(service, 'saveVm', { vm: 'frozen' }));
    expect(again).toMatchObject({ code: 'VM_NOT_RUNNING', message: '"Frozen" is saved already. Start it to resume where it was.' });
    // The same settings sent back (as a settings form does), or a new name, change no hardware.
    expect((await call(service, 'updateVm', { vm: 'frozen', changes: { memoryMiB: 64, name: 'Frozen Solid' } })).state).toBe('saved');
    expect(await exists(path.join(folder, 'saved-state.bin'))).toBe(true);

    // It was paused when saved, so it resumes paused.
    expect((await call(service, 'startVm', { vm: 'frozen' })).state).toBe('paused');
    expect((await call(service, 'resumeVm', { vm: 'frozen' })).state).toBe('running');
    expect((await call(service, 'saveVm', { vm: 'frozen' })).state).toBe('saved');
    await call(service, 'deleteVm', { vm: 'frozen' });
    expect(await exists(folder)).toBe(false);
    expect(qemuPidsFor('frozen')).toEqual([]);
  }, 120_000);

  it('a saved state that cannot be loaded leaves the VM crashed with QEMU\'s words, and keeps the file', async () => {
    await call(service, 'createVm', { name: 'Damaged', iso: null, memoryMiB: 64, cpus: 1, diskGiB: 0 });
    await call(service, 'startVm', { vm: 'damaged' });
    await call(service, 'saveVm', { vm: 'damaged' });
    const stateFile = path.join(vmFolder('damaged'), 'saved-state.bin');
    const whole = await fs.readFile(stateFile);
    // Cut short: QEMU stops reading in the middle of a section.
    await fs.writeFile(stateFile, whole.subarray(0, Math.floor(whole.length / 2)));
    const failure = await refusal(call(service, 'startVm', { vm: 'damaged' }));
    expect(failure.code).toBe('QEMU_FAILED');
    expect(failure.message).toMatch(/^The saved state of "Damaged" could not be restored: .*load of migration failed.* Its saved state is kept: start it to try again, or force it off to forget the state and start afresh\.$/);
    const { summary } = await call(service, 'getVm', { vm: 'damaged' });
    expect(summary.state).toBe('crashed');
    expect(summary.problem?.message).toBe(failure.message);
    expect(qemuPidsFor('damaged')).toEqual([]);
    expect((await fs.stat(stateFile)).size).toBe(Math.floor(whole.length / 2));
    // Force off forgets it; the next start boots afresh.
    expect((await call(service, 'stopVm', { vm: 'damaged', force: true })).state).toBe('stopped');
    expect(await exists(stateFile)).toBe(false);
    expect((await call(service, 'startVm', { vm: 'damaged' })).state).toBe('running');
    await call(service, 'stopVm', { vm: 'damaged', force: true, waitSeconds: 20 });
  }, 120_000);

  it('a UEFI VM with a TPM resumes with its TPM state (swtpm\'s state travels in QEMU\'s stream)', async () => {
    await call(service, 'createVm', { name: 'Sealed', iso, memoryMiB: 512, cpus: 1, diskGiB: 0, firmware: 'uefi', tpm: true });
    await call(service, 'startVm', { vm: 'sealed' });
    const before = await followConsole(service, 'sealed');
    await before.waitFor(MARKER, 120_000);
    // PCR 0 holds the firmware's measurements; a TPM that lost its state could not even be read.
    await before.type('echo pcr0=$(cat /sys/class/tpm/tpm0/pcr-sha256/0)\n');
    const pcr = (await before.waitFor(/\npcr0=[0-9A-F]{64}/i, 20_000)).trim();
    before.stop();
    expect((await call(service, 'saveVm', { vm: 'sealed' })).state).toBe('saved');
    expect(qemuPidsFor('sealed')).toEqual([]);
    expect(processesMentioning(path.join(vmFolder('sealed'), 'tpm'))).toEqual([]); // swtpm went with it

    expect((await call(service, 'startVm', { vm: 'sealed' })).state).toBe('running');
    const after = await followConsole(service, 'sealed');
    const asSaved = after.text();
    expect(asSaved).toContain(pcr);
    // Asked under another name: the line from before the save is in the scrollback.
    await after.type('echo resumed-pcr0=$(cat /sys/class/tpm/tpm0/pcr-sha256/0)\n');
    expect((await after.waitFor(/\nresumed-pcr0=[0-9A-F]{64}/i, 20_000)).trim()).toBe(`resumed-${pcr}`);
    expect(after.text().slice(asSaved.length)).not.toMatch(MARKER);
    after.stop();
    await call(service, 'stopVm', { vm: 'sealed', force: true, waitSeconds: 20 });
  }, 240_000);

  it('hangar save VM prints "NAME is saved." and hangar start VM resumes it', async () => {
    await call(service, 'createVm', { name: 'Cli Nap', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
    expect((await hangar('start', 'cli-nap')).code).toBe(0);
    const serial = await followConsole(service, 'cli-nap');
    await serial.waitFor(MARKER, 90_000);
    await serial.type('Y=cli-$((2*3))\n');
    await serial.type('echo typed-ok\n');
    await serial.waitFor(/\ntyped-ok/, 20_000);
    serial.stop();

    const saved = await hangar('save', 'cli-nap');
    expect(saved).toMatchObject({ code: 0, stdout: 'Cli Nap is saved.\n' });
    expect(qemuPidsFor('cli-nap')).toEqual([]);
    const listed = await hangar('list');
    expect(listed.stdout).toMatch(/Cli Nap\s+cli-nap\s+saved/);

    const started = await hangar('start', 'cli-nap');
    expect(started).toMatchObject({ code: 0, stdout: 'Cli Nap is running.\n' });
    const after = await followConsole(service, 'cli-nap');
    const asSaved = after.text();
    expect(asSaved).toMatch(/\ntyped-ok/);
    await after.type('echo got-$Y\n');
    await after.waitFor(/\ngot-cli-6/, 20_000);
    expect(after.text().slice(asSaved.length)).not.toMatch(MARKER);
    after.stop();
    await call(service, 'stopVm', { vm: 'cli-nap', force: true, waitSeconds: 20 });
  }, 180_000);
});

describe('a full disk during a save', () => {
  it('refuses with NO_SPACE, leaves no partial file, and the VM runs on; with room again it saves', async () => {
    const small = await withTmpfs(160 * 1024 * 1024);
    const onTmpfs = createHangarService({ door: 'cli', env: { ...sandbox.env, HANGAR_HOME: small.dir } });
    try {
      await call(onTmpfs, 'createVm', { name: 'Cramped', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
      await call(onTmpfs, 'startVm', { vm: 'cramped' });
      const serial = await followConsole(onTmpfs, 'cramped');
      await serial.waitFor(MARKER, 90_000);
      const filler = await fillUp(small.dir);
      // Room for the start of the stream only: the disk fills up in the middle of it.
      await fs.truncate(filler, (await fs.stat(filler)).size - 8 * 1024 * 1024);

      const failure = await refusal(call(onTmpfs, 'saveVm', { vm: 'cramped' }));
      expect(failure.code).toBe('NO_SPACE');
      expect(failure.message).toMatch(new RegExp(`^There is not enough free space in ${vmFolder('cramped', small.dir)} to save "Cramped": the disk was full after [\\d.]+ MiB of its state\\. Nothing was saved\\. It keeps running\\.$`));
      const folder = vmFolder('cramped', small.dir);
      expect((await fs.readdir(folder)).filter((name) => name.startsWith('saved'))).toEqual([]);
      expect((await call(onTmpfs, 'getVm', { vm: 'cramped' })).summary).toMatchObject({ state: 'running', problem: null });
      expect(qemuPidsFor('cramped')).toHaveLength(1);
      // Running indeed, not just said to be: the guest still answers.
      await serial.type('echo still-awake\n');
      await serial.waitFor(/\nstill-awake/, 20_000);
      serial.stop();

      await fs.rm(filler);
      expect((await call(onTmpfs, 'saveVm', { vm: 'cramped' })).state).toBe('saved');
      expect(qemuPidsFor('cramped')).toEqual([]);
      await call(onTmpfs, 'deleteVm', { vm: 'cramped' });
    } finally {
      onTmpfs.close();
      for (const pid of qemuPidsFor('cramped')) process.kill(pid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await small.cleanup();
    }
  }, 180_000);
});
