import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachingProbe } from '../../../src-main/host/probe-cache';
import { localProbe } from '../../../src-main/host/probe';

// The engine's host facts come from QEMU runs; the cache answers a run again only while
// nothing it depends on can have changed. A program here is a real script that counts its
// runs, under a root of its own with its own boot id.

let root: string;
let cacheFile: string;
const program = 'usr/bin/fake-qemu';

async function writeProgram(version: string): Promise<void> {
  const file = path.join(root, program);
  await fs.writeFile(file, `#!/bin/sh\necho run >> "${path.join(root, 'runs')}"\necho "QEMU emulator version ${version}"\n`, { mode: 0o755 });
}
async function runs(): Promise<number> {
  return (await fs.readFile(path.join(root, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
}
async function setBootId(id: string): Promise<void> {
  await fs.writeFile(path.join(root, 'proc/sys/kernel/random/boot_id'), `${id}\n`);
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-probe-cache-'));
  await fs.mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await fs.mkdir(path.join(root, 'proc/sys/kernel/random'), { recursive: true });
  await setBootId('0f5e6c1a-0000-4000-8000-000000000001');
  await writeProgram('7.2.0');
  cacheFile = path.join(root, 'cache', 'hangar', 'host-probes.json');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('cachingProbe', () => {
  it('runs a program once for the same question, and keeps the answer in a private file', async () => {
    const probe = cachingProbe(localProbe(root), cacheFile);
    const first = await probe.run(`/${program}`, ['--version']);
    const second = await cachingProbe(localProbe(root), cacheFile).run(`/${program}`, ['--version']);
    expect(first.stdout).toBe('QEMU emulator version 7.2.0\n');
    expect(second).toEqual(first);
    expect(await runs()).toBe(1);
    expect((await fs.stat(cacheFile)).mode & 0o777).toBe(0o600);
    // Other arguments are another question.
    await probe.run(`/${program}`, ['-machine', 'help']);
    expect(await runs()).toBe(2);
  });

  it('asks again after a reboot, or when the program is replaced', async () => {
    const probe = cachingProbe(localProbe(root), cacheFile);
    await probe.run(`/${program}`, ['--version']);
    await setBootId('0f5e6c1a-0000-4000-8000-000000000002');
    await probe.run(`/${program}`, ['--version']);
    expect(await runs()).toBe(2);
    // An upgrade: the same path, another file.
    await fs.rm(path.join(root, program));
    await writeProgram('8.0.0');
    expect((await probe.run(`/${program}`, ['--version'])).stdout).toContain('8.0.0');
    expect(await runs()).toBe(3);
  });

  it('asks again when /dev/kvm appears or changes', async () => {
    const probe = cachingProbe(localProbe(root), cacheFile);
    await probe.run(`/${program}`, ['--version']);
    await fs.mkdir(path.join(root, 'dev'));
    await fs.writeFile(path.join(root, 'dev/kvm'), '');
    await probe.run(`/${program}`, ['--version']);
    expect(await runs()).toBe(2);
    await fs.chmod(path.join(root, 'dev/kvm'), 0o600);
    await probe.run(`/${program}`, ['--version']);
    expect(await runs()).toBe(3);
  });

  it('keeps no answer from a run that timed out, and none without a boot id', async () => {
    await fs.writeFile(path.join(root, program), `#!/bin/sh\necho run >> "${path.join(root, 'runs')}"\nexec sleep 30\n`, { mode: 0o755 });
    const probe = cachingProbe(localProbe(root), cacheFile);
    expect((await probe.run(`/${program}`, [], { timeoutMs: 200 })).timedOut).toBe(true);
    await probe.run(`/${program}`, [], { timeoutMs: 200 });
    expect(await runs()).toBe(2);
    await writeProgram('7.2.0');
    await fs.rm(path.join(root, 'proc/sys/kernel/random/boot_id'));
    await probe.run(`/${program}`, ['--version']);
    await probe.run(`/${program}`, ['--version']);
    expect(await runs()).toBe(4);
  });

  it('starts again from a damaged or oversized cache file, and stays bounded', async () => {
    await fs.mkdir(path.dirname(cacheFile), { recursive: true });
    await fs.writeFile(cacheFile, '{"version":1,"entries":{"nope":');
    const probe = cachingProbe(localProbe(root), cacheFile);
    expect((await probe.run(`/${program}`, ['--version'])).code).toBe(0);
    expect(await runs()).toBe(1);
    await fs.writeFile(cacheFile, JSON.stringify({ version: 1, entries: {}, padding: 'x'.repeat(300 * 1024) }));
    await probe.run(`/${program}`, ['--version']);
    expect(await runs()).toBe(2);
    for (let index = 0; index < 40; index += 1) await probe.run(`/${program}`, [`--arg-${index}`]);
    const kept = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { entries: Record<string, unknown> };
    expect(Object.keys(kept.entries).length).toBeLessThanOrEqual(32);
  });
});
