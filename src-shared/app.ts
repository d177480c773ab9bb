import { z } from 'zod';

export const FrontDoor = z.enum(['electron', 'web', 'cli']);
export type FrontDoor = z.infer<typeof FrontDoor>;

export const AppInfo = z.strictObject({
  name: z.literal('Hangar'),
  version: z.string(),
  /** Which front door this client came through: the UI shows it and adapts (e.g. no native dialogs on the web). */
  door: FrontDoor,
  platform: z.string(),
});
export type AppInfo = z.infer<typeof AppInfo>;
