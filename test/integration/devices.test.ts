import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { VmDetails } from '../../src-shared/vm';
import { call, followConsole, makeSandbox, type Sandbox, runCli, type CliRun } from '../support/engine';
import { refusal } from '../support/refusal';
import { ensureTestIso } from '../support/test-iso';
import { freePort } from '../support/free-port';

// A VM is a list of devices (schema 3): several disks, NICs and CD drives boot the test
// guest; device ids stay put when a neighbour goes; a running VM takes virtio disks and NICs
// (the guest sees them come and go in /sys) and grows a disk; the CLI does the same by id.

const MARKER = /HANGAR-TEST-GUEST-READY/;
let sandbox: Sandbox;
let service: HangarService;
let iso: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-devices-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

/** Whether something accepts TCP connections on 127.0.0.1:port (QEMU's forward does, whatever the guest). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const hangar = (...args: string[]): CliRun => runCli(sandbox.env, args);

/** Asks the guest's shell, again and again, until the answer matches. */
async function untilGuestSays(console: Awaited<ReturnType<typeof followConsole>>, command: string, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const token = `mark-${Date.now()}`;
    await console.type(`echo ${token}-start; ${command}; echo ${token}-end\n`);
    const answer = await console.waitFor(new RegExp(`${token}-start\\r?\\n([\\s\\S]*?)${token}-end`), 20_000);
    if (pattern.test(answer)) return;
    if (Date.now() > deadline) throw new Error(`The guest never said ${pattern} to "${command}"; last: ${answer}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const deviceArgs = (argv: readonly string[]): Record<string, unknown>[] => argv.flatMap((arg, index) => (arg === '-device' ? [JSON.parse(argv[index + 1] as string) as Record<string, unknown>] : []));

describe('a VM with two disks, two NICs and two CD drives', () => {
  it('boots the test guest, which sees both disks and both NICs; each NIC forwards its own port', async () => {
    const [sshPort, webPort] = [await freePort(), await freePort()];
    await call(service, 'createVm', { name: 'Many', iso, memoryMiB: 256, cpus: 1, diskGiB: 1, portForwards: [{ hostPort: sshPort, guestPort: 22 }] });
    await call(service, 'addDevice', { vm: 'many', device: { kind: 'disk', sizeGiB: 1 } });
    await call(service, 'addDevice', { vm: 'many', device: { kind: 'nic', model: 'virtio-net', portForwards: [{ hostPort: webPort, guestPort: 80 }] } });
    const ready = await call(service, 'addDevice', { vm: 'many', device: { kind: 'cdrom', iso } });
    const { devices } = ready.config!;
    expect([devices.disks.map((disk) => disk.id), devices.nics.map((nic) => nic.id), devices.cdroms.map((cd) => cd.id)]).toEqual([['disk0', 'disk1'], ['nic0', 'nic1'], ['cd0', 'cd1']]);
    expect(new Set(devices.nics.map((nic) => nic.mac)).size).toBe(2);

    await call(service, 'startVm', { vm: 'many' });
    const console = await followConsole(service, 'many');
    try {
      await console.waitFor(MARKER, 120_000);
      await untilGuestSays(console, 'ls /sys/block', /vda[\s\S]*vdb/);
      await untilGuestSays(console, 'ls /sys/class/net', /eth0[\s\S]*eth1/);
      expect(await accepts(sshPort)).toBe(true);
      expect(await accepts(webPort)).toBe(true);
    } finally {
      console.stop();
      await call(service, 'stopVm', { vm: 'many', force: true, waitSeconds: 30 });
    }
  }, 240_000);

  it('removing the first disk leaves the second as QEMU knew it (ids, node, slot)', async () => {
    const before = (await call(service, 'getVm', { vm: 'many' })).argv ?? [];
    const disk1 = deviceArgs(before).find((device) => device.id === 'disk1-dev');
    const nic1 = deviceArgs(before).find((device) => device.id === 'nic1');
    const removed = await call(service, 'removeDevice', { vm: 'many', device: 'disk0', keepFile: false });
    expect(removed.keptFile).toBeNull();
    expect(removed.vm.config?.devices.disks.map((disk) => disk.id)).toEqual(['disk1']);
    const after = (await call(service, 'getVm', { vm: 'many' })).argv ?? [];
    expect(deviceArgs(after).find((device) => device.id === 'disk1-dev')).toEqual(disk1);
    expect(deviceArgs(after).find((device) => device.id === 'nic1')).toEqual(nic1);
    // The image went with the disk; the other stays.
    const files = await fs.readdir(path.join(sandbox.env.HANGAR_HOME as string, 'vms', 'many'));
    expect(files.filter((file) => file.endsWith('.qcow2')).sort()).toEqual(['disk-1.qcow2']);
  }, 60_000);
});

describe('devices of a running VM', () => {
  it('a disk added while it runs appears in the guest, grows there, and goes when removed; a NIC too', async () => {
    await call(service, 'createVm', { name: 'Hot', iso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
    await call(service, 'startVm', { vm: 'hot' });
    const console = await followConsole(service, 'hot');
    try {
      await console.waitFor(MARKER, 120_000);
      await untilGuestSays(console, 'ls /sys/block', /vda/);

      const added = await call(service, 'addDevice', { vm: 'hot', device: { kind: 'disk', sizeGiB: 1 } });
      expect(added.config?.devices.disks.map((disk) => disk.id)).toEqual(['disk0', 'disk1']);
      // It went into a free hot-plug port, where a saved state would expect it.
      expect(added.config?.hotplugged).toEqual({ disk1: 'port0' });
      await untilGuestSays(console, 'ls /sys/block', /vdb/);

      // Grown while it runs: the guest is told (1 GiB is 2097152 sectors of 512 bytes).
      await call(service, 'resizeDisk', { vm: 'hot', device: 'disk1', sizeGiB: 2 });
      await untilGuestSays(console, 'cat /sys/block/vdb/size', /^4194304\s*$/m);
      const sizes = await call(service, 'getVm', { vm: 'hot' });
      expect(sizes.disks.find((disk) => disk.id === 'disk1')?.virtualBytes).toBe(2 * 1024 ** 3);

      const nic = await call(service, 'addDevice', { vm: 'hot', device: { kind: 'nic', portForwards: [] } });
      expect(nic.config?.devices.nics.map((candidate) => candidate.id)).toEqual(['nic0', 'nic1']);
      await untilGuestSays(console, 'ls /sys/class/net', /eth1/);

      // A SATA disk cannot come while it runs: said in words, nothing made.
      const sata = await refusal(call(service, 'addDevice', { vm: 'hot', device: { kind: 'disk', sizeGiB: 1, bus: 'sata' } }));
      expect(sata).toMatchObject({ code: 'VM_RUNNING', message: expect.stringContaining('virtio disk') });

      await call(service, 'removeDevice', { vm: 'hot', device: 'nic1', keepFile: false });
      await untilGuestSays(console, 'ls /sys/class/net', /^(?![\s\S]*eth1)[\s\S]*eth0/);
      const gone = await call(service, 'removeDevice', { vm: 'hot', device: 'disk1', keepFile: true });
      expect(gone.keptFile).toMatch(/kept-disks\/hot\/disk-1\.qcow2$/);
      await untilGuestSays(console, 'ls /sys/block', /^(?![\s\S]*vdb)[\s\S]*vda/);
      expect(gone.vm.config?.hotplugged).toEqual({});
    } finally {
      console.stop();
      await call(service, 'stopVm', { vm: 'hot', force: true, waitSeconds: 30 });
    }
  }, 300_000);

  it('a disk added while it ran sits in its own slot from the next start on', async () => {
    await call(service, 'addDevice', { vm: 'hot', device: { kind: 'disk', sizeGiB: 1 } });
    const started = await call(service, 'startVm', { vm: 'hot' });
    expect(started.config?.hotplugged).toEqual({});
    const argv = (await call(service, 'getVm', { vm: 'hot' })).argv ?? [];
    expect(deviceArgs(argv).find((device) => device.id === 'disk1-dev')).toMatchObject({ addr: expect.stringMatching(/^0x/) });
    await call(service, 'stopVm', { vm: 'hot', force: true, waitSeconds: 30 });
  }, 120_000);
});

describe('the hangar command, by device id', () => {
  it('adds, grows, changes and removes disks and NICs, and lists them with their ids', async () => {
    const port = await freePort();
    expect(hangar('create', '--name', 'Cli Devices', '--iso', iso, '--memory', '256', '--disk', '1').code).toBe(0);
    expect(hangar('disk', 'add', 'cli-devices', '--size', '2G', '--bus', 'virtio-scsi')).toMatchObject({ code: 0, stdout: 'Cli Devices: added disk1.\n' });
    expect(hangar('disk', 'resize', 'cli-devices', 'disk1', '3G')).toMatchObject({ code: 0 });
    expect(hangar('disk', 'resize', 'cli-devices', 'disk1', '1G')).toMatchObject({ code: 1, stderr: expect.stringContaining('only makes disks larger') });
    expect(hangar('disk', 'set', 'cli-devices', 'disk1', '--bus', 'sata')).toMatchObject({ code: 0 });
    expect(hangar('nic', 'add', 'cli-devices', '--forward', `tcp:${port}-80`, '--forward', 'udp:5353-53')).toMatchObject({ code: 0, stdout: 'Cli Devices: added nic1.\n' });
    expect(hangar('nic', 'add', 'cli-devices', '--forward', 'tcp:80')).toMatchObject({ code: 2, stderr: expect.stringContaining('tcp:2222-22') });
    // The SSH forward is set on its own; the other forwards stay (they were wiped before).
    expect(hangar('edit', 'cli-devices', '--ssh-port', '40222')).toMatchObject({ code: 0 });

    const info = hangar('info', 'cli-devices', '--json');
    expect(info.code).toBe(0);
    const details = VmDetails.parse(JSON.parse(info.stdout));
    const { devices } = details.summary.config!;
    expect(devices.disks.map((disk) => [disk.id, disk.bus])).toEqual([
      ['disk0', 'virtio-blk'],
      ['disk1', 'sata'],
    ]);
    expect(details.disks.find((disk) => disk.id === 'disk1')?.virtualBytes).toBe(3 * 1024 ** 3);
    expect(devices.nics.map((nic) => nic.portForwards.map((forward) => `${forward.protocol}:${forward.hostPort}-${forward.guestPort}`))).toEqual([['tcp:40222-22'], [`tcp:${port}-80`, 'udp:5353-53']]);
    const text = hangar('info', 'cli-devices').stdout;
    expect(text).toContain('disk1: disk, 3.0 GiB, sata');
    expect(text).toContain(`nic1: network card, virtio-net, NAT`);

    expect(hangar('edit', 'cli-devices', '--ssh-port', 'none')).toMatchObject({ code: 0 });
    expect(VmDetails.parse(JSON.parse(hangar('info', 'cli-devices', '--json').stdout)).summary.config?.devices.nics[1]?.portForwards).toHaveLength(2);
    expect(hangar('nic', 'remove', 'cli-devices', 'nic1')).toMatchObject({ code: 0 });
    expect(hangar('disk', 'remove', 'cli-devices', 'disk1', '--keep-file')).toMatchObject({ code: 0, stdout: expect.stringMatching(/removed disk1; its image is .*kept-disks\/cli-devices\/disk-1\.qcow2/) });
    expect(hangar('disk', 'remove', 'cli-devices', 'disk7')).toMatchObject({ code: 1, stderr: expect.stringContaining('has no device disk7') });
    expect(hangar('disk', 'frob', 'cli-devices')).toMatchObject({ code: 2, stderr: expect.stringContaining('"hangar disk" knows import, add, resize, remove, set') });
  }, 120_000);
});
