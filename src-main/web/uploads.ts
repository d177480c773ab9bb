import type http from 'node:http';
import { HangarError } from '../../src-shared/errors';
import { receiveIso } from '../vms/iso-store';

// PUT /upload/iso?name=FILE.iso: how a browser hands `hangar web` an ISO dropped on the page.
// It needs the session cookie and the page's own Origin; PUT and a non-form content type
// make any cross-site attempt a CORS preflight, which is never answered.

export const UPLOAD_ISO_PATH = '/upload/iso';
const MAX_ISO_BYTES = 64 * 1024 ** 3;

export interface UploadGate {
  allowedOrigins(): string[];
  /** True when a request's Cookie header carries the session. */
  signedIn(cookieHeader: string | undefined): boolean;
  isoDir: string;
}

function answer(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}

export async function handleIsoUpload(request: http.IncomingMessage, response: http.ServerResponse, gate: UploadGate): Promise<void> {
  const refuse = (status: number, code: string, message: string): void => {
    answer(response, status, { ok: false, error: { code, message } });
    // Whatever the browser still sends is not wanted.
    request.resume();
  };
  if (!gate.allowedOrigins().includes(request.headers.origin ?? '')) return refuse(403, 'UNAUTHORIZED', 'Uploads come only from the Hangar page itself.');
  if (!gate.signedIn(request.headers.cookie)) return refuse(401, 'UNAUTHORIZED', 'The upload did not come from a page signed in to this Hangar. Open the address hangar web printed, or reload the Hangar tab.');
  if (request.headers['content-type'] !== 'application/octet-stream') return refuse(415, 'BAD_REQUEST', 'An upload is sent as application/octet-stream.');
  const length = Number(request.headers['content-length'] ?? Number.NaN);
  if (!Number.isSafeInteger(length) || length < 0) return refuse(411, 'BAD_REQUEST', 'An upload must say its length.');
  if (length > MAX_ISO_BYTES) return refuse(413, 'BAD_REQUEST', `Hangar takes ISO images of at most 64 GiB.`);
  const name = new URL(request.url ?? '/', 'http://localhost').searchParams.get('name') ?? '';
  try {
    const stored = await receiveIso(gate.isoDir, name, length, request);
    answer(response, 200, { ok: true, value: stored });
  } catch (error) {
    const info = error instanceof HangarError ? error.toInfo() : { code: 'INTERNAL', message: `The ISO could not be stored: ${(error as Error).message}` };
    if (!(error instanceof HangarError)) console.error('hangar web: upload failed:', error);
    refuse(info.code === 'NO_SPACE' ? 507 : info.code === 'INTERNAL' ? 500 : 400, info.code, info.message);
  }
}
