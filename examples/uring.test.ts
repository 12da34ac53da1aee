// A race test of your own client with pinlab/vitest: explore its interleavings with writeback,
// munmap, migration and reclaim, then run it on real threads. A violation fails the test with
// the oracle, the page, the actors, the seed and the `npx pinlab replay …` line that reproduces it.
// CI can turn the campaign without editing the test: PINLAB_SEED, PINLAB_TRIALS, PINLAB_TIME.
import { fileURLToPath } from 'node:url';
import { defineScenario } from 'pinlab';
import { exploreClean, runClean } from 'pinlab/vitest';
import { test } from 'vitest';

const scenario = defineScenario({
  name: 'uring',
  // v6.3: these fixed buffers are file pages, and v6.5+ refuses a writable longterm pin of a file
  // mapping (-EFAULT): on v6.18 the client would take nothing.
  era: 'v6.3',
  policy: 'skip',
  clients: [
    {
      kind: 'custom',
      module: fileURLToPath(new URL('./uring-client.ts', import.meta.url)),
      count: 2,
      pages: 32,
      bufferPages: 4,
      holdOps: 20,
      params: {},
    },
    { kind: 'dio', pages: 32, bufferPages: 2 },
  ],
  mm: { writeback: 4, munmap: 1, migrate: 1, reclaim: 1, truncate: 0 },
});

test('uring client: no interleaving breaks an oracle', async () => {
  await exploreClean(scenario, { trials: 200, seed: 1 });
}, 120_000);

test('uring client: clean on real threads', async () => {
  await runClean(scenario, { time: '1s' });
}, 60_000);
