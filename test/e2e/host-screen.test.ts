import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { testResultsDir } from '../support/paths';
import { startWebHostProcess, type WebHostProcess } from '../support/web-host-process';

// The built renderer in Chromium, served by a real `hangar web`, on this machine: KVM here
// is PVM, so VMs run with TCG and the app opens the Host check screen by itself on first start.

const SCREENSHOT = path.join(testResultsDir, 'host-screen.png');

// Runs before any page script; the page's CSP does not apply to it. Collects what the
// browser reports as CSP violations, so a violation fails the test even if it is not logged.
const RECORD_CSP_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline') + ' in ' + event.sourceFile + ':' + event.lineNumber);
  });
`;

describe('the Host check screen, through hangar web, in Chromium', () => {
  let host: WebHostProcess;
  let browser: ChromiumSession;
  let page: Page;
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const cspViolations = (): Promise<string[]> => page.evaluate('window.__cspViolations') as Promise<string[]>;

  beforeAll(async () => {
    host = await startWebHostProcess();
    browser = await launchChromium();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: host.origin });
    await browser.context.addInitScript({ content: RECORD_CSP_VIOLATIONS });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url}:${message.location().lineNumber})`);
    });
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
    await page.goto(host.url, { waitUntil: 'load', timeout: 30_000 });
    // The host check takes about a second on this machine; the verdict appears when it is done.
    await page.locator('.verdict').waitFor({ state: 'visible', timeout: 45_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
  });

  it('opens the Host check screen by itself on first start', async () => {
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Host check');
    await expect(page.getByRole('button', { name: 'Host check' }).getAttribute('aria-current')).resolves.toBe('page');
    await expect(page.getByRole('button', { name: 'Library' }).getAttribute('aria-current')).resolves.toBeNull();
  });

  it('says that VMs run with software emulation and that PVM is why', async () => {
    await expect(page.locator('.verdict h2').textContent()).resolves.toBe('VMs run with software emulation (TCG)');
    await expect(page.locator('.verdict').getAttribute('class')).resolves.toContain('verdict-slow');
    const reason = await page.locator('.accelerator-reason').textContent();
    expect(reason).toMatch(/PVM \(kvm_pvm\)/);
    expect(reason).toMatch(/software emulation \(TCG\)/);
  });

  it('shows the five groups of checks, in order, with their titles', async () => {
    const groups = page.locator('section[data-group]');
    expect(await groups.evaluateAll((sections) => sections.map((section) => section.getAttribute('data-group')))).toEqual(['cpu', 'kernel', 'qemu', 'network', 'resources']);
    expect(await groups.locator('h2').allTextContents()).toEqual(['CPU', 'Kernel and KVM', 'QEMU and firmware', 'Networking', 'Resources']);
    for (const group of ['cpu', 'kernel', 'qemu', 'network', 'resources']) {
      expect(await page.locator(`section[data-group="${group}"] li[data-check-id]`).count(), `checks in ${group}`).toBeGreaterThan(0);
    }
  });

  it('finds QEMU 7.2 in the QEMU row', async () => {
    const row = page.locator('[data-check-id="qemu.system"]');
    await expect(row.locator('.check-summary').textContent()).resolves.toMatch(/^QEMU 7\.2\.\d+ is installed\.$/);
    await expect(row.locator('.status-badge').textContent()).resolves.toBe('OK');
    await expect(row.locator('.check-detail').textContent()).resolves.toBe('/usr/bin/qemu-system-x86_64');
    await expect(row.locator('xpath=ancestor::section[@data-group]').getAttribute('data-group')).resolves.toBe('qemu');
  });

  it('traded the one-time address for a session cookie that the page cannot read, and kept no token', async () => {
    expect(page.url()).toBe(`${host.origin}/`);
    expect(page.url()).not.toContain(host.token);
    const cookies = await browser.context.cookies(host.origin);
    expect(cookies).toEqual([expect.objectContaining({ name: `hangar_session_${host.port}`, httpOnly: true, sameSite: 'Strict', path: '/' })]);
    expect(cookies[0]?.value).not.toContain(host.token);
    await expect(page.evaluate('document.cookie')).resolves.toBe('');
    await expect(page.evaluate('JSON.stringify([Object.keys(sessionStorage), Object.keys(localStorage)])')).resolves.not.toContain('token');
  });

  it('saves a screenshot of the whole screen', async () => {
    mkdirSync(testResultsDir, { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });

  it('copies a fix command to the clipboard with its Copy button', async () => {
    // On this machine qemu-bridge-helper is not setuid root; that check comes with a fix.
    const row = page.locator('[data-check-id="network.bridge"]');
    const command = await row.locator('.check-fix code').textContent();
    expect(command).toBe('sudo chmod u+s /usr/lib/qemu/qemu-bridge-helper');
    await page.evaluate("navigator.clipboard.writeText('not copied yet')");

    const copy = row.locator('.check-fix button');
    await expect(copy.textContent()).resolves.toBe('Copy');
    await expect(copy.getAttribute('aria-label')).resolves.toMatch(/^Copy the command that fixes: qemu-bridge-helper/);
    await copy.click();
    await page.waitForFunction((button) => button?.textContent === 'Copied', await copy.elementHandle(), { timeout: 5_000 });
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(command);
  });

  it('logged no console errors and no page errors', () => {
    expect(consoleErrors, 'console errors').toEqual([]);
    expect(pageErrors, 'uncaught page errors').toEqual([]);
  });

  it('caused no CSP violations', async () => {
    await expect(cspViolations(), 'securitypolicyviolation events').resolves.toEqual([]);
  });

  it('enforces its CSP: an injected inline script is refused, and the refusal is seen by the checks above', async () => {
    const before = (await cspViolations()).length;
    const consoleBefore = consoleErrors.length;
    await page.evaluate(`{
      const script = document.createElement('script');
      script.textContent = 'window.__inlineScriptRan = true';
      document.head.append(script);
    }`);
    await expect(page.evaluate('window.__inlineScriptRan === true')).resolves.toBe(false);
    await expect.poll(async () => (await cspViolations()).slice(before), { timeout: 5_000 }).toContainEqual(expect.stringMatching(/^script-src-elem blocked inline/));
    await expect.poll(() => consoleErrors.slice(consoleBefore).join('\n'), { timeout: 5_000 }).toMatch(/Content Security Policy/);
  });

  it('after a reload, connects again with the cookie and shows the (empty) library', async () => {
    consoleErrors.length = 0;
    await page.reload({ waitUntil: 'load' });
    expect(page.url()).toBe(`${host.origin}/`);
    await page.locator('.empty-library').waitFor({ state: 'visible', timeout: 45_000 });
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Virtual machines');
    await expect(page.locator('.empty-library').textContent()).resolves.toContain('Drop an ISO anywhere on this window');
    await expect(page.locator('.error-banner').count()).resolves.toBe(0);
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('opens in a second tab of the same browser, even from the used address: the cookie is shared', async () => {
    const second = await browser.context.newPage();
    try {
      await second.goto(host.url, { waitUntil: 'load' });
      expect(second.url()).toBe(`${host.origin}/`);
      await second.locator('.empty-library').waitFor({ state: 'visible', timeout: 45_000 });
      await expect(second.locator('.error-banner').count()).resolves.toBe(0);
      // The redirect took the place of the address with the token: one step back is the blank tab.
      await second.goBack();
      expect(second.url()).toBe('about:blank');
    } finally {
      await second.close();
    }
  });
});
