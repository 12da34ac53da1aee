/**
 * Engine benchmark: explore steps per second of the baton engine (a worker thread per
 * participant) and the in-thread engine (every participant a generator on one thread, from the
 * stepped build) side by side, random strategy, the same scenarios, seeds and trials — and the
 * ratio. Also the per-trial set-up (prepareRun: machine boot, regions, lab), which both engines pay.
 *
 * Each engine runs `--rounds` times, alternating, and the best round counts (the machine is shared:
 * the best round is the least disturbed one). Wall steps/s is what a user sees; CPU µs/step (the
 * whole process, every thread) is the work, which load does not inflate as much.
 *
 * Usage: node dist/scripts/bench-engine.js [--trials 200] [--rounds 3] [--seed 1] [--strategy random]
 */
import { parseArgs } from 'node:util';
import { exploreScenario, exploreScenarioOf, shutdownExplore } from '../src/explore/explore.js';
import { prepareRun } from '../src/coordinator/setup.js';
import { InThreadRunner, loadInThreadDriver } from '../src/explore/inthread/engine.js';
import { runLitmusTrial } from '../src/explore/litmus-explore.js';
import { type TrialRunner } from '../src/explore/runner.js';
import { type ScenarioInput, parseScenario } from '../src/scenario/schema.js';
import { tuneV8ForHotPaths } from '../src/util/v8-tuning.js';

tuneV8ForHotPaths();
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    strategy: { type: 'string', default: 'random' },
  },
});
const trials = Number(values.trials);
const rounds = Number(values.rounds);
const seed = Number(values.seed);
const strategy = values.strategy as 'random' | 'pct' | 'pos' | 'surw';
for (const [k, v] of [['--trials', trials], ['--rounds', rounds]] as const) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench-engine: ${k} must be a positive integer, got ${v}`);
    process.exit(2);
  }
}

interface Round {
  trials: number;
  steps: number;
  ms: number;
  cpuMs: number;
  hash: number;
}

/** Best of `rounds` alternating rounds of each engine: [baton, in-thread]. */
async function bestOf(run: (inThread: boolean) => Promise<{ trials: number; steps: number; hash: number }>): Promise<[Round, Round]> {
  const best: [Round | null, Round | null] = [null, null];
  for (let i = 0; i < rounds; i++) {
    for (const e of [0, 1] as const) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await run(e === 1);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (best[e] === null || ms < best[e]!.ms) best[e] = { ...r, ms, cpuMs: (c.user + c.system) / 1000 };
    }
  }
  return best as [Round, Round];
}

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

const rows: string[][] = [[
  'scenario', 'steps/trial', 'baton steps/s', 'in-thread steps/s', 'ratio', 'baton CPU µs/step', 'in-thread CPU µs/step', 'CPU ratio',
  'same schedules', 'set-up ms/trial',
]];
const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);
const row = (name: string, [a, b]: [Round, Round], setup: string): string[] => {
  const sa = a.steps / (a.ms / 1000);
  const sb = b.steps / (b.ms / 1000);
  const ca = (a.cpuMs * 1000) / a.steps;
  const cb = (b.cpuMs * 1000) / b.steps;
  return [name, String(Math.round(a.steps / a.trials)), fmt(sa), fmt(sb), `${(sb / sa).toFixed(1)}×`, ca.toFixed(1), cb.toFixed(1), `${(ca / cb).toFixed(1)}×`, String(a.hash === b.hash), setup];
};

for (const program of ['order-window', 'sb-plain']) {
  const run = async (useInThread: boolean): Promise<{ trials: number; steps: number; hash: number }> => {
    const runner = useInThread ? { runner: inThread } : {};
    let steps = 0;
    let hash = 0;
    for (let t = 0; t < trials; t++) {
      const r = await runLitmusTrial(program, { strategy, seed, trial: t, ...runner });
      steps += r.steps.length;
      hash = (Math.imul(hash, 31) + r.traceHash) | 0;
    }
    return { trials, steps, hash };
  };
  await runLitmusTrial(program, { strategy, seed, trial: -2 }); // warm-up
  await runLitmusTrial(program, { strategy, seed, trial: -2, runner: inThread });
  rows.push(row(`litmus ${program}`, await bestOf(run), '-'));
}

// The small configurations (2 ops per actor, 2 mm steps), then one long trial where stepping, not set-up, dominates.
const RUNS: [string, ScenarioInput, number][] = [
  ...Object.entries(SCENARIOS).map(([name, input]): [string, ScenarioInput, number] => [name, input, 2]),
  ['get vs munmap+migrate, 2 pages, 40 ops', SCENARIOS['get vs munmap+migrate, 2 pages']!, 40],
];
for (const [name, input, ops] of RUNS) {
  const o = { strategy, trials: ops > 2 ? Math.max(1, Math.round(trials / 10)) : trials, seed, opsPerActor: ops, mmSteps: ops };
  await exploreScenario(input, { ...o, trials: 3, engine: 'baton' }); // warm-up
  await exploreScenario(input, { ...o, trials: 3, engine: 'inthread' });
  const best = await bestOf(async (useInThread) => {
    const r = await exploreScenario(input, { ...o, engine: useInThread ? 'inthread' : 'baton' });
    return { trials: r.trials, steps: r.steps, hash: r.scheduleHash };
  });
  const s = exploreScenarioOf(parseScenario(input));
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) prepareRun(s);
  rows.push(row(name, best, ((performance.now() - t0) / 50).toFixed(2)));
}
await shutdownExplore();

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => x.padEnd(widths[c]!)).join('  '));
console.log(`(${strategy}, seed ${seed}, ${trials} trials per round, best of ${rounds} rounds; whole campaigns: trial set-up and end-of-run oracles included)`);
