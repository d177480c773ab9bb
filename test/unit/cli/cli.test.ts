import { describe, expect, it } from 'vitest';
import { HostReport } from '../../../src-shared/host';
import { createHangarService } from '../../../src-main/api/service';
import { runCli, type CliContext } from '../../../src-main/cli/commands';

function context(): CliContext & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    io: { out: (text) => void (out += text), err: (text) => void (err += text), isTTY: false },
    rendererDir: '/nonexistent',
    createService: (door) => createHangarService({ door }),
    untilInterrupted: () => Promise.resolve(),
    stdout: () => out,
    stderr: () => err,
  };
}

describe('hangar CLI', () => {
  it('prints help and exits 0 for "help"', async () => {
    const ctx = context();
    expect(await runCli(['help'], ctx)).toBe(0);
    expect(ctx.stdout()).toMatch(/hangar doctor \[--json\]/);
    expect(ctx.stdout()).toMatch(/hangar web \[--port N\]/);
  });

  it('prints help and exits 2 with no command', async () => {
    const ctx = context();
    expect(await runCli([], ctx)).toBe(2);
    expect(ctx.stdout()).toMatch(/^Usage: hangar/);
  });

  it('names an unknown command and exits 2', async () => {
    const ctx = context();
    expect(await runCli(['frobnicate'], ctx)).toBe(2);
    expect(ctx.stderr()).toContain('there is no command "frobnicate"');
  });

  it('refuses an unknown option with the usage line', async () => {
    const ctx = context();
    expect(await runCli(['doctor', '--jsno'], ctx)).toBe(2);
    expect(ctx.stderr()).toContain("Unknown option '--jsno'");
    expect(ctx.stderr()).toContain('Usage: hangar doctor [--json]');
  });

  it('refuses stray arguments', async () => {
    const ctx = context();
    expect(await runCli(['version', 'extra'], ctx)).toBe(2);
    expect(ctx.stderr()).toContain('Usage: hangar version');
  });

  it.each(['--port=-1', '--port=65536', '--port=abc', '--port=80.5', '--port=', '--port=0x50'])('refuses %s', async (option) => {
    const ctx = context();
    expect(await runCli(['web', option], ctx)).toBe(2);
    expect(ctx.stderr()).toContain('--port must be a number from 0 to 65535');
  });

  it('prints the version as JSON with --json', async () => {
    const ctx = context();
    expect(await runCli(['version', '--json'], ctx)).toBe(0);
    expect(JSON.parse(ctx.stdout())).toMatchObject({ name: 'Hangar', door: 'cli' });
  });

  it('doctor --json prints a report that matches the contract', async () => {
    const ctx = context();
    const code = await runCli(['doctor', '--json'], ctx);
    const report = HostReport.parse(JSON.parse(ctx.stdout()));
    expect(code).toBe(report.can_run_vms ? 0 : 1);
  });

  it('doctor prints a table with the accelerator and every group', async () => {
    const ctx = context();
    await runCli(['doctor'], ctx);
    for (const heading of ['CPU', 'Kernel and KVM', 'QEMU and firmware', 'Networking', 'Resources', 'Accelerator for new VMs:']) {
      expect(ctx.stdout()).toContain(heading);
    }
    expect(ctx.stdout()).not.toContain('\x1b['); // no colour codes when not on a terminal
  });
});
