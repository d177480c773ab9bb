import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../../../src-shared/vm';
import { buildQemuArgv, runPaths } from '../../../src-main/qemu/argv';
import { KeeperMessage, KeeperRequest, LaunchSpec, keeperFiles } from '../../../src-main/qemu/keeper/protocol';
import { vmLayout } from '../../../src-main/vms/layout';
import { LastRun } from '../../../src-main/vms/run-record';
import { SavedState } from '../../../src-main/vms/saved-state';
import { checkSocketPath } from '../../../src-main/qemu/keeper/save-restore';
import { sampleConfig, withDevices, withMachine } from '../vms/sample';

// The pure parts of save and restore: what may cross the keeper's socket, the files' schemas,
// the machine a saved VM resumes on, and the socket path limit.

const launch = {
  vmId: 'tiny',
  vmName: 'Tiny',
  vmDir: '/home/ada/.local/share/hangar/vms/tiny',
  runDir: '/run/user/1000/hangar/tiny',
  qemuBinary: '/usr/bin/qemu-system-x86_64',
  argv: ['-machine', 'q35,accel=tcg'],
  accelerator: 'tcg',
  swtpm: null,
};

describe('the keeper protocol for save and restore', () => {
  it('takes a save request, and nothing in it but its id', () => {
    expect(KeeperRequest.parse({ type: 'save', id: 3 })).toEqual({ type: 'save', id: 3 });
    // The keeper alone chooses where the stream goes: no client can name a destination.
    expect(KeeperRequest.safeParse({ type: 'save', id: 3, uri: 'exec:cat > /tmp/x' }).success).toBe(false);
    expect(KeeperRequest.safeParse({ type: 'save', id: -1 }).success).toBe(false);
  });

  it.each(['migrate', 'migrate-incoming', 'migrate_cancel', 'migrate-set-capabilities', 'human-monitor-command'])('does not pass %s through as a QMP command', (execute) => {
    expect(KeeperRequest.safeParse({ type: 'qmp', id: 1, execute, arguments: { uri: 'exec:sh' } }).success).toBe(false);
  });

  it('still passes the whitelisted QMP commands', () => {
    expect(KeeperRequest.parse({ type: 'qmp', id: 1, execute: 'query-status' })).toEqual({ type: 'qmp', id: 1, execute: 'query-status' });
  });

  it('carries the API error code of a refused save, and only a known one', () => {
    const reply = { type: 'reply', id: 2, ok: false, error: { qmpClass: 'HangarError', code: 'NO_SPACE', message: 'full' } };
    expect(KeeperMessage.parse(reply)).toEqual(reply);
    expect(KeeperMessage.safeParse({ ...reply, error: { ...reply.error, code: 'DISK_ON_FIRE' } }).success).toBe(false);
  });

  it('a launch without restore is a fresh boot; a restore names an absolute state file', () => {
    expect(LaunchSpec.parse(launch).restore).toBeNull();
    expect(LaunchSpec.parse({ ...launch, restore: { stateFile: `${launch.vmDir}/saved-state.bin`, resume: 'paused' } }).restore).toEqual({ stateFile: `${launch.vmDir}/saved-state.bin`, resume: 'paused' });
    expect(LaunchSpec.safeParse({ ...launch, restore: { stateFile: 'saved-state.bin', resume: 'running' } }).success).toBe(false);
    expect(LaunchSpec.safeParse({ ...launch, restore: { stateFile: `${launch.vmDir}/saved-state.bin`, resume: 'sideways' } }).success).toBe(false);
  });

  it('records a run that ended saved', () => {
    expect(LastRun.parse({ state: 'saved', problem: null, endedAt: '2026-11-26T10:00:00.000Z', exitCode: 0, signal: null }).state).toBe('saved');
  });
});

describe('saved.json', () => {
  const saved = { savedAt: '2026-11-26T10:00:00.000Z', resume: 'running', machine: 'pc-q35-7.2', qemuVersion: '7.2.22', bytes: 88_000_000 };

  it('parses what the keeper writes', () => {
    expect(SavedState.parse(saved)).toEqual(saved);
    expect(SavedState.parse({ ...saved, machine: null, qemuVersion: null })).toMatchObject({ machine: null });
  });

  it('refuses a machine that would smuggle options into -machine', () => {
    expect(SavedState.safeParse({ ...saved, machine: 'pc-q35-7.2,accel=kvm' }).success).toBe(false);
    expect(SavedState.safeParse({ ...saved, machine: '' }).success).toBe(false);
  });

  it('lives in the VM folder, its socket in the run folder', () => {
    expect(vmLayout('/vms/tiny')).toMatchObject({ savedState: '/vms/tiny/saved-state.bin', savedPartial: '/vms/tiny/saved-state.bin.partial', savedInfo: '/vms/tiny/saved.json' });
    // No longer than control.sock: wherever the keeper could listen, the state socket fits too.
    const files = keeperFiles('/run/x');
    expect(files.state.length).toBeLessThanOrEqual(files.control.length);
  });
});

describe('the machine a saved VM resumes on', () => {
  const config: VmConfig = withDevices(withMachine(sampleConfig({ id: 'tiny', name: 'Tiny', pciSlots: {} }), { type: 'q35', firmware: 'bios', cpus: 1, memoryMiB: 256, hotplugPorts: 0 }), { disks: [], cdroms: [] });
  const plan = { config, vmDir: '/vms/tiny', run: runPaths('/run/tiny'), accelerator: 'tcg' as const, uefiCode: null, directIo: new Set<string>(), sandbox: true };
  const machineOf = (argv: string[]): string | undefined => argv[argv.indexOf('-machine') + 1];

  it('is the alias when nothing is pinned', () => {
    expect(machineOf(buildQemuArgv(plan))).toBe('q35,accel=tcg');
    expect(machineOf(buildQemuArgv({ ...plan, pinnedMachine: null }))).toBe('q35,accel=tcg');
  });

  it('is the versioned type the state was saved on, the rest of the argv unchanged', () => {
    const pinned = buildQemuArgv({ ...plan, pinnedMachine: 'pc-q35-7.2' });
    expect(machineOf(pinned)).toBe('pc-q35-7.2,accel=tcg');
    expect(pinned.filter((arg) => !arg.startsWith('pc-q35'))).toEqual(buildQemuArgv(plan).filter((arg) => !arg.startsWith('q35')));
  });
});

describe('the state socket path', () => {
  it('fits in sun_path (107 bytes and a NUL), or is refused in words', () => {
    expect(() => checkSocketPath(`/${'a'.repeat(95)}/state.sock`)).not.toThrow(); // 107 bytes
    expect(() => checkSocketPath(`/${'a'.repeat(96)}/state.sock`)).toThrow(/too long for a unix socket.*HANGAR_RUNTIME_DIR/);
    // Bytes, not characters.
    expect(() => checkSocketPath(`/${'é'.repeat(50)}/state.sock`)).toThrow(/too long/);
  });
});
