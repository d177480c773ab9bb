import path from 'node:path';
import { z } from 'zod';
import { ErrorCode } from '../../../src-shared/errors';
import { Accelerator } from '../../../src-shared/host';
import { VmId, VmProblem, VmState } from '../../../src-shared/vm';
import { HOTPLUG_COMMANDS } from '../hotplug';
import { keeperPidFile, keeperSocket } from './wake';

// One keeper per user (a Node process started on demand, qemu/keeper/daemon.ts) keeps every
// running VM; under it, each VM has a holder (qemu/holder/, in C), QEMU's parent, which owns
// the serial port and the monitor and relays their bytes. The keeper interprets: it speaks
// QMP through the holder, follows the VM's state, saves and resumes, and serves every Hangar
// process through sockets in the VM's private run folder:
//   control.sock  (keeper) JSON lines: hello, state changes, QMP events, QMP commands and replies
//   console.sock  (holder) raw bytes: a 4-byte big-endian length and that much scrollback, then
//                 the live serial stream; bytes written go to the guest
//   state.sock    (keeper) only while a VM is saved or restored: QEMU's migration stream,
//                 between QEMU and the keeper, which writes it to (or reads it from) the VM folder
// and through keeper.sock in the runtime folder, where a Hangar process asks for a start.
// Everything that crosses these sockets or the launch file is validated here.

export const LaunchSpec = z.strictObject({
  vmId: VmId,
  vmName: z.string(),
  vmDir: z.string().refine((dir) => path.isAbsolute(dir)),
  runDir: z.string().refine((dir) => path.isAbsolute(dir)),
  qemuBinary: z.string().refine((file) => path.isAbsolute(file)),
  argv: z.array(z.string()),
  accelerator: Accelerator,
  swtpm: z.strictObject({ binary: z.string(), stateDir: z.string(), socket: z.string() }).nullable(),
  /** Resume a saved VM: QEMU was given `-incoming defer`, the keeper streams this file into it. */
  restore: z
    .strictObject({
      stateFile: z.string().refine((file) => path.isAbsolute(file)),
      resume: z.enum(['running', 'paused']),
    })
    .nullable()
    .default(null),
});
export type LaunchSpec = z.infer<typeof LaunchSpec>;

export const keeperFiles = (runDir: string) => ({
  launch: path.join(runDir, 'launch.json'),
  control: path.join(runDir, 'control.sock'),
  // Not longer than control.sock: a run folder whose keeper could listen has room for it too.
  state: path.join(runDir, 'state.sock'),
});

/** The keeper's one-line answer to a start, read by the process that asked for it. */
export const StartReport = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), holderPid: z.number().int(), qemuPid: z.number().int() }),
  z.strictObject({ type: z.literal('failed'), code: z.string(), message: z.string(), log: z.array(z.string()) }),
]);
export type StartReport = z.infer<typeof StartReport>;

export const KeeperHello = z.strictObject({
  type: z.literal('hello'),
  vmId: VmId,
  /** The VM's holder (QEMU's parent), and the keeper answering. An earlier release's per-VM keeper was QEMU's parent itself and sends only keeperPid. */
  holderPid: z.number().int().optional(),
  keeperPid: z.number().int(),
  qemuPid: z.number().int(),
  state: VmState,
  problem: VmProblem.nullable(),
  startedAt: z.string(),
  accelerator: Accelerator,
  argv: z.array(z.string()),
});
export type KeeperHello = z.infer<typeof KeeperHello>;

export const KeeperMessage = z.discriminatedUnion('type', [
  KeeperHello,
  z.strictObject({ type: z.literal('state'), state: VmState, problem: VmProblem.nullable() }),
  z.strictObject({ type: z.literal('event'), event: z.string(), data: z.record(z.string(), z.unknown()).optional() }),
  z.strictObject({
    type: z.literal('reply'),
    id: z.number().int(),
    ok: z.boolean(),
    value: z.unknown().optional(),
    /** code: set when the keeper itself refuses (a save that does not fit), in the API's terms. */
    error: z.strictObject({ qmpClass: z.string(), message: z.string(), code: ErrorCode.optional() }).optional(),
  }),
]);
export type KeeperMessage = z.infer<typeof KeeperMessage>;

/** The QMP commands other processes may send through the keeper: what the engine needs, nothing more. */
export const ALLOWED_QMP = ['query-status', 'system_powerdown', 'system_reset', 'stop', 'cont', 'quit', 'eject', 'blockdev-change-medium', 'screendump', 'query-block', ...HOTPLUG_COMMANDS] as const;
export type AllowedQmp = (typeof ALLOWED_QMP)[number];

/** QEMU's ids of a VM's devices, as qemu/devices.ts derives them from the device ids. */
const CD_DEVICE = /^cd\d{1,3}$/;
const DISK_NODE = /^disk\d{1,3}$/;
const DISK_BASE_NODE = /^disk\d{1,3}-base$/;
const NIC_BACKEND = /^nic\d{1,3}-net$/;
/** What device_del may remove: a disk, a NIC or a USB device, never a built-in part. */
const REMOVABLE_DEVICE = /^(disk\d{1,3}-dev|nic\d{1,3}|usb\d{1,3})$/;
const PLUGGABLE_DRIVERS = ['virtio-blk-pci', 'scsi-hd', 'virtio-net-pci', 'e1000', 'usb-host'];
const FORWARD = /^(tcp|udp):(127\.0\.0\.1|0\.0\.0\.0):\d{1,5}-:\d{1,5}$/;

const isAbsoluteFile = (file: unknown): file is string => typeof file === 'string' && path.isAbsolute(file) && !file.includes('\0') && file.length <= 4096;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A disk's block nodes as qemu/devices.ts writes them: a file under it, its backing named (null or a read-only base). */
function diskNodesProblem(node: Record<string, unknown>): string | null {
  if (node.driver !== 'qcow2' && node.driver !== 'raw') return 'a disk is qcow2 or raw';
  if (typeof node['node-name'] !== 'string' || !DISK_NODE.test(node['node-name'])) return 'a disk node is named after its disk (diskN)';
  const file = node.file;
  if (!isRecord(file) || file.driver !== 'file' || !isAbsoluteFile(file.filename)) return 'a disk is a file given by its absolute path';
  const known = ['driver', 'node-name', 'discard', 'detect-zeroes', 'read-only', 'backing', 'file'];
  if (Object.keys(node).some((key) => !known.includes(key))) return 'a disk node takes only the options Hangar gives it';
  if (node.driver === 'qcow2' && node.backing === undefined) return 'a qcow2 disk names its backing (null for none), so no header can open another file';
  const backing = node.backing;
  if (backing !== null && backing !== undefined) {
    if (!isRecord(backing) || typeof backing['node-name'] !== 'string' || !DISK_BASE_NODE.test(backing['node-name']) || backing['read-only'] !== true) return 'a backing image is read-only';
    if (!isRecord(backing.file) || !isAbsoluteFile(backing.file.filename)) return 'a backing image is a file given by its absolute path';
    if (backing.driver === 'qcow2' && backing.backing !== null) return 'a backing image has no backing of its own';
  }
  return null;
}
/** What qemu/screendump.ts names its pictures, directly in the run folder. */
const SCREENSHOT_NAME = /^screenshot-[0-9a-f]+\.png$/;

/**
 * Why the keeper will not pass these arguments on to QEMU, in words, or null when they are
 * exactly what Hangar itself sends. A name alone is not enough: screendump writes any file
 * QEMU may write, and blockdev-change-medium opens anything QEMU can (an image format that
 * names a backing file, a json: or nbd: pseudo-path).
 */
export function qmpArgumentsProblem(execute: AllowedQmp, args: Record<string, unknown> | undefined, runDir: string): string | null {
  const given = args ?? {};
  const keys = Object.keys(given);
  const refuse = (why: string): string => `The VM's keeper refuses ${execute}: ${why}.`;
  const onlyKeys = (allowed: readonly string[]): string | null => {
    const extra = keys.filter((key) => !allowed.includes(key));
    return extra.length > 0 ? refuse(`it takes no ${extra.map((key) => `"${key}"`).join(', ')} argument`) : null;
  };
  switch (execute) {
    case 'eject':
      if (typeof given.id !== 'string' || !CD_DEVICE.test(given.id)) return refuse('only a CD drive (id cdN) can be emptied');
      if (given.force !== undefined && typeof given.force !== 'boolean') return refuse('"force" is true or false');
      return onlyKeys(['id', 'force']);
    case 'blockdev-change-medium': {
      if (typeof given.id !== 'string' || !CD_DEVICE.test(given.id)) return refuse('only a CD drive (id cdN) takes a new medium');
      const file = given.filename;
      // An absolute path cannot be read as a protocol (json:, nbd://): QEMU takes a leading / as a file.
      if (typeof file !== 'string' || !path.isAbsolute(file) || file.includes('\0') || file.length > 4096) return refuse('the image must be given by its absolute path');
      if (given.format !== 'raw') return refuse('the CD takes a raw image (an ISO) only, with "format" set to "raw"');
      if (given['read-only-mode'] !== 'read-only') return refuse('the CD is opened read-only ("read-only-mode": "read-only")');
      return onlyKeys(['id', 'filename', 'format', 'read-only-mode']);
    }
    case 'screendump': {
      const file = given.filename;
      if (typeof file !== 'string' || path.dirname(file) !== path.resolve(runDir) || !SCREENSHOT_NAME.test(path.basename(file))) return refuse(`a picture goes only to a screenshot-<hex>.png file directly in the VM's run folder (${runDir})`);
      if (given.format !== 'png') return refuse('pictures are PNG ("format": "png")');
      return onlyKeys(['filename', 'format']);
    }
    case 'blockdev-add': {
      const why = diskNodesProblem(given);
      return why ? refuse(why) : null;
    }
    case 'blockdev-del':
    case 'block_resize':
      if (typeof given['node-name'] !== 'string' || !DISK_NODE.test(given['node-name'])) return refuse('only a disk (node diskN) can be removed or grown');
      if (execute === 'block_resize' && (typeof given.size !== 'number' || !Number.isSafeInteger(given.size) || given.size <= 0)) return refuse('a disk grows to a size in bytes');
      return onlyKeys(execute === 'block_resize' ? ['node-name', 'size'] : ['node-name']);
    case 'device_add': {
      if (typeof given.driver !== 'string' || !PLUGGABLE_DRIVERS.includes(given.driver)) return refuse(`only ${PLUGGABLE_DRIVERS.join(', ')} devices can be added`);
      if (typeof given.id !== 'string' || !REMOVABLE_DEVICE.test(given.id)) return refuse('a device added is named after its device id');
      if (given.drive !== undefined && (typeof given.drive !== 'string' || !DISK_NODE.test(given.drive))) return refuse('a disk device uses its own disk node');
      if (given.netdev !== undefined && (typeof given.netdev !== 'string' || !NIC_BACKEND.test(given.netdev))) return refuse('a network card uses its own backend');
      return onlyKeys(['driver', 'id', 'drive', 'netdev', 'mac', 'bus', 'addr', 'vendorid', 'productid']);
    }
    case 'device_del':
      if (typeof given.id !== 'string' || !REMOVABLE_DEVICE.test(given.id)) return refuse('only a disk, a network card or a USB device added by Hangar can be removed');
      return onlyKeys(['id']);
    case 'netdev_add': {
      if (given.type !== 'user') return refuse('a network card uses user-mode networking (NAT)');
      if (typeof given.id !== 'string' || !NIC_BACKEND.test(given.id)) return refuse('a network backend is named after its card (nicN-net)');
      const forwards = given.hostfwd;
      if (forwards !== undefined && (!Array.isArray(forwards) || !forwards.every((forward) => isRecord(forward) && typeof forward.str === 'string' && FORWARD.test(forward.str) && Object.keys(forward).length === 1))) return refuse('port forwards are PROTOCOL:ADDRESS:PORT-:PORT');
      return onlyKeys(['type', 'id', 'hostfwd']);
    }
    case 'netdev_del':
      if (typeof given.id !== 'string' || !NIC_BACKEND.test(given.id)) return refuse('only a network card\'s backend (nicN-net) can be removed');
      return onlyKeys(['id']);
    default:
      return onlyKeys([]);
  }
}

export const KeeperRequest = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('qmp'),
    id: z.number().int().nonnegative(),
    execute: z.enum(ALLOWED_QMP),
    arguments: z.record(z.string(), z.unknown()).optional(),
  }),
  // Save is the keeper's own request, not a whitelisted `migrate`: the keeper alone chooses
  // where the stream goes (its own socket, then the VM folder), so no client can point
  // QEMU's migration anywhere else. The reply comes once the state is on disk.
  z.strictObject({ type: z.literal('save'), id: z.number().int().nonnegative() }),
]);
export type KeeperRequest = z.infer<typeof KeeperRequest>;

/** What a successful save replies with. */
export const SaveReply = z.strictObject({ bytes: z.number().int().nonnegative() });
export type SaveReply = z.infer<typeof SaveReply>;

/** What a Hangar process asks the keeper on keeper.sock (one JSON line; one line answers). */
export const KeeperDaemonRequest = z.discriminatedUnion('type', [
  /** Start the VM whose launch.json waits in this run folder; answered by a StartReport. */
  z.strictObject({ type: z.literal('start'), runDir: z.string().max(4096).refine((dir) => path.isAbsolute(dir)) }),
  /** Look for VMs whose holder runs unkept (after a keeper's crash) and keep them; answered by a RescanReply. */
  z.strictObject({ type: z.literal('rescan') }),
]);
export type KeeperDaemonRequest = z.infer<typeof KeeperDaemonRequest>;

/** The VMs the keeper keeps once it has looked (starting ones too: their control.sock may not listen yet). */
export const RescanReply = z.strictObject({ type: z.literal('done'), kept: z.array(VmId).max(10_000) });
export type RescanReply = z.infer<typeof RescanReply>;

/** The keeper's files in the runtime folder: its socket, and its pid (who to ask, who to blame). */
export const keeperDaemonFiles = (runtimeRoot: string) => ({
  socket: keeperSocket(runtimeRoot),
  pid: keeperPidFile(runtimeRoot),
});
