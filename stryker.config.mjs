// @ts-check
/**
 * Mutation testing of the kernel model and the oracles (`npm run mutation`; not part of
 * `npm test`). See docs/mutation.md for the equivalent mutants and how to run one file.
 *
 * - No checker: the project's compiler is TypeScript 7 (the native `tsc`), which has no JS API, so
 *   @stryker-mutator/typescript-checker cannot load it. Mutants that do not type-check are therefore
 *   not filtered out before the test run; they run like the others (vitest strips types) and most are
 *   killed by the tests anyway.
 * - Tests: vitest.mutation.config.ts, the single-threaded kernel and oracle tests. A mutant run inside
 *   a worker thread is invisible to Stryker's coverage, so the stress/explore/e2e tests cannot count.
 * - Thresholds: Stryker's own thresholds are global; scripts/mutation-check.ts, run after Stryker by
 *   `npm run mutation`, applies the per-file threshold (MUTATION_THRESHOLD below, 80 %) to every file
 *   of src/kernel and src/oracle and prints the per-file table.
 * - Fault switches (`k.fault('...')`, the fault catalogue's branches) carry `// Stryker disable
 *   next-line` comments: they are covered by test/faults, whose runs happen in workers.
 */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  checkers: [],
  // Stryker rewrites the tsconfig's paths for its sandbox through the TypeScript JS API, which
  // TypeScript 7 no longer has (`ts.parseConfigFileTextToJson is not a function`). The project's
  // tsconfig needs no rewrite (no extends/references outside the project), so point Stryker at a
  // file that does not exist and the rewrite is skipped.
  tsconfigFile: 'tsconfig.stryker-none.json',
  mutate: ['src/kernel/**/*.ts', 'src/oracle/**/*.ts'],
  coverageAnalysis: 'perTest',
  // A static mutant (module-level code: the era tables, the Entry constants, the destructured
  // bindings) is covered by every test and would re-run the whole set for each mutant; they are
  // left out (reported as Ignored, not counted in the score) to keep a run within hours on 2 cores.
  ignoreStatic: true,
  // The machine has 2 cores shared with others.
  concurrency: 2,
  timeoutMS: 5000,
  incremental: false,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['json', 'html', 'clear-text', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // The sandbox is a copy of the project: leave out what the mutation tests never read.
  ignorePatterns: ['dist', 'reports', '.stryker-tmp', 'examples/**/*.svg', '*.tgz'],
  thresholds: { high: 90, low: 80, break: null },
};
export default config;
