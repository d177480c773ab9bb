import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/paths';

// The layering rules in eslint.config.js, shown to bite: each snippet is linted as if it
// were a file in the named folder (the files need not exist).

const eslint = new ESLint({ cwd: repoRoot });

async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
  return (result?.messages ?? []).filter((message) => message.ruleId === 'no-restricted-imports' || message.ruleId === 'no-restricted-globals').map((message) => message.message);
}

describe('layering lint', () => {
  it.each([
    ['src-main/host/x.ts', "import { app } from 'electron';\nexport const a = app;\n"],
    ['src-main/api/x.ts', "import type { IpcMain } from 'electron';\nexport type A = IpcMain;\n"],
    ['src-renderer/x.ts', "import { app } from 'electron';\nexport const a = app;\n"],
    ['src-renderer/features/x.ts', "import { dispatch } from '../../src-main/api/dispatch';\nexport const a = dispatch;\n"],
    ['src-renderer/x.ts', "import fs from 'node:fs';\nexport const a = fs;\n"],
    ['src-shared/x.ts', "import path from 'path';\nexport const a = path;\n"],
    ['src-shared/x.ts', "import { readFile } from 'node:fs/promises';\nexport const a = readFile;\n"],
    ['src-shared/x.ts', "import { createStore } from '../src-renderer/store';\nexport const a = createStore;\n"],
    ['src-shared/x.ts', 'export const a = () => document.title;\n'],
    ['src-shared/x.ts', 'export const a = () => process.env.HOME;\n'],
    ['src-main/web/x.ts', "import { App } from '../../src-renderer/App';\nexport const a = App;\n"],
    // The floors of src-main: nothing reaches up.
    ['src-main/consoles/x.ts', "import type { ConsoleSession } from '../connection/connection';\nexport type A = ConsoleSession;\n"],
    ['src-main/vms/x.ts', "import { freeBytes } from '../qemu/img';\nexport const a = freeBytes;\n"],
    ['src-main/qemu/keeper/x.ts', "import { Engine } from '../../connection/engine';\nexport const a = Engine;\n"],
    ['src-main/connection/x.ts', "import { dispatch } from '../api/dispatch';\nexport const a = dispatch;\n"],
    ['src-main/api/x.ts', "import { startWebHost } from '../web/server';\nexport const a = startWebHost;\n"],
    ['src-main/web/x.ts', "import { runCli } from '../cli/commands';\nexport const a = runCli;\n"],
    ['src-main/host/x.ts', "import { VmLibrary } from '../vms/library';\nexport const a = VmLibrary;\n"],
    ['src-main/util/x.ts', "import { VM_FILE_NAMES } from '../vms/layout';\nexport const a = VM_FILE_NAMES;\n"],
  ])('refuses in %s: %s', async (file, code) => {
    expect(await layeringErrors(file, code)).not.toEqual([]);
  });

  it.each([
    ['src-main/electron/x.ts', "import { app } from 'electron';\nexport const a = app;\n"],
    ['src-main/host/x.ts', "import fs from 'node:fs';\nexport const a = fs;\n"],
    ['src-renderer/x.ts', "import { methods } from '../src-shared/contract';\nexport const a = methods;\n"],
    ['src-shared/x.ts', "import { z } from 'zod';\nexport const a = z;\n"],
    ['src-main/connection/x.ts', "import { buildQemuArgv } from '../qemu/argv';\nexport const a = buildQemuArgv;\n"],
    ['src-main/qemu/keeper/x.ts', "import { acquireLock } from '../../vms/lock';\nexport const a = acquireLock;\n"],
    ['src-main/qemu/keeper/x.ts', "import { runPaths } from '../argv';\nexport const a = runPaths;\n"],
    ['src-main/cli/verbs/x.ts', "import { call } from '../command';\nexport const a = call;\n"],
    ['src-main/vms/x.ts', "import { readCapped } from '../util/read-capped';\nexport const a = readCapped;\n"],
  ])('allows in %s: %s', async (file, code) => {
    expect(await layeringErrors(file, code)).toEqual([]);
  });
});
