/**
 * Engine benchmark: explore steps per second of the baton engine (a worker thread per
 * participant) and the in-thread engine (every participant a generator on one thread, from the
 * stepped build) side by side, random strategy, the same scenarios, seeds and trials — and the
 * ratio. Also the per-trial set-up (prepareRun: machine boot, regions, lab), which both engines pay.
 *
 * Usage: node dist/scripts/bench-engine.js [--trials 200] [--seed 1] [--strategy random]
 */
import { parseArgs } from 'node:util';
import { exploreScenario, exploreScenarioOf, shutdownExplore } from '../src/coordinator/explore.js';
import { prepareRun } from '../src/coordinator/setup.js';
import { InThreadRunner, loadInThreadDriver } from '../src/explore/inthread/engine.js';
import { runLitmusTrial } from '../src/sched/litmus-explore.js';
import { type TrialRunner } from '../src/sched/runner.js';
import { type ScenarioInput, parseScenario } from '../src/scenario/schema.js';
import { tuneV8ForHotPaths } from '../src/util/v8-tuning.js';

tuneV8ForHotPaths();
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    strategy: { type: 'string', default: 'random' },
  },
});
const trials = Number(values.trials);
const seed = Number(values.seed);
const strategy = values.strategy as 'random' | 'pct' | 'pos' | 'surw';
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${values.trials}`);

const SCENARIOS: Record<string, ScenarioInput> = {
  'dio vs writeback, 1 page': {
    name: 'dio-vs-writeback', seed: 1, policy: 'skip',
    clients: [{ kind: 'dio', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
    mm: { writeback: 1, munmap: 0, migrate: 0, reclaim: 0, truncate: 0 },
  },
  'get vs munmap+migrate, 2 pages': {
    name: 'get-vs-mm', seed: 1,
    clients: [{ kind: 'get', mapping: 'anon', pages: 2, bufferPages: 2 }],
    mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
  },
  'odp vs munmap+migrate, 1 page': {
    name: 'odp-vs-mm', seed: 1,
    clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
    mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
  },
  'rdma+dio vs writeback, 2 pages': {
    name: 'rdma-dio-vs-writeback', seed: 1,
    clients: [
      { kind: 'rdma', mapping: 'file', pages: 2, bufferPages: 2, holdOps: 1 },
      { kind: 'dio', mapping: 'file', pages: 2, bufferPages: 1, writeRatio: 1 },
    ],
    mm: { writeback: 1, munmap: 0, migrate: 0, reclaim: 0, truncate: 0 },
  },
};

const driver = await loadInThreadDriver();
if (typeof driver === 'string') throw new Error(`in-thread engine unavailable: ${driver}`);
const inThread = new InThreadRunner(driver) as unknown as TrialRunner;

const rows: string[][] = [['scenario', 'steps/trial', 'baton steps/s', 'in-thread steps/s', 'ratio', 'same schedules', 'set-up ms/trial']];
const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);

for (const program of ['order-window', 'sb-plain']) {
  const run = async (runner?: TrialRunner): Promise<{ steps: number; ms: number; hashes: number[] }> => {
    await runLitmusTrial(program, { strategy, seed, trial: -2, ...(runner ? { runner } : {}) }); // warm-up
    const t0 = performance.now();
    let steps = 0;
    const hashes: number[] = [];
    for (let t = 0; t < trials; t++) {
      const r = await runLitmusTrial(program, { strategy, seed, trial: t, ...(runner ? { runner } : {}) });
      steps += r.steps.length;
      hashes.push(r.traceHash);
    }
    return { steps, ms: performance.now() - t0, hashes };
  };
  const a = await run();
  const b = await run(inThread);
  const sa = a.steps / (a.ms / 1000);
  const sb = b.steps / (b.ms / 1000);
  rows.push([`litmus ${program}`, (a.steps / trials).toFixed(0), fmt(sa), fmt(sb), `${(sb / sa).toFixed(1)}×`, String(a.hashes.every((h, i) => h === b.hashes[i])), '-']);
}

for (const [name, input] of Object.entries(SCENARIOS)) {
  const o = { strategy, trials, seed, opsPerActor: 2, mmSteps: 2 };
  await exploreScenario(input, { ...o, trials: 3, engine: 'baton' }); // warm-up
  await exploreScenario(input, { ...o, trials: 3, engine: 'inthread' });
  const a = await exploreScenario(input, { ...o, engine: 'baton' });
  const b = await exploreScenario(input, { ...o, engine: 'inthread' });
  const s = exploreScenarioOf(parseScenario(input));
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) prepareRun(s);
  const setup = (performance.now() - t0) / 50;
  const sa = a.steps / (a.durationMs / 1000);
  const sb = b.steps / (b.durationMs / 1000);
  rows.push([name, (a.steps / a.trials).toFixed(0), fmt(sa), fmt(sb), `${(sb / sa).toFixed(1)}×`, String(a.scheduleHash === b.scheduleHash), setup.toFixed(2)]);
}
await shutdownExplore();

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => x.padEnd(widths[c]!)).join('  '));
console.log(`(${strategy}, seed ${seed}, ${trials} trials each; steps/s over whole campaigns, set-up included)`);
