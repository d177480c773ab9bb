import http from 'node:http';
import { WebSocketServer } from 'ws';
import { RENDERER_CSP } from '../../src-shared/csp';
import { SCREEN_PATH } from '../../src-shared/screen';
import { MAX_FRAME_BYTES } from '../../src-shared/wire';
import type { HangarService } from '../api/service';
import { screenUpgrade } from '../consoles/screen-bridge';
import { closeClient, serveClient } from './api-client';
import { API_CLIENTS, CONNECTIONS } from './caps';
import { SESSION_COOKIE_PREFIX, WebSession } from './session';
import { readStaticFile } from './static';
import { handleIsoUpload, UPLOAD_ISO_PATH } from './uploads';
import { listenOnLoopback, LOOPBACK } from '../util/listen';

// The web host: the built renderer and the contract over one WebSocket, on loopback only.
// Anyone on this machine can reach a loopback port, so the page, the API and uploads need
// the session that the printed one-time address opens (session.ts); the Origin and Host
// checks stop other web pages (and DNS rebinding) from using it. Bounds per client and
// in all are in caps.ts.

export const WEB_HOST_ADDRESS = LOOPBACK;
export const API_PATH = '/api';

export interface WebHostOptions {
  service: HangarService;
  rendererDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface WebHost {
  port: number;
  /** The address to open in a browser, with its one-time token: it works once. */
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

/** A page that says why Hangar did not open, and what to do. */
function sayWhy(response: http.ServerResponse, status: number, title: string, text: string): void {
  const page = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1><p>${text}</p></body></html>\n`;
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page);
}

const ADDRESS_USED =
  'This address opens Hangar once, and it has been used (or it is not the one that <code>hangar web</code> printed). ' +
  'Go back to the Hangar tab that is already open: reloading it keeps working. Or stop <code>hangar web</code> and run it again for a new address.';
const NOT_SIGNED_IN =
  'This browser has not opened Hangar with the address that <code>hangar web</code> printed (it ends in <code>?token=…</code>). ' +
  'Open that address. If it was used already, stop <code>hangar web</code> and run it again for a new one.';

export async function startWebHost({ service, rendererDir, port = 0 }: WebHostOptions): Promise<WebHost> {
  let boundPort = port;
  const allowedHosts = (): string[] => [`${WEB_HOST_ADDRESS}:${boundPort}`, `localhost:${boundPort}`];
  const allowedOrigins = (): string[] => allowedHosts().map((host) => `http://${host}`);
  const session = new WebSession(() => `${SESSION_COOKIE_PREFIX}${boundPort}`);
  const url = (): string => `http://${WEB_HOST_ADDRESS}:${boundPort}/?token=${session.oneTimeToken ?? ''}`;

  const serveStatic = async (request: http.IncomingMessage, response: http.ServerResponse, requestUrl: URL): Promise<void> => {
    const token = requestUrl.searchParams.get('token');
    if (token !== null && request.method === 'GET') {
      const cookie = session.redeem(token);
      // The same browser coming back by the address again already has the session: nothing new opens.
      if (cookie || session.admits(request.headers.cookie)) {
        response.writeHead(303, { ...SECURITY_HEADERS, Location: '/', 'Cache-Control': 'no-store', ...(cookie ? { 'Set-Cookie': cookie } : {}) }).end();
      } else {
        sayWhy(response, 403, 'This Hangar address was used already', ADDRESS_USED);
      }
      return;
    }
    const file = await readStaticFile(rendererDir, requestUrl.pathname);
    if (!file) {
      response.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain' }).end('Not found.\n');
      return;
    }
    // The page needs the session; its scripts and styles are the same for everyone.
    if (file.contentType.startsWith('text/html') && !session.admits(request.headers.cookie)) {
      sayWhy(response, 401, 'Open Hangar with its address', NOT_SIGNED_IN);
      return;
    }
    response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': file.contentType, 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : file.body);
  };

  const server = http.createServer((request, response) => {
    void (async () => {
      if (!allowedHosts().includes(request.headers.host ?? '')) {
        response.writeHead(421, { 'Content-Type': 'text/plain' }).end('Wrong host name.\n');
        return;
      }
      const requestUrl = new URL(request.url ?? '/', 'http://localhost');
      if (request.method === 'PUT' && requestUrl.pathname === UPLOAD_ISO_PATH) {
        await handleIsoUpload(request, response, { allowedOrigins, signedIn: (cookie) => session.admits(cookie), isoDir: service.isoStoreDir });
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Only GET and HEAD are served.\n');
        return;
      }
      await serveStatic(request, response, requestUrl);
    })().catch((error: unknown) => {
      console.error('hangar web: request failed:', error);
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end('Internal error.\n');
    });
  });
  // Page loads, uploads, API sockets and screens together: enough for many tabs, and far
  // from the process's descriptor limit however fast a program opens connections.
  server.maxConnections = CONNECTIONS;

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  // VM screens (noVNC): the same Host and Origin checks as /api, then a one-time ticket
  // from openScreen instead of the session. The ticket alone is enough (only a signed-in
  // client can get one), and it opens one screen once, within 30 s.
  const screens = screenUpgrade(service.screenTickets, { allowedHosts, allowedOrigins });
  server.on('upgrade', (request, socket, head) => {
    const upgradeUrl = new URL(request.url ?? '/', 'http://localhost');
    if (upgradeUrl.pathname === SCREEN_PATH) return screens.handle(request, socket, head);
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (upgradeUrl.pathname !== API_PATH) return refuse('404 Not Found');
    if (!allowedHosts().includes(request.headers.host ?? '')) return refuse('421 Misdirected Request');
    if (!allowedOrigins().includes(request.headers.origin ?? '')) return refuse('403 Forbidden');
    if (!session.admits(request.headers.cookie)) return refuse('401 Unauthorized');
    sockets.handleUpgrade(request, socket, head, (client) => {
      // Accepted only to be told why: a browser shows a close reason, never a refused upgrade's.
      if (sockets.clients.size > API_CLIENTS) return closeClient(client, 1013, `Hangar serves at most ${API_CLIENTS} windows at once. Close one of them, then reload this page.`);
      serveClient(client, service);
    });
  });

  boundPort = await listenOnLoopback(server, port);
  service.setScreenBridge(`ws://${WEB_HOST_ADDRESS}:${boundPort}${SCREEN_PATH}`);

  return {
    port: boundPort,
    url: url(),
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
