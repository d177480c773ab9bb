import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDesktopApp, type Electron } from '../../src-main/electron/app';
import { carryOutQuitChoice, liveVms } from '../../src-main/desktop/quit';
import { call, followConsole, makeSandbox, qemuPidsFor, type Sandbox } from '../support/engine';
import { fakeElectronMain } from '../support/fake-electron';
import { ensureTestIso } from '../support/test-iso';

// Quitting the desktop app while a real VM runs (real engine and QEMU; Electron's API is
// the named stand-in): the question, keeping it running in the background, the remembered
// choice, and shutting down or saving through the same API.

let sandbox: Sandbox;
let iso: string;
let settingsPath: string;

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-quit-');
  settingsPath = path.join(sandbox.root, 'config', 'desktop.json');
  const service = sandbox.service();
  await call(service, 'createVm', { name: 'Quit Guest', iso, memoryMiB: 256, cpus: 1, diskGiB: 0 });
  await call(service, 'startVm', { vm: 'quit-guest' });
});
afterAll(async () => {
  await sandbox.cleanup();
});

async function quitDesktop(answers: { response: number; checkboxChecked: boolean }[]) {
  const fake = fakeElectronMain();
  fake.answers.messageBoxes.push(...answers);
  const desktop = startDesktopApp(fake.module as unknown as Electron, { service: sandbox.service(), rendererUrl: 'file:///app/index.html', preloadPath: '/p.cjs', settingsPath, argv: ['hangar-desktop'], cwd: '/' });
  await desktop.ready;
  fake.app.quit();
  await expect.poll(() => fake.app.quitCalls, { timeout: 30_000 }).toBe(2);
  return fake;
}

describe('quitting with a VM running', () => {
  it('asks, and "keep running" (remembered) leaves the VM running for the next Hangar', async () => {
    const fake = await quitDesktop([{ response: 0, checkboxChecked: true }]);
    expect(fake.dialogs).toHaveLength(1);
    expect(fake.dialogs[0]?.options).toMatchObject({ message: 'Quit Guest is still running.', buttons: ['Keep Running in the Background', 'Save and Quit', 'Shut Down and Quit', 'Cancel'], checkboxLabel: 'Remember my choice' });
    expect(qemuPidsFor('quit-guest')).toHaveLength(1);
    expect(JSON.parse(await readFile(settingsPath, 'utf8'))).toMatchObject({ quitChoice: 'keep' });
    // The next Hangar finds it running, and with the choice remembered quits without asking.
    expect((await liveVms(sandbox.service().api)).map((vm) => vm.id)).toEqual(['quit-guest']);
    const again = await quitDesktop([]);
    expect(again.dialogs).toEqual([]);
    expect(qemuPidsFor('quit-guest')).toHaveLength(1);
  }, 60_000);

  it('cancel keeps the app open', async () => {
    const fake = fakeElectronMain();
    await import('node:fs/promises').then((fs) => fs.rm(settingsPath, { force: true }));
    fake.answers.messageBoxes.push({ response: 3, checkboxChecked: false });
    const desktop = startDesktopApp(fake.module as unknown as Electron, { service: sandbox.service(), rendererUrl: 'file:///app/index.html', preloadPath: '/p.cjs', settingsPath, argv: ['hangar-desktop'], cwd: '/' });
    await desktop.ready;
    fake.app.quit();
    await expect.poll(() => fake.dialogs.length, { timeout: 30_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.app.quitCalls).toBe(1);
  });

  it('"save" stops the VM with its state kept, and "shut down" powers a booted guest off', async () => {
    const service = sandbox.service();
    const console = await followConsole(service, 'quit-guest');
    await console.waitFor(/HANGAR-TEST-GUEST-READY/, 90_000);
    console.stop();
    const saved = await carryOutQuitChoice(service.api, 'save', await liveVms(service.api));
    expect(saved.failures).toEqual([]);
    expect((await call(service, 'getVm', { vm: 'quit-guest' })).summary.state).toBe('saved');
    expect(qemuPidsFor('quit-guest')).toEqual([]);

    await call(service, 'startVm', { vm: 'quit-guest' });
    const shutDown = await carryOutQuitChoice(service.api, 'shutdown', await liveVms(service.api));
    expect(shutDown.failures).toEqual([]);
    expect((await call(service, 'getVm', { vm: 'quit-guest' })).summary.state).toBe('stopped');
    expect(qemuPidsFor('quit-guest')).toEqual([]);
  }, 240_000);
});
