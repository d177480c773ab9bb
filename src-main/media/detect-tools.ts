import { Facts, firstLine, quote, type Detector, type OsDetection } from './facts';

// Images that are not an OS to install but a tool that boots by itself and works in memory:
// memory testers, network booters, partition and backup tools, rescue systems. They get the
// 'tool' family (no disk, little memory). Each rule follows how the tool's own build names
// its image: memtest86+'s Makefile (-volid MT86PLUS_64), iPXE's genfsimg (its publisher and
// application id), DRBL's create-gparted-live and ocs-iso (-V GParted-live, -A "Clonezilla
// live CD", the *-Live-Version files), SystemRescue's build.sh (RESCUE + its version).

/** Paths the tool rules look for, beyond the root and /boot listings. */
export const TOOL_PATHS = ['/sysresccd', '/boot/grub/i386-pc', '/boot/grub/x86_64-efi'] as const;
/** Version files the tools keep at the root. */
export const TOOL_TEXTS = ['/GParted-Live-Version', '/Clonezilla-Live-Version'] as const;

const tool = (name: string, version: string | null, evidence: string[]): OsDetection => ({ family: 'tool', name, version, evidence });

const memtest: Detector = (facts) => {
  // MT86PLUS_64, MT86PLUS_32, MT86PLUS_LA64: memtest86+ 6 and later.
  if (!/^MT86PLUS(_\w+)?$/i.test(facts.volume)) return null;
  return tool('Memtest86+', null, [facts.volumeEvidence()]);
};

const ipxe: Detector = (facts) => {
  const evidence: string[] = [];
  if (/ipxe\.org/i.test(facts.raw.publisher)) evidence.push(`publisher ${quote(facts.raw.publisher)}`);
  if (/^ipxe\b/i.test(facts.raw.applicationId)) evidence.push(`application id ${quote(facts.raw.applicationId)}`);
  evidence.push(...facts.present('/ipxe.krn', '/ipxe.lkrn'));
  return evidence.length > 0 ? tool('iPXE', null, evidence) : null;
};

/** "gparted-live-1.6.0-3-amd64" -> "1.6.0-3": the release, without the architecture. */
function liveRelease(text: string | null, product: string): { line: string; version: string | null } | null {
  if (text === null) return null;
  const line = firstLine(text);
  const version = new RegExp(`^${product}-live-(\\d+(?:\\.\\d+)*(?:-\\d+)?)`, 'i').exec(line)?.[1] ?? null;
  return { line, version };
}

const gparted: Detector = (facts) => {
  const evidence: string[] = [];
  if (/^GParted-live$/i.test(facts.volume)) evidence.push(facts.volumeEvidence());
  const release = liveRelease(facts.text('/GParted-Live-Version'), 'gparted');
  if (release) evidence.push(`/GParted-Live-Version says ${quote(release.line)}`);
  return evidence.length > 0 ? tool('GParted Live', release?.version ?? null, evidence) : null;
};

const clonezilla: Detector = (facts) => {
  const evidence: string[] = [];
  if (/^Clonezilla live/i.test(facts.raw.applicationId)) evidence.push(`application id ${quote(facts.raw.applicationId)}`);
  const release = liveRelease(facts.text('/Clonezilla-Live-Version'), 'clonezilla');
  if (release) evidence.push(`/Clonezilla-Live-Version says ${quote(release.line)}`);
  if (evidence.length === 0) return null;
  // ocs-iso labels the volume with the release too: "3.1.2-22-amd64".
  const version = release?.version ?? /^(\d+(?:\.\d+)+(?:-\d+)?)-/.exec(facts.volume)?.[1] ?? null;
  return tool('Clonezilla Live', version, evidence);
};

const systemRescue: Detector = (facts) => {
  const evidence: string[] = [];
  // "RESCUE1103" is release 11.03: build.sh drops the dot.
  const label = /^RESCUE(\d{1,2})(\d{2})$/i.exec(facts.volume);
  if (label) evidence.push(facts.volumeEvidence());
  if (/^SystemRescue/i.test(facts.raw.applicationId)) evidence.push(`application id ${quote(facts.raw.applicationId)}`);
  if (evidence.length === 0) return null;
  evidence.push(...facts.present('/sysresccd'));
  return tool('SystemRescue', label ? `${label[1]}.${label[2]}` : null, evidence);
};

const TOOLS: Detector[] = [memtest, ipxe, gparted, clonezilla, systemRescue];

/** A tool image the rules know, or null. Checked before any OS: Clonezilla's /.disk/info names the Debian it is built on. */
export function detectTool(facts: Facts): OsDetection | null {
  for (const detector of TOOLS) {
    const found = detector(facts);
    if (found) return found;
  }
  return null;
}

/** grub-mkrescue's layout (GRUB's modules for BIOS or UEFI) with no OS kernel: GRUB's rescue shell. Asked only after every OS rule. */
export function detectGrubRescue(facts: Facts): OsDetection | null {
  const modules = facts.present('/boot/grub/i386-pc', '/boot/grub/x86_64-efi');
  if (modules.length === 0) return null;
  return tool('GRUB rescue', null, [...modules, 'no OS kernel']);
}
