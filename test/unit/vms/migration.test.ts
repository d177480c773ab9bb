import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQemuArgv, runPaths } from '../../../src-main/qemu/argv';
import { macForVm } from '../../../src-main/vms/ids';
import { parseVmJson } from '../../../src-main/vms/schema';
import { repoRoot } from '../../support/paths';

// Schema 2 -> 3 on the VM folders the schema-2 release left (test/fixtures/schema2): each
// loads, and QEMU is given the same devices as the release gave it (ids, buses, drives,
// boot order, MAC), so guests see the same machine and saved states still resume. That the
// PCI slots also match is proven with real QEMU in test/integration/schema-migration.test.ts.

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'schema2');
const PLACEHOLDERS = { '@ISO@': '/isos/test.iso' };
const fill = (text: string): string => Object.entries(PLACEHOLDERS).reduce((result, [key, value]) => result.replaceAll(key, value), text);

/** The -device objects, without what schema 3 adds on purpose (explicit PCI addresses) or renames invisibly (backend ids). */
function devices(argv: readonly string[]): Record<string, unknown>[] {
  return argv
    .flatMap((arg, index) => (arg === '-device' ? [JSON.parse(argv[index + 1] as string) as Record<string, unknown>] : []))
    .filter((device) => device.driver !== 'pcie-root-port')
    .map(({ addr: _addr, netdev: _netdev, ...rest }) => rest);
}

const optionsOf = (argv: readonly string[], option: string): string[] => argv.flatMap((arg, index) => (arg === option ? [argv[index + 1] as string] : []));

describe.each(readdirSync(fixtures).filter((name) => !name.includes('.')))('the schema-2 VM "%s"', (name) => {
  const folder = path.join(fixtures, name);
  const recorded = JSON.parse(fill(readFileSync(path.join(folder, 'argv.json'), 'utf8'))) as { argv: string[] };
  const parsed = parseVmJson(fill(readFileSync(path.join(folder, 'vm.json'), 'utf8')));

  it('loads as schema 3', () => {
    expect(parsed).toMatchObject({ ok: true, migrated: true, config: { schema: 3 } });
  });

  const config = parsed.ok ? parsed.config : null;
  const argv = config ? buildQemuArgv({ config, vmDir: '@VM_DIR@', run: runPaths('@RUN_DIR@'), accelerator: 'tcg', uefiCode: '@OVMF_CODE@', directIo: new Set(), sandbox: true }) : [];

  it('gives QEMU the same devices (ids, buses, drives, boot order, MAC)', () => {
    expect(devices(argv)).toEqual(devices(recorded.argv));
  });

  it('keeps the machine, CPUs and memory', () => {
    for (const option of ['-machine', '-cpu', '-smp', '-m', '-tpmdev']) expect(optionsOf(argv, option)).toEqual(optionsOf(recorded.argv, option));
  });

  it('keeps the first NIC the MAC it was derived, now written down', () => {
    expect(config?.devices.nics[0]?.mac).toBe(macForVm(config?.id ?? ''));
  });

  it('adds no hot-plug ports to a machine that may have a saved state', () => {
    expect(config?.machine.hotplugPorts).toBe(0);
    expect(argv.some((arg) => arg.includes('pcie-root-port'))).toBe(false);
  });

  it('names every disk node as before, and tells QEMU its backing explicitly', () => {
    const nodes = optionsOf(argv, '-blockdev').map((text) => JSON.parse(text) as Record<string, unknown>);
    const before = optionsOf(recorded.argv, '-blockdev').map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(nodes.map((node) => node['node-name'])).toEqual(before.map((node) => node['node-name']));
    for (const node of nodes.filter((candidate) => candidate.driver === 'qcow2')) expect(node).toHaveProperty('backing', null);
  });
});
