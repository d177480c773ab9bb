import { promises as fs } from 'node:fs';
import path from 'node:path';

// osinfo-db (libosinfo's data, /usr/share/osinfo/os/<vendor>/<os>.xml) knows the volume ids of
// many more releases than Hangar's own rules. It is an extra source when installed, never required,
// so a missing or odd file only means fewer matches.

export const DEFAULT_OSINFO_DIR = '/usr/share/osinfo';
const MAX_FILES = 5000;
const MAX_FILE_BYTES = 1024 * 1024;

/** One installable medium of one OS, as osinfo-db describes it. */
export interface OsinfoMedium {
  osId: string;
  shortId: string | null;
  name: string;
  version: string | null;
  /** osinfo-db's distro ("ubuntu", "win", "archlinux") and family ("linux", "winnt", "freebsd"). */
  distro: string | null;
  family: string | null;
  volumeId: RegExp | null;
  systemId: RegExp | null;
  publisher: RegExp | null;
  applicationId: RegExp | null;
}

export interface IsoLabels {
  volumeId: string;
  systemId: string;
  publisher: string;
  applicationId: string;
}

/** The media described in one osinfo-db XML file; what cannot be understood is skipped. */
export function parseOsinfoXml(xml: string): OsinfoMedium[] {
  const media: OsinfoMedium[] = [];
  for (const os of xml.matchAll(/<os\b[^>]*\bid="([^"]*)"[^>]*>([\s\S]*?)<\/os>/g)) {
    const [, osId = '', body = ''] = os;
    // The OS's own fields come before its variants and media, which have names of their own.
    const head = body.replace(/<(variant|media|tree|image)\b[\s\S]*?<\/\1>/g, '');
    const name = element(head, 'name') ?? element(head, '_name');
    if (!name) continue;
    for (const medium of body.matchAll(/<media\b[^>]*>([\s\S]*?)<\/media>/g)) {
      const iso = /<iso>([\s\S]*?)<\/iso>/.exec(medium[1] ?? '')?.[1];
      if (!iso) continue;
      const sources = [element(iso, 'volume-id'), element(iso, 'system-id'), element(iso, 'publisher-id'), element(iso, 'application-id')];
      const compiled = sources.map(pattern);
      // A pattern we cannot compile must not leave a looser one (a publisher alone) to match.
      if (!sources.some(Boolean) || sources.some((source, index) => source && !compiled[index])) continue;
      const [volumeId = null, systemId = null, publisher = null, applicationId = null] = compiled;
      const fields = { volumeId, systemId, publisher, applicationId };
      media.push({ osId, shortId: element(head, 'short-id'), name, version: element(head, 'version'), distro: element(head, 'distro'), family: element(head, 'family'), ...fields });
    }
  }
  return media;
}

/** Media whose every stated pattern matches the image (libosinfo's rule: unanchored regexes). */
export function matchOsinfo(media: readonly OsinfoMedium[], labels: IsoLabels): OsinfoMedium[] {
  const fits = (regex: RegExp | null, value: string): boolean => regex === null || regex.test(value);
  return media.filter(
    (medium) => fits(medium.volumeId, labels.volumeId) && fits(medium.systemId, labels.systemId) && fits(medium.publisher, labels.publisher) && fits(medium.applicationId, labels.applicationId),
  );
}

const cache = new Map<string, Promise<OsinfoMedium[]>>();

/** Every medium under `<dir>/os/`, read once per process; an empty list when there is no database. */
export function loadOsinfoMedia(dir: string = DEFAULT_OSINFO_DIR): Promise<OsinfoMedium[]> {
  let pending = cache.get(dir);
  if (!pending) {
    pending = readDatabase(dir);
    cache.set(dir, pending);
  }
  return pending;
}

async function readDatabase(dir: string): Promise<OsinfoMedium[]> {
  const media: OsinfoMedium[] = [];
  const osDir = path.join(dir, 'os');
  let files = 0;
  for (const vendor of await readdirOrEmpty(osDir)) {
    for (const file of await readdirOrEmpty(path.join(osDir, vendor))) {
      if (!file.endsWith('.xml')) continue;
      if (++files > MAX_FILES) return media;
      const full = path.join(osDir, vendor, file);
      try {
        const stat = await fs.stat(full);
        if (!stat.isFile() || stat.size > MAX_FILE_BYTES) continue;
        media.push(...parseOsinfoXml(await fs.readFile(full, 'utf8')));
      } catch {
        // An unreadable file is one OS fewer, not a failure.
      }
    }
  }
  return media;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
}

function element(xml: string, tag: string): string | null {
  const match = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`).exec(xml);
  return match ? decodeEntities(match[1] ?? '').trim() : null;
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, entity: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (entity[0] !== '#') return named[entity.toLowerCase()] ?? '';
    const code = entity[1] === 'x' || entity[1] === 'X' ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

// osinfo-db writes GLib (PCRE) regexes; the POSIX classes it uses have plain equivalents.
const POSIX_CLASSES: Record<string, string> = { upper: 'A-Z', lower: 'a-z', digit: '0-9', alpha: 'A-Za-z', alnum: 'A-Za-z0-9', space: '\\s' };

function pattern(source: string | null): RegExp | null {
  if (!source) return null;
  const translated = source.replace(/\[:(\w+):\]/g, (whole, name: string) => POSIX_CLASSES[name] ?? whole);
  try {
    return new RegExp(translated);
  } catch {
    return null;
  }
}
