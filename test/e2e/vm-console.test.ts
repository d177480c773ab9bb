import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openAppPage, type ChromiumSession } from '../support/chromium';
import { hangarBin, testResultsDir } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';
import { startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// The library and VM screen in Chromium, against the real web host, engine and QEMU:
// the VM starts from its screen, the terminal pane shows the guest, typing reaches it,
// and shutting down brings the state back to stopped, all through events.

let host: WebHostProcess;
let browser: ChromiumSession;
let page: Page;
let consoleErrors: string[] = [];

beforeAll(async () => {
  const iso = await ensureTestIso();
  host = await startWebHostProcess();
  // A VM made with the CLI against the same library: the web host hears of it by event.
  const created = spawnSync(process.execPath, [hangarBin, 'create', '--name', 'Console Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0'], { env: host.env, encoding: 'utf8' });
  if (created.status !== 0) throw new Error(created.stderr);
  browser = await launchChromium();
  ({ page, consoleErrors } = await openAppPage(browser, host.url));
});

afterAll(async () => {
  await tearDownE2e(host, browser, ['console-guest']);
});

describe('the VM screen', () => {
  it('lists the VM, starts it, shows its console, takes keystrokes and shuts it down', async () => {
    // This machine runs VMs with TCG, so the first start opens the Host screen: go to the library.
    await page.getByRole('button', { name: 'Library' }).click();
    const row = page.locator('[data-vm-id="console-guest"]');
    await row.waitFor({ timeout: 30_000 }).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n${await page.locator('main').innerText()}`);
    });
    await expect(row.locator('.vm-state').textContent()).resolves.toBe('Stopped');

    await page.getByRole('button', { name: 'Open Console Guest' }).click({ timeout: 10_000 }).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n${await page.locator('main').innerHTML()}`);
    });
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Start' }).click();
    await page.locator('.vm-screen .vm-state', { hasText: 'Running' }).waitFor({ timeout: 60_000 });

    const terminal = page.getByTestId('serial-terminal');
    await expect.poll(() => terminal.innerText(), { timeout: 90_000, interval: 500 }).toContain('HANGAR-TEST-GUEST-READY');
    await terminal.click();
    await page.keyboard.type('uname -a\n');
    await expect.poll(() => terminal.innerText(), { timeout: 30_000, interval: 500 }).toMatch(/Linux \S+ \d+\.\d+\.\d+.*x86_64/);
    mkdirSync(testResultsDir, { recursive: true });
    await page.screenshot({ path: path.join(testResultsDir, 'vm-console.png'), fullPage: true });

    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Shut down' }).click();
    await page.locator('.vm-screen .vm-state', { hasText: 'Stopped' }).waitFor({ timeout: 90_000 });
    expect(consoleErrors.join('\n')).toBe('');
  }, 300_000);
});
