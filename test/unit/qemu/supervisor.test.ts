import { describe, expect, it } from 'vitest';
import { buildQemuArgv, runPaths } from '../../../src-main/qemu/argv';
import { qemuProcessName } from '../../../src-main/qemu/supervisor';
import { sampleConfig, withMachine } from '../vms/sample';

// Which VM a running QEMU belongs to, read from its -name option the way QEMU reads it: the
// orphan check must not take VM foo's run folder for foo-2's QEMU.

describe('the process name in a QEMU command line', () => {
  it.each([
    [['-name', 'guest=Foo,process=hangar-foo'], 'hangar-foo'],
    [['-name', 'guest=Foo 2,process=hangar-foo-2'], 'hangar-foo-2'],
    // A guest name with a comma in it is escaped (",,"): its text is not an option.
    [['-name', 'guest=x,,process=hangar-foo,process=hangar-x-process-hangar-foo'], 'hangar-x-process-hangar-foo'],
    [['-name', 'guest=x,,process=hangar-foo'], null],
    [['-name', 'Bare Name,process=hangar-bare'], 'hangar-bare'],
    [['--name', 'process=hangar-dashed'], 'hangar-dashed'],
    // QEMU merges repeated -name options; the last process= counts.
    [['-name', 'process=hangar-a', '-name', 'process=hangar-b'], 'hangar-b'],
    [['-name', 'guest=Foo'], null],
    [['-chardev', 'socket,id=x,path=/run/process=hangar-foo'], null],
    [['-name'], null],
    [[], null],
  ] as const)('%j -> %s', (argv, expected) => {
    expect(qemuProcessName(argv)).toBe(expected);
  });

  it('reads what the argv builder writes, whatever the VM is called', () => {
    for (const name of ['Foo', 'a,process=hangar-other', 'Name with ,, commas']) {
      const config = withMachine(sampleConfig({ id: 'the-id', name }), { firmware: 'bios' });
      const argv = buildQemuArgv({ config, vmDir: '/vms/the-id', run: runPaths('/run/hangar/the-id'), accelerator: 'tcg', uefiCode: null, directIo: new Set<string>(), sandbox: true });
      expect(qemuProcessName(argv)).toBe('hangar-the-id');
    }
  });
});
