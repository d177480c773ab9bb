import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openAppPage, type ChromiumSession } from '../support/chromium';
import { testResultsDir } from '../support/paths';
import { ensureTestIso, TEST_GUEST_READY } from '../support/test-iso';
import { runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// A running VM's screen in Chromium, through the real web host's bridge to QEMU's VNC:
// the library shows a live thumbnail, the Screen tab connects noVNC and its canvas shows
// the guest's picture, and when the VM stops the pane says so.

const RECORD_CSP_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline'));
  });
`;

let host: WebHostProcess;
let browser: ChromiumSession;
let page: Page;
let consoleErrors: string[] = [];

const hangar = (...args: string[]): string => runHangar(host, ...args);

beforeAll(async () => {
  const iso = await ensureTestIso();
  host = await startWebHostProcess();
  hangar('create', '--name', 'Screen Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0');
  hangar('start', 'screen-guest');
  browser = await launchChromium();
  await browser.context.addInitScript({ content: RECORD_CSP_VIOLATIONS });
  ({ page, consoleErrors } = await openAppPage(browser, host.url));
});

afterAll(async () => {
  await tearDownE2e(host, browser, ['screen-guest']);
});

/** Distinct colours in the noVNC canvas, counted in the page (1 for a blank screen). A string, since this file is type-checked without the DOM. */
const CANVAS_COLOURS = `(() => {
  const canvas = document.querySelector('[data-testid="vm-screen"] canvas');
  if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let index = 0; index < pixels.length; index += 4) seen.add((pixels[index] << 16) | (pixels[index + 1] << 8) | pixels[index + 2]);
  return seen.size;
})()`;
const canvasColours = (): Promise<number> => page.evaluate(CANVAS_COLOURS) as Promise<number>;

describe("the VM's screen in the window", () => {
  it('shows a thumbnail in the library, then the live screen in the Screen tab; says when the VM stops, and connects again when it starts', async () => {
    await page.getByRole('button', { name: 'Library' }).click();
    const row = page.locator('[data-vm-id="screen-guest"]');
    await row.locator('.vm-state', { hasText: 'Running' }).waitFor({ timeout: 30_000 });
    const thumbnail = row.getByRole('img', { name: 'Screen of Screen Guest' });
    await thumbnail.waitFor({ timeout: 20_000 });
    await expect.poll(() => page.evaluate(`document.querySelector('[data-vm-id="screen-guest"] .vm-thumbnail img')?.naturalWidth ?? 0`) as Promise<number>, { timeout: 10_000 }).toBeGreaterThan(0);

    // Once the guest has printed its marker (on the serial port and on the screen), look.
    const serialLog = path.join(host.home, '.local', 'share', 'hangar', 'vms', 'screen-guest', 'serial.log');
    await expect.poll(() => readFileSync(serialLog, 'latin1'), { timeout: 120_000, interval: 1000 }).toContain(TEST_GUEST_READY);
    await page.getByRole('button', { name: 'Open Screen Guest' }).click();
    await page.getByRole('tab', { name: 'Screen' }).click();
    const status = page.locator('.screen-status');
    await expect.poll(() => status.textContent(), { timeout: 30_000, interval: 250 }).toMatch(/^Connected\./);
    await expect(page.getByRole('application', { name: 'Screen of Screen Guest' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Send Ctrl+Alt+Del to Screen Guest' }).isEnabled()).resolves.toBe(true);
    // Text on black: more than one colour (and many, once scaled).
    await expect.poll(canvasColours, { timeout: 90_000, interval: 1000 }).toBeGreaterThan(1);
    mkdirSync(testResultsDir, { recursive: true });
    await page.screenshot({ path: path.join(testResultsDir, 'vm-screen.png'), fullPage: true });

    hangar('stop', '--force', 'screen-guest');
    await expect.poll(() => page.getByRole('tabpanel').innerText(), { timeout: 30_000, interval: 250 }).toContain('The VM is not running.');
    // Started again, the pane connects again by itself with a new ticket.
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => status.textContent(), { timeout: 30_000, interval: 250 }).toMatch(/^Connected\./);
    expect(await page.evaluate('window.__cspViolations')).toEqual([]);
    expect(consoleErrors.join('\n')).toBe('');
  }, 300_000);
});
