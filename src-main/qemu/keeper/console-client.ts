import net from 'node:net';
import { HangarError } from '../../../src-shared/errors';
import type { ConsoleSession } from '../../consoles/console-session';

// The client side of a keeper's console.sock: first the scrollback, framed by its length
// (4 bytes, big-endian), then the live serial stream; what is written goes to the guest.

export async function openConsoleSocket(socketPath: string, vmName: string): Promise<ConsoleSession> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const candidate = net.createConnection(socketPath);
    candidate.once('connect', () => resolve(candidate));
    candidate.once('error', (error) => reject(new HangarError('VM_NOT_RUNNING', `The console of "${vmName}" is not available: ${error.message}`)));
  });
  const listeners = new Set<(chunk: Buffer) => void>();
  let pending = Buffer.alloc(0);
  const scrollback = await new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 4) return;
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) return;
      socket.off('data', onData);
      const kept = pending.subarray(4, 4 + length);
      pending = pending.subarray(4 + length);
      resolve(Buffer.from(kept));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new HangarError('VM_NOT_RUNNING', `"${vmName}" stopped.`)));
  });
  const early = pending;
  socket.on('data', (chunk: Buffer) => {
    for (const listener of listeners) listener(chunk);
  });
  return {
    scrollback: early.length > 0 ? Buffer.concat([scrollback, early]) : scrollback,
    onData(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onEnd(listener) {
      socket.once('close', listener);
    },
    write(data) {
      socket.write(data);
    },
    close() {
      socket.destroy();
    },
  };
}
