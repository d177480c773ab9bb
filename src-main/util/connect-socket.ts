import net from 'node:net';

/** A connection to a unix socket once it is open; rejects with the errno error (ENOENT, ECONNREFUSED) when nobody listens. */
export function connectSocket(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(file);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
