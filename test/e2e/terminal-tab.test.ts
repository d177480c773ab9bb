import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openAppPage, type ChromiumSession } from '../support/chromium';
import { processesMentioning } from '../support/engine';
import { testResultsDir } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';
import { runHangar, startWebHostProcess, tearDownE2e, type WebHostProcess } from '../support/web-host-process';

// The VM screen's Terminal tab in Chromium, against the real web host and node-pty: SSH is
// offered only when it can work and says why not, a host shell runs what is typed, pastes,
// survives a switch to another tab, and closes.

let host: WebHostProcess;
let browser: ChromiumSession;
let page: Page;
let consoleErrors: string[] = [];

let sshPort = 0;

const hangar = (...args: string[]): string => runHangar(host, ...args);

beforeAll(async () => {
  const iso = await ensureTestIso();
  host = await startWebHostProcess();
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  sshPort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  hangar('create', '--name', 'Term Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0', '--ssh-port', String(sshPort));
  hangar('create', '--name', 'Closed Guest', '--iso', iso, '--memory', '256M', '--cpus', '1', '--disk', '0');
  browser = await launchChromium();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: host.origin });
  ({ page, consoleErrors } = await openAppPage(browser, host.url));
});

afterAll(async () => {
  await tearDownE2e(host, browser, ['term-guest']);
});

async function openTerminalTab(vmName: string): Promise<void> {
  await page.getByRole('button', { name: 'Library' }).click();
  await page.getByRole('button', { name: `Open ${vmName}` }).click({ timeout: 30_000 });
  await page.getByRole('tab', { name: 'Terminal' }).click();
}

describe('the Terminal tab', () => {
  it('says why SSH cannot go: no forward to port 22, or a stopped VM', async () => {
    await openTerminalTab('Closed Guest');
    const ssh = page.getByRole('button', { name: 'SSH into the guest' });
    await page.getByLabel('User').fill('root');
    expect(await ssh.isDisabled()).toBe(true);
    await expect.poll(() => page.locator('.terminal-pane .field-hint').innerText()).toContain("has no port forward to the guest's SSH port (TCP 22)");

    await openTerminalTab('Term Guest');
    await page.getByLabel('User').fill('root');
    expect(await page.getByRole('button', { name: 'SSH into the guest' }).isDisabled()).toBe(true);
    await expect.poll(() => page.locator('.terminal-pane .field-hint').innerText()).toContain('start it and wait for its OS to boot before opening an SSH terminal');
  });

  it('a host shell runs what is typed and pasted, survives a tab switch, and closes', async () => {
    await openTerminalTab('Term Guest');
    await page.getByRole('button', { name: 'Host shell' }).click();
    const terminal = page.getByTestId('host-terminal');
    await expect.poll(() => page.locator('.terminal-status').innerText(), { timeout: 20_000 }).toMatch(/on this machine$/);
    await terminal.click();
    await page.keyboard.type('echo $((6*7))\n');
    await expect.poll(() => terminal.innerText(), { timeout: 20_000 }).toMatch(/^42$/m);

    // The terminal is as big as its pane, and the program was told so.
    await page.keyboard.type('stty size\n');
    await expect.poll(() => terminal.innerText(), { timeout: 20_000 }).toMatch(/^\d+ \d+$/m);
    const [rows, cols] = (/^(\d+) (\d+)$/m.exec(await terminal.innerText()) ?? []).slice(1).map(Number);
    expect(cols).toBeGreaterThan(80);
    expect(rows).toBeGreaterThan(10);

    await page.evaluate("navigator.clipboard.writeText('echo pasted-$((1+2))')");
    await page.getByRole('button', { name: 'Paste' }).click();
    await expect.poll(() => terminal.innerText(), { timeout: 20_000 }).toContain('echo pasted-$((1+2))');
    // Bash takes a paste as text (bracketed paste): it runs on Enter, not by itself.
    await page.keyboard.press('Enter');
    await expect.poll(() => terminal.innerText(), { timeout: 20_000 }).toMatch(/^pasted-3$/m);

    await page.getByRole('tab', { name: 'Serial console' }).click();
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await terminal.click();
    await page.keyboard.type('echo still-$((2*2))\n');
    await expect.poll(() => terminal.innerText(), { timeout: 20_000 }).toMatch(/^still-4$/m);
    mkdirSync(testResultsDir, { recursive: true });
    await page.screenshot({ path: path.join(testResultsDir, 'terminal-tab.png'), fullPage: true });

    await page.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => page.locator('.terminal-status').innerText(), { timeout: 20_000 }).toMatch(/was closed\.$|ended/);
    expect(consoleErrors.join('\n')).toBe('');
  }, 120_000);

  it('once the VM runs, SSH starts ssh to its forwarded port as the user given, and Close ends it', async () => {
    await openTerminalTab('Term Guest');
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Start' }).click();
    await page.locator('.vm-screen .vm-state', { hasText: 'Running' }).waitFor({ timeout: 60_000 });
    await page.getByLabel('User').fill('tester');
    const ssh = page.getByRole('button', { name: 'SSH into the guest' });
    await expect.poll(() => ssh.isEnabled()).toBe(true);
    await expect.poll(() => page.locator('.terminal-pane .field-hint').innerText()).toBe(`SSH runs ssh -p ${sshPort} tester@127.0.0.1 on this machine.`);
    await ssh.click();
    await expect.poll(() => page.locator('.terminal-status').innerText(), { timeout: 20_000 }).toBe('ssh tester@Term Guest');
    // The guest is still booting and nothing answers on its port 22 yet, so ssh waits for
    // a greeting: the command it runs is there to read.
    const sshPids = (): number[] => processesMentioning(`tester@127.0.0.1`).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/ssh'));
    await expect.poll(sshPids, { timeout: 20_000 }).toHaveLength(1);
    const argv = readFileSync(`/proc/${sshPids()[0]}/cmdline`, 'utf8').split('\0').slice(0, -1);
    expect(argv[0]).toMatch(/^\/.*\/ssh$/);
    expect(argv.slice(1)).toEqual(['-p', String(sshPort), '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile="${host.home}/.local/share/hangar/vms/term-guest/known_hosts"`, 'tester@127.0.0.1']);

    await page.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => page.locator('.terminal-status').innerText(), { timeout: 20_000 }).toBe('ssh tester@Term Guest was closed.');
    await expect.poll(sshPids, { timeout: 20_000 }).toEqual([]);
    expect(consoleErrors.join('\n')).toBe('');
  }, 120_000);
});
