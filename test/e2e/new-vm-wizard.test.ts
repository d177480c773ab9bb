import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openAppPage, type ChromiumSession } from '../support/chromium';
import { hangarBin, testResultsDir } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';
import { runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// A person's first VM, end to end in Chromium against the real web host, engine and QEMU:
// drop the ISO on the window, the wizard shows the detected OS, refuse memory beyond the
// host, create, the VM opens on its screen and starts, the guest answers on its console,
// and it shuts down. Wrong things dropped are refused with nothing created; every wrong
// value typed is refused in words with Next and Create disabled; an ISO whose sending is
// cancelled leaves nothing, one sent twice is kept once; the Storage screen shows and
// removes what Hangar keeps.

let host: WebHostProcess;
let browser: ChromiumSession;
let page: Page;
let iso: string;
let scratch: string;
let consoleErrors: string[] = [];

/**
 * Drops a file on the page with a real drop event. Playwright puts the file into a file
 * input by path (no bytes through the test), then the page builds the DataTransfer that a
 * drag from a file manager carries and dispatches dragenter, dragover and drop.
 */
// Page-side code is kept in strings: this file is type-checked for Node, without the DOM.
const ADD_DROP_SOURCE = `(() => {
  const input = document.createElement('input');
  input.type = 'file';
  input.id = 'e2e-drop-source';
  input.hidden = true;
  document.body.append(input);
})()`;
const DROP_IT = `(() => {
  const input = document.getElementById('e2e-drop-source');
  const dropped = input.files[0];
  input.remove();
  const transfer = new DataTransfer();
  transfer.items.add(dropped);
  const where = document.querySelector('main');
  for (const type of ['dragenter', 'dragover', 'drop']) where.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
})()`;
/** How many different colours a sample of the canvas shows: 1 for a blank screen. */
const CANVAS_COLOURS = `(element) => {
  const context = element.getContext('2d');
  if (!context || element.width === 0 || element.height === 0) return 0;
  const { data } = context.getImageData(0, 0, element.width, element.height);
  const seen = new Set();
  for (let i = 0; i < data.length && seen.size < 50; i += 4 * 97) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size;
}`;

async function dropFile(target: Page, file: string): Promise<void> {
  await target.evaluate(ADD_DROP_SOURCE);
  await target.setInputFiles('#e2e-drop-source', file);
  await target.evaluate(DROP_IT);
}

async function shot(name: string): Promise<void> {
  mkdirSync(testResultsDir, { recursive: true });
  await page.screenshot({ path: path.join(testResultsDir, `${name}.png`), fullPage: true });
}

/** Where the web host keeps ISOs sent from the page. */
const isoDir = (): string => path.join(host.home, '.local', 'share', 'hangar', 'isos');
/** Everything in isos/ a person would see, and the partial uploads (hidden .upload-*.part). */
const isoDirFiles = (): string[] => (existsSync(isoDir()) ? readdirSync(isoDir()).filter((name) => name !== '.index.json').sort() : []);
const partialUploads = (): string[] => isoDirFiles().filter((name) => name.endsWith('.part'));
const stored = (): string[] => isoDirFiles().filter((name) => !name.startsWith('.'));
const wizardDialog = (): ReturnType<Page['getByRole']> => page.getByRole('dialog', { name: 'New virtual machine' });

function listedVms(): string[] {
  const listed = spawnSync(process.execPath, [hangarBin, 'list', '--json'], { env: host.env, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(listed.stderr);
  return (JSON.parse(listed.stdout) as { name: string }[]).map((vm) => vm.name);
}

beforeAll(async () => {
  iso = await ensureTestIso();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'hangar-e2e-drops-'));
  host = await startWebHostProcess();
  browser = await launchChromium();
  ({ page, consoleErrors } = await openAppPage(browser, host.url));
  // This machine runs VMs with TCG, so the first start opens the Host screen: go to the library.
  await page.getByRole('button', { name: 'Library' }).click();
  await page.getByText('No virtual machines yet').waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await tearDownE2e(host, browser, ['wizard-guest', 'judged']);
  rmSync(scratch, { recursive: true, force: true });
});

describe('dropping something that is not an ISO', () => {
  it('a text file gets a clear message, and nothing is created or sent', async () => {
    const notes = path.join(scratch, 'notes.txt');
    writeFileSync(notes, 'shopping list\n'.repeat(5000));
    await dropFile(page, notes);
    const banner = page.locator('.drop-error');
    await banner.waitFor({ timeout: 10_000 });
    await expect(banner.innerText()).resolves.toContain('“notes.txt” is not an ISO image');
    await expect(page.getByRole('dialog', { name: 'New virtual machine' }).count()).resolves.toBe(0);
    await shot('wizard-drop-text-file');
    expect(listedVms()).toEqual([]);
    // The browser refused it before any upload: the library holds no ISO either.
    const isos = path.join(host.home, '.local', 'share', 'hangar', 'isos');
    expect(existsSync(isos) ? readdirSync(isos) : []).toEqual([]);
    await banner.getByRole('button', { name: 'Dismiss' }).click();
  });

  it('a file named .iso that is not one is refused the same way', async () => {
    const fake = path.join(scratch, 'fake.iso');
    writeFileSync(fake, Buffer.alloc(64 * 1024, 0x41));
    await dropFile(page, fake);
    await expect(page.locator('.drop-error').innerText()).resolves.toContain('“fake.iso” is not an ISO image');
    await page.locator('.drop-error').getByRole('button', { name: 'Dismiss' }).click();
    expect(listedVms()).toEqual([]);
  });
});

describe('a first VM from a dropped ISO', () => {
  it('detects the OS, bounds memory by the host, creates, boots to the console and the screen, and shuts down', async () => {
    await dropFile(page, iso);
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.waitFor({ timeout: 10_000 });
    // The ISO travels to the web host, which reads it: the test ISO is a GRUB image with a Linux kernel.
    const detected = wizard.getByTestId('detected-os');
    await detected.waitFor({ timeout: 60_000 });
    await expect(detected.innerText()).resolves.toContain('Other Linux');
    await expect(detected.innerText()).resolves.toContain('boots with BIOS and UEFI');
    await shot('wizard-1-media');
    await wizard.getByRole('button', { name: 'Next' }).click();

    // Step 2: a Linux without a name of its own is named after its volume id; memory beyond
    // the host is refused before anything is made.
    await expect(wizard.getByLabel('Name').inputValue()).resolves.toBe('HANGAR_TEST');
    await wizard.getByLabel('Name').fill('Wizard Guest');
    await wizard.getByLabel('Memory (MiB)').fill(String(4 * 1024 * 1024));
    await expect(wizard.getByRole('alert').filter({ hasText: 'more memory than this machine has' }).count()).resolves.toBe(1);
    await expect(wizard.getByRole('button', { name: 'Next' }).isDisabled()).resolves.toBe(true);
    await shot('wizard-2-memory-beyond-host');
    await wizard.getByLabel('Memory (MiB)').fill('256');
    await wizard.getByLabel('CPUs').fill('1');
    await wizard.getByLabel('Disk size (GiB)').fill('1');
    await wizard.getByRole('button', { name: 'Next' }).click();

    // Step 3: virtio disk and NIC by default, as the issue asks.
    await expect(wizard.getByLabel('Disk bus').inputValue()).resolves.toBe('virtio-blk');
    await expect(wizard.getByLabel('Network card').inputValue()).resolves.toBe('virtio-net');
    await wizard.getByRole('button', { name: 'Next' }).click();

    // Step 4: the exact QEMU command line, from the engine.
    const command = wizard.getByTestId('qemu-command');
    await command.waitFor({ timeout: 30_000 });
    const commandText = await command.innerText();
    expect(commandText).toMatch(/^\S*qemu-system-x86_64 /);
    expect(commandText).toContain('virtio-blk-pci');
    expect(commandText).toContain('256M');
    expect(commandText).toContain(path.join(host.home, '.local', 'share', 'hangar', 'isos', path.basename(iso)));
    await shot('wizard-4-review');
    await wizard.getByRole('button', { name: 'Create and start' }).click();

    // The VM opens on its screen (most installers never write to a serial port) and starts.
    await page.locator('#vm-title', { hasText: 'Wizard Guest' }).waitFor({ timeout: 60_000 });
    await expect(page.getByRole('tab', { name: 'Screen' }).getAttribute('aria-selected')).resolves.toBe('true');
    await page.locator('.vm-screen .vm-state', { hasText: 'Running' }).waitFor({ timeout: 60_000 });
    expect(listedVms()).toEqual(['Wizard Guest']);
    await page.getByRole('tab', { name: 'Console' }).click();
    const terminal = page.getByTestId('serial-terminal');
    await expect.poll(() => terminal.innerText(), { timeout: 90_000, interval: 500 }).toContain('HANGAR-TEST-GUEST-READY');
    await terminal.click();
    await page.keyboard.type('uname -a\n');
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(/Linux \S+ \d+\.\d+\.\d+.*x86_64/);
    await shot('wizard-5-console');

    // The screen: noVNC through the bridge shows the guest's text console, not a blank canvas.
    await page.getByRole('tab', { name: 'Screen' }).click();
    const canvas = page.locator('#vm-pane canvas').first();
    await canvas.waitFor({ timeout: 30_000 });
    await expect
      .poll(
        () => page.evaluate<number>(`(${CANVAS_COLOURS})(document.querySelector('#vm-pane canvas'))`),
        { timeout: 60_000, interval: 1000 },
      )
      .toBeGreaterThan(1);
    await shot('wizard-6-screen');

    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Shut down' }).click();
    await page.locator('.vm-screen .vm-state', { hasText: 'Stopped' }).waitFor({ timeout: 90_000 });
    expect(consoleErrors.join('\n')).toBe('');
  }, 420_000);
});

/** Types into a field of the open wizard (an empty string clears it). */
async function typeInto(label: string, value: string): Promise<void> {
  const field = wizardDialog().getByLabel(label, { exact: true });
  await field.fill(value);
}

async function nextDisabled(): Promise<boolean> {
  return wizardDialog().getByRole('button', { name: 'Next' }).isDisabled();
}

/** The words the wizard shows for the field, as a person reads them under it. */
async function fieldSays(label: string): Promise<string> {
  const describedBy = await wizardDialog().getByLabel(label, { exact: true }).getAttribute('aria-describedby');
  if (!describedBy) return '';
  return page.locator(`[id="${describedBy}"]`).innerText();
}

describe('the wizard cannot be fooled', () => {
  it('refuses every kind of wrong value as it is typed, in words, with Next and Create disabled', async () => {
    runHangar(host, 'create', '--name', 'Taken', '--memory', '256M', '--cpus', '1', '--disk', '0');
    await page.getByRole('button', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'New VM…' }).click();
    const wizard = wizardDialog();
    await wizard.getByLabel('Empty (no install media)').check();
    await wizard.getByRole('button', { name: 'Next' }).click();

    // What the wizard proposes is taken as it is: a name, and no warning against its own proposal.
    await expect(wizard.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('New VM');
    await expect(wizard.locator('.warning-banner').count()).resolves.toBe(0);
    await expect(nextDisabled()).resolves.toBe(false);

    const threads = Number(await wizard.getByLabel('CPUs', { exact: true }).getAttribute('max'));
    const wrong: { label: string; value: string; says: string | RegExp }[] = [
      { label: 'Name', value: '', says: 'Give the VM a name.' },
      { label: 'CPUs', value: '0', says: 'The CPUs must be at least 1.' },
      { label: 'CPUs', value: '-5', says: 'The CPUs must be at least 1.' },
      { label: 'CPUs', value: '1.5', says: 'The CPUs must be a whole number (from 1 to 256), not 1.5.' },
      { label: 'CPUs', value: '', says: 'Give the CPUs as a number from 1 to 256.' },
      { label: 'CPUs', value: String(threads + 1), says: `This machine has ${threads} CPU threads; give the VM at most ${threads}.` },
      { label: 'Memory (MiB)', value: '0', says: 'The memory must be at least 64 MiB.' },
      { label: 'Memory (MiB)', value: '-5', says: 'The memory must be at least 64 MiB.' },
      { label: 'Memory (MiB)', value: '1.5', says: 'The memory must be a whole number (from 64 MiB to 4194304 MiB), not 1.5.' },
      { label: 'Memory (MiB)', value: '', says: 'Give the memory as a number from 64 MiB to 4194304 MiB.' },
      { label: 'Memory (MiB)', value: String(4 * 1024 * 1024), says: /is more memory than this machine has/ },
      { label: 'Disk size (GiB)', value: '0.5', says: 'The disk size must be a whole number (from 1 GiB to 65536 GiB), not 0.5.' },
      { label: 'Disk size (GiB)', value: '-5', says: 'The disk size must be at least 1 GiB.' },
      { label: 'Disk size (GiB)', value: '', says: 'Give the disk size as a number from 1 GiB to 65536 GiB.' },
      { label: 'Disk size (GiB)', value: '65536', says: /^A 64 TiB disk does not fit where VMs are stored/ },
    ];
    const good: Record<string, string> = { Name: 'Judged', CPUs: '1', 'Memory (MiB)': '256', 'Disk size (GiB)': '1' };
    for (const { label, value, says } of wrong) {
      await typeInto(label, value);
      const words = await fieldSays(label);
      if (typeof says === 'string') expect(words, `${label} = "${value}"`).toBe(says);
      else expect(words, `${label} = "${value}"`).toMatch(says);
      await expect(wizard.getByRole('alert').filter({ hasText: words }).count()).resolves.toBeGreaterThan(0);
      expect(await nextDisabled(), `Next with ${label} = "${value}"`).toBe(true);
      if (label === 'CPUs' && value === '1.5') await shot('wizard-2-cpus-fraction');
      await typeInto(label, good[label] ?? '');
      expect(await nextDisabled(), `Next once ${label} is ${good[label]}`).toBe(false);
    }

    // 0 GiB is a choice, said as one: no disk.
    await typeInto('Disk size (GiB)', '0');
    await expect(fieldSays('Disk size (GiB)')).resolves.toMatch(/^No disk:/);
    await expect(nextDisabled()).resolves.toBe(false);

    // A name the engine refuses (taken) reaches Review, which says why and keeps Create disabled.
    await typeInto('Name', 'taken');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('alert').filter({ hasText: 'There is already a VM called "Taken". Choose another name.' }).waitFor({ timeout: 30_000 });
    await expect(wizard.getByRole('button', { name: 'Create and start' }).isDisabled()).resolves.toBe(true);
    await expect(wizard.innerText()).resolves.not.toMatch(/not valid|✖|→ at/);
    await shot('wizard-4-name-taken');
    await wizard.getByRole('button', { name: 'Back' }).click();
    await wizard.getByRole('button', { name: 'Back' }).click();
    await typeInto('Name', 'Judged');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByTestId('qemu-command').waitFor({ timeout: 30_000 });
    await expect(wizard.getByRole('button', { name: 'Create and start' }).isDisabled()).resolves.toBe(false);
    await expect(wizard.locator('.review').innerText()).resolves.toContain('No disk');
    await shot('wizard-4-no-disk');
  }, 120_000);

  it('keeps the focus inside while it is open, and asks before Escape throws away what was typed', async () => {
    const wizard = wizardDialog();
    const focusInside = `document.querySelector('[role="dialog"]').contains(document.activeElement)`;
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press(i % 5 === 4 ? 'Shift+Tab' : 'Tab');
      expect(await page.evaluate<boolean>(focusInside), `after ${i + 1} presses of Tab`).toBe(true);
    }
    await page.keyboard.press('Escape');
    const confirm = wizard.getByRole('alertdialog', { name: 'Discard this new VM?' });
    await confirm.waitFor({ timeout: 5000 });
    await shot('wizard-escape-asks');
    await confirm.getByRole('button', { name: 'Keep editing' }).click();
    await expect(wizard.getByTestId('qemu-command').count()).resolves.toBe(1);
    await page.keyboard.press('Escape');
    await wizard.getByRole('alertdialog', { name: 'Discard this new VM?' }).getByRole('button', { name: 'Discard' }).click();
    await expect(wizardDialog().count()).resolves.toBe(0);
    expect(listedVms()).not.toContain('Judged');
  });
});

describe('sending an ISO to the web host', () => {
  let bigIso: string;

  beforeAll(async () => {
    // A big ISO that costs no disk: the test ISO made sparse to 640 MiB.
    bigIso = path.join(scratch, 'big-installer.iso');
    copyFileSync(iso, bigIso);
    truncateSync(bigIso, 640 * 1024 * 1024);
    // Slow the page's uploads down (as a slow disk or network would) so a person has time to cancel.
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 16 * 1024 * 1024 });
  });

  async function dropAndWaitHalfWay(): Promise<void> {
    await dropFile(page, bigIso);
    const sending = wizardDialog().getByRole('progressbar', { name: 'Sending big-installer.iso' });
    await sending.waitFor({ timeout: 10_000 });
    await expect.poll(() => partialUploads().length, { timeout: 20_000 }).toBe(1);
    await expect.poll(async () => Number(await sending.getAttribute('value')), { timeout: 60_000, interval: 200 }).toBeGreaterThan(0.05);
  }

  it('Cancel during the sending stops it and keeps nothing', async () => {
    const before = stored();
    await dropAndWaitHalfWay();
    await shot('wizard-1-sending');
    await wizardDialog().getByRole('button', { name: 'Cancel' }).click();
    await expect(wizardDialog().count()).resolves.toBe(0);
    await expect.poll(() => partialUploads(), { timeout: 15_000 }).toEqual([]);
    expect(stored()).toEqual(before);
  });

  it('Stop sending keeps the wizard open and nothing on disk', async () => {
    const before = stored();
    await dropAndWaitHalfWay();
    await wizardDialog().getByRole('button', { name: 'Stop sending' }).click();
    await expect(wizardDialog().getByText('Sending “big-installer.iso” was stopped; nothing was kept.').count()).resolves.toBe(1);
    await expect.poll(() => partialUploads(), { timeout: 15_000 }).toEqual([]);
    expect(stored()).toEqual(before);
    await wizardDialog().getByRole('button', { name: 'Cancel' }).click();
  });

  it('the same ISO dropped twice is kept once', async () => {
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const copies = (): string[] => stored().filter((name) => readFileSync(path.join(isoDir(), name)).equals(readFileSync(iso)));
    for (let drop = 1; drop <= 2; drop++) {
      await dropFile(page, iso);
      await wizardDialog().getByTestId('detected-os').waitFor({ timeout: 60_000 });
      expect(copies(), `after drop ${drop}`).toHaveLength(1);
    }
    await wizardDialog().getByRole('button', { name: 'Cancel' }).click();
  });
});

describe('the Storage screen', () => {
  it('lists the kept ISOs and kept disks with their folders and sizes, and removes one after asking', async () => {
    mkdirSync(isoDir(), { recursive: true });
    const held = path.join(isoDir(), 'held.iso');
    copyFileSync(iso, held);
    runHangar(host, 'create', '--name', 'Holds ISO', '--iso', held, '--memory', '256M', '--cpus', '1', '--disk', '0');
    runHangar(host, 'create', '--name', 'Old Disk', '--memory', '256M', '--cpus', '1', '--disk', '1G');
    runHangar(host, 'delete', 'Old Disk', '--keep-disks');
    const keptDisk = path.join(host.home, '.local', 'share', 'hangar', 'kept-disks', 'old-disk', 'disk-0.qcow2');
    expect(existsSync(keptDisk)).toBe(true);

    await page.getByRole('button', { name: 'Storage' }).click();
    const screen = page.getByRole('region', { name: 'Storage' });
    await screen.getByText(keptDisk).waitFor({ timeout: 15_000 });
    await expect(screen.innerText()).resolves.toContain(isoDir());
    await expect(screen.innerText()).resolves.toContain(path.dirname(path.dirname(keptDisk)));
    const heldRow = screen.locator('li', { hasText: held });
    await expect(heldRow.innerText()).resolves.toContain('In the CD drive of Holds ISO');
    await expect(heldRow.getByRole('button', { name: `Remove ${held}` }).isDisabled()).resolves.toBe(true);
    await shot('storage-screen');

    await screen.getByRole('button', { name: `Remove ${keptDisk}` }).click();
    const confirm = screen.getByRole('alertdialog');
    await expect(confirm.innerText()).resolves.toContain(keptDisk);
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => existsSync(keptDisk), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => screen.getByText(keptDisk).count(), { timeout: 10_000 }).toBe(0);
    expect(existsSync(held)).toBe(true);
    expect(consoleErrors.join('\n')).toBe('');
  });
});
