import { HangarError } from '../../src-shared/errors';
import { CallResult, ServerFrame, type HangarBridge } from '../../src-shared/wire';

// How calls leave the renderer: through the Electron preload bridge when there is one,
// else over the web host's WebSocket. Both speak the same CallResult envelope.

export type Transport = HangarBridge;

export function bridgeTransport(bridge: HangarBridge): Transport {
  return bridge;
}

export interface WebSocketTransport extends Transport {
  /** Resolves once the connection is open; rejects when it cannot be opened. */
  ready: Promise<void>;
  onClose(listener: (reason: string) => void): void;
}

export function webSocketTransport(url: string): WebSocketTransport {
  const socket = new WebSocket(url);
  const pending = new Map<number, (result: CallResult) => void>();
  const eventListeners = new Set<(name: string, payload: unknown) => void>();
  const closeListeners = new Set<(reason: string) => void>();
  let nextId = 1;
  let closedReason: string | null = null;

  const ready = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('close', () => reject(new HangarError('DISCONNECTED', 'Could not connect to Hangar. Check that "hangar web" is still running; if it was started again, open the new address it printed.')), { once: true });
  });

  socket.addEventListener('message', (message) => {
    let frame: ServerFrame;
    try {
      frame = ServerFrame.parse(JSON.parse(String(message.data)));
    } catch {
      console.error('hangar: ignored a message that is not part of the protocol');
      return;
    }
    if (frame.type === 'reply') {
      pending.get(frame.id)?.(frame.result);
      pending.delete(frame.id);
    } else {
      for (const listener of eventListeners) listener(frame.name, frame.payload);
    }
  });

  socket.addEventListener('close', (event) => {
    closedReason = event.reason || 'The connection to Hangar was closed.';
    for (const settle of pending.values()) settle({ ok: false, error: { code: 'DISCONNECTED', message: `Lost the connection to Hangar: ${closedReason}` } });
    pending.clear();
    for (const listener of closeListeners) listener(closedReason);
  });

  return {
    ready,
    async invoke(method, input) {
      await ready;
      if (closedReason !== null) return { ok: false, error: { code: 'DISCONNECTED', message: `Lost the connection to Hangar: ${closedReason}` } };
      const id = nextId++;
      return new Promise<CallResult>((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ type: 'call', id, method, input }));
      });
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onClose(listener) {
      closeListeners.add(listener);
    },
  };
}
