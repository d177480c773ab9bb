import { describe, expect, it } from 'vitest';
import { parseGroupFile, parseProcStatus, userNameFor } from '../../../src-main/host/access';
import { parseCpuinfo, type CpuFacts } from '../../../src-main/host/cpu';
import { distroFromOsRelease, installCommand, parseOsRelease } from '../../../src-main/host/distro';
import { parseKernelConfig, parseModulePaths, parseProcModules } from '../../../src-main/host/kernel';
import { meetsMinimum, parseKvmProbe, parseQemuVersion } from '../../../src-main/host/qemu';
import { parseMeminfo } from '../../../src-main/host/resources';

// The readers of /proc, /sys, /etc and QEMU's output, fed what real machines print.

const XEON_VM_CPUINFO = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch avx2 arat avx512vbmi umip
bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs retbleed bhi
bogomips\t: 5199.99
power management:

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch avx2 arat avx512vbmi umip
power management:

`;

const INTEL_DESKTOP_CPUINFO = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tpr_shadow flexpriority ept vpid ept_ad
vmx flags\t: vnmi preemption_timer invvpid ept_x_only ept_ad ept_1gb flexpriority tsc_offset vtpr mtf vapic ept vpid unrestricted_guest ple shadow_vmcs pml
bugs\t\t: cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs taa itlb_multihit srbds mmio_stale_data retbleed gds

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc vmx smx est tm2
`;

const RYZEN_CPUINFO = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 24
model name\t: AMD Ryzen 3 3200G with Radeon Vega Graphics
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif
TLB size\t: 2560 4K pages
`;

describe('parseCpuinfo', () => {
  it.each<[string, string, CpuFacts]>([
    ['a cloud VM with no VT-x passed through (this machine)', XEON_VM_CPUINFO, { threads: 2, vendor: 'intel', model: 'Intel(R) Xeon(R) Processor', vmx: false, svm: false, hypervisor: true }],
    ['an Intel desktop with VT-x and a "vmx flags" line', INTEL_DESKTOP_CPUINFO, { threads: 2, vendor: 'intel', model: 'Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz', vmx: true, svm: false, hypervisor: false }],
    ['an AMD desktop with AMD-V', RYZEN_CPUINFO, { threads: 1, vendor: 'amd', model: 'AMD Ryzen 3 3200G with Radeon Vega Graphics', vmx: false, svm: true, hypervisor: false }],
    ['empty input', '', { threads: 0, vendor: 'other', model: null, vmx: false, svm: false, hypervisor: false }],
    ['flags that only contain "svm" as part of a word', 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm_lock npt nrip_save\n', { threads: 1, vendor: 'amd', model: null, vmx: false, svm: false, hypervisor: false }],
    ['a vendor that is neither Intel nor AMD', 'processor\t: 0\nvendor_id\t: CentaurHauls\nflags\t\t: fpu vmx\n', { threads: 1, vendor: 'other', model: null, vmx: true, svm: false, hypervisor: false }],
  ])('%s', (_name, text, expected) => {
    expect(parseCpuinfo(text)).toEqual(expected);
  });
});

describe('parseProcModules', () => {
  const FEDORA = `vhost_net 36864 0 - Live 0x0000000000000000
vhost 69632 1 vhost_net, Live 0x0000000000000000
tun 69632 2 vhost_net, Live 0x0000000000000000
kvm_intel 479232 0 - Live 0x0000000000000000
kvm 1425408 1 kvm_intel, Live 0x0000000000000000
irqbypass 12288 1 kvm, Live 0x0000000000000000
`;
  it.each<[string, string, string[]]>([
    ['a Fedora host with kvm_intel', FEDORA, ['irqbypass', 'kvm', 'kvm_intel', 'tun', 'vhost', 'vhost_net']],
    ['empty input', '', []],
    ['blank lines', '\n\nkvm 1 0 - Live 0x0\n\n', ['kvm']],
    ['a hyphenated name, as modprobe accepts', 'kvm-intel 479232 0 - Live 0x0000000000000000\n', ['kvm_intel']],
    ['a module still loading', 'kvm_amd 217088 0 - Loading 0xffffffffc0a00000 (+)\n', ['kvm_amd']],
  ])('%s', (_name, text, expected) => {
    expect([...parseProcModules(text)].sort()).toEqual(expected);
  });
});

describe('parseModulePaths', () => {
  it.each<[string, string, string[]]>([
    ['an uncompressed modules.dep line: only the module itself, not its dependencies', 'kernel/arch/x86/kvm/kvm-intel.ko: kernel/arch/x86/kvm/kvm.ko kernel/virt/lib/irqbypass.ko\n', ['kvm_intel']],
    ['.ko.zst (Arch, Ubuntu 24.04)', 'kernel/arch/x86/kvm/kvm-amd.ko.zst: kernel/drivers/crypto/ccp/ccp.ko.zst kernel/arch/x86/kvm/kvm.ko.zst\n', ['kvm_amd']],
    ['.ko.xz (Fedora)', 'kernel/drivers/vhost/vhost_net.ko.xz: kernel/drivers/net/tun.ko.xz\n', ['vhost_net']],
    ['.ko.gz', 'kernel/drivers/net/tun.ko.gz:\n', ['tun']],
    ['modules.builtin lines', 'kernel/arch/x86/kvm/kvm.ko\nkernel/drivers/net/tun.ko\nkernel/drivers/virtio/virtio_pci.ko\n', ['kvm', 'tun', 'virtio_pci']],
    ['a DKMS module outside kernel/', 'updates/dkms/vboxdrv.ko.zst:\n', ['vboxdrv']],
    ['empty input', '', []],
  ])('%s', (_name, text, expected) => {
    expect([...parseModulePaths(text)].sort()).toEqual(expected);
  });
});

describe('parseKernelConfig', () => {
  it.each<[string, string, Record<string, string>]>([
    [
      'a config excerpt with modules, built-ins, unset options and strings',
      '#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_LOCALVERSION=""\nCONFIG_KVM=m\nCONFIG_KVM_INTEL=y\n# CONFIG_KVM_AMD is not set\nCONFIG_KVM_MAX_NR_VCPUS=1024\nCONFIG_VHOST_NET=m\n',
      { CONFIG_LOCALVERSION: '""', CONFIG_KVM: 'm', CONFIG_KVM_INTEL: 'y', CONFIG_KVM_MAX_NR_VCPUS: '1024', CONFIG_VHOST_NET: 'm' },
    ],
    ['empty input', '', {}],
  ])('%s', (_name, text, expected) => {
    expect(parseKernelConfig(text)).toEqual(expected);
  });
});

describe('parseOsRelease and distroFromOsRelease', () => {
  it.each<[string, string, { id: string; name: string; packageManager: string | null }]>([
    [
      'Fedora (quoted and unquoted values)',
      'NAME="Fedora Linux"\nVERSION="41 (Workstation Edition)"\nID=fedora\nVERSION_ID=41\nPRETTY_NAME="Fedora Linux 41 (Workstation Edition)"\nCPE_NAME="cpe:/o:fedoraproject:fedora:41"\n',
      { id: 'fedora', name: 'Fedora Linux 41 (Workstation Edition)', packageManager: 'dnf' },
    ],
    ['Ubuntu', 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n', { id: 'ubuntu', name: 'Ubuntu 24.04.1 LTS', packageManager: 'apt' }],
    ['Arch', 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n', { id: 'arch', name: 'Arch Linux', packageManager: 'pacman' }],
    ['a derivative known only by a quoted ID_LIKE list', 'ID=zorin\nID_LIKE="ubuntu debian"\nPRETTY_NAME="Zorin OS 17.2"\n', { id: 'zorin', name: 'Zorin OS 17.2', packageManager: 'apt' }],
    ['openSUSE Tumbleweed', 'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n', { id: 'opensuse-tumbleweed', name: 'openSUSE Tumbleweed', packageManager: 'zypper' }],
    ['single quotes, comments, blank lines and no PRETTY_NAME', "# written by hand\n\nNAME='Custom Linux'\nID='custom'\n", { id: 'custom', name: 'Custom Linux', packageManager: null }],
    ['empty input', '', { id: 'linux', name: 'linux', packageManager: null }],
  ])('%s', (_name, text, expected) => {
    expect(distroFromOsRelease(parseOsRelease(text))).toEqual(expected);
  });

  it('keeps "=" inside a value and strips only matching outer quotes', () => {
    expect(parseOsRelease('ANSI_COLOR="0;38;2;60;110;180"\nHOME_URL=https://x.org/?a=b\nNAME="Half quoted\n')).toEqual({
      ANSI_COLOR: '0;38;2;60;110;180',
      HOME_URL: 'https://x.org/?a=b',
      NAME: '"Half quoted',
    });
  });

  it.each([
    ['apt', 'qemuSystem', 'sudo apt install qemu-system-x86'],
    ['dnf', 'qemuSystem', 'sudo dnf install qemu-system-x86-core'],
    ['pacman', 'qemuImg', 'sudo pacman -S --needed qemu-img'],
    ['zypper', 'ovmf', 'sudo zypper install qemu-ovmf-x86_64'],
  ] as const)('installCommand for %s %s', (packageManager, key, expected) => {
    expect(installCommand({ id: 'x', name: 'X', packageManager }, key)).toBe(expected);
  });

  it('offers no install command on an unknown distribution', () => {
    expect(installCommand({ id: 'nixos', name: 'NixOS', packageManager: null }, 'qemuSystem')).toBeUndefined();
  });
});

describe('parseProcStatus', () => {
  const status = (uid: string, gid: string, groups: string): string =>
    `Name:\thangar\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4821\nPid:\t4821\nPPid:\t2875\nTracerPid:\t0\nUid:\t${uid}\nGid:\t${gid}\nFDSize:\t128\nGroups:\t${groups}\nNStgid:\t4821\n`;
  it.each([
    ['a desktop user', status('1000\t1000\t1000\t1000', '1000\t1000\t1000\t1000', '4 24 27 30 46 107 1000 '), { uid: 1000, gid: 1000, groups: [4, 24, 27, 30, 46, 107, 1000] }],
    ['a setuid program: the effective ids count', status('1000\t0\t0\t0', '1000\t36\t36\t36', '1000 '), { uid: 0, gid: 36, groups: [1000] }],
    ['root with an empty Groups line (this machine)', status('0\t0\t0\t0', '0\t0\t0\t0', ' '), { uid: 0, gid: 0, groups: [] }],
    ['a Groups line with nothing after the tab', status('1000\t1000\t1000\t1000', '1000\t1000\t1000\t1000', ''), { uid: 1000, gid: 1000, groups: [] }],
    ['empty input', '', { uid: -1, gid: -1, groups: [] }],
  ])('%s', (_name, text, expected) => {
    expect(parseProcStatus(text)).toEqual(expected);
  });
});

describe('parseGroupFile and userNameFor', () => {
  it.each([
    [
      'Debian lines with and without members',
      'root:x:0:\nsudo:x:27:alice,bob\nkvm:x:107:\naudio:x:29:pulse,alice\n',
      [
        { name: 'root', gid: 0, members: [] },
        { name: 'sudo', gid: 27, members: ['alice', 'bob'] },
        { name: 'kvm', gid: 107, members: [] },
        { name: 'audio', gid: 29, members: ['pulse', 'alice'] },
      ],
    ],
    ['comments, NIS markers and blank lines are skipped', '# local groups\n\n+:::\nkvm:x:36:qemu\n', [{ name: 'kvm', gid: 36, members: ['qemu'] }]],
    ['a line without a member field', 'wheel:x:10', [{ name: 'wheel', gid: 10, members: [] }]],
    ['empty input', '', []],
  ])('%s', (_name, text, expected) => {
    expect(parseGroupFile(text)).toEqual(expected);
  });

  const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\nbob:x:10000:10000::/home/bob:/bin/sh\n';
  it.each([
    [0, 'root'],
    [1000, 'alice'],
    [10000, 'bob'],
    [100, null],
  ])('uid %i is %s', (uid, expected) => {
    expect(userNameFor(PASSWD, uid)).toBe(expected);
  });
});

describe('parseMeminfo', () => {
  it.each([
    ['a modern kernel', 'MemTotal:       16267436 kB\nMemFree:         9184220 kB\nMemAvailable:   12893504 kB\nBuffers:          185126 kB\n', { totalBytes: 16267436 * 1024, availableBytes: 12893504 * 1024 }],
    ['a kernel older than 3.14, without MemAvailable', 'MemTotal:        2048000 kB\nMemFree:          512000 kB\nBuffers:           10000 kB\n', { totalBytes: 2048000 * 1024, availableBytes: 512000 * 1024 }],
    ['empty input', '', { totalBytes: 0, availableBytes: 0 }],
  ])('%s', (_name, text, expected) => {
    expect(parseMeminfo(text)).toEqual(expected);
  });
});

describe('parseQemuVersion and meetsMinimum', () => {
  it.each([
    ['QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n', '7.2.22'],
    ['qemu-img version 9.1.2 (qemu-9.1.2-3.fc41)\nCopyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers\n', '9.1.2'],
    ['QEMU emulator version 9.2.0\n', '9.2.0'],
    ['QEMU emulator version 10.0.50 (v10.0.0-1234-gdeadbeef)\n', '10.0.50'],
    ['QEMU emulator version 8.2\n', '8.2'],
    ['', null],
    ['qemu-system-x86_64: unrecognized option --version\n', null],
  ])('reads %j as %s', (text, expected) => {
    expect(parseQemuVersion(text)).toBe(expected);
  });

  it.each([
    ['7.2.0', true],
    ['7.2.22', true],
    ['7.1.0', false],
    ['6.2.0', false],
    ['8.0.0', true],
    ['10.0.0', true],
    ['7', false],
  ])('QEMU %s meets the minimum: %s', (version, expected) => {
    expect(meetsMinimum(version)).toBe(expected);
  });

  it('takes another minimum', () => {
    expect(meetsMinimum('9.1.2', { major: 9, minor: 1 })).toBe(true);
    expect(meetsMinimum('9.0.5', { major: 9, minor: 1 })).toBe(false);
  });
});

describe('parseKvmProbe', () => {
  // What QEMU 7.2.22 printed on this machine for the probe; QMP ends its lines with CRLF.
  const ENABLED =
    '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}\r\n' +
    '{"return": {}}\r\n{"return": {"enabled": true, "present": true}}\r\n' +
    '{"timestamp": {"seconds": 1795591478, "microseconds": 655282}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}\r\n{"return": {}}\r\n';
  it.each([
    ['QEMU enabled KVM', ENABLED, '', { answered: true, enabled: true, present: true, error: null }],
    ['QEMU answered but KVM is off', '{"QMP": {}}\r\n{"return": {}}\r\n{"return": {"enabled": false, "present": true}}\r\n', '', { answered: true, enabled: false, present: true, error: null }],
    // What QEMU 7.2 prints when /dev/kvm exists but this user may not open it (captured with setpriv as nobody).
    [
      'permission denied',
      '',
      'Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: failed to initialize kvm: Permission denied\n',
      { answered: false, enabled: false, present: false, error: 'Could not access KVM kernel module: Permission denied' },
    ],
    ['an error line with the program prefix', '', 'qemu-system-x86_64: failed to initialize kvm: No such file or directory\n', { answered: false, enabled: false, present: false, error: 'failed to initialize kvm: No such file or directory' }],
    ['a greeting and then nothing', '{"QMP": {"version": {}, "capabilities": ["oob"]}}\r\n', '', { answered: false, enabled: false, present: false, error: 'QEMU did not answer.' }],
    ['no output at all', '', '', { answered: false, enabled: false, present: false, error: 'QEMU did not answer.' }],
  ])('%s', (_name, stdout, stderr, expected) => {
    expect(parseKvmProbe(stdout, stderr)).toEqual(expected);
  });
});
