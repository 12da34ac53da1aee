/**
 * Small-scope campaigns (the default of `pinlab explore`): the budget is spread over the small
 * configurations of the scenario (src/scenario/small-scope.ts) instead of spent on the scenario as
 * given. Each visit of a configuration runs one batch of trials — one trial of each portfolio
 * strategy — continuing that configuration's trial indices, so every trial is still a pure function
 * of (configuration, faults, strategy, seed, trial) and replays from its schedule file.
 *
 * Allocation: a first round visits every small configuration once, in order, with one widen
 * configuration after every two (so other mappings, longer sequences and mm pairs are reached in
 * the first seconds, not after the whole small tier). Every later round
 * is ROUND_VISITS visits: half bring in configurations not run yet — the widen tier in its
 * interleaved order (src/scenario/small-scope.ts), then the wide tier (triples, the scenario
 * itself) — and half go to the configurations already run, by a UCB bandit on the racing-pair
 * orders each one's batches added to the campaign's coverage (a decayed mean gain plus an
 * exploration bonus that grows for configurations left alone), so budget stays on the
 * configurations that keep producing new orders and none starves. Once every configuration has
 * run, whole rounds go to the bandit. The campaign stops at the first violation, at the trial or
 * time budget, or on the signal.
 */
import {
  type ExploreCalibration, type ExploreOptions, type ExploreReport, type ExploreTrialReport, exploreScenario, readyEngine,
} from './explore.js';
import { resolveClientModules } from '../coordinator/client-modules.js';
import { type Violation } from '../report/types.js';
import { parseScenario, type Scenario, type ScenarioInput } from '../scenario/schema.js';
import { type SmallConfig, smallScopeConfigs } from '../scenario/small-scope.js';
import { Coverage } from '../sched/coverage.js';
import { sharedTrialRunner } from './runner.js';
import { PORTFOLIO } from '../sched/strategy/index.js';

/** What one configuration did in a campaign. */
export interface ConfigurationReport {
  id: string;
  tier: SmallConfig['tier'];
  /** The widen tier's family (what it varies: mapping, shared, gup-path, longer, mm-pair). */
  family?: SmallConfig['family'];
  trials: number;
  steps: number;
  /** Racing-pair orders this configuration's trials added to the campaign's. */
  newPairs: number;
  /** The violation it found (oracle: kind), if it found one. */
  found?: string;
}

/** The configuration a failure came from: explore it again, or shrink it, with these. */
export interface FoundBy {
  id: string;
  scenario: Scenario;
  options: Pick<ExploreOptions, 'opsPerActor' | 'mmSteps' | 'mmIntervalUs' | 'strategy' | 'seed' | 'points'>;
}

export interface SmallScopeReport extends ExploreReport {
  smallScope: { configurations: ConfigurationReport[]; covered: number; total: number; rounds: number; foundBy?: FoundBy };
}

/**
 * Explore `scenario` by its small configurations under `options` (strategy default 'portfolio';
 * `trials` and `timeMs` bound the whole campaign; the workload options opsPerActor, mmSteps and
 * mmIntervalUs are the configurations' own). Returns an ExploreReport over every trial run, plus
 * what each configuration did and which one found the failure.
 */
export interface SmallScopeOptions extends ExploreOptions {
  /** Which failures end the campaign (default: any violation, livelock or internal failure); the others are passed over. */
  accept?: (violations: readonly Violation[]) => boolean;
}

export async function exploreSmallScope(input: Scenario | ScenarioInput, options: SmallScopeOptions = {}): Promise<SmallScopeReport> {
  await readyEngine(options); // a first stepped build is not part of the time budget
  const t0 = performance.now();
  const scenario = await resolveClientModules(parseScenario(input));
  const configs = smallScopeConfigs(scenario);
  const strategy = options.strategy ?? 'portfolio';
  const batch = strategy === 'portfolio' ? PORTFOLIO.length : 4;
  const trialBudget = options.trials ?? (options.timeMs !== undefined ? Number.MAX_SAFE_INTEGER : 100 * batch);
  const runner = options.runner ?? sharedTrialRunner();
  runner.reserve(Math.max(...configs.map((c) => c.scenario.clients.reduce((n, x) => n + x.count, 0) + 1)));
  const coverage = new Coverage();
  const state = configs.map(() => ({ trials: 0, steps: 0, newPairs: 0, visits: 0, gain: 0, cal: undefined as ExploreCalibration | undefined, found: undefined as string | undefined }));
  const reports: ExploreReport[] = [];
  let failure: { report: ExploreReport; trial: ExploreTrialReport; config: SmallConfig } | undefined;
  let trials = 0;
  let rounds = 0;
  let visits = 0;
  let stoppedBy: ExploreReport['stoppedBy'] = 'trials';
  const timeLeft = (): number => (options.timeMs === undefined ? Infinity : options.timeMs - (performance.now() - t0));
  // Configurations not run yet, in the order they join: the widen tier, then the wide one.
  const queue = configs.map((_, i) => i).filter((i) => configs[i]!.tier !== 'small');
  campaign: for (;;) {
    const visit = rounds === 0 ? firstRound(configs, queue) : nextRound(state, queue, visits);
    if (visit.length === 0) break; // a scenario without configurations
    rounds++;
    for (const i of visit) {
      if (options.signal?.aborted) {
        stoppedBy = 'signal';
        break campaign;
      }
      if (timeLeft() <= 0) {
        stoppedBy = 'time';
        break campaign;
      }
      if (trials >= trialBudget) break campaign;
      const c = configs[i]!;
      const st = state[i]!;
      const before = coverage.racingPairOrders;
      const { accept, ...eOptions } = options;
      const r = await exploreScenario(c.scenario, {
        ...eOptions, runner, strategy, opsPerActor: c.opsPerActor, mmSteps: c.mmSteps, mmIntervalUs: c.mmIntervalUs,
        firstTrial: st.trials, trials: Math.min(batch, trialBudget - trials), coverage, coverageScope: c.id,
        ...(st.cal !== undefined ? { calibration: st.cal } : {}),
        // The budget is the campaign's: a configuration's batch is not cut short by it, the next one does not start.
        timeMs: undefined, onProgress: undefined,
      } as ExploreOptions);
      st.cal ??= r.calibration;
      st.trials += r.trials;
      st.steps += r.steps;
      const gain = coverage.racingPairOrders - before;
      st.gain = st.visits === 0 ? gain : GAIN_DECAY * st.gain + (1 - GAIN_DECAY) * gain;
      st.visits++;
      visits++;
      st.newPairs += gain;
      trials += r.trials;
      reports.push(r);
      const elapsed = performance.now() - t0;
      const steps = reports.reduce((n, x) => n + x.steps, 0);
      options.onProgress?.({
        trial: trials, trials: options.trials ?? 0, steps, elapsedMs: Math.round(elapsed), stepsPerSec: Math.round((steps * 1000) / Math.max(1, elapsed)),
        failures: r.failure !== undefined ? 1 : 0,
      });
      if (r.failure !== undefined && r.failure.outcome !== 'too-long' && (accept === undefined || accept(r.failure.violations))) {
        const v = r.failure.violations[0];
        st.found = v !== undefined ? `${v.oracle}: ${v.kind}` : r.failure.outcome;
        failure = { report: r, trial: r.failure, config: c };
        stoppedBy = 'failure';
        break campaign;
      }
      if (r.stoppedBy === 'signal') {
        stoppedBy = 'signal';
        break campaign;
      }
    }
  }
  return merge(scenario, options, strategy, reports, coverage, failure, stoppedBy, performance.now() - t0, {
    configurations: configs.map((c, i) => ({ id: c.id, tier: c.tier, ...(c.family !== undefined ? { family: c.family } : {}), trials: state[i]!.trials, steps: state[i]!.steps, newPairs: state[i]!.newPairs, ...(state[i]!.found !== undefined ? { found: state[i]!.found } : {}) })),
    covered: state.filter((x) => x.trials > 0).length, total: configs.length, rounds,
    ...(failure !== undefined
      ? { foundBy: { id: failure.config.id, scenario: failure.report.scenario, options: { strategy: failure.trial.schedule?.strategy ?? 'random', seed: failure.report.seed, points: failure.report.points, opsPerActor: failure.config.opsPerActor, mmSteps: failure.config.mmSteps, mmIntervalUs: failure.config.mmIntervalUs } } }
      : {}),
  });
}

/** Small configurations per widen configuration in the first round. */
const FIRST_ROUND_SMALL = 2;
/** Visits per round after the first; half of them bring in configurations not run yet. */
const ROUND_VISITS = 64;
/** Weight of the past in a configuration's mean gain (new racing-pair orders per batch). */
const GAIN_DECAY = 0.5;
/** The bandit's exploration weight (UCB1's c), in units of the mean gain over the configurations run. */
const UCB_C = 1;

interface ArmState {
  visits: number;
  gain: number;
}

/**
 * The first round: every small configuration once, in order, with one configuration of the widen
 * tier (taken off `queue`, in its interleaved order) after every FIRST_ROUND_SMALL of them — so
 * the first seconds of a campaign already cover other mappings, longer sequences and mm pairs.
 */
function firstRound(configs: readonly SmallConfig[], queue: number[]): number[] {
  const out: number[] = [];
  let small = 0;
  configs.forEach((c, i) => {
    if (c.tier !== 'small') return;
    out.push(i);
    if (++small % FIRST_ROUND_SMALL === 0 && queue.length > 0 && configs[queue[0]!]!.tier === 'widen') out.push(queue.shift()!);
  });
  return out;
}

/**
 * The next round after the first: up to ROUND_VISITS / 2 configurations taken off `queue` (run
 * for the first time), the rest by UCB1 over the configurations already run — decayed mean gain
 * plus UCB_C · (mean gain of all) · sqrt(ln(visits) / own visits) — best first, ties by index, so
 * the round is a pure function of the campaign so far.
 */
function nextRound(state: readonly ArmState[], queue: number[], visits: number): number[] {
  const fresh = queue.splice(0, ROUND_VISITS / 2);
  const ran = state.map((s, i) => ({ s, i })).filter((x) => x.s.visits > 0);
  if (ran.length === 0) return fresh;
  const mean = ran.reduce((n, x) => n + x.s.gain, 0) / ran.length;
  const bonus = UCB_C * Math.max(mean, 1e-3);
  const lnT = Math.log(Math.max(2, visits));
  const score = (s: ArmState): number => s.gain + bonus * Math.sqrt(lnT / s.visits);
  const best = ran.sort((a, b) => score(b.s) - score(a.s) || a.i - b.i).slice(0, ROUND_VISITS - fresh.length).map((x) => x.i);
  return [...fresh, ...best];
}

/** One report over the campaign's per-configuration reports. */
function merge(
  scenario: Scenario, options: ExploreOptions, strategy: NonNullable<ExploreOptions['strategy']>, reports: readonly ExploreReport[], coverage: Coverage,
  failure: { report: ExploreReport; trial: ExploreTrialReport } | undefined, stoppedBy: ExploreReport['stoppedBy'], durationMs: number,
  smallScope: SmallScopeReport['smallScope'],
): SmallScopeReport {
  const sum = (f: (r: ExploreReport) => number): number => reports.reduce((n, r) => n + f(r), 0);
  const trials = sum((r) => r.trials);
  const steps = sum((r) => r.steps);
  const byStrategy: ExploreReport['coverage']['byStrategy'] = {};
  for (const r of reports) {
    for (const [k, v] of Object.entries(r.coverage.byStrategy)) {
      const e = (byStrategy[k as keyof typeof byStrategy] ??= { trials: 0, failures: 0 });
      e.trials += v.trials;
      e.failures += v.failures;
    }
  }
  const base = failure?.report ?? reports.at(-1);
  // PCT's guarantee over the campaign: the weakest one of any configuration (each has its own n and k).
  const pct = reports.map((r) => r.pct).filter((b) => b !== undefined).sort((a, b) => b.missProbability - a.missProbability)[0];
  const tooLong = reports.flatMap((r) => r.failures.filter((f) => f.outcome === 'too-long'));
  const failures = failure !== undefined ? [failure.trial] : tooLong.slice(0, 1);
  const counters = { blocks: sum((r) => r.counters.blocks), timeoutWakes: sum((r) => r.counters.timeoutWakes), flushes: sum((r) => r.counters.flushes), drains: sum((r) => r.counters.drains), time: sum((r) => r.counters.time) };
  // VACUOUS only when no configuration of a client kind did any work: a configuration without a kind proves nothing about it.
  const vacuous = failure === undefined && reports.length > 0 ? reports.map((r) => r.vacuous).reduce((a, b) => a.filter((x) => b.includes(x))) : [];
  return {
    schema: base?.schema ?? 1, mode: 'explore', scenario, strategy, ...(options.timeMs !== undefined ? { timeMs: options.timeMs } : {}),
    coverage: { racingPairOrders: coverage.racingPairOrders, interleavings: coverage.interleavings, byStrategy },
    seed: base?.seed ?? options.seed ?? scenario.seed, points: options.points ?? 'access',
    opsPerActor: failure?.report.opsPerActor ?? 2, mmSteps: failure?.report.mmSteps ?? 2, mmIntervalUs: failure?.report.mmIntervalUs ?? 0,
    maxSteps: base?.maxSteps ?? 0, livelockWindow: base?.livelockWindow ?? 0, participants: failure?.report.participants ?? [],
    outcome: failure !== undefined ? (failure.trial.outcome === 'clean' ? 'internal' : failure.trial.outcome) : tooLong.length > 0 ? 'too-long' : 'clean',
    vacuous, trialsRequested: options.trials ?? trials, trials, steps,
    stepsPerSec: Math.round((steps * 1000) / Math.max(1, durationMs)), trialsPerSec: Math.round((trials * 10_000) / Math.max(1, durationMs)) / 10,
    switches: sum((r) => r.switches), durationMs: Math.round(durationMs), meanStepsPerTrial: trials > 0 ? Math.round(steps / trials) : 0,
    scheduleHash: reports.reduce((h, r) => (Math.imul(h ^ r.scheduleHash, 0x01000193) >>> 0), 0x811c9dc5), counters,
    ...(pct !== undefined ? { pct, depth: pct.d } : {}),
    ...(failure !== undefined ? { failure: failure.trial } : tooLong[0] !== undefined ? { failure: tooLong[0] } : {}), failures, stoppedBy, smallScope,
  };
}
