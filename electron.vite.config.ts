import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { RENDERER_CSP } from './src-shared/csp';

/** One policy for both doors: the web host sends RENDERER_CSP as a header, Electron reads this meta tag. */
const cspMetaTag = (): Plugin => ({
  name: 'hangar-csp',
  // frame-ancestors is only honoured in a header, and browsers warn about it in a meta tag.
  transformIndexHtml: (html) => html.replace('%HANGAR_CSP%', RENDERER_CSP.replace(/; frame-ancestors [^;]+/, '')),
});

/**
 * Node builtins reach the main-process code through require(), not as ES modules: Node makes
 * the ES module of a builtin by reading every one of its exports, lazy ones included, and for
 * node:http that loads undici (about 150 ms on every `hangar` command and keeper start, more
 * than the rest of the CLI costs). Rollup keeps builtins external and writes plain import
 * lines for them, which are rewritten here, chunk by chunk, into require() calls that read
 * only the names used.
 */
const requireBuiltins = (): Plugin => ({
  name: 'hangar-require-builtins',
  renderChunk(code) {
    const line = /^import (?:(\w+)(?:, )?)?(?:\* as (\w+)|\{([^}]*)\})? ?from "(node:[\w/]+)";$|^import "(node:[\w/]+)";$/gm;
    let used = false;
    const rewritten = code.replace(line, (whole, defaultName: string | undefined, namespace: string | undefined, names: string | undefined, from: string | undefined, bare: string | undefined) => {
      const specifier = from ?? bare ?? '';
      if (specifier === 'node:module' || !isBuiltin(specifier)) return whole;
      used = true;
      const required = `__hangarRequire(${JSON.stringify(specifier)})`;
      if (bare) return `${required};`;
      const parts: string[] = [];
      if (defaultName) parts.push(`const ${defaultName} = ${required};`);
      if (namespace) parts.push(`const ${namespace} = ${required};`);
      if (names !== undefined) parts.push(`const { ${names.split(',').map((name) => name.trim()).filter(Boolean).map((name) => name.replace(/\s+as\s+/, ': ')).join(', ')} } = ${required};`);
      return parts.join(' ');
    });
    if (!used) return null;
    return { code: `import { createRequire as __hangarCreateRequire } from "node:module";\nconst __hangarRequire = __hangarCreateRequire(import.meta.url);\n${rewritten}`, map: null };
  },
});

/**
 * Each running VM's holder (src-main/qemu/holder/hangar-holder.c) is a small C program, built
 * with the main code so that every build (npm test, npm start, npm run web) has one that
 * matches its sources. Written under a temporary name and renamed: a holder being started
 * never sees half a binary.
 */
const buildHolder = (): Plugin => ({
  name: 'hangar-holder',
  apply: 'build',
  closeBundle() {
    const source = resolve('src-main/qemu/holder/hangar-holder.c');
    const target = resolve('out/holder/hangar-holder');
    const temp = `${target}.${process.pid}.tmp`;
    mkdirSync(resolve('out/holder'), { recursive: true });
    try {
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-D_GNU_SOURCE', '-o', temp, source], { stdio: ['ignore', 'pipe', 'pipe'] });
      renameSync(temp, target);
    } catch (error) {
      rmSync(temp, { force: true });
      const failure = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (failure.code === 'ENOENT') throw new Error("Hangar's VM holder is C and this machine has no C compiler (cc): install gcc (scripts/setup-host.sh does).", { cause: error });
      throw new Error(`Hangar's VM holder (${source}) did not compile:\n${failure.stderr?.toString() ?? failure.message}`, { cause: error });
    }
  },
});

/**
 * The first script (src-renderer/main.ts) asks for the library before it imports the
 * window's code (window.tsx); fetched from the start beside it, that code is ready to run
 * by then instead of being fetched only after.
 */
const preloadWindowCode = (): Plugin => ({
  name: 'hangar-preload-window-code',
  apply: 'build',
  transformIndexHtml: {
    order: 'post',
    handler(html, { bundle }) {
      const chunks = Object.values(bundle ?? {}).flatMap((output) => (output.type === 'chunk' ? [output] : []));
      const windowCode = chunks.find((chunk) => chunk.facadeModuleId !== null && /[\\/]src-renderer[\\/]window\.tsx$/.test(chunk.facadeModuleId));
      if (!windowCode) throw new Error('The renderer build has no chunk for src-renderer/window.tsx.');
      return [windowCode.fileName, ...windowCode.imports]
        .filter((file) => !html.includes(`/${file}"`))
        .map((file) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `./${file}` }, injectTo: 'head' as const }));
    },
  },
});

// Three builds: the main process (with the CLI as a second entry, since both are plain
// Node code around the same service), the sandboxed preload, and the React renderer.
export default defineConfig({
  main: {
    plugins: [requireBuiltins(), buildHolder()],
    build: {
      outDir: 'out/main',
      // zod and ws are bundled in: Node's ES module loader costs more per file than the code
      // itself, and zod alone is dozens of files, paid on every `hangar` command and keeper start.
      // node-pty stays outside (a native addon).
      externalizeDeps: { exclude: ['zod', 'ws'] },
      rollupOptions: {
        input: {
          index: resolve('src-main/electron/main.ts'),
          cli: resolve('src-main/cli/main.ts'),
          // The keeper, one per user, keeping every running VM (see src-main/qemu/keeper).
          keeper: resolve('src-main/qemu/keeper/main.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can require nothing but 'electron': bundle everything else in.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src-main/electron/preload.ts') },
        // Sandboxed preloads cannot be ES modules.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src-renderer',
    plugins: [react(), cspMetaTag(), preloadWindowCode()],
    build: {
      outDir: 'out/renderer',
      rollupOptions: {
        input: resolve('src-renderer/index.html'),
        // xterm.js and noVNC are most of the renderer's code and only the console, terminal
        // and screen panes use them (src-renderer/features/vm/lazy-panes.tsx): each in a chunk
        // of its own, named after it, loaded when one of those tabs first opens.
        output: {
          codeSplitting: {
            groups: [
              { name: 'xterm', test: /[\\/]node_modules[\\/]@xterm[\\/]/ },
              { name: 'novnc', test: /[\\/]node_modules[\\/]@novnc[\\/]/ },
              // The contract and its validator, which the window needs from the start; with
              // zod-jitless.ts, which must run before the first schema is made (see there).
              { name: 'contract', test: /[\\/](src-shared[\\/]|node_modules[\\/]zod[\\/]|src-renderer[\\/]zod-jitless\.ts$)/ },
            ],
          },
        },
      },
    },
  },
});
