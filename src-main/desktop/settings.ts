import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { atomicWriteFile } from '../util/atomic-write';

// The desktop app's own settings (not the VM library's): where its window was, and what to
// do with running VMs on quit once the person said "remember". One small JSON file in
// $XDG_CONFIG_HOME/hangar/, private to the user; a damaged one means defaults, never a
// crash (it is rewritten on the next change).

export const QuitChoice = z.enum(['keep', 'save', 'shutdown']);
export type QuitChoice = z.infer<typeof QuitChoice>;

export const WindowBounds = z.strictObject({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().min(200).max(100_000),
  height: z.number().int().min(150).max(100_000),
  maximized: z.boolean(),
});
export type WindowBounds = z.infer<typeof WindowBounds>;

export const DesktopSettings = z.strictObject({
  window: WindowBounds.nullable().default(null),
  /** null: ask every time. */
  quitChoice: QuitChoice.nullable().default(null),
});
export type DesktopSettings = z.infer<typeof DesktopSettings>;

export function settingsFile(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(configHome, 'hangar', 'desktop.json');
}

export async function loadSettings(file: string): Promise<DesktopSettings> {
  try {
    const parsed = DesktopSettings.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // missing or not JSON: defaults
  }
  return DesktopSettings.parse({});
}

export async function saveSettings(file: string, settings: DesktopSettings): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await atomicWriteFile(file, JSON.stringify(DesktopSettings.parse(settings), null, 2) + '\n', 0o600);
}

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where to open the window: where it was, if that is still on a screen (a monitor may have
 * been unplugged since), shrunk to fit; otherwise the default size, centred by the window
 * system. Pure.
 */
export function placeWindow(saved: WindowBounds | null, displays: readonly Rectangle[], fallback: { width: number; height: number }): { bounds: Partial<Rectangle> & { width: number; height: number }; maximized: boolean } {
  if (!saved) return { bounds: fallback, maximized: false };
  const home = displays.find((area) => overlap(area, saved) >= 0.5 * Math.min(saved.width * saved.height, area.width * area.height));
  if (!home) return { bounds: { width: Math.min(saved.width, displays[0]?.width ?? saved.width), height: Math.min(saved.height, displays[0]?.height ?? saved.height) }, maximized: saved.maximized };
  const width = Math.min(saved.width, home.width);
  const height = Math.min(saved.height, home.height);
  const x = Math.min(Math.max(saved.x, home.x), home.x + home.width - width);
  const y = Math.min(Math.max(saved.y, home.y), home.y + home.height - height);
  return { bounds: { x, y, width, height }, maximized: saved.maximized };
}

function overlap(a: Rectangle, b: Rectangle): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}
