/**
 * Soak: the fault-free model under eras × safe policies × delays, each combination with a fresh
 * random valid scenario (src/scenario/random.ts), in stress mode (and, with --explore, a few explore
 * trials of the same scenario), optionally beside busy loops that compete for the cores. Prints
 * one line per run and the totals: runs, ops, violations, vacuous runs, failures. On the
 * fault-free model every figure but runs and ops must be 0; the exit code is 1 otherwise.
 *
 * Usage: node dist/scripts/soak.js [--minutes 10] [--run-ms 2000] [--busy 0] [--explore] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ActorPool } from '../src/coordinator/pool.js';
import { exploreScenario, shutdownExplore } from '../src/explore/explore.js';
import { runScenario } from '../src/coordinator/run.js';
import { ERAS } from '../src/mem/layout.js';
import { randomScenario } from '../src/scenario/random.js';
import { DELAYS, SAFE_POLICIES, parseScenario } from '../src/scenario/schema.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'run-ms': { type: 'string', default: '2000' },
    busy: { type: 'string', default: '0' },
    explore: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
const budgetMs = Number(values.minutes) * 60_000;
const runMs = Number(values['run-ms']);
const seed0 = Number(values.seed);
const busyEnd = Date.now() + budgetMs + 60_000;
const busy = Array.from({ length: Number(values.busy) }, () =>
  new Worker(`const end = ${busyEnd}; while (Date.now() < end);`, { eval: true }),
);

const combos = ERAS.flatMap((era) => SAFE_POLICIES.flatMap((policy) => DELAYS.map((delay) => ({ era, policy, delay }))));
const pool = new ActorPool();
const totals = { runs: 0, ops: 0, pins: 0, violations: 0, vacuous: 0, failures: 0, exploreTrials: 0, exploreSteps: 0, exploreViolations: 0, exploreVacuous: 0, tooLong: 0 };
const bad: string[] = [];
const t0 = performance.now();
let i = 0;
console.log(`soak: ${combos.length} combinations (eras × safe policies × delays), ${runMs} ms runs, ${busy.length} busy loops, budget ${values.minutes} min`);
while (performance.now() - t0 < budgetMs) {
  const c = combos[i % combos.length]!;
  const seed = seed0 * 100_003 + i++;
  const s = parseScenario(randomScenario(seed, { ...c, durationMs: runMs }));
  const r = await runScenario(s, { pool });
  totals.runs++;
  totals.ops += r.totals.ops;
  totals.pins += r.totals.pins;
  totals.violations += r.violations.length;
  totals.failures += r.failures.length;
  const vacuous = r.vacuous ?? [];
  if (vacuous.length) totals.vacuous++;
  let line = `${String(totals.runs).padStart(4)} ${s.name.padEnd(16)} ${c.era.padEnd(9)} ${c.policy.padEnd(15)} ${c.delay.padEnd(5)} ops ${r.totals.ops} ${r.outcome}`;
  if (r.violations.length || r.failures.length || vacuous.length) {
    bad.push(`${s.name} ${c.era} ${c.policy} ${c.delay}: ${r.outcome}; ${[...r.violations.map((v) => `${v.oracle} ${v.kind}`), ...r.failures, ...vacuous].join('; ')}`);
    line += `  ${bad.at(-1)}`;
  }
  if (values.explore) {
    const x = await exploreScenario(s, { strategy: seed % 2 ? 'pct' : 'random', trials: 5, seed, opsPerActor: 4 });
    totals.exploreTrials += x.trials;
    totals.exploreSteps += x.steps;
    if (x.outcome === 'too-long') totals.tooLong++;
    else if (x.outcome !== 'clean') {
      totals.exploreViolations++;
      bad.push(`${s.name} explore: ${x.outcome} ${x.failure?.violations.map((v) => `${v.oracle} ${v.kind}`).join('; ')}`);
    }
    if (x.vacuous.length) {
      totals.exploreVacuous++;
      bad.push(`${s.name} explore vacuous: ${x.vacuous.join('; ')}`);
    }
    line += `   explore ${x.outcome} (${x.steps} steps)`;
  }
  console.log(line);
}
await pool.destroy();
await shutdownExplore();
await Promise.all(busy.map((w) => w.terminate()));
const minutes = ((performance.now() - t0) / 60_000).toFixed(1);
console.log(`\nsoak done in ${minutes} min: ${JSON.stringify(totals)}`);
for (const b of bad) console.log(`  ! ${b}`);
process.exitCode = bad.length > 0 ? 1 : 0;
