import { z } from 'zod';
import { ErrorInfo } from './errors';

// How a call and its answer travel between a client and a door. The same result envelope
// is used over Electron IPC and the WebSocket so that a failure in the main process reaches
// the UI as an error with a code, not as a serialisation accident.

export const CallResult = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), value: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: ErrorInfo }),
]);
export type CallResult = z.infer<typeof CallResult>;

/** Electron IPC: one channel per contract method, and one for events. */
export const IPC_CHANNEL_PREFIX = 'hangar:call:';
export const IPC_EVENT_CHANNEL = 'hangar:event';
export function ipcChannelFor(method: string): string {
  return IPC_CHANNEL_PREFIX + method;
}

/** The largest WebSocket message either side accepts. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export const ClientFrame = z.strictObject({
  type: z.literal('call'),
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  method: z.string().min(1).max(64),
  input: z.unknown(),
});
export type ClientFrame = z.infer<typeof ClientFrame>;

export const ServerFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('reply'), id: z.number().int().nonnegative(), result: CallResult }),
  z.strictObject({ type: z.literal('event'), name: z.string(), payload: z.unknown() }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** What the preload script puts on `window.hangar`: a transport, not the typed API itself. */
export interface HangarBridge {
  invoke(method: string, input: unknown): Promise<CallResult>;
  /** Subscribes to every event; returns the unsubscribe function. */
  onEvent(listener: (name: string, payload: unknown) => void): () => void;
  /**
   * Where a dropped or picked file lives on this machine (Electron's webUtils). Only the
   * desktop app has it; in a browser the file's bytes are sent to `hangar web` instead.
   * Typed loosely because this layer knows no DOM: the argument is a File.
   */
  pathForFile?(file: unknown): string;
}
