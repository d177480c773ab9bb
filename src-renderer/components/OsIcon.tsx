import type { OsFamily, VmOs } from '../../src-shared/os-family';

// A small badge per OS family: its initials on the family's colour. Drawn, not shipped as
// logos, which are trademarks and would need the CSP to allow more image sources.

const LOOKS: Record<OsFamily, { text: string; colour: string }> = {
  debian: { text: 'Deb', colour: '#a80030' },
  ubuntu: { text: 'Ubu', colour: '#e95420' },
  fedora: { text: 'Fed', colour: '#3c6eb4' },
  arch: { text: 'Arch', colour: '#1793d1' },
  alpine: { text: 'Alp', colour: '#0d597f' },
  opensuse: { text: 'SUSE', colour: '#30ba78' },
  windows: { text: 'Win', colour: '#0078d4' },
  freebsd: { text: 'BSD', colour: '#ab2b28' },
  'other-linux': { text: 'Linux', colour: '#5b6270' },
  tool: { text: 'Tool', colour: '#6b4fa0' },
  other: { text: '?', colour: '#5b6270' },
};

export function OsIcon({ os }: { os: VmOs | null | undefined }) {
  const look = LOOKS[os?.family ?? 'other'];
  const name = os?.name ?? 'Unknown OS';
  return (
    <span className="os-icon" style={{ background: look.colour }} role="img" aria-label={name} title={name}>
      {look.text}
    </span>
  );
}
