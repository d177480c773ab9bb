// `npm run security`: Electronegativity (Doyensec's checks for Electron's security
// pitfalls: webPreferences, navigation, permissions, CSP, dangerous APIs…) over the
// Electron shell's TypeScript sources, for findings with source lines, and over the built
// app in out/ (the main process with everything it bundles, the preload, and the renderer's
// page with its real CSP). Run after `npm run build`. It fails on any finding that
// scripts/electronegativity-allowlist.json does not list with a reason, on any allowlist
// entry that no longer matches a finding, and on any file the scanner could not parse.
// README.md, "Electronegativity findings", explains each allowed finding.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Finding {
  check: string;
  /** Relative to the repository, e.g. src-main/electron/app.ts or out/main/index.js; "N/A" for a finding about the whole input. */
  file: string;
  line: number;
  /** The flagged source line, or for a CSP finding the policy. */
  code: string;
  description: string;
  severity: string;
  confidence: string;
}

export interface AllowEntry {
  check: string;
  file: string;
  /** Text the flagged line contains, so an entry survives edits that move the line. */
  near: string;
  reason: string;
}

/** Reads the allowlist, refusing entries without a check, a file, a `near` text and a real reason. */
export function parseAllowlist(data: unknown): AllowEntry[] {
  const entries = (data as { allow?: unknown } | null)?.allow;
  if (!Array.isArray(entries)) throw new Error('the allowlist must be an object with an "allow" array');
  return entries.map((entry: unknown, index) => {
    const { check, file, near, reason } = (entry ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries({ check, file, near, reason })) {
      if (typeof value !== 'string' || value.trim() === '') throw new Error(`allowlist entry ${index + 1} has no "${key}"`);
    }
    if ((reason as string).trim().length < 20) throw new Error(`allowlist entry ${index + 1} (${String(check)}) needs a reason in words, not "${String(reason)}"`);
    return { check, file, near, reason } as AllowEntry;
  });
}

const allows = (entry: AllowEntry, finding: Finding): boolean =>
  entry.check === finding.check && entry.file === finding.file && finding.code.includes(entry.near);

/** The findings no entry allows, and the entries that allow nothing any more. */
export function judge(findings: readonly Finding[], allowlist: readonly AllowEntry[]): { allowed: [Finding, AllowEntry][]; unlisted: Finding[]; stale: AllowEntry[] } {
  const allowed: [Finding, AllowEntry][] = [];
  const unlisted: Finding[] = [];
  for (const finding of findings) {
    const entry = allowlist.find((candidate) => allows(candidate, finding));
    if (entry) allowed.push([finding, entry]);
    else unlisted.push(finding);
  }
  const stale = allowlist.filter((entry) => !findings.some((finding) => allows(entry, finding)));
  return { allowed, unlisted, stale };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALLOWLIST = path.join(root, 'scripts', 'electronegativity-allowlist.json');

/**
 * What is scanned. The sources have no HTML page, so the CSP verdict (CSPGlobalCheck,
 * which reports "no CSP" when it sees no page) is taken from the built renderer in out/.
 */
const SCANS: { input: string; exclude: string[] }[] = [
  { input: 'src-main/electron', exclude: ['CSPGlobalCheck'] },
  { input: 'out', exclude: [] },
];

/** Checks that always run offline here: the release check downloads Electron's release list from GitHub. Electron updates are npm's business. */
const NETWORK_CHECKS = ['AvailableSecurityFixesGlobalCheck'];

interface Issue {
  id: string;
  file: string;
  location: { line: number };
  sample?: string;
  description: string;
  severity: { name: string };
  confidence: { name: string };
}
type Run = (options: Record<string, unknown>) => Promise<{ issues: Issue[]; errors: { file: string; message: string; tolerable: boolean }[] }>;

function loadElectronegativity(): Run {
  const require = createRequire(import.meta.url);
  const own = createRequire(require.resolve('@doyensec/electronegativity/package.json'));
  // Electronegativity asks a web server for translations of its messages each run. The
  // scan must not need the network (CI has none) and must say the same thing every time,
  // so its HTTP client answers "not found" here and the bundled English text is used.
  const gotPath = own.resolve('got');
  const offlineGot = (): Promise<{ statusCode: number; body: string }> => Promise.resolve({ statusCode: 404, body: '' });
  own.cache[gotPath] = { id: gotPath, filename: gotPath, loaded: true, exports: offlineGot, children: [], paths: [] } as unknown as NodeJS.Module;
  return own('./dist/runner.js') as Run;
}

async function main(): Promise<number> {
  const electronVersion = (JSON.parse(readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;
  const allowlist = parseAllowlist(JSON.parse(readFileSync(ALLOWLIST, 'utf8')));
  const run = loadElectronegativity();
  const findings: Finding[] = [];
  const broken: string[] = [];
  for (const scan of SCANS) {
    const input = path.join(root, scan.input);
    const result = await run({ input, isRelative: true, electronVersionOverride: electronVersion, excludeFromScan: [...scan.exclude, ...NETWORK_CHECKS] });
    for (const error of result.errors) {
      const where = path.relative(root, error.file);
      if (error.tolerable) console.log(`electronegativity: note, ${where}: ${error.message}`);
      else broken.push(`${where}: ${error.message}`);
    }
    for (const issue of result.issues) {
      findings.push({
        check: issue.id,
        file: issue.file === 'N/A' ? 'N/A' : path.join(scan.input, issue.file),
        line: issue.location.line,
        code: (issue.sample ?? '').trim(),
        description: issue.description,
        severity: issue.severity.name,
        confidence: issue.confidence.name,
      });
    }
  }

  const { allowed, unlisted, stale } = judge(findings, allowlist);
  console.log(`electronegativity (Electron ${electronVersion}): scanned ${SCANS.map((scan) => scan.input).join(' and ')}; ${findings.length} finding(s), ${allowed.length} allowed by ${path.relative(root, ALLOWLIST)}`);
  for (const [finding] of allowed) console.log(`  allowed  ${finding.check}  ${finding.file}:${finding.line}`);
  for (const finding of unlisted) {
    console.error(`\n  FINDING  ${finding.check} (${finding.severity}, ${finding.confidence})  ${finding.file}:${finding.line}`);
    console.error(`           ${finding.description}`);
    if (finding.code) console.error(`           ${finding.code.slice(0, 200)}`);
    console.error(`           https://github.com/doyensec/electronegativity/wiki/${finding.check}`);
  }
  if (unlisted.length > 0) console.error(`\nFix each finding above, or, if it does not apply, add it to ${path.relative(root, ALLOWLIST)} with the reason (and to README.md, "Electronegativity findings").`);
  for (const entry of stale) console.error(`\n  STALE    ${entry.check}  ${entry.file} near "${entry.near}": nothing matches this allowlist entry any more; remove it (and its README line).`);
  for (const message of broken) console.error(`\n  UNREAD   ${message}: Electronegativity could not parse this file, so it was not checked.`);
  return unlisted.length + stale.length + broken.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error('electronegativity:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
