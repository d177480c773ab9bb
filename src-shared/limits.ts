// The bounds of every number a person types for a VM, with the sentence that says what is
// wrong. One table for the contract's schemas (the engine's last word), the wizard and the
// Settings pane (judged as the person types) and the CLI, so none of them accepts what
// another refuses.

export interface NumberRule {
  min: number;
  max: number;
  /** Whole numbers only. */
  integer: boolean;
  /** What the number is, for sentences: "memory", "CPUs". */
  noun: string;
  unit: string;
}

export const LIMITS = {
  cpus: { min: 1, max: 256, integer: true, noun: 'CPUs', unit: '' },
  memoryMiB: { min: 64, max: 4 * 1024 * 1024, integer: true, noun: 'memory', unit: 'MiB' },
  /** A new empty disk; 0 (no disk) is a separate choice, see DISK_NONE. */
  diskGiB: { min: 1, max: 64 * 1024, integer: true, noun: 'disk size', unit: 'GiB' },
  hostPort: { min: 1, max: 65535, integer: true, noun: 'port on this machine', unit: '' },
  guestPort: { min: 1, max: 65535, integer: true, noun: 'port in the VM', unit: '' },
} as const satisfies Record<string, NumberRule>;

export type LimitName = keyof typeof LIMITS;

/** A disk size of 0 means "no disk", said in those words wherever it is shown. */
export const DISK_NONE = 0;

function withUnit(value: number, rule: NumberRule): string {
  return rule.unit ? `${value} ${rule.unit}` : String(value);
}

/**
 * What is wrong with a typed number, in words, or null when it is fine. NaN is what an
 * empty or unreadable field gives.
 */
export function numberProblem(name: LimitName, value: number): string | null {
  const rule: NumberRule = LIMITS[name];
  const range = `from ${withUnit(rule.min, rule)} to ${withUnit(rule.max, rule)}`;
  if (!Number.isFinite(value)) return `Give the ${rule.noun} as a number ${range}.`;
  if (rule.integer && !Number.isInteger(value)) return `The ${rule.noun} must be a whole number (${range}), not ${value}.`;
  if (value < rule.min) return `The ${rule.noun} must be at least ${withUnit(rule.min, rule)}.`;
  if (value > rule.max) return `The ${rule.noun} can be at most ${withUnit(rule.max, rule)}.`;
  return null;
}

/** A new disk's size: a size within LIMITS.diskGiB, or DISK_NONE for no disk. */
export function diskSizeProblem(value: number): string | null {
  if (value === DISK_NONE) return null;
  return numberProblem('diskGiB', value);
}
