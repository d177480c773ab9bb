import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { call, makeSandbox, openFdCount, vmProcessesUnder, type Sandbox } from '../support/engine';

// Twenty small VMs started and force-stopped together, five rounds: afterwards no QEMU,
// no keeper, no socket and no file descriptor may be left over. The VMs have no OS (an
// empty CD drive and no disk): what is measured is the engine, not the guests.

const VMS = 20;
const ROUNDS = 5;
let sandbox: Sandbox;

async function gone(list: () => number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (list().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return list();
}
let service: HangarService;

beforeAll(async () => {
  sandbox = await makeSandbox('hangar-load-');
  service = sandbox.service();
  for (let index = 0; index < VMS; index++) {
    await call(service, 'createVm', { name: `Load ${index}`, iso: null, diskGiB: 0, memoryMiB: index % 2 === 0 ? 64 : 128, cpus: 1 });
  }
});
afterAll(async () => {
  await sandbox.cleanup();
});

describe(`${VMS} VMs, ${ROUNDS} rounds`, () => {
  it('start and stop in parallel without leaking processes, sockets or descriptors', async () => {
    const ids = Array.from({ length: VMS }, (_, index) => `load-${index}`);
    const runDir = path.join(sandbox.root, 'run');
    // Warm up once so lazily opened things (the engine, the host probe) are not counted as leaks.
    await call(service, 'listVms', {});
    const fdsBefore = openFdCount();
    for (let round = 0; round < ROUNDS; round++) {
      const started = await Promise.all(ids.map((vm) => call(service, 'startVm', { vm })));
      expect(started.map((vm) => vm.state)).toEqual(ids.map(() => 'running'));
      expect(new Set(started.map((vm) => vm.pid)).size).toBe(VMS);
      const stopped = await Promise.all(ids.map((vm) => call(service, 'stopVm', { vm, force: true, waitSeconds: 60 })));
      expect(stopped.map((vm) => vm.state)).toEqual(ids.map(() => 'stopped'));
      // "stopped" is announced once the holder has cleaned up; give its process a moment to exit.
      // The keeper stays a while (it ends once nobody has been connected for its idle time).
      expect(await gone(() => vmProcessesUnder(sandbox.root))).toEqual([]);
      expect((await fs.readdir(runDir)).filter((name) => !name.startsWith('keeper.'))).toEqual([]);
    }
    // The console and control connections closed with their VMs (on a busy machine the last
    // sockets take a moment to close; a leak would stay).
    await expect.poll(() => openFdCount(), { timeout: 10_000 }).toBeLessThanOrEqual(fdsBefore + 2);
    const vms = await call(service, 'listVms', {});
    expect(vms.every((vm) => vm.state === 'stopped' && vm.problem === null)).toBe(true);
  }, 600_000);
});
