import { describe, expect, it } from 'vitest';
import type { VmSummary } from '../../../src-shared/vm';
import { sortedVms } from '../../../src-renderer/store/selectors';

// The library screen renders again whenever anything in the store changes (the host check,
// the app's version, a busy flag); sorting 500 VMs each time held up its first paint.

const vm = (id: string, name: string): VmSummary => ({ id, name, state: 'stopped', broken: null, problem: null, config: null, accelerator: null, pid: null, orphaned: false, savedState: false });
const library = (names: string[]): Record<string, VmSummary> => Object.fromEntries(names.map((name, index) => [`vm-${index}`, vm(`vm-${index}`, name)]));

describe('sortedVms', () => {
  it('orders by name as people read it: numbers by value, case aside', () => {
    expect(sortedVms(library(['vm 10', 'VM 9', 'alpha', 'Beta', 'vm 100'])).map((entry) => entry.name)).toEqual(['alpha', 'Beta', 'VM 9', 'vm 10', 'vm 100']);
  });

  it('sorts a library once, however often the screen renders', () => {
    const vms = library(Array.from({ length: 500 }, (_, index) => `Bench VM ${500 - index}`));
    const first = sortedVms(vms);
    expect(sortedVms(vms)).toBe(first);
    expect(first[0]?.name).toBe('Bench VM 1');
  });

  it('sorts again when the library changes', () => {
    const vms = library(['b', 'c']);
    const before = sortedVms(vms);
    const changed = { ...vms, 'vm-9': vm('vm-9', 'a') };
    expect(sortedVms(changed).map((entry) => entry.name)).toEqual(['a', 'b', 'c']);
    expect(before.map((entry) => entry.name)).toEqual(['b', 'c']);
  });
});
