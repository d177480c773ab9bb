import { describe, expect, it } from 'vitest';
import { HangarError } from '../../../src-shared/errors';
import { slugForName, uniqueId, validVmName } from '../../../src-main/vms/ids';

const ID = /^[a-z0-9][a-z0-9-]{0,47}$/;

function expectSafeId(id: string): void {
  expect(id).toMatch(ID);
  expect(id).not.toContain('/');
  expect(id).not.toContain('..');
}

function nameError(raw: unknown): HangarError {
  try {
    validVmName(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(HangarError);
    return error as HangarError;
  }
  throw new Error(`validVmName(${JSON.stringify(raw)}) was accepted`);
}

describe('validVmName', () => {
  it.each([
    ['Debian 12', 'Debian 12'],
    ['  padded  ', 'padded'],
    ['../x', '../x'],
    ['a/b', 'a/b'],
    [';rm -rf ~', ';rm -rf ~'],
    ['Débian Testing', 'Débian Testing'],
    ['日本語', '日本語'],
    ['x'.repeat(100), 'x'.repeat(100)],
    // Surrounding white space, tabs included, is trimmed before the control-character check.
    ['\tIndented\n', 'Indented'],
  ])('accepts %j as %j (a display name is free text, never a path)', (raw, expected) => {
    expect(validVmName(raw)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['spaces only', '   '],
    ['white space of all kinds', ' \t\n\r '],
  ])('refuses an %s name with VM_NAME_INVALID: "Give the VM a name."', (_what, raw) => {
    const error = nameError(raw);
    expect(error.code).toBe('VM_NAME_INVALID');
    expect(error.message).toBe('Give the VM a name.');
  });

  it.each([
    ['500 characters', 'a'.repeat(500)],
    ['101 characters', 'b'.repeat(101)],
    ['101 characters after trimming', ` ${'c'.repeat(101)} `],
  ])('refuses %s, naming the limit of 100', (_what, raw) => {
    const error = nameError(raw);
    expect(error.code).toBe('VM_NAME_INVALID');
    expect(error.message).toBe('A VM name can be at most 100 characters.');
  });

  it.each([
    ['a new line', 'first\nsecond'],
    ['a carriage return', 'first\r\nsecond'],
    ['a tab', 'first\tsecond'],
    ['a NUL', 'first\u0000second'],
    ['DEL', 'first\u007fsecond'],
    ['an escape sequence', 'red \u001b[31m text'],
    // Bidirectional overrides make a name read otherwise than it is ("gpj.exe" shown as "exe.jpg").
    ['a right-to-left override (U+202E)', 'invoice\u202Egpj.exe'],
    ['a left-to-right embedding (U+202A)', 'a\u202Ab'],
    ['a pop directional formatting (U+202C)', 'a\u202Cb'],
    ['a first-strong isolate (U+2068)', 'a\u2068b'],
    ['a right-to-left mark (U+200F)', 'a\u200Fb'],
    ['an Arabic letter mark (U+061C)', 'a\u061Cb'],
  ])('refuses a name with %s inside it', (_what, raw) => {
    const error = nameError(raw);
    expect(error.code).toBe('VM_NAME_INVALID');
    expect(error.message).toBe('A VM name cannot contain control characters (such as new lines or tabs) or text-direction marks.');
  });

  // Regression (was a bug): only C0 controls and DEL are refused; the Unicode line breaks NEL
  // (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029) and the other C1
  // controls (U+0080-U+009F) pass.
  it.each([
    ['NEL', 'first\u0085second'],
    ['LINE SEPARATOR', 'first\u2028second'],
    ['PARAGRAPH SEPARATOR', 'first\u2029second'],
    ['C1 CSI', 'first\u009b31msecond'],
  ])('refuses a name with the Unicode line break or control %s inside it', (_what, raw) => {
    expect(nameError(raw).code).toBe('VM_NAME_INVALID');
  });

  it.each([
    ['undefined', undefined],
    ['a number', 42],
    ['null', null],
    ['an object', { name: 'x' }],
  ])('refuses %s with VM_NAME_INVALID', (_what, raw) => {
    const error = nameError(raw);
    expect(error.code).toBe('VM_NAME_INVALID');
    expect(error.message.length).toBeGreaterThan(0);
  });
});

describe('slugForName', () => {
  it.each([
    ['Debian 12', 'debian-12'],
    ['../x', 'x'],
    ['a/b', 'a-b'],
    [';rm -rf ~', 'rm-rf'],
    ['..', 'vm'],
    ['/', 'vm'],
    ['.hidden', 'hidden'],
    ['Débian Testing', 'debian-testing'],
    ['Ñandú Über Café', 'nandu-uber-cafe'],
    ['日本語', 'vm'],
    ['Ubuntu 日本語 Remix', 'ubuntu-remix'],
    ['🚀', 'vm'],
    ['---Windows   11---', 'windows-11'],
    ['CAPS_and_under_scores', 'caps-and-under-scores'],
    ['ﬁ ligature ①', 'fi-ligature-1'],
    ['$(reboot)', 'reboot'],
    ['`id`', 'id'],
    ['C:\\Windows\\System32', 'c-windows-system32'],
  ])('%j -> %j', (name, expected) => {
    const slug = slugForName(name);
    expect(slug).toBe(expected);
    expectSafeId(slug);
  });

  it('keeps ids short and never ends them with a dash after cutting', () => {
    expect(slugForName('a'.repeat(500))).toBe('a'.repeat(40));
    // The 40th character is a separator: the cut must not leave it dangling.
    const name = `${'b'.repeat(39)} tail`;
    expect(slugForName(name)).toBe('b'.repeat(39));
    expectSafeId(slugForName(name));
  });

  it.each([
    'x'.repeat(100),
    ' '.repeat(99) + 'z',
    '-'.repeat(100),
    'é'.repeat(100),
    '../'.repeat(33),
    'a-'.repeat(50),
    '\u0130stanbul',
  ])('always gives a safe id (case %#)', (name) => {
    expectSafeId(slugForName(name));
  });
});

describe('uniqueId', () => {
  it('gives the slug when it is free', () => {
    expect(uniqueId('Debian 12', new Set())).toBe('debian-12');
    expect(uniqueId('Debian 12', new Set(['debian', 'debian-12-2']))).toBe('debian-12');
  });

  it('numbers duplicates -2, -3, ... filling the first gap', () => {
    const taken = new Set<string>();
    const ids = ['Debian', 'debian', 'DEBIAN', 'Débian'].map((name) => {
      const id = uniqueId(name, taken);
      taken.add(id);
      return id;
    });
    expect(ids).toEqual(['debian', 'debian-2', 'debian-3', 'debian-4']);
    expect(uniqueId('Debian', new Set(['debian', 'debian-3']))).toBe('debian-2');
  });

  it('numbers names without any Latin letters: vm, vm-2, vm-3', () => {
    const taken = new Set<string>();
    const ids = ['日本語', '中文', '🚀'].map((name) => {
      const id = uniqueId(name, taken);
      taken.add(id);
      return id;
    });
    expect(ids).toEqual(['vm', 'vm-2', 'vm-3']);
  });

  it('keeps numbered ids of the longest slugs within the id pattern', () => {
    const long = 'z'.repeat(100);
    const taken = new Set<string>(['z'.repeat(40)]);
    for (let n = 2; n <= 120; n++) taken.add(`${'z'.repeat(40)}-${n}`);
    const id = uniqueId(long, taken);
    expect(id).toBe(`${'z'.repeat(40)}-121`);
    expectSafeId(id);
  });

  it.each(['../x', 'a/b', ';rm -rf ~', '..', '', '日本語'])('gives a safe id for %j even when its slug is taken', (name) => {
    const first = uniqueId(name, new Set());
    expectSafeId(first);
    const second = uniqueId(name, new Set([first]));
    expect(second).toBe(`${first}-2`);
    expectSafeId(second);
  });
});
