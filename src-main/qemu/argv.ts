import path from 'node:path';
import type { Accelerator } from '../../src-shared/host';
import type { VmConfig } from '../../src-shared/vm';
import { BUILT_IN, hotplugPortIds } from '../vms/pci-slots';
import { vmLayout } from '../vms/layout';
import { cdDevice, cdNodes, diskDevice, diskNodes, folderDevice, nicBackendOption, nicDevice, pciPlace, qemuIds, usbDevice, type PciPlace } from './devices';

// From a VM definition to QEMU's command line: a pure function, snapshot-tested. The
// result is an argument array, never a shell string. Block devices and devices are
// written as JSON, so a path with a comma in it cannot change their meaning; the few
// key=value options left escape commas the QEMU way (",,").

export interface RunPaths {
  runDir: string;
  qmpSocket: string;
  serialSocket: string;
  vncSocket: string;
  tpmSocket: string;
  pidFile: string;
}

export function runPaths(runDir: string): RunPaths {
  return {
    runDir,
    qmpSocket: path.join(runDir, 'qmp.sock'),
    serialSocket: path.join(runDir, 'serial.sock'),
    vncSocket: path.join(runDir, 'vnc.sock'),
    tpmSocket: path.join(runDir, 'swtpm.sock'),
    pidFile: path.join(runDir, 'qemu.pid'),
  };
}

/**
 * How QEMU's monitor and serial port reach Hangar. 'inherited': sockets the keeper creates
 * and hands to QEMU as file descriptors 3 (serial) and 4 (QMP), connected before QEMU runs,
 * as libvirt hands over its monitor: nothing to wait or poll for, no socket file anyone else
 * could open. 'socket-files': listening sockets in the run folder, the form a person can run
 * by hand (what previews and `hangar info` show).
 */
export type ControlChannels = 'inherited' | 'socket-files';
export const INHERITED_FDS = { serial: 3, qmp: 4 } as const;

export interface LaunchPlan {
  /** Default 'socket-files'. */
  channels?: ControlChannels;
  config: VmConfig;
  vmDir: string;
  run: RunPaths;
  accelerator: Accelerator;
  /** The UEFI firmware code file, when config.firmware is 'uefi'. */
  uefiCode: string | null;
  /** The disks (by id) whose file system takes O_DIRECT; disks with cache 'auto' use it there. */
  directIo: ReadonlySet<string>;
  /** Whether this QEMU was built with seccomp (-sandbox). */
  sandbox: boolean;
  /**
   * The versioned machine type (pc-q35-7.2) a saved state was made with: resuming needs
   * that one, whatever the alias (q35) means in the QEMU installed now.
   */
  pinnedMachine?: string | null;
}

/** Escapes a value inside QEMU's key=value option syntax. */
export const optValue = (value: string): string => value.replaceAll(',', ',,');

const json = (value: Record<string, unknown>): string => JSON.stringify(value);

/** x86-64-v2, which current distributions (RHEL 9 and its kin) require, all emulated by TCG. */
const TCG_CPU = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16';

/** Ranks the devices booted from (disks, and CD drives with a disc) by their boot order: 0 boots first. */
export function bootIndexes(config: VmConfig): Map<string, number> {
  const bootable = [...config.devices.disks.map((disk) => ({ id: disk.id, order: disk.bootOrder })), ...config.devices.cdroms.filter((cd) => cd.iso !== null).map((cd) => ({ id: cd.id, order: cd.bootOrder }))];
  const ranked = bootable.filter((entry): entry is { id: string; order: number } => entry.order !== null).sort((a, b) => a.order - b.order);
  return new Map(ranked.map((entry, index) => [entry.id, index]));
}

export function buildQemuArgv(plan: LaunchPlan): string[] {
  const { config, vmDir, run, accelerator } = plan;
  const { machine, devices } = config;
  const files = vmLayout(vmDir);
  const args: string[] = [];
  const push = (...items: string[]): void => void args.push(...items);
  const slot = (owner: string): PciPlace => {
    // Added while the VM ran: where the running (or saved) machine has it.
    const port = config.hotplugged[owner];
    if (port !== undefined) return { port };
    const number = config.pciSlots[owner];
    return number === undefined ? null : { slot: number };
  };

  push('-name', `guest=${optValue(config.name)},process=hangar-${config.id}`);
  // Only what we ask for: no user config files, no default devices.
  push('-no-user-config', '-nodefaults');
  push('-msg', 'timestamp=on');

  const machineOption = [plan.pinnedMachine ?? machine.type, `accel=${accelerator}`];
  if (machine.firmware === 'uefi') machineOption.push('pflash0=uefi-code', 'pflash1=uefi-vars');
  push('-machine', machineOption.join(','));
  push('-cpu', accelerator === 'kvm' ? 'host' : TCG_CPU);
  // One socket: some guests (Windows desktop editions) use at most two.
  push('-smp', `${machine.cpus},sockets=1,cores=${machine.cpus},threads=1`);
  push('-m', `${machine.memoryMiB}M`);

  if (machine.firmware === 'uefi') {
    if (!plan.uefiCode) throw new Error('A UEFI VM needs the firmware code file.');
    push('-blockdev', json({ driver: 'file', filename: plan.uefiCode, 'node-name': 'uefi-code', 'read-only': true }));
    push('-blockdev', json({ driver: 'file', filename: files.uefiVars, 'node-name': 'uefi-vars' }));
  }

  // Control and console: sockets connected to the keeper from the start, or private unix
  // sockets in the run folder (0700). Either way no boot line is lost: an inherited socket is
  // connected before QEMU runs, and wait=on holds the guest until the serial socket is.
  // The keeper writes serial.log (capped and rotated) from what it reads.
  if (plan.channels === 'inherited') {
    push('-chardev', `socket,id=qmp,fd=${INHERITED_FDS.qmp}`);
    push('-mon', 'chardev=qmp,mode=control');
    push('-chardev', `socket,id=serial0,fd=${INHERITED_FDS.serial}`);
  } else {
    push('-chardev', `socket,id=qmp,path=${optValue(run.qmpSocket)},server=on,wait=off`);
    push('-mon', 'chardev=qmp,mode=control');
    push('-chardev', `socket,id=serial0,path=${optValue(run.serialSocket)},server=on,wait=on`);
  }
  push('-serial', 'chardev:serial0');
  // The screen: a private unix socket in the run folder, which viewers connect to.
  // QEMU 7.2 cannot serve a WebSocket on a unix socket; Hangar bridges this one for noVNC.
  push('-vnc', `unix:${optValue(run.vncSocket)}`);
  push('-device', json({ driver: 'VGA', id: 'video0', ...pciPlace(slot(BUILT_IN.video)) }));
  push('-device', json({ driver: 'qemu-xhci', id: 'usb', ...pciPlace(slot(BUILT_IN.usb)) }));
  push('-device', json({ driver: 'usb-tablet', id: 'tablet', bus: 'usb.0' }));
  push('-pidfile', run.pidFile);

  const boot = bootIndexes(config);
  let scsiController = false;
  let ideUnit = 0;
  for (const disk of devices.disks) {
    const direct = disk.cache === 'none' || (disk.cache === 'auto' && plan.directIo.has(disk.id));
    push('-blockdev', json(diskNodes(disk, vmDir, direct)));
    if (disk.bus === 'virtio-scsi' && !scsiController) {
      push('-device', json({ driver: 'virtio-scsi-pci', id: qemuIds.scsiController, ...pciPlace(slot(BUILT_IN.scsi)) }));
      scsiController = true;
    }
    push('-device', json(diskDevice(disk, { machine: machine.type, bootindex: boot.get(disk.id) ?? null, place: slot(disk.id), ideUnit })));
    if (disk.bus === 'sata' || disk.bus === 'ide') ideUnit++;
  }

  devices.cdroms.forEach((cd, position) => {
    for (const node of cdNodes(cd)) push('-blockdev', json(node));
    push('-device', json(cdDevice(cd, { machine: machine.type, bootindex: boot.get(cd.id) ?? null, position, ideUnitsUsed: ideUnit })));
  });

  for (const nic of devices.nics) {
    push('-netdev', nicBackendOption(nic));
    push('-device', json(nicDevice(nic, slot(nic.id))));
  }
  push('-object', json({ 'qom-type': 'rng-random', id: 'rng0', filename: '/dev/urandom' }));
  push('-device', json({ driver: 'virtio-rng-pci', id: 'rng0-dev', rng: 'rng0', ...pciPlace(slot(BUILT_IN.rng)) }));
  push('-device', json({ driver: 'virtio-balloon-pci', id: 'balloon0', ...pciPlace(slot(BUILT_IN.balloon)) }));
  // Lets a crashing guest kernel tell QEMU (GUEST_PANICKED) instead of hanging silently.
  push('-device', json({ driver: 'pvpanic-pci', id: 'panic0', ...pciPlace(slot(BUILT_IN.panic)) }));

  if (devices.tpm) {
    const tpm = devices.tpm.id;
    push('-chardev', `socket,id=${tpm}-chr,path=${optValue(run.tpmSocket)}`);
    push('-tpmdev', `emulator,id=${tpm}0,chardev=${tpm}-chr`);
    push('-device', json({ driver: machine.type === 'q35' ? 'tpm-crb' : 'tpm-tis', id: `${tpm}-dev`, tpmdev: `${tpm}0` }));
  }

  for (const folder of devices.sharedFolders) {
    push('-fsdev', `local,id=${qemuIds.folderBackend(folder)},path=${optValue(folder.hostPath)},security_model=none${folder.readOnly ? ',readonly=on' : ''}`);
    push('-device', json(folderDevice(folder, slot(folder.id))));
  }
  for (const usb of devices.usb) push('-device', json(usbDevice(usb)));
  // Free PCIe ports, so disks and NICs can be added while the VM runs (q35's root bus takes none).
  hotplugPortIds(machine).forEach((port, index) => push('-device', json({ driver: 'pcie-root-port', id: port, bus: 'pcie.0', chassis: index + 1, ...pciPlace(slot(port)) })));

  // No daemonize: Hangar's keeper process is QEMU's parent and records how it ended.
  if (plan.sandbox) push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  return args;
}
