import type { OsFamily } from '../../src-shared/os';
import type { OsinfoMedium } from './osinfo';

// What an ISO says about itself, as the detectors (detect.ts, detect-tools.ts) read it.

export interface IsoFacts {
  volumeId: string;
  systemId: string;
  publisher: string;
  applicationId: string;
  /** Paths present in the image, absolute and lower-case: '/casper', '/efi/boot/bootx64.efi'. */
  paths: ReadonlySet<string>;
  /** Small text files from the image, by absolute lower-case path: '/.disk/info'. */
  texts: Readonly<Record<string, string>>;
  /** osinfo-db media whose patterns match this image. */
  osinfo?: readonly OsinfoMedium[];
}

export interface OsDetection {
  family: OsFamily;
  name: string;
  version: string | null;
  evidence: string[];
}

export type Detector = (facts: Facts) => OsDetection | null;

export class Facts {
  constructor(readonly raw: IsoFacts) {}
  has(path: string): boolean {
    return this.raw.paths.has(path.toLowerCase());
  }
  text(path: string): string | null {
    return this.raw.texts[path.toLowerCase()] ?? null;
  }
  /** "has /casper" for each path present. */
  present(...paths: string[]): string[] {
    return paths.filter((path) => this.has(path)).map((path) => `has ${path}`);
  }
  get volume(): string {
    return this.raw.volumeId;
  }
  volumeEvidence(): string {
    return `volume id ${quote(this.raw.volumeId)}`;
  }
}

export function firstLine(text: string): string {
  return (text.split('\n').find((line) => line.trim() !== '') ?? '').trim();
}

export function quote(value: string): string {
  return `"${value.length > 80 ? `${value.slice(0, 79)}…` : value}"`;
}

export function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
}
