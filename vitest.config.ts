import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration and e2e tests start real QEMU and Chromium on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: running QEMU-heavy files side by side only makes each one flaky.
    fileParallelism: false,
    reporters: ['default'],
  },
});
