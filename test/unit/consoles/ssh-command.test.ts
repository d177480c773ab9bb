import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sshCommand } from '../../../src-main/consoles/terminals';
import type { HangarError } from '../../../src-shared/errors';
import type { PortForward, VmDetails, VmState } from '../../../src-shared/vm';
import { sampleConfig, withDevices } from '../vms/sample';

// The ssh command line for a VM, and what ssh itself makes of it (`ssh -G` prints the
// settings it would use, without connecting).

function details({ state = 'running', forwards, dir = '/home/ann/.local/share/hangar/vms/debian-12' }: { state?: VmState; forwards: PortForward[]; dir?: string }): VmDetails {
  const config = withDevices(sampleConfig(), { nics: [{ id: 'nic0', model: 'virtio-net', network: 'user', mac: '52:54:00:12:34:56', portForwards: forwards }] });
  return {
    summary: { id: config.id, name: config.name, state, broken: null, problem: null, config, accelerator: 'kvm', pid: state === 'stopped' ? null : 4242, orphaned: false, savedState: false },
    argv: null,
    dir,
    disks: [],
    keptDisksDir: '/home/ann/.local/share/hangar/kept-disks',
  };
}

const env = { PATH: process.env.PATH };
const forward = (hostPort: number, guestPort: number, hostAddress: '127.0.0.1' | '0.0.0.0' = '127.0.0.1', protocol: 'tcp' | 'udp' = 'tcp'): PortForward => ({ protocol, hostAddress, hostPort, guestPort });

/** What ssh would do with these arguments: its resolved settings, lower-case keys. */
function sshSettings(args: readonly string[]): Map<string, string> {
  const result = spawnSync('ssh', ['-G', ...args], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return new Map(result.stdout.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]));
}

function refusedWith(run: () => unknown): HangarError {
  try {
    run();
  } catch (error) {
    return error as HangarError;
  }
  throw new Error('expected a refusal');
}

describe('sshCommand', () => {
  it('connects to 127.0.0.1 on the forwarded port, with the VM folder’s known_hosts', () => {
    const command = sshCommand(details({ forwards: [forward(8080, 80), forward(2222, 22)] }), 'ann', env);
    expect(command.file).toMatch(/\/ssh$/);
    expect(command.args).toEqual(['-p', '2222', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'UserKnownHostsFile="/home/ann/.local/share/hangar/vms/debian-12/known_hosts"', 'ann@127.0.0.1']);
    expect(command.title).toBe('ssh ann@Debian 12');
    const settings = sshSettings(command.args);
    expect(settings.get('hostname')).toBe('127.0.0.1');
    expect(settings.get('port')).toBe('2222');
    expect(settings.get('user')).toBe('ann');
    expect(settings.get('stricthostkeychecking')).toBe('accept-new');
    expect(settings.get('userknownhostsfile')).toBe('/home/ann/.local/share/hangar/vms/debian-12/known_hosts');
  });

  it('goes to loopback when the forward listens on every address, and ignores a UDP forward to 22', () => {
    const command = sshCommand(details({ forwards: [forward(5353, 22, '0.0.0.0', 'udp'), forward(2200, 22, '0.0.0.0')] }), 'root', env);
    expect(command.args.slice(0, 2)).toEqual(['-p', '2200']);
    expect(command.args.at(-1)).toBe('root@127.0.0.1');
  });

  it.each([
    ['spaces', '/home/ann/My VMs/vms/debian-12'],
    ['a percent sign (an ssh token)', '/home/ann/100%/vms/debian-12'],
    ['quotes and backslashes', '/home/ann/"odd"\\dir/vms/debian-12'],
    ['a tilde', '/srv/~hangar/vms/debian-12'],
  ])('passes a library path with %s to ssh intact', (_what, dir) => {
    const command = sshCommand(details({ forwards: [forward(2222, 22)], dir }), 'ann', env);
    expect(sshSettings(command.args).get('userknownhostsfile')).toBe(`${dir}/known_hosts`);
  });

  it.each<[string, () => unknown, string, RegExp]>([
    ['no forward to guest port 22', () => sshCommand(details({ forwards: [forward(8080, 80)] }), 'ann', env), 'BAD_SETTINGS', /^"Debian 12" has no port forward to the guest's SSH port \(TCP 22\), so ssh cannot reach it\./],
    ['only a UDP forward to 22', () => sshCommand(details({ forwards: [forward(2222, 22, '127.0.0.1', 'udp')] }), 'ann', env), 'BAD_SETTINGS', /no port forward/],
    ['a stopped VM', () => sshCommand(details({ state: 'stopped', forwards: [forward(2222, 22)] }), 'ann', env), 'VM_NOT_RUNNING', /^"Debian 12" is stopped: start it/],
    ['a paused VM', () => sshCommand(details({ state: 'paused', forwards: [forward(2222, 22)] }), 'ann', env), 'VM_NOT_RUNNING', /^"Debian 12" is paused: resume it before opening an SSH terminal\.$/],
    ['no ssh on PATH', () => sshCommand(details({ forwards: [forward(2222, 22)] }), 'ann', { PATH: '/nonexistent' }), 'TERMINAL_FAILED', /^ssh is not installed on this machine\./],
    ['a user name that reads as an option', () => sshCommand(details({ forwards: [forward(2222, 22)] }), '-oProxyCommand=id', env), 'BAD_REQUEST', /is not a user name/],
  ])('refuses %s, in words', (_what, run, code, message) => {
    const error = refusedWith(run);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});
