import { describe, expect, it } from 'vitest';
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
