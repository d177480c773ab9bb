import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtRendererDir } from '../support/paths';
import { assertBuilt } from '../support/web-host-process';

// The window's first load is its entry script, what that imports statically (the
// modulepreload links of index.html), and the window's own code, which the entry imports
// as soon as it has asked for the library (src-renderer/main.ts). xterm.js and noVNC are most of the renderer's code
// and only the console, terminal and screen tabs need them, so they must stay out of it
// and come by dynamic import (src-renderer/features/vm/lazy-panes.tsx) when a tab opens.
// One static import of either in a module the window loads at start would silently put
// them back: this reads the built files (`npm run build`) to catch that.

/** Strings in each library's own code that survive bundling and minifying (an element id, a class name). */
const LIBRARIES = { 'xterm.js': 'xterm-helper-textarea', noVNC: 'noVNC_mouse_capture_elem' };

const STATIC_IMPORT = /\b(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'](\.\.?\/[^"']+\.js)["']/g;
const DYNAMIC_IMPORT = /\bimport\(\s*["'](\.\.?\/[^"']+\.js)["']\s*\)/g;
/** vite's preload helper names the chunks a dynamic import needs in one list of strings. */
const PRELOAD_LIST = /["'](\.\/[^"']+\.js)["']/g;

const read = (file: string): string => readFileSync(file, 'utf8');
const matches = (text: string, pattern: RegExp): string[] => [...text.matchAll(pattern)].map((match) => match[1] as string);

/** Every script reachable from `start` by the imports `follow` finds in each. */
function reachable(start: readonly string[], follow: (file: string) => string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...follow(file).map((relative) => path.resolve(path.dirname(file), relative)));
  }
  return seen;
}

const containing = (files: Iterable<string>, marker: string): string[] => [...files].filter((file) => read(file).includes(marker)).map((file) => path.relative(builtRendererDir, file));

describe('the built renderer', () => {
  let firstLoad: Set<string>;
  let onDemand: Set<string>;

  beforeAll(() => {
    assertBuilt();
    const html = read(path.join(builtRendererDir, 'index.html'));
    const entries = matches(html, /<script type="module"[^>]*\bsrc="([^"]+)"/g);
    const preloaded = matches(html, /<link rel="modulepreload"[^>]*\bhref="([^"]+)"/g);
    expect(entries).toHaveLength(1);
    const staticImports = (file: string): string[] => matches(read(file), STATIC_IMPORT);
    const dynamicImports = (file: string): string[] => {
      const text = read(file);
      return [...matches(text, DYNAMIC_IMPORT), ...(text.includes('__vite__mapDeps') ? matches(text.split('\n', 1)[0] ?? '', PRELOAD_LIST) : [])];
    };
    const entryFiles = entries.map((file) => path.resolve(builtRendererDir, file));
    firstLoad = reachable(
      [...entryFiles, ...preloaded.map((file) => path.resolve(builtRendererDir, file)), ...entryFiles.flatMap((entry) => dynamicImports(entry).map((relative) => path.resolve(path.dirname(entry), relative)))],
      staticImports,
    );
    onDemand = reachable([...firstLoad], (file) => [...staticImports(file), ...dynamicImports(file)]);
    for (const file of onDemand) expect(existsSync(file), `${file}, imported by the renderer, is missing`).toBe(true);
  });

  it.each(Object.entries(LIBRARIES))('loads %s only when a tab that needs it opens', (_library, marker) => {
    // The marker is real: the tabs can still reach the library, by a dynamic import.
    expect(containing(onDemand, marker)).not.toEqual([]);
    expect(containing(firstLoad, marker)).toEqual([]);
  });

  it('keeps the first load at a fraction of what it was as one script (1.66 MB)', () => {
    const bytes = [...firstLoad].reduce((sum, file) => sum + read(file).length, 0);
    expect(bytes).toBeLessThan(1_000_000);
  });
});
