import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths';

// The README's set-up puts a real `hangar` on the PATH (scripts/link-hangar.sh), so users
// never type npx. The script is run as a user would, into a folder of the test's own.

let home: string;
const script = path.join(repoRoot, 'scripts', 'link-hangar.sh');

beforeEach(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), "hangar-link-it's-"));
});
afterEach(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

describe('scripts/link-hangar.sh', () => {
  it('writes ~/.local/bin/hangar, which runs this clone\'s Hangar with the clone\'s Node', () => {
    const out = execFileSync('bash', [script], { env: { ...process.env, HOME: home, PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    const hangar = path.join(home, '.local', 'bin', 'hangar');
    expect(out).toContain(`${hangar} runs Hangar from ${repoRoot}`);
    expect(out).toContain('is not on your PATH');
    const version = JSON.parse(execFileSync(hangar, ['version', '--json'], { encoding: 'utf8', env: { ...process.env, HOME: home } })) as { name: string; door: string };
    expect(version).toMatchObject({ name: 'Hangar', door: 'cli' });
    // Again: it replaces its own script.
    expect(spawnSync('bash', [script], { env: { ...process.env, HOME: home } }).status).toBe(0);
  });

  it('passes arguments through untouched, from a clone whose path has quotes and spaces', async () => {
    // A clone of its own: the script and a bin/hangar.js that prints what it was given.
    const clone = path.join(home, "my 'odd' clone $HOME");
    await fs.mkdir(path.join(clone, 'scripts'), { recursive: true });
    await fs.mkdir(path.join(clone, 'bin'));
    await fs.copyFile(script, path.join(clone, 'scripts', 'link-hangar.sh'));
    await fs.writeFile(path.join(clone, 'bin', 'hangar.js'), 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const folder = path.join(home, 'bin dir');
    execFileSync('bash', [path.join(clone, 'scripts', 'link-hangar.sh'), folder], { env: { ...process.env, HOME: home } });
    const args = ['start', "it's", '$(touch /tmp/x)', '"quoted"', '*'];
    expect(JSON.parse(execFileSync(path.join(folder, 'hangar'), args, { encoding: 'utf8', cwd: home }))).toEqual(args);
  });

  it('leaves a hangar it did not write alone, and refuses a relative folder', async () => {
    const folder = path.join(home, 'bin');
    await fs.mkdir(folder);
    await fs.writeFile(path.join(folder, 'hangar'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const refused = spawnSync('bash', [script, folder], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('is not one this script wrote');
    expect(await fs.readFile(path.join(folder, 'hangar'), 'utf8')).toBe('#!/bin/sh\necho mine\n');
    const relative = spawnSync('bash', [script, 'bin'], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
    expect(relative.status).toBe(2);
    expect(relative.stderr).toContain('must be an absolute path');
  });
});
