import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostReport, type HostCheck } from '../../../src-shared/host';
import { KVM_MODULES } from '../../../src-main/host/facts';
import { readKernel } from '../../../src-main/host/kernel';
import { checkHost } from '../../../src-main/host/report';
import { capturedProbe } from '../../support/captured-host';
import { repoRoot } from '../../support/paths';

// The whole host check, run against captured trees of other machines (test/fixtures/hosts/;
// each tree's captured.json says which machine it is).

const VM_STORE = '/home/x/.local/share/hangar/vms';
const tree = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'hosts', name);

async function reportFor(name: string): Promise<HostReport> {
  // Parsing also proves the report keeps the `hangar doctor --json` format.
  return HostReport.parse(await checkHost({ probe: capturedProbe(tree(name)), vmStorePath: VM_STORE }));
}

function check(report: HostReport, id: string): HostCheck {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`The report has no check "${id}"; it has ${report.checks.map((candidate) => candidate.id).join(', ')}.`);
  return found;
}

const statuses = (report: HostReport): Record<string, string> => Object.fromEntries(report.checks.map((entry) => [entry.id, entry.status]));

describe('host check on captured machines', () => {
  it('this machine: built-in KVM and kvm_pvm, no VT-x, no /proc/modules, QEMU 7.2.22 -> TCG', async () => {
    const report = await reportFor('this-machine-pvm');
    expect(report.accelerator).toBe('tcg');
    expect(report.accelerator_reason).toContain('PVM (kvm_pvm)');
    expect(report.accelerator_reason).toContain('an ordinary guest kernel hangs at boot');
    expect(report.can_run_vms).toBe(true);
    expect(report.qemu_version).toBe('7.2.22');
    expect(report.distro).toEqual({ id: 'debian', name: 'Debian GNU/Linux 12 (bookworm)' });
    expect(statuses(report)).toMatchObject({
      'cpu.virtualization': 'warn',
      'kernel.kvm': 'pass',
      'kernel.kvm_vendor': 'warn',
      'kernel.kvm_device': 'pass',
      'kernel.kvm_probe': 'warn',
      'kernel.virtio': 'warn',
      'qemu.system': 'pass',
      'qemu.img': 'pass',
      'network.vhost_net': 'warn',
      'network.bridge': 'warn',
    });
    expect(check(report, 'cpu.hypervisor').summary).toContain('itself a virtual machine');
    expect(check(report, 'kernel.kvm').summary).toBe('KVM is built into the kernel.');
    expect(check(report, 'kernel.kvm_vendor').summary).toContain('PVM');
    expect(check(report, 'kernel.kvm_probe').summary).toContain('QEMU opens KVM, but on PVM');
    expect(check(report, 'kernel.virtio').summary).toBe('Missing from the kernel: CONFIG_VHOST_NET.');
    expect(check(report, 'kernel.virtio').detail).toContain('Read from /proc/config.gz.');
    expect(check(report, 'network.vhost_net').summary).toContain('built without vhost-net');
    expect(check(report, 'network.bridge').fix).toBe('sudo chmod u+s /usr/lib/qemu/qemu-bridge-helper');
    expect(check(report, 'qemu.ovmf').detail).toBe('/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(check(report, 'qemu.virtiofsd').detail).toBe('/usr/lib/qemu/virtiofsd');
    expect(report.checks.map((entry) => entry.id)).not.toContain('kernel.nested');
    expect(report.resources).toMatchObject({ cpu_threads: 2, memory_total_bytes: 24683656 * 1024, disk_free_bytes: 83175419904, vm_store_path: VM_STORE });
  });

  it('Intel host on Fedora, kvm_intel loaded with nested=Y -> KVM', async () => {
    const report = await reportFor('intel-kvm-nested');
    expect(report.accelerator).toBe('kvm');
    expect(report.accelerator_reason).toBe('KVM works: Intel VT-x, kvm_intel active, /dev/kvm usable, and QEMU enabled KVM.');
    expect(report.can_run_vms).toBe(true);
    expect(report.qemu_version).toBe('9.1.2');
    expect(report.distro).toEqual({ id: 'fedora', name: 'Fedora Linux 41 (Workstation Edition)' });
    expect(statuses(report)).toMatchObject({
      'cpu.virtualization': 'pass',
      'kernel.kvm': 'pass',
      'kernel.kvm_vendor': 'pass',
      'kernel.nested': 'pass',
      'kernel.kvm_device': 'pass',
      'kernel.kvm_probe': 'pass',
      'kernel.virtio': 'pass',
      'qemu.system': 'pass',
      'qemu.swtpm': 'warn',
      'qemu.virtiofsd': 'warn',
      'network.vhost_net': 'pass',
      'network.bridge': 'pass',
    });
    expect(check(report, 'cpu.hypervisor').summary).toBe('Running on bare metal.');
    expect(check(report, 'kernel.kvm_vendor').summary).toBe('kvm_intel is loaded.');
    expect(check(report, 'kernel.nested').summary).toContain('Nested virtualization is on');
    expect(check(report, 'kernel.virtio').detail).toBe('Read from /boot/config-6.11.4-301.fc41.x86_64.');
    expect(check(report, 'qemu.swtpm').fix).toBe('sudo dnf install swtpm swtpm-tools');
    expect(check(report, 'qemu.virtiofsd').fix).toBe('sudo dnf install virtiofsd');
    expect(check(report, 'network.bridge').summary).toBe('Bridged networking is allowed on: virbr0.');
    expect(check(report, 'network.bridge').detail).toBe('/usr/libexec/qemu-bridge-helper');
    expect(report.resources).toMatchObject({ cpu_threads: 4, memory_available_bytes: 12893504 * 1024, disk_free_bytes: 442381631488 });
  });

  // Fedora's edk2-ovmf lists its 4 MB build as qcow2 first (50-edk2-ovmf-4m-qcow2-x64-nosb.json);
  // the VM launcher loads firmware as raw flash, so the raw build must be the one chosen.
  it('Intel host on Fedora: the UEFI firmware offered is one the VM launcher can open (raw)', async () => {
    const report = await reportFor('intel-kvm-nested');
    expect(check(report, 'qemu.ovmf').detail).toBe('/usr/share/edk2/ovmf/OVMF_CODE.fd');
  });

  it('AMD host on Arch, kvm_amd loaded with nested=1, user in kvm -> KVM', async () => {
    const report = await reportFor('amd-kvm');
    expect(report.accelerator).toBe('kvm');
    expect(report.accelerator_reason).toBe('KVM works: AMD-V, kvm_amd active, /dev/kvm usable, and QEMU enabled KVM.');
    expect(report.can_run_vms).toBe(true);
    expect(report.qemu_version).toBe('9.2.0');
    expect(report.distro).toEqual({ id: 'arch', name: 'Arch Linux' });
    expect(statuses(report)).toMatchObject({
      'cpu.virtualization': 'pass',
      'kernel.kvm_vendor': 'pass',
      'kernel.nested': 'pass',
      'kernel.kvm_device': 'pass',
      'kernel.kvm_probe': 'pass',
      'kernel.virtio': 'pass',
      'qemu.ovmf': 'pass',
      'qemu.swtpm': 'warn',
      'qemu.virtiofsd': 'pass',
      'network.bridge': 'warn',
    });
    expect(check(report, 'cpu.virtualization').summary).toBe('AMD-V is available.');
    expect(check(report, 'kernel.kvm_vendor').summary).toBe('kvm_amd is loaded.');
    expect(check(report, 'kernel.nested').summary).toContain('Nested virtualization is on');
    expect(check(report, 'kernel.virtio').detail).toBe('Read from /proc/config.gz.');
    expect(check(report, 'qemu.swtpm').fix).toBe('sudo pacman -S --needed swtpm');
    // No firmware descriptors on this machine: found through the well-known paths.
    expect(check(report, 'qemu.ovmf').detail).toBe('/usr/share/edk2/x64/OVMF_CODE.4m.fd');
    expect(check(report, 'qemu.virtiofsd').detail).toBe('/usr/lib/virtiofsd');
    expect(check(report, 'network.bridge').summary).toBe('/etc/qemu/bridge.conf allows no bridge.');
    expect(check(report, 'network.bridge').fix).toContain("echo 'allow virbr0' | sudo tee -a /etc/qemu/bridge.conf");
  });

  it('virtualization disabled in firmware: vmx flag, kvm_intel not loaded, no /dev/kvm -> TCG with modprobe advice', async () => {
    const report = await reportFor('virt-disabled-in-firmware');
    expect(report.accelerator).toBe('tcg');
    expect(report.accelerator_reason).toContain('The kvm_intel kernel module is not loaded.');
    expect(report.can_run_vms).toBe(true);
    expect(report.distro).toEqual({ id: 'ubuntu', name: 'Ubuntu 24.04.1 LTS' });
    expect(statuses(report)).toMatchObject({
      'cpu.virtualization': 'pass',
      'kernel.kvm': 'pass',
      'kernel.kvm_vendor': 'warn',
      'kernel.kvm_device': 'warn',
      'kernel.kvm_probe': 'warn',
      'qemu.system': 'pass',
    });
    const vendor = check(report, 'kernel.kvm_vendor');
    expect(vendor.summary).toBe('kvm_intel is installed but not loaded.');
    expect(vendor.fix).toBe('sudo modprobe kvm_intel');
    expect(vendor.detail).toContain('disabled by bios');
    expect(vendor.detail).toContain('turn on Intel VT-x in the firmware setup');
    expect(check(report, 'kernel.kvm_device').summary).toBe('/dev/kvm does not exist.');
    expect(check(report, 'kernel.kvm_device').fix).toBe('sudo modprobe kvm_intel');
    expect(check(report, 'kernel.kvm_probe').summary).toContain('not asked');
    expect(report.checks.map((entry) => entry.id)).not.toContain('kernel.nested');
  });

  it('user outside the kvm group on Debian -> TCG and the usermod command', async () => {
    const report = await reportFor('user-not-in-kvm-group');
    expect(report.accelerator).toBe('tcg');
    expect(report.accelerator_reason).toContain('You do not have permission to use /dev/kvm.');
    expect(report.can_run_vms).toBe(true);
    expect(report.qemu_version).toBe('7.2.13');
    expect(statuses(report)).toMatchObject({
      'cpu.virtualization': 'pass',
      'kernel.kvm_vendor': 'pass',
      'kernel.kvm_device': 'warn',
      'kernel.kvm_probe': 'warn',
      'qemu.system': 'pass',
    });
    const device = check(report, 'kernel.kvm_device');
    expect(device.summary).toBe('You may not use /dev/kvm: you are not in the kvm group.');
    expect(device.fix).toBe('sudo usermod -aG kvm alice');
    expect(device.detail).toContain('log out and log in again');
    expect(check(report, 'kernel.kvm_probe').summary).toBe('QEMU was not asked about KVM, because /dev/kvm is not usable.');
    // /dev/vhost-net belongs to the kvm group too: present, but not for alice.
    expect(check(report, 'network.vhost_net')).toMatchObject({ status: 'warn', summary: 'You may not use /dev/vhost-net, so bridged networking is slower.' });
  });

  it('no QEMU on Ubuntu: KVM is fine but no VM can run, with apt commands', async () => {
    const report = await reportFor('no-qemu');
    expect(report.accelerator).toBe('tcg');
    expect(report.accelerator_reason).toContain('QEMU is not installed');
    expect(report.can_run_vms).toBe(false);
    expect(report.qemu_version).toBeNull();
    expect(statuses(report)).toMatchObject({
      'cpu.virtualization': 'pass',
      'kernel.kvm_vendor': 'pass',
      'kernel.kvm_device': 'pass',
      'kernel.kvm_probe': 'warn',
      'qemu.system': 'fail',
      'qemu.img': 'fail',
      'qemu.ovmf': 'warn',
      'network.bridge': 'warn',
      'resources.disk': 'warn',
    });
    expect(check(report, 'qemu.system').fix).toBe('sudo apt install qemu-system-x86');
    expect(check(report, 'qemu.img').fix).toBe('sudo apt install qemu-utils');
    expect(check(report, 'qemu.ovmf').fix).toBe('sudo apt install ovmf');
    expect(check(report, 'network.bridge').fix).toBe('sudo apt install qemu-system-common');
    expect(check(report, 'kernel.kvm_probe').summary).toContain('QEMU is not installed');
    expect(check(report, 'resources.disk').summary).toBe('Only 5.0 GiB free where VMs are stored.');
  });

  it('QEMU 6.2.0 on Ubuntu 22.04: KVM works, but QEMU is too old to run VMs', async () => {
    const report = await reportFor('old-qemu');
    expect(report.accelerator).toBe('kvm');
    expect(report.can_run_vms).toBe(false);
    expect(report.qemu_version).toBe('6.2.0');
    expect(statuses(report)).toMatchObject({ 'qemu.system': 'fail', 'qemu.img': 'pass', 'kernel.kvm_probe': 'pass' });
    expect(check(report, 'qemu.system').summary).toBe('QEMU 6.2.0 is older than 7.2, the oldest Hangar supports.');
    expect(check(report, 'qemu.system').fix).toBe('sudo apt install qemu-system-x86');
  });
});

describe('kernel facts from captured machines', () => {
  const PARAMETERS = ['kvm_intel.nested', 'kvm_amd.nested'];
  it.each([
    // No /proc/modules, no /lib/modules/<release>: built-in code is seen through /sys/module only.
    ['this-machine-pvm', { kvm: 'builtin', kvm_pvm: 'builtin', kvm_intel: 'absent', kvm_amd: 'absent' }, {}, '/proc/config.gz'],
    // Loaded per /proc/modules; the other vendor's module is found in modules.dep as kvm-amd.ko.xz.
    ['intel-kvm-nested', { kvm: 'loaded', kvm_intel: 'loaded', kvm_amd: 'available', kvm_pvm: 'absent', tun: 'loaded', vhost_net: 'loaded' }, { 'kvm_intel.nested': 'Y' }, '/boot/config-6.11.4-301.fc41.x86_64'],
    ['amd-kvm', { kvm: 'loaded', kvm_amd: 'loaded', kvm_intel: 'available', tun: 'loaded', vhost_net: 'available' }, { 'kvm_amd.nested': '1' }, '/proc/config.gz'],
    // kvm-intel.ko.zst in modules.dep but not loaded.
    ['virt-disabled-in-firmware', { kvm: 'loaded', kvm_intel: 'available', kvm_amd: 'available', tun: 'available' }, {}, '/boot/config-6.8.0-48-generic'],
    // tun listed in modules.builtin.
    ['no-qemu', { kvm: 'loaded', kvm_amd: 'loaded', tun: 'builtin', vhost_net: 'available' }, { 'kvm_amd.nested': '1' }, '/boot/config-5.15.0-125-generic'],
  ])('%s', async (name, modules, parameters, configSource) => {
    const kernel = await readKernel(capturedProbe(tree(name)), KVM_MODULES, PARAMETERS);
    expect(kernel.modules).toMatchObject(modules);
    expect(kernel.parameters).toEqual(parameters);
    expect(kernel.configSource).toBe(configSource);
  });
});

describe('capturedProbe', () => {
  it('answers only the commands the tree captured', async () => {
    const probe = capturedProbe(tree('intel-kvm-nested'));
    expect((await probe.run('/usr/bin/qemu-img', ['--version'])).stdout).toMatch(/^qemu-img version 9\.1\.2 /);
    expect(await probe.run('/usr/bin/qemu-img', ['info', 'disk.qcow2'])).toMatchObject({ code: null, spawnError: 'not captured: /usr/bin/qemu-img info disk.qcow2' });
  });

  it('answers stat from the manifest, and access from mode and the captured user unless told', async () => {
    const fedora = capturedProbe(tree('intel-kvm-nested'));
    expect(await fedora.stat('/usr/libexec/qemu-bridge-helper')).toEqual({ kind: 'file', mode: 0o4755, uid: 0, gid: 0 });
    expect(await fedora.stat('/dev/kvm')).toEqual({ kind: 'char', mode: 0o666, uid: 0, gid: 36 });
    expect(await fedora.stat('/dev/vfio/vfio')).toBeNull();
    // 0660 root:kvm, and sam has kvm (992) in this session.
    expect(await capturedProbe(tree('amd-kvm')).canReadWrite('/dev/kvm')).toBe(true);
    // 0660 root:kvm, and dana is not in kvm (993).
    expect(await capturedProbe(tree('virt-disabled-in-firmware')).canReadWrite('/dev/vhost-net')).toBe(false);
    expect(await capturedProbe(tree('user-not-in-kvm-group')).canReadWrite('/dev/kvm')).toBe(false);
  });
});
