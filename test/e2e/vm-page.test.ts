import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, numberProblem } from '../../src-shared/limits';
import { launchChromium, openAppPage, type ChromiumSession } from '../support/chromium';
import { testResultsDir } from '../support/paths';
import { decodePng } from '../support/png';
import { TEST_GUEST_READY, ensureTestIso } from '../support/test-iso';
import { runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// The VM page and the library telling the truth, in Chromium against the real web host,
// engine, QEMU and node-pty (issue 8): Settings of a default VM save and wrong values are
// refused in words; long names leave the state badge visible; underscores show in the
// serial console and the terminal; the Screen tab warns that a software-emulated boot is
// slow; a shutdown the guest ignores keeps the console, then explains itself in the library
// row with a Force off; Save state and Resume keep the console; after a stop the console
// shows what the serial port printed.

let host: WebHostProcess;
let browser: ChromiumSession;
let page: Page;
let consoleErrors: string[] = [];

const hangar = (...args: string[]): string => runHangar(host, ...args);
// Names of the longest kind a VM may have (100 characters): one without spaces, which
// cannot wrap, and one with spaces, which wraps when nothing stops it.
const LONG_WORD = `Build${'server'.repeat(15)}XXXXX`;
const LONG_WORDS = `Debian 12 bookworm workstation for the accounting department on the third floor ${'x'.repeat(19)}`;

beforeAll(async () => {
  const iso = await ensureTestIso();
  host = await startWebHostProcess();
  // A VM with every setting left at its default (2048 MiB, 2 CPUs): the case.
  hangar('create', '--name', 'Default Guest', '--iso', iso);
  hangar('create', '--name', 'Console Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0');
  for (const name of [LONG_WORD, LONG_WORDS]) hangar('create', '--name', name, '--disk', '0');
  browser = await launchChromium();
  ({ page, consoleErrors } = await openAppPage(browser, host.url));
});

afterAll(async () => {
  await tearDownE2e(host, browser, ['console-guest']);
});

async function shot(name: string): Promise<void> {
  mkdirSync(testResultsDir, { recursive: true });
  await page.screenshot({ path: path.join(testResultsDir, `${name}.png`), fullPage: true });
}

async function showLibrary(): Promise<void> {
  await page.getByRole('button', { name: 'Library' }).click();
  await page.locator('.vm-row').first().waitFor({ timeout: 30_000 });
}

async function openVm(name: string): Promise<void> {
  await showLibrary();
  await page.getByRole('button', { name: `Open ${name}`, exact: true }).click({ timeout: 30_000 });
  await page.locator('#vm-title').waitFor();
}

const idOf = (name: string): string => {
  const vm = (JSON.parse(hangar('list', '--json')) as { id: string; name: string }[]).find((candidate) => candidate.name === name);
  if (!vm) throw new Error(`No VM named ${name}`);
  return vm.id;
};

type Box = { x: number; y: number; width: number; height: number };

async function box(locator: Locator): Promise<Box> {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${String(locator)} is not shown`);
  return found;
}

const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The little of the DOM that seenAtItsCentre uses (this file is type-checked for Node, without the DOM). */
interface PageElement {
  getBoundingClientRect(): Box;
  contains(other: unknown): boolean;
  ownerDocument: { elementFromPoint(x: number, y: number): unknown };
}

/** Whether the element is what a person sees at its own centre: in the viewport, and nothing drawn over it. */
async function seenAtItsCentre(locator: Locator): Promise<boolean> {
  return locator.evaluate((element: PageElement) => {
    const rect = element.getBoundingClientRect();
    const top = element.ownerDocument.elementFromPoint(rect.x + rect.width / 2, rect.y + rect.height / 2);
    return top !== null && (top === element || element.contains(top));
  });
}

/**
 * How many bright pixels the terminal draws in its first row whose text matches `pattern`
 * (xterm's DOM renderer: one element per row). A row of underscores clipped away by a line
 * too short for the font has none.
 */
async function inkInRow(terminal: Locator, pattern: RegExp): Promise<number> {
  const rows = terminal.locator('.xterm-rows > div');
  const texts = await rows.allTextContents();
  const index = texts.findIndex((text) => pattern.test(text));
  if (index < 0) throw new Error(`No row matches ${pattern}: ${JSON.stringify(texts.filter(Boolean))}`);
  const png = decodePng(await page.screenshot({ clip: await box(rows.nth(index)) }));
  let bright = 0;
  for (let offset = 0; offset + 2 < png.pixels.length; offset += png.channels) {
    if ((png.pixels[offset] as number) + (png.pixels[offset + 1] as number) + (png.pixels[offset + 2] as number) > 384) bright++;
  }
  return bright;
}

const UNDERSCORES = '_'.repeat(32);

describe('long names', () => {
  it('leave the state badge whole and visible in the library rows', async () => {
    // This machine runs VMs with TCG, so the first start opens the Host screen: go to the library.
    await showLibrary();
    for (const name of [LONG_WORD, LONG_WORDS]) {
      const row = page.locator(`[data-vm-id="${idOf(name)}"]`);
      const [rowBox, nameBox, badgeBox] = [await box(row), await box(row.locator('.vm-row-name')), await box(row.locator('.vm-state'))];
      expect(await row.locator('.vm-state').innerText()).toBe('Stopped');
      expect(overlaps(nameBox, badgeBox), `the name runs over the badge: ${JSON.stringify({ nameBox, badgeBox })}`).toBe(false);
      expect(nameBox.y + nameBox.height, 'the name spills out of its row').toBeLessThanOrEqual(rowBox.y + rowBox.height);
      expect(badgeBox.x + badgeBox.width).toBeLessThanOrEqual(rowBox.x + rowBox.width);
      expect(await seenAtItsCentre(row.locator('.vm-state'))).toBe(true);
    }
    await shot('vm-page-long-names-library');
  });

  it('leave the state badge visible beside the title on the VM page', async () => {
    for (const name of [LONG_WORD, LONG_WORDS]) {
      await openVm(name);
      const title = page.locator('#vm-title');
      const badge = page.locator('.vm-screen .screen-header .vm-state');
      const [titleBox, badgeBox, mainBox] = [await box(title), await box(badge), await box(page.locator('main'))];
      expect(overlaps(titleBox, badgeBox)).toBe(false);
      expect(badgeBox.x + badgeBox.width, 'the badge is pushed out of the page').toBeLessThanOrEqual(mainBox.x + mainBox.width);
      expect(await seenAtItsCentre(badge)).toBe(true);
      // The whole name is still there for whoever hovers or reads it aloud.
      expect(await title.getAttribute('title')).toBe(name);
    }
    await shot('vm-page-long-name-header');
  });
});

describe('the Settings tab', () => {
  type Config = { machine: { cpus: number; memoryMiB: number }; name: string; devices: { disks: { id: string; bus: string }[]; cdroms: { id: string }[]; nics: { id: string; portForwards: { hostPort: number; guestPort: number }[] }[] } };
  const info = (): Config => (JSON.parse(hangar('info', 'default-guest', '--json')) as { summary: { config: Config } }).summary.config;
  const save = (): Locator => page.getByRole('button', { name: 'Save machine settings' });
  const machine = (): Locator => page.getByRole('form', { name: 'Machine' });
  /** The words beside a field: what its aria-describedby points at. */
  const noteOf = async (field: Locator): Promise<string> => {
    const id = await field.getAttribute('aria-describedby');
    return id ? page.locator(`[id="${id}"]`).innerText().catch(() => '') : '';
  };

  it('saves a default VM (2048 MiB), and any memory the engine takes', async () => {
    await openVm('Default Guest');
    await page.getByRole('tab', { name: 'Settings' }).click();
    expect(await machine().getByLabel('Memory (MiB)').inputValue()).toBe('2048');
    await machine().getByLabel('CPUs').fill('1');
    await save().click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor({ timeout: 10_000 });
    expect(info().machine).toMatchObject({ cpus: 1, memoryMiB: 2048 });

    // Neither a multiple of 256 nor of 64: the engine takes it, so the field must too.
    await machine().getByLabel('Memory (MiB)').fill('1000');
    await save().click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor({ timeout: 10_000 });
    expect(info().machine).toMatchObject({ cpus: 1, memoryMiB: 1000 });
  });

  it('says what is wrong with each value as it is typed, in the engine’s words, and keeps Save disabled', async () => {
    await openVm('Default Guest');
    await page.getByRole('tab', { name: 'Settings' }).click();
    const threads = os.cpus().length;
    const cases: { field: string; value: string; says: string }[] = [
      { field: 'Memory (MiB)', value: '', says: numberProblem('memoryMiB', NaN) ?? '' },
      { field: 'Memory (MiB)', value: '0', says: numberProblem('memoryMiB', 0) ?? '' },
      { field: 'Memory (MiB)', value: '-5', says: numberProblem('memoryMiB', -5) ?? '' },
      { field: 'Memory (MiB)', value: '1000.5', says: numberProblem('memoryMiB', 1000.5) ?? '' },
      { field: 'Memory (MiB)', value: String(LIMITS.memoryMiB.max + 1), says: numberProblem('memoryMiB', LIMITS.memoryMiB.max + 1) ?? '' },
      { field: 'Memory (MiB)', value: String(Math.ceil(os.totalmem() / 1024 ** 2) + 1024), says: 'more memory than this machine has' },
      { field: 'CPUs', value: '0', says: numberProblem('cpus', 0) ?? '' },
      { field: 'CPUs', value: '1.5', says: numberProblem('cpus', 1.5) ?? '' },
      { field: 'CPUs', value: String(threads + 1), says: `This machine has ${threads} CPU threads` },
      { field: 'Name', value: '   ', says: 'Give the VM a name.' },
    ];
    const good: Record<string, string> = { 'Memory (MiB)': '1000', CPUs: '1', Name: 'Default Guest' };
    for (const { field, value, says } of cases) {
      const input = machine().getByLabel(field, { exact: true });
      await input.fill(value);
      await expect.poll(() => noteOf(input), { message: `${field} = "${value}"`, timeout: 5_000 }).toContain(says);
      expect(await input.getAttribute('aria-invalid'), field).toBe('true');
      expect(await save().isDisabled(), `Save with ${field} = "${value}"`).toBe(true);
      if (value === '0' && field === 'CPUs') await shot('vm-page-settings-wrong-cpus');
      await input.fill(good[field] ?? '');
      await expect.poll(() => input.getAttribute('aria-invalid')).toBe('false');
    }
    await page.getByRole('button', { name: 'Undo changes' }).click();
    expect(info()).toMatchObject({ machine: { cpus: 1, memoryMiB: 1000 }, name: 'Default Guest' });
  });

  it("edits the VM's devices: a disk added, grown, moved to SATA and removed; port forwards per NIC; a CD drive added and removed", async () => {
    await openVm('Default Guest');
    await page.getByRole('tab', { name: 'Settings' }).click();
    const disks = page.getByRole('region', { name: 'Disks' });
    await disks.getByRole('button', { name: 'Add a disk…' }).click();
    const adding = page.getByRole('form', { name: 'Add a disk' });
    await adding.getByLabel('Size (GiB)').fill('0.5');
    await expect.poll(() => adding.getByText(numberProblem('diskGiB', 0.5) ?? '').count()).toBe(1);
    expect(await adding.getByRole('button', { name: 'Add the disk' }).isDisabled()).toBe(true);
    await adding.getByLabel('Size (GiB)').fill('2');
    await adding.getByRole('button', { name: 'Add the disk' }).click();
    await expect.poll(() => info().devices.disks.map((disk) => disk.id)).toEqual(['disk0', 'disk1']);

    const disk1 = disks.locator('[data-device="disk1"]');
    await disk1.getByRole('button', { name: 'Grow…' }).click();
    const size = disk1.getByLabel('New size of disk1 (GiB)');
    await size.fill('1');
    await expect.poll(() => disk1.getByText('Hangar only makes disks larger').count()).toBe(1);
    await size.fill('3');
    await disk1.getByRole('button', { name: 'Grow', exact: true }).click();
    await expect.poll(() => disk1.locator('.device-facts').innerText()).toContain('3.0 GiB');
    await disk1.getByLabel('Bus').selectOption('sata');
    await expect.poll(() => info().devices.disks.find((disk) => disk.id === 'disk1')?.bus).toBe('sata');
    await shot('vm-page-settings-devices');
    await disk1.getByRole('button', { name: 'Remove…' }).click();
    await page.getByRole('alertdialog', { name: 'Remove disk disk1?' }).getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => info().devices.disks.map((disk) => disk.id)).toEqual(['disk0']);
    await expect.poll(() => disks.getByRole('status').innerText().catch(() => '')).toMatch(/Kept in .*kept-disks\/default-guest\/disk-1\.qcow2/);

    // Port forwards of a NIC: judged as typed, a clash refused, the rest saved together.
    const nic0 = page.getByRole('region', { name: 'Network cards' }).locator('[data-device="nic0"]');
    const forwards = nic0.getByRole('form', { name: 'Port forwards of nic0' });
    await forwards.getByRole('button', { name: 'Add a forward' }).click();
    await forwards.getByLabel('Port on this machine').last().fill('70000');
    await forwards.getByLabel('Port in the VM').last().fill('22');
    await expect.poll(() => forwards.getByRole('alert').innerText()).toBe(numberProblem('hostPort', 70000));
    expect(await forwards.getByRole('button', { name: 'Save forwards' }).isDisabled()).toBe(true);
    await forwards.getByLabel('Port on this machine').last().fill('42022');
    await forwards.getByRole('button', { name: 'Add a forward' }).click();
    await forwards.getByLabel('Port on this machine').last().fill('42022');
    await forwards.getByLabel('Port in the VM').last().fill('80');
    await expect.poll(() => forwards.getByRole('alert').innerText()).toContain('Port 42022 of this machine is forwarded twice');
    await forwards.getByLabel('Port on this machine').last().fill('42080');
    await forwards.getByRole('button', { name: 'Save forwards' }).click();
    await expect.poll(() => info().devices.nics[0]?.portForwards.map((forward) => [forward.hostPort, forward.guestPort])).toEqual([
      [42022, 22],
      [42080, 80],
    ]);

    const cds = page.getByRole('region', { name: 'CD drives' });
    await cds.getByRole('button', { name: 'Add a CD drive' }).click();
    await expect.poll(() => info().devices.cdroms.map((cd) => cd.id)).toEqual(['cd0', 'cd1']);
    await cds.locator('[data-device="cd1"]').getByRole('button', { name: 'Remove…' }).click();
    await page.getByRole('alertdialog', { name: 'Remove CD drive cd1?' }).getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => info().devices.cdroms.map((cd) => cd.id)).toEqual(['cd0']);

    // The delete dialog says where kept disks go, before anything is deleted.
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Delete…' }).click();
    const where = page.getByTestId('kept-disks-where');
    await expect.poll(() => where.innerText()).toMatch(/^They go to \/.*\/kept-disks\/default-guest\/, listed under Storage/);
    await page.getByRole('alertdialog').getByRole('checkbox', { name: 'Keep its disk images' }).uncheck();
    expect(await where.innerText()).toBe('Its disks are deleted with it.');
    await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
  });

  it('offers, while the VM runs, only what the engine takes then, and says why the rest waits', async () => {
    await openVm('Console Guest');
    await page.getByRole('tab', { name: 'Settings' }).click();
    hangar('start', 'console-guest');
    const cpus = page.getByRole('form', { name: 'Machine' }).getByLabel('CPUs');
    await expect.poll(() => cpus.isDisabled(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByRole('form', { name: 'Machine' }).locator('.field-hint').first().innerText()).toBe('"Console Guest" is running. Shut it down to change its settings.');
    // A virtio disk can come while it runs; a SATA one cannot, and the form says so.
    await page.getByRole('region', { name: 'Disks' }).getByRole('button', { name: 'Add a disk…' }).click();
    const adding = page.getByRole('form', { name: 'Add a disk' });
    await adding.getByLabel('Bus').selectOption('sata');
    await expect.poll(() => adding.getByText('cannot be added while it runs').count()).toBe(1);
    expect(await adding.getByRole('button', { name: 'Add the disk' }).isDisabled()).toBe(true);
    await adding.getByRole('button', { name: 'Cancel' }).click();
    hangar('stop', 'console-guest', '--force');
    await expect.poll(() => cpus.isDisabled(), { timeout: 30_000 }).toBe(false);
  });
});

describe('terminals', () => {
  it('the Terminal tab draws underscores', async () => {
    await openVm('Default Guest');
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await page.getByRole('button', { name: 'Host shell' }).click();
    const terminal = page.getByTestId('host-terminal');
    await expect.poll(() => page.locator('.terminal-status').innerText(), { timeout: 20_000 }).toMatch(/on this machine$/);
    await terminal.click();
    await page.keyboard.type(`echo ${UNDERSCORES}\n`);
    await expect.poll(() => terminal.innerText(), { timeout: 20_000 }).toMatch(new RegExp(`^${UNDERSCORES}$`, 'm'));
    await shot('vm-page-terminal-underscores');
    expect(await inkInRow(terminal, new RegExp(`^${UNDERSCORES}\\s*$`))).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Close' }).click();
  });
});

describe('a VM the person runs', () => {
  const consoleGuest = 'console-guest';
  const row = (): Locator => page.locator(`[data-vm-id="${consoleGuest}"]`);

  it('says on the Screen tab that a boot under software emulation can take minutes', async () => {
    await openVm('Console Guest');
    await page.getByRole('tab', { name: 'Screen' }).click();
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Start' }).click();
    await page.locator('.vm-screen .vm-state', { hasText: 'Running' }).waitFor({ timeout: 60_000 });
    const accelerator = (JSON.parse(hangar('info', consoleGuest, '--json')) as { summary: { accelerator: string } }).summary.accelerator;
    // The machines these tests run on have no usable KVM (see ARCHITECTURE.md, the host check).
    expect(accelerator).toBe('tcg');
    await expect.poll(() => page.locator('.screen-pane').innerText(), { timeout: 10_000 }).toMatch(/software emulation.*minutes/s);
    await shot('vm-page-screen-tcg');
  });

  it('the Serial console tab draws underscores', async () => {
    await page.getByRole('tab', { name: 'Serial console' }).click();
    const terminal = page.getByTestId('serial-terminal');
    await expect.poll(() => terminal.innerText(), { timeout: 120_000, interval: 500 }).toContain(TEST_GUEST_READY);
    await terminal.click();
    await page.keyboard.type(`echo ${UNDERSCORES}\n`);
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(new RegExp(`^${UNDERSCORES}\\s*$`, 'm'));
    await shot('vm-page-console-underscores');
    expect(await inkInRow(terminal, new RegExp(`^${UNDERSCORES}\\s*$`))).toBeGreaterThan(20);
  }, 180_000);

  it('Save state keeps the console: saved, it shows what the guest printed and says Resume; resumed, the console goes on from there', async () => {
    const controls = page.getByRole('toolbar', { name: 'VM controls' });
    const terminal = page.getByTestId('serial-terminal');
    await terminal.click();
    await page.keyboard.type('echo saved-at-$((6*7))\n');
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(/^saved-at-42\s*$/m);

    await controls.getByRole('button', { name: 'Save state' }).click();
    const status = page.locator('.console-pane [role="status"]');
    await expect.poll(() => status.innerText(), { timeout: 60_000, interval: 500 }).toBe('Console Guest is saved. Below is what its serial port printed up to the save. Resume it to type into its console.');
    await expect.poll(() => page.getByTestId('serial-log').innerText(), { timeout: 10_000, interval: 500 }).toMatch(/^saved-at-42\s*$/m);
    await shot('vm-page-console-saved');

    await controls.getByRole('button', { name: 'Resume' }).click();
    await terminal.waitFor({ timeout: 30_000 });
    // The text from before the save is there at once, not a blank console.
    await expect.poll(() => terminal.innerText(), { timeout: 10_000, interval: 250 }).toMatch(/^saved-at-42\s*$/m);
    await terminal.click();
    await page.keyboard.type('echo resumed-$((6*7))\n');
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(/^resumed-42\s*$/m);
    await shot('vm-page-console-resumed');
  }, 180_000);

  it('a shutdown from the library that the guest ignores: Shutting down… with Force off and the console meanwhile, then the reason and Force off', async () => {
    // The test guest powers off on the ACPI button through busybox's acpid: without it, the
    // guest ignores the button, as a busy or button-deaf OS does.
    const terminal = page.getByTestId('serial-terminal');
    await terminal.click();
    await page.keyboard.type('killall acpid && echo acpid-$((6*7))-gone\n');
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(/^acpid-42-gone\s*$/m);

    await showLibrary();
    await row().getByRole('button', { name: 'Shut down Console Guest' }).click();
    await expect.poll(() => row().locator('.vm-state').innerText(), { timeout: 20_000 }).toBe('Shutting down…');
    await row().getByRole('button', { name: 'Force off Console Guest' }).waitFor({ timeout: 5_000 });
    await shot('vm-page-library-shutting-down');

    // Meanwhile the VM runs on, and so does its console.
    await openVm('Console Guest');
    expect(await page.locator('.vm-screen .screen-header .vm-state').innerText()).toBe('Shutting down…');
    await page.getByRole('tab', { name: 'Serial console' }).click();
    await terminal.waitFor({ timeout: 10_000 });
    await terminal.click();
    await page.keyboard.type('echo still-$((2*3))-while-shutting-down\n');
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(/^still-6-while-shutting-down\s*$/m);
    await shot('vm-page-console-while-shutting-down');

    // The library waits for the guest as long as it gives any guest (60 s), then says why it is running again.
    await showLibrary();
    const reason = row().getByRole('alert');
    await reason.waitFor({ timeout: 90_000 });
    expect(await reason.innerText()).toContain('did not shut down within 60 s');
    expect(await reason.innerText()).toContain('force it off');
    expect(await row().locator('.vm-state').innerText()).toBe('Running');
    expect(await seenAtItsCentre(reason)).toBe(true);
    await shot('vm-page-library-shutdown-timed-out');
    await row().getByRole('button', { name: 'Force off Console Guest' }).click();
    await expect.poll(() => row().locator('.vm-state').innerText(), { timeout: 30_000 }).toBe('Stopped');
    expect(await row().getByRole('alert').count()).toBe(0);
  }, 240_000);

  it('after a stop, the console shows what the serial port printed, read-only, and says the VM is not running', async () => {
    const state = (JSON.parse(hangar('info', consoleGuest, '--json')) as { summary: { state: string } }).summary.state;
    if (state !== 'stopped') hangar('stop', '--force', consoleGuest);
    await openVm('Console Guest');
    await page.getByRole('tab', { name: 'Serial console' }).click();
    const log = page.getByTestId('serial-log');
    await expect.poll(() => log.innerText(), { timeout: 20_000, interval: 500 }).toContain(TEST_GUEST_READY);
    expect(await log.innerText()).toMatch(/^still-6-while-shutting-down\s*$/m);
    await expect(page.locator('.console-pane [role="status"]').innerText()).resolves.toMatch(/Console Guest is not running/);
    expect(await page.getByTestId('serial-terminal').count()).toBe(0);
    await shot('vm-page-console-after-stop');
    // The same log from a terminal.
    expect(hangar('log', consoleGuest)).toContain(TEST_GUEST_READY);
    expect(consoleErrors.join('\n')).toBe('');
  }, 60_000);
});
