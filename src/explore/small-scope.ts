/**
 * Small-scope campaigns (the default of `pinlab explore`): the budget is spread over the small
 * configurations of the scenario (src/scenario/small-scope.ts) instead of spent on the scenario as
 * given. Each visit of a configuration runs one batch of trials — one trial of each portfolio
 * strategy — continuing that configuration's trial indices, so every trial is still a pure function
 * of (configuration, faults, strategy, seed, trial) and replays from its schedule file.
 *
 * Allocation: a first round visits every small configuration once, in order; then the wide tier
 * (triples, the scenario itself) joins, and each later round visits the configurations whose last
 * batch found racing-pair orders not seen before (a bandit by coverage), and every configuration
 * on every fourth round, so none starves. The campaign stops at the first violation, at the trial
 * or time budget, or on the signal.
 */
import {
  type ExploreCalibration, type ExploreOptions, type ExploreReport, type ExploreTrialReport, exploreScenario,
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
  tier: 'small' | 'wide';
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
  const t0 = performance.now();
  const scenario = await resolveClientModules(parseScenario(input));
  const configs = smallScopeConfigs(scenario);
  const strategy = options.strategy ?? 'portfolio';
  const batch = strategy === 'portfolio' ? PORTFOLIO.length : 4;
  const trialBudget = options.trials ?? (options.timeMs !== undefined ? Number.MAX_SAFE_INTEGER : 100 * batch);
  const runner = options.runner ?? sharedTrialRunner();
  runner.reserve(Math.max(...configs.map((c) => c.scenario.clients.reduce((n, x) => n + x.count, 0) + 1)));
  const coverage = new Coverage();
  const state = configs.map(() => ({ trials: 0, steps: 0, newPairs: 0, lastGain: 1, cal: undefined as ExploreCalibration | undefined, found: undefined as string | undefined }));
  const reports: ExploreReport[] = [];
  let failure: { report: ExploreReport; trial: ExploreTrialReport; config: SmallConfig } | undefined;
  let trials = 0;
  let rounds = 0;
  let stoppedBy: ExploreReport['stoppedBy'] = 'trials';
  const timeLeft = (): number => (options.timeMs === undefined ? Infinity : options.timeMs - (performance.now() - t0));
  campaign: for (;;) {
    const active = configs.map((_, i) => i).filter((i) => (rounds === 0 ? configs[i]!.tier === 'small' : rounds % 4 === 0 || state[i]!.lastGain > 0));
    const visit = active.length > 0 ? active : configs.map((_, i) => i);
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
      st.lastGain = coverage.racingPairOrders - before;
      st.newPairs += st.lastGain;
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
    configurations: configs.map((c, i) => ({ id: c.id, tier: c.tier, trials: state[i]!.trials, steps: state[i]!.steps, newPairs: state[i]!.newPairs, ...(state[i]!.found !== undefined ? { found: state[i]!.found } : {}) })),
    covered: state.filter((x) => x.trials > 0).length, total: configs.length, rounds,
    ...(failure !== undefined
      ? { foundBy: { id: failure.config.id, scenario: failure.report.scenario, options: { strategy: failure.trial.schedule?.strategy ?? 'random', seed: failure.report.seed, points: failure.report.points, opsPerActor: failure.config.opsPerActor, mmSteps: failure.config.mmSteps, mmIntervalUs: failure.config.mmIntervalUs } } }
      : {}),
  });
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
