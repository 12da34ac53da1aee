import { defineConfig } from 'vitest/config';

/**
 * The vitest configuration StrykerJS runs (`npm run mutation`, stryker.config.mjs): only the tests
 * that drive src/kernel and src/oracle on the test's own thread. A mutant executed inside a worker
 * thread is invisible to Stryker's per-test coverage, so the stress, explore and end-to-end tests
 * (which run the kernel in workers) are left out. property.test.ts and hugepage-1g.test.ts are left
 * out for time: a test that covers a mutant is re-run for it, and these take seconds each (fast-check
 * runs; two million real pins of a 1 GB page) — test/kernel/overflow-rules.test.ts builds the
 * overflowed counts by hand instead.
 */
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 30000,
    include: ['test/kernel/**/*.test.ts', 'test/oracle/**/*.test.ts'],
    exclude: ['test/kernel/two-threads.test.ts', 'test/kernel/property.test.ts', 'test/kernel/hugepage-1g.test.ts'],
  },
});
