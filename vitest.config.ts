import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Tests spawn their own worker threads and the machine has 2 cores.
    fileParallelism: false,
    testTimeout: 30000,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
  },
});
