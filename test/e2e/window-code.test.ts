import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// The window's code comes in parts (src-renderer/main.ts, features/vm/lazy-panes.tsx): the
// first script, the window itself, and each pane when its tab opens. A part that cannot be
// had (hangar web stopped, or started again from another build, since the page was opened)
// is said in words, in Chromium against the real web host; the request is refused by the
// browser as a stopped host would leave it.

let host: WebHostProcess;
let browser: ChromiumSession;

beforeAll(async () => {
  host = await startWebHostProcess();
  runHangar(host, 'create', '--name', 'Parts Guest', '--memory', '256M', '--cpus', '1', '--disk', '0');
  browser = await launchChromium();
});

afterAll(async () => {
  await tearDownE2e(host, browser, []);
});

async function pageWithout(chunk: RegExp): Promise<Page> {
  const page = await browser.context.newPage();
  await page.route(chunk, (route) => route.abort('connectionrefused'));
  return page;
}

describe('the window, when part of its code cannot be loaded', () => {
  it('says so in words when the window itself cannot be loaded', async () => {
    const page = await pageWithout(/\/assets\/window-[^/]+\.js$/);
    await page.goto(host.url);
    await expect.poll(() => page.getByRole('alert').innerText(), { timeout: 30_000 }).toMatch(/^The window's code could not be loaded \(.+\)\. Reload the window; if Hangar was stopped or updated since it was opened, open Hangar again\.$/);
    await page.close();
  });

  it('says so in the tab when a pane cannot be loaded, and the rest of the window works', async () => {
    const page = await pageWithout(/\/assets\/ConsolePane-[^/]+\.js$/);
    await page.goto(host.url);
    // This machine runs VMs with TCG, so the first visit may open the Host screen: go to the library.
    await page.getByRole('button', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'Open Parts Guest' }).click({ timeout: 30_000 });
    await page.getByRole('tab', { name: 'Serial console' }).click();
    await expect.poll(() => page.getByRole('alert').first().innerText(), { timeout: 30_000 }).toMatch(/^The serial console could not be loaded \(.+\)\. Reload the window;/);
    await page.getByRole('tab', { name: 'Settings' }).click();
    await expect.poll(() => page.getByRole('alert').count()).toBe(0);
    await page.close();
  });
});
