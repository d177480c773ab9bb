import { describe, expect, it } from 'vitest';
import { RENDERER_CSP } from '../../../src-shared/csp';

// The renderer's policy stays strict: the screen bridge widened connect-src by exactly one
// loopback WebSocket source, and nothing else may slip in beside it.

function directives(policy: string): Map<string, string[]> {
  const parsed = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    expect(parsed.has(name), `${name} appears twice`).toBe(false);
    parsed.set(name, sources);
  }
  return parsed;
}

const csp = directives(RENDERER_CSP);

describe('the renderer CSP', () => {
  it('allows nothing by default and names every directive it relaxes', () => {
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect([...csp.keys()].sort()).toEqual(['base-uri', 'connect-src', 'default-src', 'font-src', 'form-action', 'frame-ancestors', 'img-src', 'object-src', 'script-src', 'style-src']);
  });

  it('runs only our own scripts: no inline code, no eval, no other host', () => {
    expect(csp.get('script-src')).toEqual(["'self'"]);
  });

  it('connects only back to its own origin and to WebSockets on 127.0.0.1 (the screen bridge)', () => {
    expect(csp.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:*']);
  });

  it('embeds nothing, is embedded nowhere, and posts nowhere', () => {
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'none'"]);
  });

  it('loads pictures, fonts and styles only from itself (styles inline for the terminal, pictures as data for thumbnails)', () => {
    expect(csp.get('img-src')).toEqual(["'self'", 'data:', 'blob:']);
    expect(csp.get('font-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
  });

  it('has no wildcard host, no bare scheme that opens the network, and no eval anywhere', () => {
    for (const [name, sources] of csp) {
      for (const source of sources) {
        expect(source, `${name} ${source}`).not.toMatch(/^\*|^https?:$|^wss?:$|^https?:\/\/\*|'unsafe-eval'|'wasm-unsafe-eval'|'unsafe-hashes'|'strict-dynamic'/);
      }
    }
  });
});
