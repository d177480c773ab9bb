import { appendFileSync } from 'node:fs';

// HANGAR_TRACE=FILE: each step of a start appended to FILE as "epoch-ms pid step", from every
// process on the way (the CLI, the engine, the keeper), so the time a start takes can be split
// into its parts (bench/start-breakdown). Off unless asked for, and then only a line per step.

const file = process.env.HANGAR_TRACE && process.env.HANGAR_TRACE.startsWith('/') ? process.env.HANGAR_TRACE : null;

/** Notes a step now, or at `at` (epoch ms): `performance.timeOrigin` is when this process began. */
export function trace(step: string, at = performance.timeOrigin + performance.now()): void {
  if (!file) return;
  try {
    appendFileSync(file, `${at.toFixed(2)} ${process.pid} ${step}\n`, { mode: 0o600 });
  } catch {
    // A trace never costs the work it watches.
  }
}
