import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { QmpClient } from '../../src-main/qemu/qmp';
import { call, followConsole, makeSandbox, type Sandbox } from '../support/engine';
import { repoRoot } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';

// VM folders as the schema-2 release left them (test/fixtures/schema2) load as schema 3 and
// boot; and a state saved by the schema-2 machine (its recorded command line, run by hand and
// migrated to a file) resumes under schema 3: the devices came out as they were.

const MARKER = /HANGAR-TEST-GUEST-READY/;
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'schema2');
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-schema2-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

const vmsDir = (): string => path.join(sandbox.env.HANGAR_HOME as string, 'vms');

/** Copies a fixture VM into the library, as if schema 2 had made it on this machine, with its disks. */
async function install(name: string): Promise<string> {
  const dir = path.join(vmsDir(), name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const text = await fs.readFile(path.join(fixtures, name, 'vm.json'), 'utf8');
  await fs.writeFile(path.join(dir, 'vm.json'), text.replaceAll('@ISO@', iso), { mode: 0o600 });
  const config = JSON.parse(text) as { disks: { file: string; format: string }[] };
  for (const disk of config.disks) expect(spawnSync('qemu-img', ['create', '-q', '-f', disk.format, path.join(dir, disk.file), '1G']).status).toBe(0);
  return dir;
}

async function connect(file: string): Promise<net.Socket> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection(file);
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (error) {
      if (attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('VMs made by the schema-2 release', () => {
  it('load as schema 3, with their devices and ids', async () => {
    for (const name of ['bios-linux', 'uefi-tpm', 'installed-two-disks']) await install(name);
    const vms = await call(service, 'listVms', {});
    expect(vms.map((vm) => [vm.id, vm.broken, vm.config?.schema])).toEqual([
      ['bios-linux', null, 3],
      ['installed-two-disks', null, 3],
      ['uefi-tpm', null, 3],
    ]);
    const two = vms.find((vm) => vm.id === 'installed-two-disks')?.config;
    expect(two?.devices.disks.map((disk) => [disk.id, disk.file, disk.bus, disk.bootOrder])).toEqual([
      ['disk0', 'disk-0.qcow2', 'virtio-scsi', 1],
      ['disk1', 'data.raw', 'virtio-blk', 2],
    ]);
    // Nothing was written back: a schema-2 folder stays as it was until Hangar changes the VM.
    expect(JSON.parse(await fs.readFile(path.join(vmsDir(), 'bios-linux', 'vm.json'), 'utf8')).schema).toBe(2);
  }, 60_000);

  it('a BIOS one boots the test guest', async () => {
    await call(service, 'startVm', { vm: 'bios-linux' });
    const console = await followConsole(service, 'bios-linux');
    try {
      await console.waitFor(MARKER, 120_000);
    } finally {
      console.stop();
      await call(service, 'stopVm', { vm: 'bios-linux', force: true, waitSeconds: 30 });
    }
  }, 180_000);

  it('a UEFI one with a TPM boots the test guest, which sees its TPM', async () => {
    await call(service, 'startVm', { vm: 'uefi-tpm' });
    const console = await followConsole(service, 'uefi-tpm');
    try {
      await console.waitFor(MARKER, 180_000);
      await console.type('ls /sys/class/tpm/\n');
      await console.waitFor(/\ntpm0/, 30_000);
    } finally {
      console.stop();
      await call(service, 'stopVm', { vm: 'uefi-tpm', force: true, waitSeconds: 30 });
    }
  }, 240_000);

  it('a state saved by the schema-2 machine resumes under schema 3', async () => {
    const dir = await install('saved');
    // The schema-2 release's own command line for this VM, run by hand.
    const run = await fs.mkdtemp(path.join(sandbox.root, 'r'));
    const recorded = JSON.parse(await fs.readFile(path.join(fixtures, 'saved', 'argv-no-sandbox.json'), 'utf8')) as { argv: string[] };
    const argv = recorded.argv.map((arg) => arg.replaceAll('@VM_DIR@', dir).replaceAll('@RUN_DIR@', run).replaceAll('@ISO@', iso).replaceAll('@OVMF_CODE@', OVMF_CODE));
    const qemu = spawn('/usr/bin/qemu-system-x86_64', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const ended = new Promise<void>((resolve) => qemu.once('close', () => resolve()));
    try {
      const serial = await connect(path.join(run, 'serial.sock'));
      let printed = '';
      serial.on('data', (chunk: Buffer) => void (printed += chunk.toString('latin1')));
      const qmp = await QmpClient.connect(path.join(run, 'qmp.sock'), 10_000);
      for (let waited = 0; !MARKER.test(printed); waited += 200) {
        if (waited > 120_000) throw new Error(`The guest did not come up under the schema-2 command line: ${printed.slice(-500)} ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      serial.write('echo before-save\n');
      // Save as the schema-2 keeper did: stop, migrate into a socket, write the stream to the VM folder.
      const stateSocket = path.join(run, 'state.sock');
      const statePath = path.join(dir, 'saved-state.bin');
      const server = net.createServer();
      const incoming = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      await new Promise<void>((resolve) => server.listen(stateSocket, resolve));
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
      const completed = new Promise<void>((resolve, reject) => {
        qmp.on('event', (event) => {
          if (event.event !== 'MIGRATION') return;
          if (event.data?.status === 'completed') resolve();
          if (event.data?.status === 'failed') reject(new Error('The migration failed.'));
        });
      });
      await qmp.execute('stop');
      await qmp.execute('migrate', { uri: `unix:${stateSocket}` });
      await pipeline(await incoming, createWriteStream(statePath, { mode: 0o600 }));
      await completed;
      server.close();
      await qmp.execute('quit').catch(() => {});
      serial.destroy();
      await ended;
    } finally {
      qemu.kill('SIGKILL');
      await ended;
    }
    const saved = JSON.parse(await fs.readFile(path.join(fixtures, 'saved', 'saved.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(path.join(dir, 'saved.json'), JSON.stringify({ ...saved, bytes: (await fs.stat(path.join(dir, 'saved-state.bin'))).size }), { mode: 0o600 });
    await fs.rm(run, { recursive: true, force: true });

    expect((await call(service, 'getVm', { vm: 'saved' })).summary.state).toBe('saved');
    const resumed = await call(service, 'startVm', { vm: 'saved' });
    expect(resumed.state).toBe('running');
    const console = await followConsole(service, 'saved');
    try {
      // The guest goes on where it was: the same shell, answering.
      await console.type('echo resumed-$((6*7))\n');
      await console.waitFor(/resumed-42/, 60_000);
      expect(await fs.stat(path.join(dir, 'saved-state.bin')).catch(() => null)).toBeNull();
    } finally {
      console.stop();
      await call(service, 'stopVm', { vm: 'saved', force: true, waitSeconds: 30 });
    }
  }, 300_000);
});
