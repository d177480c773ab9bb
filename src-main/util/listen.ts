import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The only address Hangar's servers listen on: this machine, never the network. */
export const LOOPBACK = '127.0.0.1';

/** Starts `server` on the loopback address (port 0: a free one) and returns the port it got. */
export async function listenOnLoopback(server: http.Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
