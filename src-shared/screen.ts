import { z } from 'zod';

// A running VM's screen: QEMU serves it as VNC on a unix socket in the VM's private run
// folder; a process with a bridge (the web host, the Electron main process) carries it to
// noVNC over a loopback WebSocket that only a fresh one-time ticket opens.

/** The path a bridge serves the screen on: ws://127.0.0.1:PORT/screen?ticket=… */
export const SCREEN_PATH = '/screen';

/** How long a ticket from openScreen may wait before it is redeemed. */
export const SCREEN_TICKET_TTL_MS = 30_000;

export const ScreenAccess = z.strictObject({
  /** A loopback WebSocket address with a one-time ticket; null where no bridge runs (the CLI). */
  url: z
    .string()
    .regex(/^ws:\/\/127\.0\.0\.1:\d{1,5}\/screen\?ticket=[A-Za-z0-9_-]{16,}$/, 'Not a loopback screen address.')
    .nullable(),
  /** QEMU's VNC unix socket, for viewers on this machine (remote-viewer, vncviewer). */
  socketPath: z.string().min(1),
});
export type ScreenAccess = z.infer<typeof ScreenAccess>;

export const Screenshot = z.strictObject({
  /** The picture as PNG, base64. */
  png: z.base64(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type Screenshot = z.infer<typeof Screenshot>;
