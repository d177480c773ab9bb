import { promises as fs } from 'node:fs';
import { HangarError } from '../../src-shared/errors';
import type { ConsoleSession } from '../consoles/console-session';
import { runPaths } from '../qemu/argv';
import { openConsoleSocket } from '../qemu/keeper/console-client';
import { holderFiles } from '../qemu/holder/paths';
import { takeScreenshot } from '../qemu/screendump';
import type { ScreenPicture } from './connection';
import type { Engine } from './engine';
import { running } from './lifecycle';

// What a running VM shows: its serial console (through its keeper's console.sock) and its
// screen (QEMU's VNC socket in the run folder, and pictures of it by screendump).

export async function openConsole(engine: Engine, ref: string): Promise<ConsoleSession> {
  const { vm, summary } = await running(engine, ref, 'openConsole');
  return openConsoleSocket(holderFiles(engine.runDir(vm.entry.id)).console, summary.name);
}

export async function screenSocket(engine: Engine, ref: string): Promise<string> {
  const { vm, summary } = await running(engine, ref, 'openScreen');
  const socket = runPaths(engine.runDir(vm.entry.id)).vncSocket;
  // No socket while its keeper still answers: QEMU has just ended.
  if (!(await fs.stat(socket).catch(() => null))?.isSocket()) throw new HangarError('VM_NOT_RUNNING', `"${summary.name}" is not running.`);
  return socket;
}

export async function screenshot(engine: Engine, ref: string): Promise<ScreenPicture> {
  const { vm, keeper, summary } = await running(engine, ref, 'openScreen');
  try {
    return await takeScreenshot({ screendump: (args) => keeper.execute('screendump', args) }, engine.runDir(vm.entry.id));
  } catch (error) {
    if (error instanceof HangarError) throw error;
    const stopped = !keeper.isConnected;
    throw new HangarError(stopped ? 'VM_NOT_RUNNING' : 'QEMU_FAILED', stopped ? `"${summary.name}" stopped before its screen could be pictured.` : `QEMU could not picture the screen: ${(error as Error).message}`);
  }
}
