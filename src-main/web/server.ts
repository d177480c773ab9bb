import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { RENDERER_CSP } from '../../src-shared/csp';
import { SCREEN_PATH } from '../../src-shared/screen';
import { ClientFrame, MAX_FRAME_BYTES, type ServerFrame } from '../../src-shared/wire';
import { dispatch } from '../api/dispatch';
import type { HangarService } from '../api/service';
import { screenUpgrade } from '../consoles/screen-bridge';
import { readStaticFile } from './static';
import { handleIsoUpload, UPLOAD_ISO_PATH } from './uploads';
import { listenOnLoopback, LOOPBACK } from '../util/listen';

// The web host: the built renderer and the contract over one WebSocket, on loopback only.
// Anyone on this machine can reach a loopback port, so the API needs the token printed at
// start; the Origin and Host checks stop other web pages (and DNS rebinding) from using it.

export const WEB_HOST_ADDRESS = LOOPBACK;
export const API_PATH = '/api';

export interface WebHostOptions {
  service: HangarService;
  rendererDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  token?: string;
}

export interface WebHost {
  port: number;
  token: string;
  /** The address to open in a browser, token included. */
  url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startWebHost({ service, rendererDir, port = 0, token = randomBytes(24).toString('base64url') }: WebHostOptions): Promise<WebHost> {
  let boundPort = port;
  const allowedHosts = (): string[] => [`${WEB_HOST_ADDRESS}:${boundPort}`, `localhost:${boundPort}`];
  const allowedOrigins = (): string[] => allowedHosts().map((host) => `http://${host}`);

  const server = http.createServer((request, response) => {
    void (async () => {
      if (!allowedHosts().includes(request.headers.host ?? '')) {
        response.writeHead(421, { 'Content-Type': 'text/plain' }).end('Wrong host name.\n');
        return;
      }
      if (request.method === 'PUT' && new URL(request.url ?? '/', 'http://localhost').pathname === UPLOAD_ISO_PATH) {
        await handleIsoUpload(request, response, { allowedOrigins, tokenMatches: (given) => sameSecret(given, token), isoDir: service.isoStoreDir });
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Only GET and HEAD are served.\n');
        return;
      }
      const urlPath = new URL(request.url ?? '/', 'http://localhost').pathname;
      const file = await readStaticFile(rendererDir, urlPath);
      if (!file) {
        response.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain' }).end('Not found.\n');
        return;
      }
      response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': file.contentType, 'Cache-Control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : file.body);
    })().catch((error: unknown) => {
      console.error('hangar web: request failed:', error);
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end('Internal error.\n');
    });
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  // VM screens (noVNC): the same Host and Origin checks as /api, then a one-time ticket
  // from openScreen instead of the token. noVNC could carry the token in its address too,
  // but the ticket alone is enough (only a token holder can get one) and simpler and safer:
  // the long-lived token never travels in a second address, and a ticket opens one screen
  // once, within 30 s.
  const screens = screenUpgrade(service.screenTickets, { allowedHosts, allowedOrigins });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === SCREEN_PATH) return screens.handle(request, socket, head);
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== API_PATH) return refuse('404 Not Found');
    if (!allowedHosts().includes(request.headers.host ?? '')) return refuse('421 Misdirected Request');
    if (!allowedOrigins().includes(request.headers.origin ?? '')) return refuse('403 Forbidden');
    if (!sameSecret(url.searchParams.get('token') ?? '', token)) return refuse('401 Unauthorized');
    sockets.handleUpgrade(request, socket, head, (client) => serveClient(client, service));
  });

  boundPort = await listenOnLoopback(server, port);
  service.setScreenBridge(`ws://${WEB_HOST_ADDRESS}:${boundPort}${SCREEN_PATH}`);

  return {
    port: boundPort,
    token,
    url: `http://${WEB_HOST_ADDRESS}:${boundPort}/?token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        screens.close();
        service.setScreenBridge(null);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function serveClient(client: WebSocket, service: HangarService): void {
  const send = (frame: ServerFrame): void => {
    if (client.readyState === client.OPEN) client.send(JSON.stringify(frame));
  };
  const unsubscribe = service.events.onAny((name, payload) => send({ type: 'event', name, payload }));
  client.on('close', unsubscribe);
  // An oversized or malformed frame is that client's problem: drop it, keep serving the rest.
  client.on('error', (error) => {
    console.error('hangar web: dropped a client:', error.message);
    client.terminate();
  });
  client.on('message', (data, isBinary) => {
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      parsed = undefined;
    }
    const frame = ClientFrame.safeParse(parsed);
    if (!frame.success) {
      // Without a valid id there is no one to answer: a client that sends this is broken.
      client.close(1008, 'Messages must be JSON calls: {type:"call", id, method, input}.');
      return;
    }
    void dispatch(service.api, frame.data.method, frame.data.input).then((result) => send({ type: 'reply', id: frame.data.id, result }));
  });
}
