// QEMU's own error lines, turned into something a person can act on. The original line is
// always kept next to it in the VM's problem log.

const PREFIX = /^(?:\S+ )?qemu-system-[\w-]+: /;

/** The lines of QEMU's stderr that say what went wrong, without timestamps and program name. */
export function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '').replace(PREFIX, '').trim())
    // info: is QEMU talking, not failing (e.g. waiting for the keeper on the serial socket, wait=on).
    .filter((line) => line && !/^warning:/i.test(line) && !/(?:^|: )info: /.test(line) && !/terminating on signal/.test(line));
}

export function explainQemuFailure(stderr: string): string {
  const lines = errorLines(stderr);
  const all = lines.join('\n');
  const missing = /Could not open '([^']+)': No such file or directory/.exec(all);
  if (missing) return `QEMU could not start the VM: the file ${missing[1]} does not exist.`;
  const denied = /Could not open '([^']+)': Permission denied/.exec(all);
  if (denied) return `QEMU could not start the VM: it may not open ${denied[1]} (permission denied).`;
  if (/kvm_buf_set_msrs|failed to set MSR/i.test(all))
    return 'QEMU aborted while setting up the CPU under KVM (a model-specific register was refused). KVM on this machine cannot run this VM; use software emulation (TCG).';
  if (/Could not access KVM kernel module|failed to initialize kvm/i.test(all)) return `QEMU could not use KVM: ${lines[0] ?? ''}`.trim();
  if (/Failed to get "write" lock|Is another process using the image/.test(all)) return 'QEMU could not start the VM: one of its disks is in use by another program.';
  if (/cannot set up guest memory|Cannot allocate memory/.test(all)) return 'QEMU could not start the VM: there is not enough free memory on this machine for it.';
  const first = lines[0];
  return first ? `QEMU could not start the VM: ${first}` : 'QEMU stopped at once without saying why.';
}
