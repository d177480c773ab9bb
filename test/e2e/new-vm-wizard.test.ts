import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openAppPage, type ChromiumSession } from '../support/chromium';
import { hangarBin, testResultsDir } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';
import { startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// A person's first VM, end to end in Chromium against the real web host, engine and QEMU:
// drop the ISO on the window, the wizard shows the detected OS, refuse memory beyond the
// host, create, the VM starts on its console, the guest answers, its screen shows a
// picture, and it shuts down. Wrong things dropped are refused with nothing created.

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
  await tearDownE2e(host, browser, ['wizard-guest']);
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

    // Step 2: the name comes from the OS; memory beyond the host is refused before anything is made.
    await expect(wizard.getByLabel('Name').inputValue()).resolves.toBe('Other Linux');
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

    // The VM opens on its console and starts.
    await page.locator('#vm-title', { hasText: 'Wizard Guest' }).waitFor({ timeout: 60_000 });
    await page.locator('.vm-screen .vm-state', { hasText: 'Running' }).waitFor({ timeout: 60_000 });
    expect(listedVms()).toEqual(['Wizard Guest']);
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
