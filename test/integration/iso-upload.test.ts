import { promises as fs, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHangarService } from '../../src-main/api/service';
import { startWebHost, type WebHost } from '../../src-main/web/server';
import { call, makeSandbox, type Sandbox } from '../support/engine';
import { builtRendererDir } from '../support/paths';
import { ensureTestIso } from '../support/test-iso';
import { openWebSession, type WebSessionCookie } from '../support/web-session';
import { fillUp, withTmpfs } from '../support/tmpfs';

// The web door's ISO uploads (what a browser sends when an ISO is dropped on the page),
// against a real web host: stored whole or not at all, only for the page with the session.

let sandbox: Sandbox;
let host: WebHost;
let iso: string;
let isoDir: string;

interface Answer {
  status: number;
  body: { ok: boolean; value?: { path: string; sizeBytes: number; reused: boolean }; error?: { code: string; message: string } };
}

const sessions = new Map<WebHost, Promise<WebSessionCookie>>();
/** The session cookie of `target`, as the page has it after loading the printed address. */
function sessionOf(target: WebHost): Promise<WebSessionCookie> {
  let session = sessions.get(target);
  if (!session) sessions.set(target, (session = openWebSession(target.url)));
  return session;
}

async function upload(target: WebHost, name: string, body: Buffer | null, headers: Record<string, string> = {}, { announce = body?.length ?? 0 } = {}): Promise<Answer> {
  const cookie = (await sessionOf(target)).header;
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: 'PUT',
        path: `/upload/iso?name=${encodeURIComponent(name)}`,
        headers: {
          Origin: `http://127.0.0.1:${target.port}`,
          Cookie: cookie,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(announce),
          ...headers,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }));
      },
    );
    request.on('error', reject);
    // A refusal is answered before the body is all sent, and the server then closes: the rest
    // of this write can meet a reset after the answer has come, which is not the test's failure.
    request.on('socket', (socket) => socket.on('error', () => {}));
    request.end(body ?? undefined);
  });
}

async function leftovers(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => name !== '.index.json').sort();
}

/** The same ISO with one byte near its end changed: another ISO of the same size. */
function variant(bytes: Buffer, fromEnd: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt8(copy.readUInt8(copy.length - fromEnd) ^ 0xff, copy.length - fromEnd);
  return copy;
}

/** The ISOs a person sees in the folder. */
async function storedIsos(): Promise<string[]> {
  return (await leftovers(isoDir)).filter((name) => !name.startsWith('.'));
}

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-upload-');
  const service = sandbox.service();
  isoDir = service.isoStoreDir;
  host = await startWebHost({ service, rendererDir: builtRendererDir });
});
afterAll(async () => {
  await host.close();
  await sandbox.cleanup();
});

describe('PUT /upload/iso', () => {
  it('stores a real ISO whole, private to the user, and the API can read it', async () => {
    const bytes = await fs.readFile(iso);
    const answer = await upload(host, 'Hangar Test.iso', bytes);
    expect(answer).toMatchObject({ status: 200, body: { ok: true, value: { path: path.join(isoDir, 'Hangar Test.iso'), sizeBytes: bytes.length } } });
    const stored = answer.body.value?.path ?? '';
    expect((await fs.readFile(stored)).equals(bytes)).toBe(true);
    expect(statSync(stored).mode & 0o777).toBe(0o600);
    expect(statSync(isoDir).mode & 0o777).toBe(0o700);
    const info = await call(sandbox.service(), 'inspectIso', { path: stored });
    expect(info).toMatchObject({ volumeId: 'HANGAR_TEST', bootable: true });
    // Another ISO under the same name never overwrites the first.
    const other = variant(bytes, 1);
    const again = await upload(host, 'Hangar Test.iso', other);
    expect(again.body.value).toEqual({ path: path.join(isoDir, 'Hangar Test (2).iso'), sizeBytes: other.length, reused: false });
    expect(await storedIsos()).toEqual(['Hangar Test (2).iso', 'Hangar Test.iso']);
    await fs.rm(path.join(isoDir, 'Hangar Test (2).iso'));
  });

  it('keeps one copy of an ISO sent twice, whatever it is called the second time', async () => {
    const bytes = await fs.readFile(iso);
    const first = await upload(host, 'Hangar Test.iso', bytes);
    const second = await upload(host, 'a copy of it.iso', bytes);
    expect(first.body.value).toEqual({ path: path.join(isoDir, 'Hangar Test.iso'), sizeBytes: bytes.length, reused: true });
    expect(second.body.value).toEqual(first.body.value);
    expect(await storedIsos()).toEqual(['Hangar Test.iso']);
    expect((await leftovers(isoDir)).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it('finds an identical ISO put in the folder by hand, and remembers its hash instead of reading it again', async () => {
    const bytes = await fs.readFile(iso);
    await fs.rm(path.join(isoDir, 'Hangar Test.iso'));
    await fs.copyFile(iso, path.join(isoDir, 'by hand.iso'));
    expect((await upload(host, 'dropped.iso', bytes)).body.value).toMatchObject({ path: path.join(isoDir, 'by hand.iso'), reused: true });
    // The index now holds its hash: an entry that no longer matches the bytes is believed
    // (the file is not read again), so the next upload cannot find it and stores its own copy.
    const indexFile = path.join(isoDir, '.index.json');
    const index = JSON.parse(await fs.readFile(indexFile, 'utf8')) as { files: Record<string, { sha256: string }> };
    expect(index.files['by hand.iso']?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(indexFile).mode & 0o777).toBe(0o600);
    index.files['by hand.iso'] = { ...index.files['by hand.iso'], sha256: '0'.repeat(64) } as { sha256: string };
    await fs.writeFile(indexFile, JSON.stringify(index));
    expect((await upload(host, 'dropped.iso', bytes)).body.value).toMatchObject({ path: path.join(isoDir, 'dropped.iso'), reused: false });
    for (const name of ['by hand.iso', 'dropped.iso']) await fs.rm(path.join(isoDir, name));
  });

  it('refuses a file that is not an ISO as soon as its header has arrived, and keeps nothing', async () => {
    const before = await leftovers(isoDir);
    const text = Buffer.from('shopping list\n'.repeat(10_000));
    expect(await upload(host, 'notes.iso', text)).toMatchObject({ status: 400, body: { ok: false, error: { code: 'NOT_AN_ISO', message: 'notes.iso is not an ISO image (a CD or DVD image file): it has no ISO 9660 volume.' } } });
    expect(await upload(host, 'holiday.png', text)).toMatchObject({ status: 400, body: { error: { code: 'NOT_AN_ISO', message: expect.stringContaining('holiday.png is not an ISO image') } } });
    expect(await upload(host, 'tiny.iso', Buffer.from('x'))).toMatchObject({ status: 400, body: { error: { code: 'NOT_AN_ISO', message: expect.stringContaining('too small') } } });
    expect(await leftovers(isoDir)).toEqual(before);
  });

  it('keeps a name that tries to leave the folder inside it', async () => {
    const bytes = await fs.readFile(iso);
    const other = variant(bytes, 2);
    const answer = await upload(host, '../../escape.iso', other);
    expect(answer.body.value?.path).toBe(path.join(isoDir, 'escape.iso'));
    expect(await upload(host, '.hidden.iso', bytes)).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    await fs.rm(path.join(isoDir, 'escape.iso'));
  });

  it('removes what arrived when the sender stops half-way', async () => {
    const before = await leftovers(isoDir);
    const bytes = await fs.readFile(iso);
    // Announces the whole ISO, sends a third, then the connection drops: the part must go.
    const request = http.request({
      host: '127.0.0.1',
      port: host.port,
      method: 'PUT',
      path: '/upload/iso?name=cut.iso',
      headers: { Origin: `http://127.0.0.1:${host.port}`, Cookie: (await sessionOf(host)).header, 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    });
    request.on('error', () => {}); // the drop is the point
    await new Promise<void>((resolve) => request.write(bytes.subarray(0, Math.floor(bytes.length / 3)), () => resolve()));
    await expect.poll(async () => (await leftovers(isoDir)).some((name) => name.endsWith('.part')), { timeout: 5000 }).toBe(true);
    request.destroy();
    await expect.poll(() => leftovers(isoDir), { timeout: 5000 }).toEqual(before);
  });

  it('answers only the Hangar page that has the session', async () => {
    const bytes = Buffer.alloc(40_000);
    const { name, value } = await sessionOf(host);
    const wrong = value.replace(/^./, (first) => (first === 'A' ? 'B' : 'A'));
    expect(await upload(host, 'a.iso', bytes, { Cookie: `${name}=${wrong}` })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Open the address hangar web printed') } } });
    expect(await upload(host, 'a.iso', bytes, { Cookie: '' })).toMatchObject({ status: 401 });
    // Another hangar web's session (another port) is not this one's.
    expect(await upload(host, 'a.iso', bytes, { Cookie: `hangar_session_${host.port + 1}=${value}` })).toMatchObject({ status: 401 });
    expect(await upload(host, 'a.iso', bytes, { Origin: 'http://evil.example' })).toMatchObject({ status: 403 });
    expect(await upload(host, 'a.iso', bytes, { 'Content-Type': 'multipart/form-data' })).toMatchObject({ status: 415 });
    // The one-time token opens nothing by itself, in the address or in a header.
    const token = new URL(host.url).searchParams.get('token') ?? '';
    expect(token).not.toBe('');
    expect(await upload(host, 'a.iso', bytes, { Cookie: '', Authorization: `Bearer ${token}` })).toMatchObject({ status: 401 });
    const inQuery = await new Promise<number>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port: host.port, method: 'PUT', path: `/upload/iso?name=a.iso&token=${token}`, headers: { Origin: `http://127.0.0.1:${host.port}`, 'Content-Type': 'application/octet-stream', 'Content-Length': '0' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(inQuery).toBe(401);
  });
});

describe('an upload onto a full disk', () => {
  it('is refused before anything is written, with NO_SPACE and the free space in words', async () => {
    const small = await withTmpfs(96 * 1024 * 1024);
    const fullSandbox = await makeSandbox('hangar-upload-full-');
    const service = createHangarService({ door: 'web', env: { ...fullSandbox.env, HANGAR_HOME: small.dir } });
    const fullHost = await startWebHost({ service, rendererDir: builtRendererDir });
    try {
      await fillUp(small.dir);
      const answer = await upload(fullHost, 'big.iso', await fs.readFile(iso));
      expect(answer).toMatchObject({ status: 507, body: { ok: false, error: { code: 'NO_SPACE', message: expect.stringMatching(/^big\.iso is [\d.]+ MiB, but only [\d.]+ (B|KiB) is free where Hangar keeps ISO images/) } } });
      expect((await leftovers(service.isoStoreDir)).filter((name) => name !== 'filler')).toEqual([]);
    } finally {
      await fullHost.close();
      service.close();
      await small.cleanup();
      await fullSandbox.cleanup();
    }
  });
});
