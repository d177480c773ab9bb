import { formatBytes } from '../../src-shared/format';
import type { CheckGroup, CheckStatus, HostCheck } from '../../src-shared/host';
import { installCommand } from './distro';
import { isPvmOnly, vendorModule, type HostFacts } from './facts';
import { isPresent, type ModuleState } from './kernel';
import { MINIMUM_QEMU, meetsMinimum } from './qemu';

// Turns facts into checks a person can act on: what was found, in plain words, and the
// exact command that fixes it on this distribution.

type Draft = Omit<HostCheck, 'group'>;

const check = (id: string, status: CheckStatus, summary: string, extra: Partial<Pick<HostCheck, 'detail' | 'fix'>> = {}): Draft => {
  const draft: Draft = { id, status, summary };
  if (extra.detail) draft.detail = extra.detail;
  if (extra.fix) draft.fix = extra.fix;
  return draft;
};

const LOW_MEMORY_BYTES = 1024 ** 3;
const LOW_DISK_BYTES = 10 * 1024 ** 3;
const KERNEL_VIRTIO_OPTIONS = ['VIRTIO', 'VIRTIO_PCI', 'VIRTIO_BLK', 'VIRTIO_NET', 'VIRTIO_CONSOLE', 'VIRTIO_BALLOON', 'VHOST_NET'] as const;

function cpuChecks(facts: HostFacts): Draft[] {
  const { cpu } = facts;
  const virtualization = cpu.vmx
    ? check('cpu.virtualization', 'pass', 'Intel VT-x is available.')
    : cpu.svm
      ? check('cpu.virtualization', 'pass', 'AMD-V is available.')
      : isPvmOnly(facts)
        ? check('cpu.virtualization', 'warn', 'The CPU offers no VT-x or AMD-V; this kernel only has PVM, a paravirtual KVM.', {
            detail: 'Run Hangar on a machine with hardware virtualization for full speed, or ask the provider of this machine to enable nested virtualization.',
          })
        : cpu.hypervisor
          ? check('cpu.virtualization', 'warn', 'This is a virtual machine whose host does not pass VT-x or AMD-V through.', {
              detail: 'Enable nested virtualization on the host that runs this machine (for example kvm_intel nested=1 and the host-passthrough CPU model there).',
            })
          : check('cpu.virtualization', 'warn', 'The CPU offers no VT-x or AMD-V, or it is turned off in the firmware setup.', {
              detail: 'Restart, open the firmware (BIOS/UEFI) setup and turn on Intel VT-x (Virtualization Technology) or AMD SVM.',
            });
  const hypervisor = cpu.hypervisor
    ? check('cpu.hypervisor', 'pass', 'This machine is itself a virtual machine: VMs you create here run nested.', {
        detail: 'Nested VMs work, but are slower than on bare metal.',
      })
    : check('cpu.hypervisor', 'pass', 'Running on bare metal.');
  return [virtualization, hypervisor];
}

const moduleWords: Record<ModuleState, string> = { loaded: 'is loaded', builtin: 'is built into the kernel', available: 'is installed but not loaded', absent: 'is not available' };

function kernelChecks(facts: HostFacts): Draft[] {
  const { kernel, kvmProbe } = facts;
  const drafts: Draft[] = [];
  const kvmState = kernel.modules.kvm ?? 'absent';
  drafts.push(
    isPresent(kvmState)
      ? check('kernel.kvm', 'pass', kvmState === 'builtin' ? 'KVM is built into the kernel.' : 'The kvm module is loaded.')
      : kvmState === 'available'
        ? check('kernel.kvm', 'warn', 'The kvm module is installed but not loaded.', { fix: 'sudo modprobe kvm' })
        : check('kernel.kvm', 'warn', 'This kernel has no KVM.', { detail: 'Boot a kernel with KVM support; the standard kernel of every major distribution has it.' }),
  );

  const vendor = vendorModule(facts);
  if (isPvmOnly(facts)) {
    drafts.push(
      check('kernel.kvm_vendor', 'warn', "This kernel's KVM is PVM (kvm_pvm), which ordinary guests cannot use.", {
        detail:
          'PVM is a paravirtual KVM for guests whose kernel was built for it, and needs no VT-x or AMD-V. QEMU accepts -accel kvm here, ' +
          'but a standard guest kernel hangs at boot (and -cpu host can abort on an MSR). Hangar runs new VMs with software emulation (TCG) instead.',
      }),
    );
  } else if (vendor) {
    const state = kernel.modules[vendor] ?? 'absent';
    drafts.push(
      isPresent(state)
        ? check('kernel.kvm_vendor', 'pass', `${vendor} ${moduleWords[state]}.`)
        : check('kernel.kvm_vendor', 'warn', `${vendor} ${moduleWords[state]}.`, {
            fix: state === 'available' ? `sudo modprobe ${vendor}` : undefined,
            detail:
              state === 'available'
                ? `If modprobe answers "Operation not supported" and the kernel log says "disabled by bios", turn on ${vendor === 'kvm_intel' ? 'Intel VT-x' : 'AMD SVM'} in the firmware setup.`
                : 'Boot a kernel with KVM support; the standard kernel of every major distribution has it.',
          }),
    );
    if (isPresent(state)) {
      const nested = kernel.parameters[`${vendor}.nested`];
      if (nested !== undefined) {
        const on = nested === 'Y' || nested === '1';
        drafts.push(
          on
            ? check('kernel.nested', 'pass', 'Nested virtualization is on: your VMs can run VMs of their own.')
            : check('kernel.nested', 'pass', 'Nested virtualization is off (only needed to run VMs inside your VMs).', {
                detail: `To turn it on: echo "options ${vendor} nested=1" | sudo tee /etc/modprobe.d/hangar-nested.conf, then reload ${vendor} or restart.`,
              }),
        );
      }
    }
  } else {
    drafts.push(check('kernel.kvm_vendor', 'warn', 'No hardware KVM module (kvm_intel or kvm_amd) is active.'));
  }

  drafts.push(kvmDeviceCheck(facts, vendor));

  if (!facts.qemu.system) drafts.push(check('kernel.kvm_probe', 'warn', 'QEMU could not be asked about KVM: QEMU is not installed.'));
  else if (!kvmProbe) drafts.push(check('kernel.kvm_probe', 'warn', 'QEMU was not asked about KVM, because /dev/kvm is not usable.'));
  else if (kvmProbe.enabled && isPvmOnly(facts))
    drafts.push(
      check('kernel.kvm_probe', 'warn', 'QEMU opens KVM, but on PVM an ordinary guest would hang, so Hangar will not use it.', {
        detail: 'QEMU answered query-kvm with enabled=true.',
      }),
    );
  else if (kvmProbe.enabled) drafts.push(check('kernel.kvm_probe', 'pass', 'QEMU opened KVM successfully.'));
  else drafts.push(check('kernel.kvm_probe', 'warn', `QEMU could not use KVM: ${kvmProbe.error ?? 'it did not say why'}.`));

  if (!kernel.config) {
    drafts.push(
      check('kernel.virtio', 'warn', 'The kernel configuration could not be read, so virtio support is unknown.', {
        detail: `Neither /proc/config.gz nor /boot/config-${kernel.release || '<release>'} exists.`,
      }),
    );
  } else {
    const missing = KERNEL_VIRTIO_OPTIONS.filter((option) => {
      const value = kernel.config?.[`CONFIG_${option}`];
      return value !== 'y' && value !== 'm';
    });
    drafts.push(
      missing.length === 0
        ? check('kernel.virtio', 'pass', 'Virtio and vhost-net are in the kernel.', { detail: `Read from ${kernel.configSource}.` })
        : check('kernel.virtio', 'warn', `Missing from the kernel: ${missing.map((option) => `CONFIG_${option}`).join(', ')}.`, {
            detail: `${missing.includes('VHOST_NET') ? 'Without vhost-net, bridged and tap networking run in QEMU itself and are slower; the default NAT networking is not affected. ' : ''}Read from ${kernel.configSource}.`,
          }),
    );
  }
  return drafts;
}

function kvmDeviceCheck(facts: HostFacts, vendor: string | null): Draft {
  const { kvmDevice, user } = facts;
  const node = kvmDevice.node;
  if (!node) {
    const vendorState = vendor ? facts.kernel.modules[vendor] : undefined;
    return check('kernel.kvm_device', 'warn', '/dev/kvm does not exist.', {
      fix: vendor && vendorState === 'available' ? `sudo modprobe ${vendor}` : undefined,
      detail: 'It appears when a KVM module for this CPU is active.',
    });
  }
  if (node.kind !== 'char') return check('kernel.kvm_device', 'warn', '/dev/kvm exists but is not a device node.', { detail: 'Something replaced it with a file; restarting the machine recreates it.' });
  if (kvmDevice.usable) return check('kernel.kvm_device', 'pass', '/dev/kvm is present and you may use it.');

  const owner = user.groupFile.find((group) => group.gid === node.gid);
  const who = user.name ?? '$USER';
  if (owner && owner.gid !== 0) {
    const inGroupFile = owner.members.includes(who) || user.gid === owner.gid;
    if (inGroupFile && !user.groups.includes(owner.gid)) {
      return check('kernel.kvm_device', 'warn', `You were added to the ${owner.name} group, but this login session does not have it yet.`, {
        fix: 'Log out and log in again',
        detail: `Group changes take effect at the next login. Until then, "newgrp ${owner.name}" gives one terminal the group.`,
      });
    }
    return check('kernel.kvm_device', 'warn', `You may not use /dev/kvm: you are not in the ${owner.name} group.`, {
      fix: `sudo usermod -aG ${owner.name} ${who}`,
      detail: 'Then log out and log in again: group changes take effect at the next login.',
    });
  }
  return check('kernel.kvm_device', 'warn', '/dev/kvm belongs to root alone, so you may not use it.', {
    fix: `sudo groupadd -f kvm && sudo chgrp kvm /dev/kvm && sudo chmod 660 /dev/kvm && sudo usermod -aG kvm ${who}`,
    detail: "Distributions' udev rules normally give /dev/kvm to the kvm group. Log out and in again after adding yourself.",
  });
}

function qemuChecks(facts: HostFacts): Draft[] {
  const { qemu, distro } = facts;
  const minimum = `${MINIMUM_QEMU.major}.${MINIMUM_QEMU.minor}`;
  const drafts: Draft[] = [];
  if (!qemu.system) {
    drafts.push(check('qemu.system', 'fail', 'QEMU (qemu-system-x86_64) is not installed: no VM can run.', { fix: installCommand(distro, 'qemuSystem') }));
  } else if (!qemu.system.version) {
    drafts.push(check('qemu.system', 'warn', `QEMU is at ${qemu.system.path}, but its version could not be read.`));
  } else if (!meetsMinimum(qemu.system.version)) {
    drafts.push(
      check('qemu.system', 'fail', `QEMU ${qemu.system.version} is older than ${minimum}, the oldest Hangar supports.`, {
        fix: installCommand(distro, 'qemuSystem'),
        detail: 'Update QEMU from your distribution, or use a newer release of it.',
      }),
    );
  } else {
    drafts.push(check('qemu.system', 'pass', `QEMU ${qemu.system.version} is installed.`, { detail: qemu.system.path }));
  }
  drafts.push(
    qemu.img
      ? check('qemu.img', 'pass', `qemu-img ${qemu.img.version ?? ''} is installed.`.replace('  ', ' '), { detail: qemu.img.path })
      : check('qemu.img', 'fail', 'qemu-img is not installed: VM disks cannot be created.', { fix: installCommand(distro, 'qemuImg') }),
  );
  drafts.push(
    qemu.ovmf
      ? check('qemu.ovmf', 'pass', 'UEFI firmware (OVMF) is installed.', { detail: qemu.ovmf.code })
      : check('qemu.ovmf', 'warn', 'UEFI firmware (OVMF) is not installed: only BIOS VMs can be created.', { fix: installCommand(distro, 'ovmf') }),
  );
  drafts.push(
    qemu.swtpm
      ? check('qemu.swtpm', 'pass', 'swtpm is installed: VMs can have a TPM.', { detail: qemu.swtpm })
      : check('qemu.swtpm', 'warn', 'swtpm is not installed: VMs cannot have a TPM (Windows 11 needs one).', { fix: installCommand(distro, 'swtpm') }),
  );
  drafts.push(
    qemu.virtiofsd
      ? check('qemu.virtiofsd', 'pass', 'virtiofsd is installed: VMs can share folders with this machine.', { detail: qemu.virtiofsd })
      : check('qemu.virtiofsd', 'warn', 'virtiofsd is not installed: VMs cannot share folders with this machine.', { fix: installCommand(distro, 'virtiofsd') }),
  );
  return drafts;
}

function networkChecks(facts: HostFacts): Draft[] {
  const { tunDevice, vhostNetDevice, bridgeHelper, bridgeConf, kernel, distro } = facts;
  const onlyBridged = 'Only bridged networking needs it; the default NAT networking works without it.';
  const drafts: Draft[] = [];
  drafts.push(
    tunDevice.node?.kind === 'char'
      ? check('network.tun', 'pass', '/dev/net/tun is present.')
      : check('network.tun', 'warn', '/dev/net/tun is missing.', { fix: 'sudo modprobe tun', detail: onlyBridged }),
  );
  const vhostInKernel = kernel.config ? ['y', 'm'].includes(kernel.config.CONFIG_VHOST_NET ?? '') : null;
  drafts.push(
    vhostNetDevice.node?.kind === 'char' && vhostNetDevice.usable
      ? check('network.vhost_net', 'pass', '/dev/vhost-net is present: bridged networking runs in the kernel.')
      : vhostNetDevice.node?.kind === 'char'
        ? check('network.vhost_net', 'warn', 'You may not use /dev/vhost-net, so bridged networking is slower.', { detail: `${onlyBridged} It usually belongs to the kvm group: the /dev/kvm fix covers it too.` })
      : vhostInKernel === false
        ? check('network.vhost_net', 'warn', '/dev/vhost-net is missing: this kernel was built without vhost-net, so bridged networking is slower.', { detail: onlyBridged })
        : check('network.vhost_net', 'warn', '/dev/vhost-net is missing: bridged networking is slower.', { fix: 'sudo modprobe vhost_net', detail: onlyBridged }),
  );
  if (!bridgeHelper) {
    drafts.push(check('network.bridge', 'warn', 'qemu-bridge-helper is not installed.', { fix: installCommand(distro, 'bridgeHelper'), detail: onlyBridged }));
  } else if (!bridgeHelper.setuid) {
    drafts.push(
      check('network.bridge', 'warn', 'qemu-bridge-helper cannot attach VMs to a bridge: it is not setuid root.', { fix: `sudo chmod u+s ${bridgeHelper.path}`, detail: onlyBridged }),
    );
  } else {
    const allowed = (bridgeConf ?? '')
      .split('\n')
      .map((line) => /^\s*allow\s+(\S+)/.exec(line)?.[1])
      .filter((name): name is string => Boolean(name));
    drafts.push(
      allowed.length > 0
        ? check('network.bridge', 'pass', `Bridged networking is allowed on: ${allowed.join(', ')}.`, { detail: bridgeHelper.path })
        : check('network.bridge', 'warn', '/etc/qemu/bridge.conf allows no bridge.', {
            fix: "sudo mkdir -p /etc/qemu && echo 'allow virbr0' | sudo tee -a /etc/qemu/bridge.conf",
            detail: `${onlyBridged} Replace virbr0 with the name of your bridge.`,
          }),
    );
  }
  return drafts;
}

function resourceChecks(facts: HostFacts): Draft[] {
  const { cpu, memory, diskFreeBytes, vmStorePath } = facts;
  const drafts: Draft[] = [];
  drafts.push(check('resources.cpu', cpu.threads > 0 ? 'pass' : 'warn', cpu.threads > 0 ? `${cpu.threads} CPU threads.` : 'The number of CPU threads could not be read.', { detail: cpu.model ?? undefined }));
  drafts.push(
    memory.totalBytes === 0
      ? check('resources.memory', 'warn', 'The amount of memory could not be read.')
      : memory.availableBytes < LOW_MEMORY_BYTES
        ? check('resources.memory', 'warn', `Only ${formatBytes(memory.availableBytes)} of ${formatBytes(memory.totalBytes)} memory is available.`, {
            detail: 'Close programs or give VMs less memory.',
          })
        : check('resources.memory', 'pass', `${formatBytes(memory.availableBytes)} of ${formatBytes(memory.totalBytes)} memory is available.`),
  );
  drafts.push(
    diskFreeBytes === null
      ? check('resources.disk', 'warn', `Free space for VMs could not be read.`, { detail: vmStorePath })
      : diskFreeBytes < LOW_DISK_BYTES
        ? check('resources.disk', 'warn', `Only ${formatBytes(diskFreeBytes)} free where VMs are stored.`, { detail: `${vmStorePath}. Free some space or set HANGAR_HOME to a larger disk.` })
        : check('resources.disk', 'pass', `${formatBytes(diskFreeBytes)} free where VMs are stored.`, { detail: vmStorePath }),
  );
  return drafts;
}

const BUILDERS: Record<CheckGroup, (facts: HostFacts) => Draft[]> = {
  cpu: cpuChecks,
  kernel: kernelChecks,
  qemu: qemuChecks,
  network: networkChecks,
  resources: resourceChecks,
};

export function buildChecks(facts: HostFacts): HostCheck[] {
  return (Object.keys(BUILDERS) as CheckGroup[]).flatMap((group) => BUILDERS[group](facts).map((draft) => ({ group, ...draft })));
}
