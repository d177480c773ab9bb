import { z } from 'zod';
import { Devices } from '../../src-shared/devices';
import { MachineSettings, VmConfig } from '../../src-shared/vm';
import { macForVm } from './ids';
import { assignPciSlots } from './pci-slots';

// vm.json carries its schema version. Reading goes old -> new through the migrations
// below, one version at a time, and the result must pass the current schema. Each change
// of the format adds one step here.

export const CURRENT_SCHEMA = 3;

export type Migration = (old: Record<string, unknown>) => Record<string, unknown>;

/** MIGRATIONS[n] turns a version-n document into a version-(n+1) one. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // 2 records the VM's OS for its icon; VMs made before did not know it.
  1: (old) => ({ ...old, os: null }),
  // 3: a VM is machine settings and typed device lists, each device with a stable id.
  2: migrateToDevices,
};

interface Schema2 {
  id: string;
  machine: 'q35' | 'pc';
  firmware: 'bios' | 'uefi';
  cpus: number;
  memoryMiB: number;
  disks: { file: string; format: 'qcow2' | 'raw'; bus: 'virtio-blk' | 'virtio-scsi' | 'sata' | 'ide' }[];
  cdrom: string | null;
  bootFrom: 'cdrom' | 'disk';
  nic: { model: 'virtio-net' | 'e1000'; portForwards: unknown[] };
  tpm: boolean;
}

/**
 * Schema 2 to 3. The devices get the ids QEMU already knew them by (disk0, disk1, cd0,
 * nic0), the first NIC keeps the MAC it was derived, the boot order and the PCI slots come
 * out as the schema-2 command line had them, and no hot-plug ports are added: the machine
 * is the same one, so a state saved under schema 2 still resumes. Anything malformed is left
 * for the schema check to refuse in words (the VM is then shown broken, its files untouched).
 */
function migrateToDevices(old: Record<string, unknown>): Record<string, unknown> {
  const { machine, firmware, cpus, memoryMiB, disks, cdrom, bootFrom, nic, tpm, ...rest } = old as unknown as Schema2 & Record<string, unknown>;
  if (!Array.isArray(disks) || typeof nic !== 'object' || nic === null) throw new Error('its disks or network card are missing');
  const cdFirst = bootFrom === 'cdrom' && cdrom !== null;
  const settings = { type: machine, firmware, cpus, memoryMiB, accelerator: 'auto', hotplugPorts: 0 };
  const devices = {
    disks: disks.map((disk, index) => ({ id: `disk${index}`, file: disk.file, format: disk.format, bus: disk.bus, cache: 'auto', discard: true, readOnly: false, backing: null, bootOrder: index + (cdFirst ? 2 : 1) })),
    cdroms: [{ id: 'cd0', iso: cdrom, bus: machine === 'pc' ? 'ide' : 'sata', bootOrder: cdFirst ? 1 : disks.length + 1 }],
    nics: [{ id: 'nic0', model: nic.model, network: 'user', mac: macForVm(String(old.id)), portForwards: nic.portForwards }],
    sharedFolders: [],
    usb: [],
    tpm: tpm ? { id: 'tpm' } : null,
  };
  // Slots only for a well-formed definition; otherwise the schema check says what is wrong.
  const parsedMachine = MachineSettings.safeParse(settings);
  const parsedDevices = Devices.safeParse(devices);
  const pciSlots = parsedMachine.success && parsedDevices.success ? assignPciSlots(parsedMachine.data, parsedDevices.data) : {};
  return { ...rest, machine: settings, devices, pciSlots };
}

export type ParsedVmJson = { ok: true; config: VmConfig; migrated: boolean } | { ok: false; reason: string };

/** Checks a document of the current version; a parameter so tests can run other tables. */
export type VmConfigValidator = (document: unknown) => { success: true; data: VmConfig } | { success: false; error: z.ZodError };

export function parseVmJson(
  text: string,
  migrations: Readonly<Record<number, Migration>> = MIGRATIONS,
  current = CURRENT_SCHEMA,
  validate: VmConfigValidator = (document) => VmConfig.safeParse(document),
): ParsedVmJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file's bytes, which may hold anything.
    return { ok: false, reason: 'vm.json is not valid JSON (it may have been cut short or edited by hand).' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'vm.json does not hold a VM definition.' };
  let document = raw as Record<string, unknown>;
  const version = document.schema;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return { ok: false, reason: 'vm.json has no schema version.' };
  if (version > current) return { ok: false, reason: `vm.json was written by a newer Hangar (schema ${version}); update Hangar to open this VM.` };
  for (let from = version; from < current; from++) {
    const step = migrations[from];
    if (!step) return { ok: false, reason: `vm.json has schema ${from}, which this Hangar cannot upgrade.` };
    try {
      document = { ...step(document), schema: from + 1 };
    } catch (error) {
      return { ok: false, reason: `vm.json could not be upgraded from schema ${from}: ${(error as Error).message}` };
    }
  }
  const parsed = validate(document);
  if (!parsed.success) return { ok: false, reason: `vm.json is not a valid VM definition: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}` };
  return { ok: true, config: parsed.data, migrated: version !== current };
}

export function serializeVmJson(config: VmConfig): string {
  return JSON.stringify(VmConfig.parse(config), null, 2) + '\n';
}
