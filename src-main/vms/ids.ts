import { createHash, randomBytes } from 'node:crypto';
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

/**
 * The MAC address the first NIC of a VM made before schema 3 had: derived from the VM id
 * (52:54:00 is QEMU's locally administered prefix). Kept so a migrated guest's network
 * (and its saved state) sees the same card.
 */
export function macForVm(id: string): string {
  const hash = createHash('sha256').update(id).digest();
  return ['52', '54', '00', ...[0, 1, 2].map((index) => (hash[index] ?? 0).toString(16).padStart(2, '0'))].join(':');
}

/** A new NIC's MAC: QEMU's prefix and three random bytes, stored in vm.json so it never changes. */
export function newMac(taken: ReadonlySet<string> = new Set()): string {
  for (;;) {
    const mac = ['52', '54', '00', ...[...randomBytes(3)].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
    if (!taken.has(mac)) return mac;
  }
}
