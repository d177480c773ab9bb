import { HangarError } from '../../src-shared/errors';
import { defaultsFor, type IsoInfo } from '../../src-shared/os';
import { detectOs, LISTED_FOLDERS, PROBED_PATHS, PROBED_TEXTS, type IsoFacts } from './detect';
import { fileByteSource, IsoImage, type BootEntry } from './iso9660';
import { DEFAULT_OSINFO_DIR, loadOsinfoMedia, matchOsinfo } from './osinfo';

// What an ISO file is and installs, for the new-VM wizard: open it read-only, read what the image
// says about itself and which well-known files it holds, and let the pure detectOs decide.

/** Release files are a few hundred bytes; more than this is not a release file. */
const MAX_TEXT_BYTES = 64 * 1024;
const UEFI_LOADER = '/EFI/BOOT/BOOTX64.EFI';

export interface InspectOptions {
  /** Where osinfo-db lives (default /usr/share/osinfo, used only when present); null leaves it out. */
  osinfoDir?: string | null;
}

/** Reads an ISO image and says what it installs; refuses, in words, what is not a readable ISO. */
export async function inspectIso(file: string, options: InspectOptions = {}): Promise<IsoInfo> {
  if (file.trim() === '') throw new HangarError('ISO_NOT_FOUND', 'No ISO image was chosen. Choose an .iso file.');
  const source = await fileByteSource(file);
  try {
    const image = await IsoImage.open(source, file);
    const facts = await gatherIsoFacts(image);
    const osinfoDir = options.osinfoDir === undefined ? DEFAULT_OSINFO_DIR : options.osinfoDir;
    const osinfo = osinfoDir === null ? [] : matchOsinfo(await loadOsinfoMedia(osinfoDir), image.primary);
    return describeIso(file, source.size, { ...facts, osinfo }, image.bootEntries ?? []);
  } finally {
    // Closing a file we only read cannot lose data; its failure must not hide the real answer.
    await source.close().catch(() => {});
  }
}

/** The labels, the probed paths, the listed folders' entries and the small release files of an image. */
export async function gatherIsoFacts(image: IsoImage): Promise<IsoFacts> {
  const paths = new Set<string>();
  for (const path of PROBED_PATHS) {
    if (await image.exists(path)) paths.add(path.toLowerCase());
  }
  for (const folder of LISTED_FOLDERS) {
    const prefix = folder === '/' ? '' : folder;
    for (const entry of (await image.listDir(folder)) ?? []) paths.add(`${prefix}/${entry.name}`.toLowerCase());
  }
  const texts: Record<string, string> = {};
  for (const path of PROBED_TEXTS) {
    const bytes = await image.readFile(path, MAX_TEXT_BYTES);
    if (bytes === null) continue;
    paths.add(path.toLowerCase());
    texts[path.toLowerCase()] = new TextDecoder().decode(bytes).replace(/\0/g, '');
  }
  const { volumeId, systemId, publisher, applicationId } = image.primary;
  return { volumeId, systemId, publisher, applicationId, paths, texts };
}

function describeIso(file: string, sizeBytes: number, facts: IsoFacts, bootEntries: readonly BootEntry[]): IsoInfo {
  const os = detectOs(facts);
  const usable = bootEntries.filter((entry) => entry.bootable);
  const biosEntry = usable.some((entry) => entry.platform === 'bios');
  const efiEntry = usable.some((entry) => entry.platform === 'efi');
  const efiLoader = facts.paths.has(UEFI_LOADER.toLowerCase());

  const evidence = [...os.evidence];
  if (biosEntry) evidence.push('El Torito boot entry for BIOS');
  if (efiEntry) evidence.push('El Torito boot entry for UEFI');
  if (efiLoader) evidence.push(`has ${UEFI_LOADER}`);

  let defaults = defaultsFor(os.family, os.version);
  // The firmware the image can start with: one that cannot would stop at "no bootable device".
  const uefiBootable = efiEntry || efiLoader;
  if (efiEntry && !biosEntry && defaults.firmware === 'bios') {
    defaults = { ...defaults, firmware: 'uefi' };
    evidence.push('no El Torito boot entry for BIOS, so UEFI firmware');
  } else if (biosEntry && !uefiBootable && defaults.firmware === 'uefi') {
    // A TPM comes only with UEFI.
    defaults = { ...defaults, firmware: 'bios', tpm: false };
    evidence.push('no way to boot with UEFI, so BIOS firmware');
  }

  const { volumeId, systemId, publisher, applicationId } = facts;
  return {
    path: file,
    sizeBytes,
    volumeId,
    systemId,
    publisher,
    applicationId,
    bootable: biosEntry || efiEntry,
    biosBootable: biosEntry,
    uefiBootable,
    os: { family: os.family, name: os.name, version: os.version },
    defaults,
    evidence,
  };
}
