import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hangarBin, repoRoot } from '../support/paths';

// The built main-process code (out/main: the CLI, the keeper, Electron's main) as every
// `hangar` command and keeper start loads it. Node builds the ES module of a builtin by
// reading all its exports (node:http's load undici, ~150 ms), so the build requires them
// instead (electron.vite.config.ts, requireBuiltins).

const outMain = path.join(repoRoot, 'out', 'main');
const builtFiles = (): string[] => readdirSync(outMain, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js')).map((file) => path.join(outMain, file));

describe('the main-process build', () => {
  it('imports no Node builtin as an ES module except node:module, which does the requiring', () => {
    const files = builtFiles();
    expect(files.length).toBeGreaterThan(3);
    const esmBuiltins = files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^import [^;]*?from "(node:[\w/]+)";$/gm)].map((match) => `${path.relative(outMain, file)}: ${match[1]}`)).filter((entry) => !entry.endsWith(': node:module'));
    expect(esmBuiltins).toEqual([]);
    // And the requires are there: node:http is used (the web host), through require.
    expect(files.some((file) => readFileSync(file, 'utf8').includes('__hangarRequire("node:http")'))).toBe(true);
  });

  it('runs: the CLI answers, with a named import and a default import of builtins', () => {
    const version = JSON.parse(execFileSync(process.execPath, [hangarBin, 'version', '--json'], { encoding: 'utf8' })) as { name: string };
    expect(version.name).toBe('Hangar');
  });
});
