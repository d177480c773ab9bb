import { z } from 'zod';
import { VmConfig } from '../../src-shared/vm';

// vm.json carries its schema version. Reading goes old -> new through the migrations
// below, one version at a time, and the result must pass the current schema. Each change
// of the format adds one step here.

export const CURRENT_SCHEMA = 2;

export type Migration = (old: Record<string, unknown>) => Record<string, unknown>;

/** MIGRATIONS[n] turns a version-n document into a version-(n+1) one. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // 2 records the VM's OS for its icon; VMs made before did not know it.
  1: (old) => ({ ...old, os: null }),
};

export type ParsedVmJson = { ok: true; config: VmConfig; migrated: boolean } | { ok: false; reason: string };

/** Checks a document of the current version; a parameter so tests can run other tables. */
export type VmConfigValidator = (document: unknown) => { success: true; data: VmConfig } | { success: false; error: z.ZodError };

export function parseVmJson(
  text: string,
  migrations: Readonly<Record<number, Migration>> = MIGRATIONS,
  current = CURRENT_SCHEMA,
  validate: VmConfigValidator = (document) => VmConfig.safeParse(document),
): ParsedVmJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file's bytes, which may hold anything.
    return { ok: false, reason: 'vm.json is not valid JSON (it may have been cut short or edited by hand).' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'vm.json does not hold a VM definition.' };
  let document = raw as Record<string, unknown>;
  const version = document.schema;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return { ok: false, reason: 'vm.json has no schema version.' };
  if (version > current) return { ok: false, reason: `vm.json was written by a newer Hangar (schema ${version}); update Hangar to open this VM.` };
  for (let from = version; from < current; from++) {
    const step = migrations[from];
    if (!step) return { ok: false, reason: `vm.json has schema ${from}, which this Hangar cannot upgrade.` };
    try {
      document = { ...step(document), schema: from + 1 };
    } catch (error) {
      return { ok: false, reason: `vm.json could not be upgraded from schema ${from}: ${(error as Error).message}` };
    }
  }
  const parsed = validate(document);
  if (!parsed.success) return { ok: false, reason: `vm.json is not a valid VM definition: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}` };
  return { ok: true, config: parsed.data, migrated: version !== current };
}

export function serializeVmJson(config: VmConfig): string {
  return JSON.stringify(VmConfig.parse(config), null, 2) + '\n';
}
