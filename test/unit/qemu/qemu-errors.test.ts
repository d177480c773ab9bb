import { describe, expect, it } from 'vitest';
import { errorLines, explainQemuFailure } from '../../../src-main/qemu/qemu-errors';

describe("QEMU's errors in words", () => {
  it.each([
    [
      "2026-11-25T07:00:00.000000Z qemu-system-x86_64: -blockdev {\"driver\":\"file\",\"filename\":\"/isos/x.iso\"}: Could not open '/isos/x.iso': No such file or directory\n",
      'QEMU could not start the VM: the file /isos/x.iso does not exist.',
    ],
    ["qemu-system-x86_64: -blockdev x: Could not open '/vms/a/disk-0.qcow2': Permission denied\n", 'QEMU could not start the VM: it may not open /vms/a/disk-0.qcow2 (permission denied).'],
    [
      'qemu-system-x86_64: error: failed to set MSR 0x48b to 0x1ffbfff00000000\nqemu-system-x86_64: ../target/i386/kvm/kvm.c:3176: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs\' failed.\n',
      'QEMU aborted while setting up the CPU under KVM (a model-specific register was refused). KVM on this machine cannot run this VM; use software emulation (TCG).',
    ],
    ['qemu-system-x86_64: Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: failed to initialize kvm: Permission denied\n', 'QEMU could not use KVM: Could not access KVM kernel module: Permission denied'],
    ['qemu-system-x86_64: -blockdev x: Failed to get "write" lock\nIs another process using the image [/vms/a/disk-0.qcow2]?\n', 'QEMU could not start the VM: one of its disks is in use by another program.'],
    ['qemu-system-x86_64: cannot set up guest memory \'pc.ram\': Cannot allocate memory\n', 'QEMU could not start the VM: there is not enough free memory on this machine for it.'],
    ["qemu-system-x86_64: -blockdev x: Image is not in qcow2 format\n", 'QEMU could not start the VM: -blockdev x: Image is not in qcow2 format'],
    ['', 'QEMU stopped at once without saying why.'],
  ])('%#: %s', (stderr, expected) => {
    expect(explainQemuFailure(stderr)).toBe(expected);
  });

  it('drops warnings, timestamps and the program name', () => {
    expect(errorLines('2026-11-25T07:00:00.000Z qemu-system-x86_64: warning: host doesn\'t support requested feature\nqemu-system-x86_64: real problem\nqemu-system-x86_64: terminating on signal 15 from pid 1\n')).toEqual(['real problem']);
  });

  it('drops the notice that QEMU waits for the keeper on the serial socket', () => {
    const waiting = '2026-12-01T16:34:14.223882Z qemu-system-x86_64: -chardev socket,id=serial0,path=/run/h/vm/serial.sock,server=on,wait=on: info: QEMU waiting for connection on: disconnected:unix:/run/h/vm/serial.sock,server=on\n';
    expect(errorLines(`${waiting}qemu-system-x86_64: -blockdev x: Image is not in qcow2 format\n`)).toEqual(['-blockdev x: Image is not in qcow2 format']);
    expect(explainQemuFailure(waiting)).toBe('QEMU stopped at once without saying why.');
  });
});
