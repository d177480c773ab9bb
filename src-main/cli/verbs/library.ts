import path from 'node:path';
import { bootFirstFrom } from '../../../src-shared/devices';
import { formatBytes, shellQuote } from '../../../src-shared/format';
import { formatForward } from '../../../src-shared/network';
import type { VmDetails } from '../../../src-shared/vm';
import { call, describeVm, gibOption, JSON_OPTION, printJson, UsageError, type CliCommand } from '../command';
import { createWithProgress } from '../progress';
import { formatStoredFiles } from '../storage-table';
import { machineFlags, NEW_VM_OPTIONS, newVmRequest, sshPortFlag } from '../vm-options';
import { setSshPort } from './devices';

// Verbs about the library: what is in it, making and changing a VM's definition, deleting
// it, and the files Hangar keeps beside the VMs.

/** A VM's devices, a line each, with the ids the device verbs take. */
export function describeDevices(details: VmDetails): string[] {
  const config = details.summary.config;
  if (!config) return [];
  const { devices } = config;
  const lines = devices.disks.map((disk) => {
    const info = details.disks.find((candidate) => candidate.id === disk.id);
    const size = info?.virtualBytes ? formatBytes(info.virtualBytes) : 'size unknown';
    return `  ${disk.id}: disk, ${size}, ${disk.bus}, ${info?.path ?? disk.file}${info?.external ? ' (kept outside the VM folder)' : ''}${disk.bootOrder !== null ? `, boot order ${disk.bootOrder}` : ''}`;
  });
  lines.push(...devices.cdroms.map((cd) => `  ${cd.id}: CD drive, ${cd.iso ?? 'empty'}${cd.bootOrder !== null && cd.iso ? `, boot order ${cd.bootOrder}` : ''}`));
  lines.push(...devices.nics.map((nic) => `  ${nic.id}: network card, ${nic.model}, NAT, MAC ${nic.mac}${nic.portForwards.length > 0 ? `, forwards ${nic.portForwards.map(formatForward).join(' ')}` : ''}`));
  lines.push(...devices.sharedFolders.map((folder) => `  ${folder.id}: shared folder ${folder.hostPath} as ${folder.tag}${folder.readOnly ? ' (read-only)' : ''}`));
  lines.push(...devices.usb.map((usb) => `  ${usb.id}: USB device ${usb.vendorId}:${usb.productId} ${usb.label}`));
  if (devices.tpm) lines.push(`  ${devices.tpm.id}: TPM 2.0`);
  return lines;
}

export const libraryVerbs: readonly CliCommand[] = [
  {
    verb: 'list',
    methods: ['listVms'],
    usage: 'hangar list [--json]',
    summary: 'List the VMs and their states.',
    options: JSON_OPTION,
    positionals: [],
    async run(values, _positionals, service, { io }) {
      const vms = await call(service, 'listVms', {});
      if (values.json) printJson(io, vms);
      else if (vms.length === 0) io.out('No VMs yet. Create one with: hangar create --name NAME --iso PATH\n');
      else {
        const rows = vms.map((vm) => [vm.name, vm.id, vm.broken ? 'broken' : vm.state, vm.config ? String(vm.config.machine.cpus) : '-', vm.config ? formatBytes(vm.config.machine.memoryMiB * 1024 ** 2) : '-']);
        const header = ['NAME', 'ID', 'STATE', 'CPUS', 'MEMORY'];
        const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
        for (const row of [header, ...rows]) io.out(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd() + '\n');
        for (const vm of vms.filter((candidate) => candidate.broken || candidate.problem)) io.out(`\n${describeVm(vm)}\n`);
      }
      return 0;
    },
  },
  {
    verb: 'info',
    methods: ['getVm'],
    usage: 'hangar info VM [--json]',
    summary: 'Show one VM: its devices (with the ids the disk and nic verbs take) and the QEMU command line it runs (or would run).',
    options: JSON_OPTION,
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const details = await call(service, 'getVm', { vm });
      if (values.json) printJson(io, details);
      else {
        io.out(describeVm(details.summary) + '\n');
        io.out(`  folder: ${details.dir}\n`);
        const machine = details.summary.config?.machine;
        if (machine) io.out(`  machine: ${machine.type}, ${machine.firmware.toUpperCase()}, ${machine.cpus} CPUs, ${formatBytes(machine.memoryMiB * 1024 ** 2)}, accelerator ${machine.accelerator}\n`);
        for (const line of describeDevices(details)) io.out(`${line}\n`);
        if (details.argv) io.out(`  qemu: ${shellQuote(details.argv)}\n`);
      }
      return 0;
    },
  },
  {
    verb: 'create',
    methods: ['createVm', 'previewVm'],
    usage: 'hangar create --name NAME [--iso PATH] [--memory 2G] [--cpus 2] [--disk 20G] [--uefi] [--ssh-port 2222] [--dry-run] [--json]',
    summary: 'Create a VM with a new empty disk (--disk 0: none), booting from the ISO. --dry-run checks the settings and prints the QEMU command line, making nothing.',
    options: { ...NEW_VM_OPTIONS, iso: { type: 'string' }, disk: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    positionals: [],
    async run(values, _positionals, service, { io }) {
      const disk = values.disk === '0' ? 0 : gibOption(values.disk, '--disk');
      const request = newVmRequest(values, { iso: typeof values.iso === 'string' ? path.resolve(values.iso) : null, ...(disk !== undefined ? { diskGiB: disk } : {}) });
      if (values['dry-run']) {
        const preview = await call(service, 'previewVm', request);
        if (values.json) printJson(io, preview);
        else {
          for (const warning of preview.warnings) io.err(`warning: ${warning}\n`);
          io.out(shellQuote(preview.argv) + '\n');
        }
        return 0;
      }
      return createWithProgress(service, io, request, Boolean(values.json));
    },
  },
  {
    verb: 'edit',
    methods: ['updateVm'],
    usage: 'hangar edit VM [--name NAME] [--memory 4G] [--cpus 2] [--uefi | --bios] [--boot cdrom|disk] [--ssh-port 2222|none] [--json]',
    summary: "Change a VM's name or machine settings; --ssh-port changes only the SSH forward, keeping the others.",
    options: { ...NEW_VM_OPTIONS, boot: { type: 'string' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      if (values.boot !== undefined && values.boot !== 'cdrom' && values.boot !== 'disk') throw new UsageError('--boot takes cdrom or disk.');
      const sshPort = sshPortFlag(values);
      const needsConfig = values.boot !== undefined;
      const config = needsConfig ? (await call(service, 'getVm', { vm })).summary.config : null;
      const changes = {
        ...(typeof values.name === 'string' ? { name: values.name } : {}),
        ...machineFlags(values),
        ...(config && values.boot !== undefined ? { bootOrder: bootFirstFrom(config.devices, values.boot === 'cdrom' ? 'cdrom' : 'disk') } : {}),
      };
      if (Object.keys(changes).length === 0 && sshPort === undefined) throw new UsageError('Say what to change, e.g. --memory 4G.');
      let summary = Object.keys(changes).length > 0 ? await call(service, 'updateVm', { vm, changes }) : null;
      if (sshPort !== undefined) summary = await setSshPort(service, vm as string, sshPort);
      if (values.json) printJson(io, summary);
      else io.out(`${summary?.name ?? vm} is changed.\n`);
      return 0;
    },
  },
  {
    verb: 'delete',
    methods: ['deleteVm'],
    usage: 'hangar delete VM [--keep-disks]',
    summary: "Delete a stopped VM and its files; --keep-disks keeps its disk images (disks kept outside its folder are never touched).",
    options: { 'keep-disks': { type: 'boolean' } },
    positionals: ['VM'],
    async run(values, [vm], service, { io }) {
      const { keptDisksDir } = await call(service, 'deleteVm', { vm, keepDisks: Boolean(values['keep-disks']) });
      io.out(keptDisksDir ? `Deleted ${vm}; its disks are in ${keptDisksDir}\n` : `Deleted ${vm}.\n`);
      return 0;
    },
  },
  {
    verb: 'storage',
    methods: ['listStoredFiles', 'removeStoredFile'],
    usage: 'hangar storage [remove PATH] [--json]',
    summary: 'List the ISOs Hangar keeps and the disks kept from deleted VMs, with where they are and their sizes; "remove PATH" removes one.',
    options: JSON_OPTION,
    positionals: ['remove', 'PATH'],
    positionalsOptional: true,
    async run(values, [subcommand, file], service, { io }) {
      if (subcommand !== undefined) {
        if (subcommand !== 'remove') throw new UsageError(`"hangar storage" knows only "remove", not "${subcommand}".`);
        const target = path.resolve(file as string);
        await call(service, 'removeStoredFile', { path: target });
        if (values.json) printJson(io, { removed: target });
        else io.out(`Removed ${target}\n`);
        return 0;
      }
      const stored = await call(service, 'listStoredFiles', {});
      if (values.json) printJson(io, stored);
      else io.out(formatStoredFiles(stored));
      return 0;
    },
  },
];
