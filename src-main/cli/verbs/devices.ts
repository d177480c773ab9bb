import { DiskBus, DiskCache, NicModel } from '../../../src-shared/devices';
import { formatForward, isSshForward, parseForward, withSshPort, type PortForwardInput } from '../../../src-shared/network';
import type { VmSummary } from '../../../src-shared/vm';
import type { HangarService } from '../../api/service';
import { call, gibOption, JSON_OPTION, printJson, UsageError, type CliCommand, type CliGroup, type Values } from '../command';
import { NEW_VM_OPTIONS, newVmRequest, pathArgument } from '../vm-options';
import { createWithProgress } from '../progress';

// Verbs about a VM's devices, by their ids (`hangar info VM` lists them): disks, network
// cards, and the disc in a CD drive. The engine says what a running VM may take.

function choice<T extends string>(value: Values[string], option: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(String(value) as T)) throw new UsageError(`${option} takes ${allowed.join(', ')}, not "${String(value)}".`);
  return String(value) as T;
}

function forwardsOption(value: Values[string]): PortForwardInput[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [String(value)]).map((text) => {
    const forward = parseForward(text);
    if (!forward) throw new UsageError(`--forward takes PROTOCOL:HOSTPORT-GUESTPORT, such as tcp:2222-22, not "${text}".`);
    return forward;
  });
}

const said = (summary: VmSummary, what: string): string => `${summary.name}: ${what}.\n`;

/** Sets the SSH forward (TCP to guest port 22) of a VM, keeping every other forward: on the NIC that has it, else the first. */
export async function setSshPort(service: HangarService, vm: string, port: number | null): Promise<VmSummary> {
  const config = (await call(service, 'getVm', { vm })).summary.config;
  const nics = config?.devices.nics ?? [];
  const nic = nics.find((candidate) => candidate.portForwards.some(isSshForward)) ?? nics[0];
  if (!nic) throw new UsageError(`${vm} has no network card to forward SSH to. Add one: hangar nic add ${vm} --forward tcp:${port ?? 2222}-22`);
  return call(service, 'changeDevice', { vm, device: nic.id, change: { kind: 'nic', portForwards: withSshPort(nic.portForwards, port) } });
}

const disk: CliGroup = {
  verb: 'disk',
  summary: 'Disks of a VM (by the ids "hangar info" shows), and new VMs from disk images.',
  methods: ['addDevice', 'resizeDisk', 'removeDevice', 'changeDevice'],
  subcommands: [
    {
      verb: 'import',
      methods: [],
      usage: 'hangar disk import IMAGE --name NAME [--memory 2G] [--cpus 2] [--uefi] [--ssh-port 2222] [--json]',
      summary: 'Create a VM from an existing disk image (qcow2, raw, vmdk, vdi, vhdx, vhd), copied into the library after safety checks.',
      options: NEW_VM_OPTIONS,
      positionals: ['IMAGE'],
      async run(values, [image], service, { io }) {
        return createWithProgress(service, io, newVmRequest(values, { importDisk: pathArgument(image) }), Boolean(values.json));
      },
    },
    {
      verb: 'add',
      methods: [],
      usage: 'hangar disk add VM (--size 10G | --import FILE) [--bus virtio-blk|virtio-scsi|sata|ide] [--json]',
      summary: 'Add a disk: a new empty one, or a copy of an image (with the same safety checks as disk import). A running VM takes virtio-blk disks.',
      options: { size: { type: 'string' }, import: { type: 'string' }, bus: { type: 'string' }, ...JSON_OPTION },
      positionals: ['VM'],
      async run(values, [vm], service, { io }) {
        if ((values.size === undefined) === (values.import === undefined)) throw new UsageError('Give --size for a new empty disk, or --import FILE to copy an image; one of the two.');
        const bus = choice(values.bus, '--bus', DiskBus.options) ?? 'virtio-blk';
        const device = values.size !== undefined ? { kind: 'disk' as const, sizeGiB: gibOption(values.size, '--size'), bus } : { kind: 'disk' as const, importFrom: pathArgument(String(values.import)), bus };
        const summary = await call(service, 'addDevice', { vm, device });
        if (values.json) printJson(io, summary);
        else io.out(said(summary, `added ${summary.config?.devices.disks.at(-1)?.id ?? 'the disk'}`));
        return 0;
      },
    },
    {
      verb: 'resize',
      methods: [],
      usage: 'hangar disk resize VM DISK-ID SIZE',
      summary: 'Grow a disk to SIZE (such as 40G); disks never shrink. A running guest is told; grow its partition inside it.',
      options: {},
      positionals: ['VM', 'DISK-ID', 'SIZE'],
      async run(_values, [vm, device, size], service, { io }) {
        const summary = await call(service, 'resizeDisk', { vm, device, sizeGiB: gibOption(size, 'SIZE') });
        io.out(said(summary, `${device} is ${size} now`));
        return 0;
      },
    },
    {
      verb: 'remove',
      methods: [],
      usage: 'hangar disk remove VM DISK-ID [--keep-file]',
      summary: 'Remove a disk. Its image is deleted, or with --keep-file moved to the kept disks ("hangar storage" lists them); a disk kept outside the VM folder is never touched.',
      options: { 'keep-file': { type: 'boolean' } },
      positionals: ['VM', 'DISK-ID'],
      async run(values, [vm, device], service, { io }) {
        const { vm: summary, keptFile } = await call(service, 'removeDevice', { vm, device, keepFile: Boolean(values['keep-file']) });
        io.out(said(summary, `removed ${device}${keptFile ? `; its image is ${keptFile}` : ''}`));
        return 0;
      },
    },
    {
      verb: 'set',
      methods: [],
      usage: 'hangar disk set VM DISK-ID [--bus virtio-blk|virtio-scsi|sata|ide] [--cache auto|none|writeback]',
      summary: "Change a stopped VM's disk: its bus or its caching.",
      options: { bus: { type: 'string' }, cache: { type: 'string' } },
      positionals: ['VM', 'DISK-ID'],
      async run(values, [vm, device], service, { io }) {
        const bus = choice(values.bus, '--bus', DiskBus.options);
        const cache = choice(values.cache, '--cache', DiskCache.options);
        if (!bus && !cache) throw new UsageError('Say what to change: --bus or --cache.');
        const summary = await call(service, 'changeDevice', { vm, device, change: { kind: 'disk', ...(bus ? { bus } : {}), ...(cache ? { cache } : {}) } });
        io.out(said(summary, `${device} is changed`));
        return 0;
      },
    },
  ],
};

const nic: CliGroup = {
  verb: 'nic',
  summary: 'Network cards of a VM and their port forwards (the same device methods as disk).',
  methods: [],
  subcommands: [
    {
      verb: 'add',
      methods: [],
      usage: 'hangar nic add VM [--model virtio-net|e1000] [--forward tcp:2222-22 ...] [--json]',
      summary: 'Add a network card (NAT), with ports of this machine forwarded into the guest. A running VM takes it too.',
      options: { model: { type: 'string' }, forward: { type: 'string', multiple: true }, ...JSON_OPTION },
      positionals: ['VM'],
      async run(values, [vm], service, { io }) {
        const model = choice(values.model, '--model', NicModel.options) ?? 'virtio-net';
        const summary = await call(service, 'addDevice', { vm, device: { kind: 'nic', model, portForwards: forwardsOption(values.forward) ?? [] } });
        if (values.json) printJson(io, summary);
        else io.out(said(summary, `added ${summary.config?.devices.nics.at(-1)?.id ?? 'the network card'}`));
        return 0;
      },
    },
    {
      verb: 'remove',
      methods: [],
      usage: 'hangar nic remove VM NIC-ID',
      summary: 'Remove a network card (a running VM lets it go too).',
      options: {},
      positionals: ['VM', 'NIC-ID'],
      async run(_values, [vm, device], service, { io }) {
        const { vm: summary } = await call(service, 'removeDevice', { vm, device, keepFile: false });
        io.out(said(summary, `removed ${device}`));
        return 0;
      },
    },
    {
      verb: 'set',
      methods: [],
      usage: 'hangar nic set VM NIC-ID [--model virtio-net|e1000] [--forward tcp:2222-22 ... | --no-forwards]',
      summary: "Change a stopped VM's network card: its model, or its port forwards (all of them, as given).",
      options: { model: { type: 'string' }, forward: { type: 'string', multiple: true }, 'no-forwards': { type: 'boolean' } },
      positionals: ['VM', 'NIC-ID'],
      async run(values, [vm, device], service, { io }) {
        const model = choice(values.model, '--model', NicModel.options);
        if (values['no-forwards'] && values.forward) throw new UsageError('Give --forward or --no-forwards, not both.');
        const portForwards = values['no-forwards'] ? [] : forwardsOption(values.forward);
        if (!model && !portForwards) throw new UsageError('Say what to change: --model, --forward or --no-forwards.');
        const summary = await call(service, 'changeDevice', { vm, device, change: { kind: 'nic', ...(model ? { model } : {}), ...(portForwards ? { portForwards } : {}) } });
        const forwards = summary.config?.devices.nics.find((candidate) => candidate.id === device)?.portForwards ?? [];
        io.out(said(summary, `${device} is changed${forwards.length > 0 ? `; it forwards ${forwards.map(formatForward).join(' ')}` : ''}`));
        return 0;
      },
    },
  ],
};

export const deviceGroups: readonly CliGroup[] = [disk, nic];

export const mediaVerb: CliCommand = {
  verb: 'media',
  methods: ['changeMedia'],
  usage: 'hangar media VM (--iso PATH | --eject) [--drive CD-ID]',
  summary: "Put an ISO into a VM's CD drive (the first unless --drive names another), or eject it; running or not.",
  options: { iso: { type: 'string' }, eject: { type: 'boolean' }, drive: { type: 'string' } },
  positionals: ['VM'],
  async run(values, [vm], service, { io }) {
    if ((values.iso === undefined) === !values.eject) throw new UsageError('Give either --iso PATH or --eject.');
    const iso = typeof values.iso === 'string' ? pathArgument(values.iso) : null;
    const summary = await call(service, 'changeMedia', { vm, iso, ...(typeof values.drive === 'string' ? { cdrom: values.drive } : {}) });
    io.out(iso ? `${summary.name} has ${iso} in its CD drive.\n` : `${summary.name}'s CD drive is empty.\n`);
    return 0;
  },
};

