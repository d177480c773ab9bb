import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostReport } from '../../src-shared/host';
import { hangarBin, repoRoot } from '../support/paths';

// `hangar doctor --json` on this very machine, through the built CLI, as a user runs it.
// This machine is known: KVM built in as PVM (kvm_pvm), no vmx/svm, /dev/kvm present,
// QEMU 7.2 from Debian 12. The check must pick TCG and say why.

function doctor(): { code: number | null; report: HostReport } {
  if (!existsSync(`${repoRoot}/out/main/cli.js`)) throw new Error('Build first: npm run build (npm test does it).');
  const result = spawnSync(process.execPath, [hangarBin, 'doctor', '--json'], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, report: HostReport.parse(JSON.parse(result.stdout)) };
}

const byId = (report: HostReport, id: string) => {
  const check = report.checks.find((candidate) => candidate.id === id);
  if (!check) throw new Error(`no check ${id}`);
  return check;
};

describe('hangar doctor --json on this machine', () => {
  let code: number | null;
  let report: HostReport;
  beforeAll(() => {
    ({ code, report } = doctor());
  });

  it('exits 0: VMs can run (with TCG)', () => {
    expect(report.can_run_vms).toBe(true);
    expect(code).toBe(0);
  });

  it('picks TCG because KVM here is PVM', () => {
    expect(report.accelerator).toBe('tcg');
    expect(report.accelerator_reason).toMatch(/PVM/);
    expect(report.accelerator_reason).toMatch(/software emulation \(TCG\)/);
  });

  it('sees KVM built in, as PVM, with no vmx/svm', () => {
    expect(byId(report, 'kernel.kvm')).toMatchObject({ status: 'pass', summary: 'KVM is built into the kernel.' });
    expect(byId(report, 'kernel.kvm_vendor')).toMatchObject({ status: 'warn' });
    expect(byId(report, 'kernel.kvm_vendor').summary).toMatch(/PVM \(kvm_pvm\)/);
    expect(byId(report, 'cpu.virtualization').summary).toMatch(/no VT-x or AMD-V/);
  });

  it('sees /dev/kvm and asks QEMU itself', () => {
    expect(byId(report, 'kernel.kvm_device').status).toBe('pass');
    expect(byId(report, 'kernel.kvm_probe').summary).toMatch(/QEMU opens KVM, but on PVM/);
  });

  it('finds QEMU 7.2 and its tools', () => {
    expect(report.qemu_version).toMatch(/^7\.2\./);
    expect(byId(report, 'qemu.system').status).toBe('pass');
    expect(byId(report, 'qemu.img').status).toBe('pass');
    expect(byId(report, 'qemu.ovmf').status).toBe('pass');
  });

  it('reports the resources the wizard will size VMs by', () => {
    expect(report.resources.cpu_threads).toBe(2);
    expect(report.resources.memory_total_bytes).toBeGreaterThan(16 * 1024 ** 3);
    expect(report.resources.disk_free_bytes).toBeGreaterThan(0);
  });
});
