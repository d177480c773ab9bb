import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { judge, parseAllowlist, type AllowEntry, type Finding } from '../../../scripts/security-scan';
import { repoRoot } from '../../support/paths';

// `npm run security` fails on what its allowlist does not excuse; shown here without
// running the scanner (npm test runs the real scan after the build).

const finding = (check: string, file: string, code: string): Finding => ({ check, file, line: 10, code, description: 'd', severity: 'HIGH', confidence: 'FIRM' });
const entry = (check: string, file: string, near: string): AllowEntry => ({ check, file, near, reason: 'a reason given in words' });

describe('the electronegativity allowlist', () => {
  it('allows a finding only by check, file and the text on its line', () => {
    const window = finding('SANDBOX_JS_CHECK', 'src-main/electron/app.ts', 'const created = new BrowserWindow({');
    const other = finding('SANDBOX_JS_CHECK', 'src-main/electron/other.ts', 'new BrowserWindow({');
    const view = finding('SANDBOX_JS_CHECK', 'src-main/electron/app.ts', 'const view = new BrowserView({');
    const result = judge([window, other, view], [entry('SANDBOX_JS_CHECK', 'src-main/electron/app.ts', 'new BrowserWindow(')]);
    expect(result.allowed.map(([allowed]) => allowed)).toEqual([window]);
    expect(result.unlisted).toEqual([other, view]);
    expect(result.stale).toEqual([]);
  });

  it('reports an entry that matches nothing any more', () => {
    const gone = entry('AUXCLICK_JS_CHECK', 'src-main/electron/app.ts', 'new BrowserWindow(');
    expect(judge([], [gone]).stale).toEqual([gone]);
  });

  it('refuses an entry without a reason', () => {
    expect(() => parseAllowlist({ allow: [{ check: 'X', file: 'f', near: 'n' }] })).toThrow(/reason/);
    expect(() => parseAllowlist({ allow: [{ check: 'X', file: 'f', near: 'n', reason: 'ok' }] })).toThrow(/reason in words/);
    expect(() => parseAllowlist([])).toThrow(/allow/);
  });

  it("has every allowed check explained in README's \"Electronegativity findings\"", () => {
    const allowlist = parseAllowlist(JSON.parse(readFileSync(path.join(repoRoot, 'scripts', 'electronegativity-allowlist.json'), 'utf8')));
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Electronegativity findings'));
    expect(section.startsWith('## Electronegativity findings')).toBe(true);
    for (const { check } of allowlist) expect(section, check).toContain(check);
  });
});
