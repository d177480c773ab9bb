import type { HostProbe } from './probe';

export interface MemoryFacts {
  totalBytes: number;
  availableBytes: number;
}

export function parseMeminfo(text: string): MemoryFacts {
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { totalBytes: kib('MemTotal'), availableBytes: kib('MemAvailable') || kib('MemFree') };
}

export async function readMemory(probe: HostProbe): Promise<MemoryFacts> {
  return parseMeminfo((await probe.readText('/proc/meminfo')) ?? '');
}
