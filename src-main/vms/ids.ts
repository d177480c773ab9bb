import { VmName } from '../../src-shared/vm';
import { HangarError } from '../../src-shared/errors';

/** Checks a display name and returns it trimmed, or throws VM_NAME_INVALID in words. */
export function validVmName(raw: unknown): string {
  const parsed = VmName.safeParse(raw);
  if (!parsed.success) throw new HangarError('VM_NAME_INVALID', parsed.error.issues[0]?.message ?? 'That is not a valid VM name.');
  return parsed.data;
}

/**
 * A folder id from a display name: lowercase letters, digits and dashes, so "../x",
 * "a/b" or ";rm -rf ~" can never name a path outside the library.
 */
export function slugForName(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return /^[a-z0-9]/.test(slug) ? slug : `vm${slug ? `-${slug}` : ''}`.slice(0, 40);
}

/** The first free id for a name: slug, slug-2, slug-3, ... */
export function uniqueId(name: string, taken: ReadonlySet<string>): string {
  const base = slugForName(name);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}
