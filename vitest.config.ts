import { defineConfig } from 'vitest/config';

/**
 * Two groups (vitest projects, run one after the other by sequence.groupOrder):
 * - `parallel`: files that run the model on their own thread or deterministically (the kernel and
 *   oracle rules, explore on the in-thread engine, the CLI with injected engines), two at a time on
 *   the 2 cores;
 * - `serial`: files whose assertions depend on wall time or real thread interleavings (stress runs
 *   with time budgets, watchdogs, signals, the packed tarball, the headless browser), one at a time
 *   as before, so that nothing else competes for the cores while they run.
 */
const SERIAL = [
  'test/faults/stress.test.ts',
  'test/e2e/**/*.test.ts',
  'test/reliability/**/*.test.ts',
  'test/coordinator/pool.test.ts',
  'test/package/**/*.test.ts',
  'test/clients/**/*.test.ts',
  'test/cli/sweep.test.ts',
  'test/cli/study.test.ts',
  'test/kernel/two-threads.test.ts',
  'test/infra/workers.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30000,
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: SERIAL, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // Tests spawn their own worker threads and the machine has 2 cores.
        test: { name: 'serial', include: SERIAL, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
