import type { IsoInfo, IsoOs } from './os';
import { VM_NAME_MAX } from './vm';

// What a new VM from an ISO is called, and how the detected OS reads for people. Pure, so
// the wizard and any other door name things the same way.

/** Volume ids that say nothing about the disc: the tools' defaults. */
const GENERIC_VOLUME = /^(ISOIMAGE|CDROM\d*|CD_?ROM|DVD(ROM)?\d*|NEW[ _]VOLUME|UNTITLED|VOLUME|BOOT|DISK|ISO|LABEL)$/i;
/** Names detectOs gives when it recognised no OS in particular. */
const GENERIC_NAMES = new Set(['Other', 'Other Linux']);

/** The version is already in the name, whole or as its leading part: "Debian 12" and "12.8.0". */
function nameHasVersion(os: IsoOs): boolean {
  const { name, version } = os;
  if (!version) return true;
  if (name.includes(version)) return true;
  return (name.match(/\d+(?:\.\d+)*/g) ?? []).some((number) => version.startsWith(`${number}.`) || version.startsWith(`${number}-`));
}

/** "Debian 12 (12.8.0)", "Arch Linux 2024.11.01", "Memtest86+": the OS with its release, said once. */
export function osTitle(os: IsoOs): string {
  if (!os.version || os.name.includes(os.version)) return os.name;
  return nameHasVersion(os) ? `${os.name} (${os.version})` : `${os.name} ${os.version}`;
}

function clean(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, '').trim();
}

/**
 * The name a new VM gets: the OS that was detected, its release added only when the name
 * lacks it ("Debian 12", "Arch Linux 2024.11.01"); when no OS was recognised, the image's
 * own volume id, or else its file name without ".iso".
 */
export function vmNameFor(info: Pick<IsoInfo, 'os' | 'volumeId' | 'path'>): string {
  let name: string;
  if (!GENERIC_NAMES.has(info.os.name)) {
    name = nameHasVersion(info.os) ? info.os.name : `${info.os.name} ${info.os.version}`;
  } else {
    const volume = clean(info.volumeId);
    const file = clean((info.path.split('/').pop() ?? '').replace(/\.iso$/i, ''));
    name = volume && !GENERIC_VOLUME.test(volume) ? volume : file || info.os.name;
  }
  return clean(name).slice(0, VM_NAME_MAX).trim();
}
