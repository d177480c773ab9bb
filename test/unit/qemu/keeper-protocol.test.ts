import { describe, expect, it } from 'vitest';
import { diskDevice, diskNodes, nicBackend, nicDevice, usbDevice } from '../../../src-main/qemu/devices';
import { qmpArgumentsProblem } from '../../../src-main/qemu/keeper/protocol';

// The keeper passes only a handful of QMP commands on, and each only with the arguments
// Hangar itself sends: a client of control.sock cannot make QEMU write a picture over any
// file of the user's, nor open anything but a raw image as the CD.

const runDir = '/run/user/1000/hangar/debian';
const picture = `${runDir}/screenshot-0123456789abcdef.png`;
const cd = { id: 'cd0', filename: '/home/me/isos/debian-12.iso', format: 'raw', 'read-only-mode': 'read-only' };

describe('the arguments the keeper lets through', () => {
  it.each([
    ['query-status', undefined],
    ['query-status', {}],
    ['system_powerdown', undefined],
    ['system_reset', undefined],
    ['stop', undefined],
    ['cont', {}],
    ['quit', undefined],
    ['query-block', undefined],
    ['eject', { id: 'cd0' }],
    ['eject', { id: 'cd0', force: true }],
    ['eject', { id: 'cd0', force: false }],
    ['blockdev-change-medium', cd],
    ['blockdev-change-medium', { ...cd, filename: '/media/cd, with commas and spaces.iso' }],
    ['screendump', { filename: picture, format: 'png' }],
  ] as const)('%s %j is passed on', (execute, args) => {
    expect(qmpArgumentsProblem(execute, args, runDir)).toBeNull();
  });

  it.each([
    // Commands Hangar sends bare take nothing.
    ['query-status', { anything: 1 }],
    ['quit', { force: true }],
    ['system_reset', { id: 'cd0' }],
    // eject: only the CD drive, only a boolean force.
    ['eject', {}],
    ['eject', { id: 'disk0-dev' }],
    ['eject', { device: 'cd0' }],
    ['eject', { id: 'cd0', force: 'yes' }],
    ['eject', { id: 'cd0', force: true, extra: 1 }],
    // blockdev-change-medium: a raw image by absolute path into the CD drive, read-only.
    ['blockdev-change-medium', { ...cd, format: 'qcow2' }],
    ['blockdev-change-medium', { ...cd, format: undefined }],
    ['blockdev-change-medium', { id: 'cd0', filename: '/x.iso', 'read-only-mode': 'read-only' }],
    ['blockdev-change-medium', { ...cd, filename: 'relative.iso' }],
    ['blockdev-change-medium', { ...cd, filename: 'json:{"driver":"file","filename":"/etc/shadow"}' }],
    ['blockdev-change-medium', { ...cd, filename: 'nbd://evil.example/export' }],
    ['blockdev-change-medium', { ...cd, filename: '/x.iso\u0000' }],
    ['blockdev-change-medium', { ...cd, filename: 42 }],
    ['blockdev-change-medium', { ...cd, id: 'disk0-dev' }],
    ['blockdev-change-medium', { ...cd, device: 'cd0' }],
    ['blockdev-change-medium', { ...cd, 'read-only-mode': 'read-write' }],
    ['blockdev-change-medium', { ...cd, 'read-only-mode': undefined }],
    ['blockdev-change-medium', { ...cd, force: true }],
    // screendump: a screenshot-<hex>.png file directly in this run folder, as PNG.
    ['screendump', { filename: `${runDir}/screenshot-0123.ppm`, format: 'png' }],
    ['screendump', { filename: picture, format: 'ppm' }],
    ['screendump', { filename: picture }],
    ['screendump', { filename: '/home/me/.bashrc', format: 'png' }],
    ['screendump', { filename: `${runDir}/../other/screenshot-0123.png`, format: 'png' }],
    ['screendump', { filename: `${runDir}/sub/screenshot-0123.png`, format: 'png' }],
    ['screendump', { filename: `${runDir}-2/screenshot-0123.png`, format: 'png' }],
    ['screendump', { filename: `${runDir}/control.sock`, format: 'png' }],
    ['screendump', { filename: `${runDir}/screenshot-.png`, format: 'png' }],
    ['screendump', { filename: 'screenshot-0123.png', format: 'png' }],
    ['screendump', { filename: picture, format: 'png', device: 'video0' }],
    ['screendump', { filename: picture, format: 'png', head: 1 }],
  ] as const)('%s %j is refused in words', (execute, args) => {
    const problem = qmpArgumentsProblem(execute, args as Record<string, unknown>, runDir);
    expect(problem).toMatch(/^The VM's keeper refuses .+\.$/);
  });

  it('says what was wrong', () => {
    expect(qmpArgumentsProblem('screendump', { filename: '/home/me/.bashrc', format: 'png' }, runDir)).toContain("the VM's run folder");
    expect(qmpArgumentsProblem('blockdev-change-medium', { ...cd, format: 'qcow2' }, runDir)).toContain('raw');
    expect(qmpArgumentsProblem('blockdev-change-medium', { ...cd, filename: 'json:{}' }, runDir)).toContain('absolute path');
  });
});

describe('the hot-plug commands the keeper lets through', () => {
  // Exactly what qemu/hotplug.ts sends for a device added or removed while the VM runs.
  const disk = { id: 'disk1', file: 'disk-1.qcow2', format: 'qcow2' as const, bus: 'virtio-blk' as const, cache: 'auto' as const, discard: true, readOnly: false, backing: null, bootOrder: null };
  const nic = { id: 'nic1', model: 'virtio-net' as const, network: 'user' as const, mac: '52:54:00:aa:bb:cc', portForwards: [{ protocol: 'tcp' as const, hostAddress: '127.0.0.1' as const, hostPort: 2222, guestPort: 22 }] };
  const nodes = diskNodes(disk, '/home/me/vms/debian', true);

  it.each([
    ['blockdev-add', nodes],
    ['blockdev-add', diskNodes({ ...disk, backing: { file: 'base.qcow2', format: 'qcow2' } }, '/home/me/vms/debian', false)],
    ['blockdev-add', diskNodes({ ...disk, format: 'raw', file: 'data.raw' }, '/home/me/vms/debian', false)],
    ['device_add', diskDevice(disk, { machine: 'q35', bootindex: null, place: { port: 'port0' }, ideUnit: 0 })],
    ['device_add', diskDevice(disk, { machine: 'pc', bootindex: null, place: { slot: 9 }, ideUnit: 0 })],
    ['netdev_add', nicBackend(nic)],
    ['device_add', nicDevice(nic, { port: 'port1' })],
    ['device_add', usbDevice({ id: 'usb0', vendorId: '046d', productId: 'c52b', label: 'Receiver' })],
    ['device_del', { id: 'disk1-dev' }],
    ['device_del', { id: 'nic1' }],
    ['blockdev-del', { 'node-name': 'disk1' }],
    ['netdev_del', { id: 'nic1-net' }],
    ['block_resize', { 'node-name': 'disk0', size: 40 * 1024 ** 3 }],
    ['query-pci', undefined],
  ] as const)('%s %j is passed on', (execute, args) => {
    expect(qmpArgumentsProblem(execute, args as Record<string, unknown>, runDir)).toBeNull();
  });

  it.each([
    // A qcow2 whose backing is left to its header could open any file of the user's.
    ['blockdev-add', { ...nodes, backing: undefined }],
    ['blockdev-add', { ...nodes, driver: 'vmdk' }],
    ['blockdev-add', { ...nodes, 'node-name': 'uefi-vars' }],
    ['blockdev-add', { ...nodes, file: { driver: 'nbd', server: { type: 'inet', host: 'evil', port: '10809' } } }],
    ['blockdev-add', { ...nodes, file: { driver: 'file', filename: 'relative.qcow2' } }],
    ['blockdev-add', { ...nodes, 'data-file': '/etc/shadow' }],
    ['blockdev-add', { ...nodes, backing: { driver: 'qcow2', 'node-name': 'disk1-base', 'read-only': false, backing: null, file: { driver: 'file', filename: '/x' } } }],
    ['device_add', { driver: 'virtio-9p-pci', id: 'fs9', fsdev: 'x', mount_tag: 'root' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'disk1-dev', drive: 'uefi-code' }],
    ['device_add', { driver: 'virtio-net-pci', id: 'nic1', netdev: 'evil' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'video0', drive: 'disk1' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'disk1-dev', drive: 'disk1', bootindex: 0 }],
    ['device_del', { id: 'video0' }],
    ['device_del', { id: 'cd0' }],
    ['blockdev-del', { 'node-name': 'uefi-vars' }],
    ['block_resize', { 'node-name': 'disk0', size: -1 }],
    ['block_resize', { 'node-name': 'cd0-media', size: 1 }],
    ['netdev_add', { type: 'tap', id: 'nic1-net', script: '/tmp/evil.sh' }],
    ['netdev_add', { type: 'user', id: 'nic1-net', hostfwd: [{ str: 'tcp::22-:22,smb=/' }] }],
    ['netdev_add', { type: 'user', id: 'nic1-net', guestfwd: [{ str: 'tcp:10.0.2.100:80-cmd:/bin/sh' }] }],
    ['netdev_del', { id: 'user0' }],
    ['query-pci', { bus: 1 }],
  ] as const)('%s %j is refused in words', (execute, args) => {
    expect(qmpArgumentsProblem(execute, args as Record<string, unknown>, runDir)).toMatch(/^The VM's keeper refuses .+\.$/);
  });
});
