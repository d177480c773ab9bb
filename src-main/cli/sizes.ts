const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * "2G", "512M", "1.5T", "2048" -> bytes. A bare number is taken in `bareUnit`, because
 * people type `--memory 2048` meaning MiB and `--disk 20` meaning GiB.
 */
export function parseSize(text: string, bareUnit: 'M' | 'G'): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!match) return null;
  const unit = (match[2] ?? '').toUpperCase() || bareUnit;
  const bytes = Number(match[1]) * (UNITS[unit] ?? 1);
  return Number.isFinite(bytes) && bytes > 0 ? Math.round(bytes) : null;
}
