import type { DeviceKind, DiskBus } from './devices';
import type { ErrorCode } from './errors';
import { sshHostPort } from './network';
import type { VmConfig, VmState } from './vm';

// What a person may do with a VM in its current state, with the reason when not: one small
// rule per action (as cockpit-machines' vmActions does), asked by the engine before it acts,
// by the window to enable its buttons, and by the CLI through the engine. One copy, so the
// Settings pane never refuses what the engine takes, nor offers what it refuses.

export type VmAction =
  | 'start'
  | 'shutDown'
  | 'forceOff'
  | 'pause'
  | 'resume'
  | 'reset'
  | 'save'
  | 'discardSavedState'
  | 'rename'
  | 'editMachine'
  | 'delete'
  | 'changeMedia'
  | 'openConsole'
  | 'openScreen'
  | 'openSsh';

export const VM_ACTIONS: readonly VmAction[] = ['start', 'shutDown', 'forceOff', 'pause', 'resume', 'reset', 'save', 'discardSavedState', 'rename', 'editMachine', 'delete', 'changeMedia', 'openConsole', 'openScreen', 'openSsh'];

export type DeviceOperation = 'add' | 'change' | 'remove' | 'resize';
export const DEVICE_OPERATIONS: readonly DeviceOperation[] = ['add', 'change', 'remove', 'resize'];

/** What the rules look at: a VmSummary has all of it. */
export interface VmFacts {
  name: string;
  state: VmState;
  broken: string | null;
  orphaned: boolean;
  /** A saved state is kept on disk (saved, or a resume that failed and kept it). */
  savedState?: boolean;
  config: VmConfig | null;
}

export type Verdict = { ok: true } | { ok: false; code: ErrorCode; reason: string };

const YES: Verdict = { ok: true };
const no = (code: ErrorCode, reason: string): Verdict => ({ ok: false, code, reason });

/** Why a VM whose vm.json cannot be read is refused almost everything. */
export function brokenReason(vm: Pick<VmFacts, 'name' | 'state' | 'broken' | 'orphaned'>): string {
  const live = isLive(vm.state) && !vm.orphaned;
  return `"${vm.name}" cannot be loaded (${vm.broken ?? 'its definition is damaged'}), so it can only be ${live ? 'shut down or forced off' : 'deleted'}.`;
}

/** Its QEMU runs (or is about to, or is ending). */
export function isLive(state: VmState): boolean {
  return state === 'starting' || state === 'running' || state === 'paused' || state === 'shutting-down';
}

/** Has a screen and a serial console to show. */
export function hasConsole(state: VmState): boolean {
  return state === 'running' || state === 'paused' || state === 'shutting-down';
}

const STATE_WORDS: Record<VmState, string> = {
  stopped: 'stopped',
  starting: 'starting',
  running: 'running',
  paused: 'paused',
  'shutting-down': 'shutting down',
  crashed: 'stopped after a crash',
  saved: 'saved',
};

export function mayI(action: VmAction, vm: VmFacts): Verdict {
  const name = `"${vm.name}"`;
  const { state } = vm;
  if (vm.broken) {
    // Its vm.json cannot be read; what runs from it can still be shut down, nothing else.
    const live = isLive(state) && !vm.orphaned;
    if (action === 'delete') return live ? no('VM_RUNNING', `${name} is running. Shut it down before deleting it.`) : YES;
    if (!(live && (action === 'shutDown' || action === 'forceOff'))) return no('VM_BROKEN', brokenReason(vm));
  }
  const is = (...states: VmState[]): boolean => states.includes(state);
  const now = `${name} is ${STATE_WORDS[state]}`;
  const notRunning = is('saved') ? `${now}, not running. Start it to resume where it was.` : `${now}, not running.`;
  if (vm.orphaned && action !== 'forceOff') {
    return no('VM_BUSY', `${name} runs without its keeper, so Hangar can only force it off. Force it off to take it back.`);
  }
  switch (action) {
    case 'start':
      return is('stopped', 'crashed', 'saved') ? YES : no('VM_RUNNING', `${now} already.`);
    case 'shutDown':
      if (is('running', 'paused')) return YES;
      return is('shutting-down', 'starting') ? no('VM_BUSY', `${now}; wait, or force it off.`) : no('VM_NOT_RUNNING', notRunning);
    case 'forceOff':
      return isLive(state) ? YES : no('VM_NOT_RUNNING', notRunning);
    case 'pause':
      return is('running') ? YES : no(is('paused') ? 'VM_BUSY' : 'VM_NOT_RUNNING', is('paused') ? `${now} already.` : `${now}, so it cannot be paused.`);
    case 'resume':
      return is('paused') ? YES : no('VM_NOT_RUNNING', is('saved') ? `${now}: start it to resume where it was.` : `${now}, not paused.`);
    case 'reset':
      return is('running', 'paused', 'shutting-down') ? YES : no('VM_NOT_RUNNING', notRunning);
    case 'save':
      if (is('running', 'paused')) return YES;
      return no('VM_NOT_RUNNING', is('saved') ? `${now} already. Start it to resume where it was.` : `${now}, so there is nothing to save.`);
    case 'discardSavedState':
      return !isLive(state) && (is('saved') || vm.savedState) ? YES : no('VM_NOT_RUNNING', `${now}; it has no saved state to forget.`);
    case 'rename':
      // The name is not part of the machine, so a saved VM may be renamed.
      return is('stopped', 'crashed', 'saved') ? YES : no('VM_RUNNING', `${now}. Shut it down to rename it.`);
    case 'editMachine':
      if (is('stopped', 'crashed') && !vm.savedState) return YES;
      // A saved VM may still be renamed, a running one not (see rename).
      return savedOrLive(vm, 'its settings (other than its name)', 'its settings');
    case 'delete':
      return is('stopped', 'crashed', 'saved') ? YES : no('VM_RUNNING', `${now}. Shut it down before deleting it.`);
    case 'changeMedia':
      // A saved guest was saved with its disc in the drive; it changes once the VM runs again.
      if (is('saved')) return savedOrLive(vm, 'the CD in its drive');
      return is('starting') ? no('VM_BUSY', `${now}; wait until it runs.`) : YES;
    case 'openConsole':
    case 'openScreen':
      return hasConsole(state) ? YES : no('VM_NOT_RUNNING', notRunning);
    case 'openSsh': {
      if (!vm.config || sshHostPort(vm.config.devices.nics) === null) {
        return no('BAD_SETTINGS', `${name} has no port forward to the guest's SSH port (TCP 22), so ssh cannot reach it. Give it one in its settings (for example host port 2222 to guest port 22), then start it again.`);
      }
      if (is('running')) return YES;
      const why = is('paused') ? 'is paused: resume it' : `is ${STATE_WORDS[state]}: start it and wait for its OS to boot`;
      return no('VM_NOT_RUNNING', `${name} ${why} before opening an SSH terminal.`);
    }
  }
}

/**
 * Device kinds and disk buses Hangar can add to and remove from a running VM: PCI devices
 * that sit on a hot-plug port (virtio-blk disks, NICs) and USB devices. SATA and IDE have no
 * hot-plug in QEMU; a virtio-scsi disk would need its controller to exist already.
 */
export function hotPluggable(kind: DeviceKind, bus?: DiskBus): boolean {
  if (kind === 'disk') return bus === 'virtio-blk';
  return kind === 'nic' || kind === 'usb';
}

/**
 * May this device operation happen now? Stopped: anything. Running: what QEMU can hot-plug
 * (virtio disks and NICs, USB), a disk may grow, the CD may change. Saved: nothing, its
 * saved memory belongs to this exact machine.
 */
export function mayChangeDevice(vm: VmFacts, operation: DeviceOperation, device: { kind: DeviceKind; bus?: DiskBus }): Verdict {
  // The disc in a drive has a rule of its own (it changes while the VM runs, not while saved).
  if (device.kind === 'cdrom' && operation === 'change') return mayI('changeMedia', vm);
  const general = mayI('editMachine', vm);
  if (general.ok) return YES;
  if (vm.broken || vm.orphaned || vm.state === 'saved' || vm.savedState) return general;
  const name = `"${vm.name}"`;
  if (vm.state !== 'running' && vm.state !== 'paused') return no('VM_BUSY', `${name} is ${STATE_WORDS[vm.state]}; wait until it runs or stops.`);
  if (device.kind === 'cdrom' && operation === 'change') return YES;
  if (device.kind === 'disk' && operation === 'resize') return YES;
  if ((operation === 'add' || operation === 'remove') && hotPluggable(device.kind, device.bus)) return YES;
  const what = device.kind === 'disk' ? `a ${device.bus ?? ''} disk`.replace('  ', ' ') : KIND_WORDS[device.kind];
  return no('VM_RUNNING', `${name} is running, and ${what} cannot be ${OPERATION_WORDS[operation]} while it runs. Shut it down first${device.kind === 'disk' ? ', or use a virtio disk, which can be added and removed while the VM runs' : ''}.`);
}

const KIND_WORDS: Record<DeviceKind, string> = { disk: 'a disk', cdrom: 'a CD drive', nic: 'a network card', sharedFolder: 'a shared folder', usb: 'a USB device', tpm: 'a TPM' };
const OPERATION_WORDS: Record<DeviceOperation, string> = { add: 'added', change: 'changed', remove: 'removed', resize: 'resized' };

function savedOrLive(vm: VmFacts, what: string, whatWhileLive = what): Verdict {
  const name = `"${vm.name}"`;
  if (vm.state === 'saved' || vm.savedState) {
    return no('VM_BUSY', `${name} is saved, so ${what} cannot change until it runs again: its saved memory belongs to this exact machine. Start it (it resumes where it was), or force it off to forget the saved state.`);
  }
  return no('VM_RUNNING', `${name} is ${STATE_WORDS[vm.state]}. Shut it down to change ${whatWhileLive}.`);
}
