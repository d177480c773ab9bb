import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The engine's figures first (the start's breakdown, then the engine's own, then the web host's), then the peers' and the boot options', then the UI's, every run (vitest would order files by the last run's durations). */
const ORDER = ['start-breakdown.bench.ts', 'engine.bench.ts', 'web-host.bench.ts', 'peers.bench.ts', 'boot-options.bench.ts', 'ui.bench.ts'];
class BenchOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = ORDER.indexOf(path.basename(file.moduleId));
      return index === -1 ? ORDER.length : index;
    };
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

// `npm run bench`: the benchmarks run as vitest files (so they can use the TypeScript
// sources directly) one after another, and write their figures to bench/results/.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    environment: 'node',
    testTimeout: 900_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    sequence: { sequencer: BenchOrder },
  },
});
