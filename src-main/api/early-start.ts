import { wakeKeeper } from '../qemu/keeper/wake';
import { runtimeRootPath } from '../vms/paths';

// What a door may do before its service exists: `hangar start` wakes the keeper at once when
// none runs, so that it loads alongside the CLI and the engine (qemu/keeper/wake.ts).
// Only Node built-ins behind this import.
export function wakeKeeperEarly(env: Readonly<Record<string, string | undefined>> = process.env): void {
  wakeKeeper(runtimeRootPath(env));
}
