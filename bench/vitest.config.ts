import { defineConfig } from 'vitest/config';

// `npm run bench`: the benchmarks run as vitest files (so they can use the TypeScript
// sources directly) one after another, and write their figures to bench/results/.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    environment: 'node',
    testTimeout: 900_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
