import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HangarService } from '../../src-main/api/service';
import { HangarError } from '../../src-shared/errors';
import type { VmSummary } from '../../src-shared/vm';
import { mayChangeDevice, mayI, VM_ACTIONS, type VmAction } from '../../src-shared/vm-rules';
import { vmControls } from '../../src-renderer/store/vm-controls';
import { call, makeSandbox, qemuPidsFor, waitForVm, type Sandbox, runCli, type CliRun } from '../support/engine';

// One answer to every "may I" (src-shared/vm-rules.ts), whoever asks: VMs are put in every
// state Hangar knows, and for each action the window (its buttons), the hangar command and
// the engine (through the API) must give the rule's answer, in the rule's words.

let sandbox: Sandbox;
let service: HangarService;

beforeAll(async () => {
  sandbox = await makeSandbox('hangar-rules-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

const hangar = (...args: string[]): CliRun => runCli(sandbox.env, args);

/** How each action is asked for by the hangar command, and through the API (as the window asks). */
const ASK: Record<VmAction, { cli: (vm: string) => string[]; api: (vm: string) => Promise<unknown> }> = {
  start: { cli: (vm) => ['start', vm], api: (vm) => call(service, 'startVm', { vm }) },
  shutDown: { cli: (vm) => ['stop', vm, '--wait', '0'], api: (vm) => call(service, 'stopVm', { vm, force: false }) },
  forceOff: { cli: (vm) => ['stop', vm, '--force', '--wait', '0'], api: (vm) => call(service, 'stopVm', { vm, force: true }) },
  pause: { cli: (vm) => ['pause', vm], api: (vm) => call(service, 'pauseVm', { vm }) },
  resume: { cli: (vm) => ['resume', vm], api: (vm) => call(service, 'resumeVm', { vm }) },
  reset: { cli: (vm) => ['reset', vm], api: (vm) => call(service, 'resetVm', { vm }) },
  save: { cli: (vm) => ['save', vm], api: (vm) => call(service, 'saveVm', { vm }) },
  // Forgetting a saved state is the power cord of a saved VM.
  discardSavedState: { cli: (vm) => ['stop', vm, '--force', '--wait', '0'], api: (vm) => call(service, 'stopVm', { vm, force: true }) },
  rename: { cli: (vm) => ['edit', vm, '--name', `${vm} renamed`], api: (vm) => call(service, 'updateVm', { vm, changes: { name: `${vm} renamed` } }) },
  editMachine: { cli: (vm) => ['edit', vm, '--cpus', '2'], api: (vm) => call(service, 'updateVm', { vm, changes: { cpus: 2 } }) },
  delete: { cli: (vm) => ['delete', vm], api: (vm) => call(service, 'deleteVm', { vm }) },
  changeMedia: { cli: (vm) => ['media', vm, '--eject'], api: (vm) => call(service, 'changeMedia', { vm, iso: null }) },
  openConsole: { cli: (vm) => ['console', vm], api: (vm) => call(service, 'attachConsole', { vm }) },
  openScreen: { cli: (vm) => ['screen', vm], api: (vm) => call(service, 'openScreen', { vm }) },
  openSsh: { cli: (vm) => ['ssh', vm], api: (vm) => call(service, 'openTerminal', { target: { kind: 'ssh', vm, user: 'root' }, cols: 80, rows: 24 }) },
};

/** Whether the action, where the rule refuses it, meets the same refusal from the CLI and the API. */
async function checkRefusals(vm: string, summary: VmSummary): Promise<string[]> {
  const checked: string[] = [];
  for (const action of VM_ACTIONS) {
    const verdict = mayI(action, summary);
    if (verdict.ok) continue;
    // stop --force of a saved VM forgets its state: the rule of that door is discardSavedState.
    if (action === 'forceOff' && summary.state === 'saved') continue;
    if (action === 'discardSavedState' && summary.state !== 'saved') continue;
    const cli = hangar(...ASK[action].cli(vm));
    expect(cli.code, `hangar ${ASK[action].cli(vm).join(' ')} when ${summary.state}`).toBe(1);
    expect(cli.stderr, `hangar ${ASK[action].cli(vm).join(' ')} when ${summary.state}`).toContain(verdict.reason);
    const refused = await ASK[action].api(vm).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused, `${action} through the API when ${summary.state}`).toBeInstanceOf(HangarError);
    expect((refused as HangarError).message, `${action} through the API when ${summary.state}`).toBe(verdict.reason);
    expect((refused as HangarError).code).toBe(verdict.code);
    checked.push(action);
  }
  return checked;
}

/** The window's buttons and Settings controls answer as the rule does. */
function checkWindow(summary: VmSummary): void {
  for (const control of vmControls(summary, { busy: false, shutdownIgnored: false })) expect(control.enabled, `${control.label} when ${summary.state}`).toBe(mayI(control.rule, summary).ok);
  // The engine refuses exactly what Settings disables (checked against the engine below).
  for (const kind of ['disk', 'nic', 'cdrom'] as const) expect(typeof mayChangeDevice(summary, 'add', { kind, bus: 'virtio-blk' }).ok).toBe('boolean');
}

async function summaryOf(vm: string): Promise<VmSummary> {
  return (await call(service, 'getVm', { vm })).summary;
}

/** A small VM with an empty CD drive and an SSH forward: SeaBIOS finds nothing to boot and idles (and ignores the power button). */
async function makeVm(name: string, port: number): Promise<string> {
  const vm = await call(service, 'createVm', { name, memoryMiB: 64, cpus: 1, diskGiB: 0, portForwards: [{ hostPort: port, guestPort: 22 }] });
  return vm.id;
}

describe('every state, every action: the window, the hangar command and the engine agree', () => {
  it.each([
    ['stopped', async (vm: string) => vm],
    [
      'running',
      async (vm: string) => {
        await call(service, 'startVm', { vm });
        return vm;
      },
    ],
    [
      'paused',
      async (vm: string) => {
        await call(service, 'startVm', { vm });
        await call(service, 'pauseVm', { vm });
        return vm;
      },
    ],
    [
      'saved',
      async (vm: string) => {
        await call(service, 'startVm', { vm });
        await call(service, 'saveVm', { vm });
        return vm;
      },
    ],
    [
      'crashed',
      async (vm: string) => {
        await call(service, 'startVm', { vm });
        for (const pid of qemuPidsFor(vm)) process.kill(pid, 'SIGKILL');
        await waitForVm(service, vm, (state) => state === 'crashed', 30_000);
        return vm;
      },
    ],
    [
      'shutting-down',
      async (vm: string) => {
        await call(service, 'startVm', { vm });
        // SeaBIOS with nothing to boot ignores the power button: the VM stays shutting down.
        await call(service, 'stopVm', { vm, force: false, waitSeconds: 0 });
        await waitForVm(service, vm, (state) => state === 'shutting-down', 30_000);
        return vm;
      },
    ],
    [
      'orphaned',
      async (vm: string) => {
        await call(service, 'startVm', { vm });
        const holderPid = Number((await fs.readFile(path.join(sandbox.env.HANGAR_RUNTIME_DIR as string, vm, 'holder.pid'), 'utf8')).trim());
        process.kill(holderPid, 'SIGKILL');
        await expect.poll(async () => (await summaryOf(vm)).orphaned, { timeout: 30_000 }).toBe(true);
        return vm;
      },
    ],
    [
      'broken',
      async (vm: string) => {
        await fs.writeFile(path.join(sandbox.env.HANGAR_HOME as string, 'vms', vm, 'vm.json'), '{ "schema": 3, "cut short');
        await expect.poll(async () => (await summaryOf(vm)).broken).not.toBeNull();
        return vm;
      },
    ],
  ] as const)('%s', async (state, setUp) => {
    const vm = await setUp(await makeVm(`Rules ${state}`, 41000 + Math.floor(Math.random() * 1000)));
    try {
      const summary = await summaryOf(vm);
      expect(state === 'orphaned' ? summary.orphaned : state === 'broken' ? summary.broken !== null : summary.state === state).toBe(true);
      checkWindow(summary);
      const refused = await checkRefusals(vm, summary);
      // Every state refuses something; the ones that only watch are allowed their views.
      expect(refused.length).toBeGreaterThan(0);
      if (mayI('openScreen', summary).ok) expect((await call(service, 'openScreen', { vm })).socketPath).toMatch(/vnc\.sock$/);
      if (mayI('rename', summary).ok) {
        await call(service, 'updateVm', { vm, changes: { name: `Rules ${state} again` } });
        await call(service, 'updateVm', { vm, changes: { name: `Rules ${state}` } });
      }
      // The rule for device changes, asked of the engine: a disk while it runs takes only virtio.
      const sata = mayChangeDevice(summary, 'add', { kind: 'disk', bus: 'sata' });
      const added = await call(service, 'addDevice', { vm, device: { kind: 'disk', sizeGiB: 1, bus: 'sata' } }).then(
        () => null,
        (error: unknown) => error as HangarError,
      );
      if (sata.ok) expect(added).toBeNull();
      else expect(added?.message).toBe(sata.ok ? '' : sata.reason);
    } finally {
      await call(service, 'stopVm', { vm, force: true }).catch(() => {});
    }
  }, 180_000);
});
