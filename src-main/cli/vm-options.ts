import path from 'node:path';
import type { NewVmRequest, VmChanges } from '../../src-shared/vm';
import { mibOption, numberOption, UsageError, type Values } from './command';

// The flags that set a VM's machine, read in one place for every verb that takes them
// (create, disk import, edit), so `--memory 2048` means the same everywhere.

export const MACHINE_OPTIONS = {
  memory: { type: 'string' },
  cpus: { type: 'string' },
  uefi: { type: 'boolean' },
  bios: { type: 'boolean' },
} as const;

export const NEW_VM_OPTIONS = {
  ...MACHINE_OPTIONS,
  name: { type: 'string' },
  'ssh-port': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Memory, CPUs and firmware, as given (left out when not). */
export function machineFlags(values: Values): Pick<VmChanges, 'memoryMiB' | 'cpus' | 'firmware'> {
  if (values.uefi && values.bios) throw new UsageError('Give --uefi or --bios, not both.');
  const memoryMiB = mibOption(values.memory, '--memory');
  const cpus = numberOption(values.cpus, '--cpus');
  return {
    ...(memoryMiB !== undefined ? { memoryMiB } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(values.uefi ? { firmware: 'uefi' as const } : values.bios ? { firmware: 'bios' as const } : {}),
  };
}

/** The SSH port asked for: a number, or null for "no SSH forward" (--ssh-port none). */
export function sshPortFlag(values: Values): number | null | undefined {
  const value = values['ssh-port'];
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  return numberOption(value, '--ssh-port');
}

/** A new VM's request from the flags of `create` and `disk import`. */
export function newVmRequest(values: Values, extra: Partial<NewVmRequest> = {}): NewVmRequest {
  if (typeof values.name !== 'string') throw new UsageError('--name is required.');
  const sshPort = sshPortFlag(values);
  return {
    name: values.name,
    ...machineFlags(values),
    ...(typeof sshPort === 'number' ? { portForwards: [{ protocol: 'tcp' as const, hostAddress: '127.0.0.1' as const, hostPort: sshPort, guestPort: 22 }] } : {}),
    ...extra,
  };
}

/** A path typed on the command line, made absolute against where the command runs. */
export function pathArgument(value: string | undefined): string {
  if (!value) throw new UsageError('Give a path.');
  return path.resolve(value);
}
