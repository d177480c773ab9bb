import { z } from 'zod';

// What the Electron shell tells the window to do. The web door has no menu and no file
// manager, so only the desktop app sends these.

export const DesktopCommand = z.discriminatedUnion('command', [
  z.strictObject({ command: z.literal('newVm') }),
  /** An ISO to create a VM from: picked in the native dialog, opened from the file manager, or a second launch's argument. */
  z.strictObject({ command: z.literal('openIso'), path: z.string().min(1).max(4096) }),
  z.strictObject({ command: z.literal('show'), screen: z.enum(['library', 'host']) }),
]);
export type DesktopCommand = z.infer<typeof DesktopCommand>;
