import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDERER_CSP } from '../../src-shared/csp';
import { HostReport } from '../../src-shared/host';
import { ApiSocket, isEvent, tryOpenSocket } from '../support/api-socket';
import { builtRendererDir, repoRoot } from '../support/paths';
import { startWebHostProcess, type WebHostProcess } from '../support/web-host-process';

// The web host's defences, tried against a real `hangar web` child process from outside,
// the way another program or web page on this machine would try them.

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with the path and Host header sent exactly as given (no URL normalisation). */
function rawRequest(port: number, { method = 'GET', path: requestPath = '/', host = `127.0.0.1:${port}`, cookie = '' } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: requestPath, headers: { Host: host, ...(cookie ? { Cookie: cookie } : {}) }, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

const isHostChecked = isEvent('hostChecked');

/** Non-loopback addresses of this machine, where the web host must not answer. */
function otherAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((entry): entry is os.NetworkInterfaceInfo => entry !== undefined && !entry.internal)
    .map((entry) => (entry.family === 'IPv6' && entry.scopeid ? `${entry.address}%${entry.scopeid}` : entry.address));
}

/** 'refused' when nothing listens there, 'connected' when something does, 'timeout' when no answer came. */
function tryConnect(address: string, port: number, timeoutMs = 3_000): Promise<'refused' | 'connected' | 'timeout' | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message)));
  });
}

/** The local addresses of sockets listening on a TCP port, from /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
function listeningAddresses(port: number): string[] {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN.
      if (local?.endsWith(`:${portHex}`) && state === '0A') found.push(local.slice(0, -5));
    }
  }
  return found;
}

describe('hangar web, attacked from outside', () => {
  let host: WebHostProcess;
  let apiUrl: string;
  let origin: string;
  /** The session cookie, as the browser that loaded the printed address has it. */
  let cookie: string;
  let sessionName: string;
  let sessionValue: string;

  beforeAll(async () => {
    host = await startWebHostProcess();
    origin = host.origin;
    apiUrl = `ws://127.0.0.1:${host.port}/api`;
    ({ header: cookie, name: sessionName, value: sessionValue } = await host.session());
  });

  afterAll(async () => {
    if (!host) return;
    const stderr = host.stderr();
    // Ctrl-C (SIGTERM here) is the documented way to stop it: a clean exit, not a crash.
    expect(await host.stop(), `exit code of hangar web; its stderr:\n${stderr}`).toBe(0);
  });

  describe('the API WebSocket refuses', () => {
    it('a wrong session cookie, with 401', async () => {
      const sameLength = sessionValue.replace(/^./, (first) => (first === 'A' ? 'B' : 'A'));
      await expect(tryOpenSocket(apiUrl, { origin, cookie: `${sessionName}=${sameLength}` })).resolves.toEqual({ refused: 401 });
      await expect(tryOpenSocket(apiUrl, { origin, cookie: `${sessionName}=guess` })).resolves.toEqual({ refused: 401 });
      // The right value under another port's name: another hangar web's session is not this one's.
      await expect(tryOpenSocket(apiUrl, { origin, cookie: `hangar_session_${host.port + 1}=${sessionValue}` })).resolves.toEqual({ refused: 401 });
    });

    it('no session cookie, with 401', async () => {
      await expect(tryOpenSocket(apiUrl, { origin })).resolves.toEqual({ refused: 401 });
      await expect(tryOpenSocket(apiUrl, { origin, cookie: `${sessionName}=` })).resolves.toEqual({ refused: 401 });
    });

    it('the one-time token in place of the cookie, with 401', async () => {
      await expect(tryOpenSocket(`${apiUrl}?token=${host.token}`, { origin })).resolves.toEqual({ refused: 401 });
    });

    it('another web page (a foreign Origin), with 403, even with the session cookie', async () => {
      await expect(tryOpenSocket(apiUrl, { origin: 'http://evil.example', cookie })).resolves.toEqual({ refused: 403 });
      // Same site for cookies (SameSite does not look at ports), another origin for Hangar.
      await expect(tryOpenSocket(apiUrl, { origin: `http://127.0.0.1:${host.port + 1}`, cookie })).resolves.toEqual({ refused: 403 });
      await expect(tryOpenSocket(apiUrl, { origin: 'null', cookie })).resolves.toEqual({ refused: 403 });
    });

    it('a client that sends no Origin, with 403', async () => {
      await expect(tryOpenSocket(apiUrl, { cookie })).resolves.toEqual({ refused: 403 });
    });

    it('a wrong Host header (DNS rebinding), with 421', async () => {
      const rebound = `rebind.example:${host.port}`;
      await expect(tryOpenSocket(apiUrl, { origin: `http://${rebound}`, host: rebound, cookie })).resolves.toEqual({ refused: 421 });
      await expect(tryOpenSocket(apiUrl, { origin, host: `127.0.0.1:${host.port + 1}`, cookie })).resolves.toEqual({ refused: 421 });
    });

    it('any path but /api, with 404', async () => {
      await expect(tryOpenSocket(`ws://127.0.0.1:${host.port}/other`, { origin, cookie })).resolves.toEqual({ refused: 404 });
    });

    it('nothing when all is right, also under the name localhost', async () => {
      const viaLocalhost = await tryOpenSocket(apiUrl, { origin: `http://localhost:${host.port}`, host: `localhost:${host.port}`, cookie });
      expect(viaLocalhost).toHaveProperty('opened');
      if ('opened' in viaLocalhost) viaLocalhost.opened.terminate();
    });
  });

  describe('the static server', () => {
    it('serves the built renderer with its Content-Security-Policy and other security headers', async () => {
      const response = await rawRequest(host.port, { path: '/', cookie });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toContain('<div id="root"></div>');
      expect(response.headers['content-security-policy']).toBe(RENDERER_CSP);
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.headers['content-security-policy']).toContain("connect-src 'self'");
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    });

    it('serves the page\'s script with the CSP too', async () => {
      const index = await rawRequest(host.port, { path: '/', cookie });
      const script = /<script type="module" crossorigin src="\.\/(assets\/[^"]+\.js)"/.exec(index.body)?.[1];
      expect(script).toBeDefined();
      const response = await rawRequest(host.port, { path: `/${script}` });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(response.headers['content-security-policy']).toBe(RENDERER_CSP);
    });

    it('serves every chunk and style sheet the renderer loads later (a tab\'s code) as it serves the first: its type, the CSP, no-store', async () => {
      const assets = readdirSync(path.join(builtRendererDir, 'assets'));
      // The console, terminal and screen panes come as chunks of their own (src-renderer/features/vm/lazy-panes.tsx).
      expect(assets.filter((file) => file.endsWith('.js')).length).toBeGreaterThan(1);
      const types: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
      for (const file of assets) {
        const response = await rawRequest(host.port, { path: `/assets/${file}` });
        expect(response.status, file).toBe(200);
        expect(response.headers['content-type'], file).toBe(types[path.extname(file)]);
        expect(response.headers['cache-control'], file).toBe('no-store');
        expect(response.headers['content-security-policy'], file).toBe(RENDERER_CSP);
        expect(response.body, file).toBe(readFileSync(path.join(builtRendererDir, 'assets', file), 'utf8'));
      }
    });

    it.each([
      '/../package.json',
      '/../../package.json',
      '/%2e%2e/%2e%2e/package.json',
      '/..%2f..%2fpackage.json',
      '/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets/..%2f..%2f..%2fpackage.json',
      '/..%5c..%5cpackage.json',
      '/%2e%2e%2f%2e%2e%2fmain%2fcli.js',
      '/..%2fmain%2fcli.js',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/index.html%00.js',
    ])('refuses to serve %s (404), which would leave the renderer folder', async (requestPath) => {
      const response = await rawRequest(host.port, { path: requestPath });
      expect(response.status).toBe(404);
      expect(response.body).toBe('Not found.\n');
      expect(response.headers['content-security-policy']).toBe(RENDERER_CSP);
    });

    it('has files worth stealing right outside its folder (so the refusals above mean something)', () => {
      expect(existsSync(path.join(repoRoot, 'package.json'))).toBe(true);
      expect(existsSync(path.join(repoRoot, 'out', 'main', 'cli.js'))).toBe(true);
    });

    it.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])('answers %s with 405', async (method) => {
      const response = await rawRequest(host.port, { method, path: '/' });
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD');
    });

    it('answers a wrong Host header with 421, before serving anything', async () => {
      const response = await rawRequest(host.port, { path: '/', host: `evil.example:${host.port}` });
      expect(response.status).toBe(421);
      expect(response.body).not.toContain('<div id="root">');
    });
  });

  describe('the network', () => {
    it('listens on 127.0.0.1 only', async () => {
      // The kernel's own table: one listening socket on this port, bound to 127.0.0.1 (0100007F in hex, little-endian).
      expect(listeningAddresses(host.port)).toEqual(['0100007F']);
      await expect(tryConnect('127.0.0.1', host.port)).resolves.toBe('connected');
      const others = otherAddresses();
      for (const address of others) {
        await expect(tryConnect(address, host.port), `connecting to ${address}:${host.port}`).resolves.toMatch(/^(refused|timeout|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|EINVAL)$/);
      }
    });

    it('has another address to try on this machine', () => {
      // If this fails the machine has no network but loopback; the /proc check above still holds.
      expect(otherAddresses().length).toBeGreaterThan(0);
    });
  });

  describe('an authorized WebSocket', () => {
    let api: ApiSocket;

    beforeAll(async () => {
      const upgrade = await tryOpenSocket(apiUrl, { origin, cookie });
      if (!('opened' in upgrade)) throw new Error(`The web host refused the session and origin with ${upgrade.refused}.`);
      api = new ApiSocket(upgrade.opened);
    });

    afterAll(() => api?.close());

    it('answers getAppInfo, saying the client came through the web door', async () => {
      const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
      await expect(api.call('getAppInfo', {}, { id: 1 })).resolves.toEqual({ ok: true, value: { name: 'Hangar', version, door: 'web', platform: `${process.platform}-${process.arch}` } });
    });

    it('answers an unknown method with UNKNOWN_METHOD', async () => {
      const result = await api.call('deleteEverything', {}, { id: 2 });
      expect(result).toEqual({ ok: false, error: { code: 'UNKNOWN_METHOD', message: 'Hangar has no method called "deleteEverything".' } });
    });

    it('does not take methods from the object prototype', async () => {
      await expect(api.call('constructor', {}, { id: 3 })).resolves.toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
      await expect(api.call('toString', {}, { id: 4 })).resolves.toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    });

    it('answers input the contract does not allow with BAD_REQUEST', async () => {
      const result = await api.call('checkHost', { extra: 1 }, { id: 5 });
      expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      if (!result.ok) expect(result.error.message).toMatch(/^The request for checkHost is not valid: .*extra/s);
      await expect(api.call('getAppInfo', 'not an object', { id: 6 })).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    });

    it('answers checkHost with a report, and sends a hostChecked event with the same report', async () => {
      api.frames.length = 0;
      const result = await api.call('checkHost', {}, { id: 7 });
      expect(result.ok).toBe(true);
      const report = HostReport.parse(result.ok ? result.value : null);
      expect(report.accelerator).toBe('tcg');
      const event = await api.waitFor(isHostChecked);
      expect(HostReport.parse(event.payload)).toEqual(report);
    });

    it('sends the hostChecked event to every connected client, not only the caller', async () => {
      const upgrade = await tryOpenSocket(apiUrl, { origin, cookie });
      if (!('opened' in upgrade)) throw new Error(`refused with ${upgrade.refused}`);
      const listener = new ApiSocket(upgrade.opened);
      try {
        const result = await api.call('checkHost', {}, { id: 8 });
        const event = await listener.waitFor(isHostChecked);
        expect(result.ok && (result.value as HostReport).checked_at).toBe((event.payload as HostReport).checked_at);
        expect(listener.frames.filter((frame) => frame.type === 'reply')).toEqual([]);
      } finally {
        listener.close();
      }
    });
  });

  describe('a client that breaks the protocol', () => {
    const openApi = async (): Promise<ApiSocket> => {
      const upgrade = await tryOpenSocket(apiUrl, { origin, cookie });
      if (!('opened' in upgrade)) throw new Error(`refused with ${upgrade.refused}`);
      return new ApiSocket(upgrade.opened);
    };

    it.each([
      ['a message that is not JSON', 'hello, hangar'],
      ['JSON that is not a call', '{"type":"call","method":"getAppInfo"}'],
      ['a call with extra keys', '{"type":"call","id":1,"method":"getAppInfo","input":{},"admin":true}'],
    ])('is disconnected with code 1008 after %s', async (_what, message) => {
      const api = await openApi();
      api.send(message);
      const closed = await api.closed;
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/^Messages must be JSON calls/);
      expect(api.frames).toEqual([]);
    });

    it('is disconnected with code 1008 after a binary message', async () => {
      const api = await openApi();
      api.socket.send(Buffer.from(JSON.stringify({ type: 'call', id: 1, method: 'getAppInfo', input: {} })));
      await expect(api.closed).resolves.toMatchObject({ code: 1008 });
    });

    it('is disconnected with code 1009 after a message over 1 MiB', async () => {
      const api = await openApi();
      api.send({ type: 'call', id: 1, method: 'getAppInfo', input: { padding: 'x'.repeat(1024 * 1024) } });
      await expect(api.closed).resolves.toMatchObject({ code: 1009 });
    });

    it('does not take the server down', async () => {
      // Give a crash time to happen before looking.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(host.running(), `hangar web exited; its stderr:\n${host.stderr()}`).toBe(true);
      const api = await openApi();
      try {
        await expect(api.call('getAppInfo', {}, { id: 1 })).resolves.toMatchObject({ ok: true, value: { door: 'web' } });
      } finally {
        api.close();
      }
    });
  });
});

describe('the one-time address hangar web prints', () => {
  let host: WebHostProcess;
  let addressPath: string;

  beforeAll(async () => {
    host = await startWebHostProcess();
    addressPath = new URL(host.url).pathname + new URL(host.url).search;
  });

  afterAll(async () => {
    await host?.stop();
  });

  it('carries a token, and without a session the page is not served but says what to do', async () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    const page = await rawRequest(host.port, { path: '/' });
    expect(page.status).toBe(401);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.body).not.toContain('<div id="root">');
    expect(page.body).toContain('Open that address');
    expect(page.headers['content-security-policy']).toBe(RENDERER_CSP);
  });

  it('opens nothing with a wrong token, and that does not spend the right one', async () => {
    const wrong = host.token.replace(/^./, (first) => (first === 'A' ? 'B' : 'A'));
    for (const guess of [wrong, 'guess', '']) {
      const answer = await rawRequest(host.port, { path: `/?token=${guess}` });
      expect(answer.status).toBe(403);
      expect(answer.headers['set-cookie']).toBeUndefined();
    }
  });

  let cookie: string;

  it('trades the token for an HttpOnly, SameSite=Strict session cookie and sends the browser on to /', async () => {
    const answer = await rawRequest(host.port, { path: addressPath });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    const setCookie = answer.headers['set-cookie'] ?? [];
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(new RegExp(`^hangar_session_${host.port}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
    cookie = (setCookie[0] ?? '').split(';')[0] ?? '';
    expect(cookie).not.toContain(host.token);

    const page = await rawRequest(host.port, { path: '/', cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="root"></div>');
  });

  it('is spent after that: the same address opens nothing and says what to do', async () => {
    const again = await rawRequest(host.port, { path: addressPath });
    expect(again.status).toBe(403);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.body).toContain('This address opens Hangar once, and it has been used');
    expect(again.body).toContain('run it again for a new address');
    expect(again.headers['content-security-policy']).toBe(RENDERER_CSP);
    // The browser that has the session may follow it again: nothing new opens, it lands on the page.
    const sameBrowser = await rawRequest(host.port, { path: addressPath, cookie });
    expect(sameBrowser.status).toBe(303);
    expect(sameBrowser.headers.location).toBe('/');
    expect(sameBrowser.headers['set-cookie']).toBeUndefined();
  });

  it('does not open the API or uploads by itself', async () => {
    await expect(tryOpenSocket(`ws://127.0.0.1:${host.port}/api?token=${host.token}`, { origin: host.origin })).resolves.toEqual({ refused: 401 });
    const upgrade = await tryOpenSocket(`ws://127.0.0.1:${host.port}/api`, { origin: host.origin, cookie });
    expect(upgrade).toHaveProperty('opened');
    if ('opened' in upgrade) upgrade.opened.terminate();
  });
});
