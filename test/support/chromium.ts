import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

// Debian's Chromium, driven by playwright-core (no browser download). Each launch gets a
// fresh profile, so first-start behaviour (the Host screen opening by itself) is what a
// new user sees.

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  // The tests run as root, where Chromium's sandbox cannot start.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumSession {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium({ viewport = { width: 1280, height: 800 } } = {}): Promise<ChromiumSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`The e2e tests need Debian's Chromium at ${CHROMIUM_PATH} (apt-get install chromium).`);
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'hangar-e2e-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      colorScheme: 'light',
      timeout: 60_000,
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
}

/** A new page of the app that collects what the page logs as errors, for a test to assert on. */
export async function openAppPage(session: ChromiumSession, url: string): Promise<{ page: import('playwright-core').Page; consoleErrors: string[] }> {
  const consoleErrors: string[] = [];
  const page = await session.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(url);
  return { page, consoleErrors };
}
