import path from 'node:path';
import type { DiskDevice } from '../../src-shared/devices';

// What a VM's folder holds, declared once: every room that reads or writes a file of a VM
// finds its name here. A folder a person can see, back up and copy (as Quickemu's are).

export const VM_FILE_NAMES = {
  /** The definition (schema in src-shared/vm.ts, migrations in schema.ts). */
  definition: 'vm.json',
  /** Held by whoever changes or runs the VM (lock.ts). */
  lock: 'lock',
  /** How the last run ended, written by the keeper. */
  lastRun: 'last-run.json',
  /** The serial console's output, capped; the one before it rotated to serial.log.1. */
  serialLog: 'serial.log',
  serialLogOld: 'serial.log.1',
  /** What QEMU printed on stderr, run after run. */
  qemuLog: 'qemu.log',
  /** The UEFI variable store, copied from OVMF's template at creation. */
  uefiVars: 'uefi-vars.fd',
  /** swtpm's state folder. */
  tpmState: 'tpm',
  /** A saved VM: QEMU's migration stream, its record, and the stream while it is written. */
  savedState: 'saved-state.bin',
  savedInfo: 'saved.json',
  savedPartial: 'saved-state.bin.partial',
  /** The guest's SSH host key, for `hangar ssh`, kept out of ~/.ssh/known_hosts. */
  knownHosts: 'known_hosts',
} as const;

/** Files of a VM made by Hangar that hold the VM's disks: the first disk's name, then disk-N. */
export function newDiskFileName(taken: ReadonlySet<string>, extension = 'qcow2'): string {
  for (let n = 0; ; n++) {
    const name = `disk-${n}.${extension}`;
    if (!taken.has(name)) return name;
  }
}

export type VmLayout = { -readonly [K in keyof typeof VM_FILE_NAMES]: string } & { dir: string };

/** The absolute paths of a VM's files. */
export function vmLayout(dir: string): VmLayout {
  const entries = Object.entries(VM_FILE_NAMES).map(([key, name]) => [key, path.join(dir, name)]);
  return { dir, ...Object.fromEntries(entries) } as VmLayout;
}

/** Where a disk's image is: a plain name lives in the VM folder, an absolute path elsewhere. */
export function diskPath(vmDir: string, disk: Pick<DiskDevice, 'file'>): string {
  return path.isAbsolute(disk.file) ? disk.file : path.join(vmDir, disk.file);
}

/** A disk kept outside the VM folder: shown as such, and never moved or removed with the VM. */
export function isExternalDisk(disk: Pick<DiskDevice, 'file'>): boolean {
  return path.isAbsolute(disk.file);
}
