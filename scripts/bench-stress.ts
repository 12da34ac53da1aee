/**
 * Stress-throughput benchmark, measured side by side in one run:
 *  - ops/s of the default scenario with the oracles on and off, as a ratio (target: >= 0.5);
 *  - pin+unpin pages/s of one DIO actor (1 page per request) as a ratio to the raw
 *    Atomics.add+sub pair measured in the same process.
 * Usage: node dist/scripts/bench-stress.js [--ms 3000] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import { ActorPool } from '../src/coordinator/pool.js';
import { runScenario } from '../src/coordinator/run.js';
import { DEFAULT_SCENARIO, parseScenario } from '../src/scenario/schema.js';
import { tuneV8ForHotPaths } from '../src/util/v8-tuning.js';

tuneV8ForHotPaths();
const { values } = parseArgs({ options: { ms: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '2' } } });
const ms = Number(values.ms);
const rounds = Number(values.rounds);

function rawPairRate(): number {
  const a = new Int32Array(new SharedArrayBuffer(256));
  let ops = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 500) {
    for (let i = 0; i < 10_000; i++) {
      Atomics.add(a, 16, 1);
      Atomics.sub(a, 16, 1);
    }
    ops += 10_000;
  }
  return (ops * 1000) / (performance.now() - t0);
}

const pool = new ActorPool({ size: 8 });
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const on: number[] = [];
const off: number[] = [];
const dio: number[] = [];
const raw: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (const oracles of [true, false]) {
    const rep = await runScenario(parseScenario({ ...DEFAULT_SCENARIO, durationMs: ms, oracles, seed: 100 + r }), { pool });
    if (rep.outcome !== 'clean') throw new Error(`benchmark run was not clean: ${rep.outcome}`);
    (oracles ? on : off).push(rep.totals.opsPerSec);
  }
  const solo = await runScenario(
    parseScenario({
      ...DEFAULT_SCENARIO, durationMs: ms, seed: 200 + r,
      clients: [{ kind: 'dio', count: 1, mapping: 'anon', pages: 64, bufferPages: 1, writeRatio: 0 }],
      mm: { writeback: 0, munmap: 0, migrate: 0, reclaim: 0, truncate: 0, intervalUs: 1000 },
    }),
    { pool },
  );
  const a = solo.actors[0]!;
  dio.push(((a.stats.pins ?? 0) * 1000) / solo.durationMs);
  raw.push(rawPairRate());
}
await pool.destroy();
const f = (x: number): string => `${(x / 1e6).toFixed(3)} M/s`;
console.log(`pinlab stress benchmark (${rounds} rounds of ${ms} ms, medians)`);
console.log(`default scenario, oracles on:   ${f(median(on))} ops`);
console.log(`default scenario, oracles off:  ${f(median(off))} ops   on/off ratio ${(median(on) / median(off)).toFixed(3)} (target >= 0.5)`);
console.log(`DIO actor pin+unpin (1 page):   ${f(median(dio))} pages   ratio to raw Atomics pair ${(median(dio) / median(raw)).toFixed(3)} (raw ${f(median(raw))})`);
