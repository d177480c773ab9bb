import type { Devices } from '../../src-shared/devices';
import { HangarError } from '../../src-shared/errors';
import type { MachineSettings } from '../../src-shared/vm';

// Which PCI slot each part of a VM sits in. A guest names things after their slot (a NIC on
// slot 5 is enp0s5 to Linux), so a slot is given once and kept: adding or removing a device
// never moves another, as libvirt keeps the addresses it assigned in the domain XML.
// New parts take the lowest free slot; given the parts in the order QEMU met them on the
// command line of the schema-2 release, this hands out exactly the slots QEMU chose then.

type Slots = Record<string, number>;

/** The built-in parts with a slot of their own, besides the devices. */
export const BUILT_IN = { video: 'video', usb: 'usb', scsi: 'scsi', rng: 'rng', balloon: 'balloon', panic: 'panic' } as const;

/** q35's slot 0 is its host bridge and 0x1f its ICH9 (SATA, LPC); pc's 0 and 1 are the host bridge and PIIX3. */
function usableSlots(type: MachineSettings['type']): number[] {
  const first = type === 'q35' ? 1 : 2;
  const last = type === 'q35' ? 0x1e : 0x1f;
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

/** Free PCIe ports for hot-plug: q35 only (pc takes hot-plugged devices on its root bus). */
export function hotplugPortIds(machine: Pick<MachineSettings, 'type' | 'hotplugPorts'>): string[] {
  return machine.type === 'q35' ? Array.from({ length: machine.hotplugPorts }, (_, index) => `port${index}`) : [];
}

/** Everything that needs a slot, in the order the command line has always listed them. */
export function slotOwners(machine: Pick<MachineSettings, 'type' | 'hotplugPorts'>, devices: Devices): string[] {
  const owners: string[] = [BUILT_IN.video, BUILT_IN.usb];
  for (const disk of devices.disks) {
    if (disk.bus === 'virtio-blk') owners.push(disk.id);
    else if (disk.bus === 'virtio-scsi' && !owners.includes(BUILT_IN.scsi)) owners.push(BUILT_IN.scsi);
  }
  owners.push(...devices.nics.map((nic) => nic.id));
  owners.push(BUILT_IN.rng, BUILT_IN.balloon, BUILT_IN.panic);
  owners.push(...devices.sharedFolders.map((folder) => folder.id));
  owners.push(...hotplugPortIds(machine));
  return owners;
}

/**
 * The slots of a VM's parts: each keeps the slot it had in `previous`, parts that are gone
 * free theirs, and new ones take the lowest free slot. Throws when the machine is full.
 */
export function assignPciSlots(machine: Pick<MachineSettings, 'type' | 'hotplugPorts'>, devices: Devices, previous: Readonly<Slots> = {}): Slots {
  const owners = slotOwners(machine, devices);
  const usable = usableSlots(machine.type);
  const slots: Slots = {};
  const taken = new Set<number>();
  for (const owner of owners) {
    const kept = previous[owner];
    if (kept !== undefined && usable.includes(kept) && !taken.has(kept)) {
      slots[owner] = kept;
      taken.add(kept);
    }
  }
  for (const owner of owners) {
    if (slots[owner] !== undefined) continue;
    const free = usable.find((slot) => !taken.has(slot));
    if (free === undefined) throw new HangarError('BAD_SETTINGS', `The VM has no free PCI slot left for ${owner}: remove a device first.`);
    slots[owner] = free;
    taken.add(free);
  }
  return slots;
}
