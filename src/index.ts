/**
 * `pinlab`: the package's main entry. Run a scenario in stress mode (`runScenario`), explore it
 * under the deterministic scheduler (`explore`), replay a schedule file (`replay`), shrink a
 * failure (`shrink`); write scenarios with `defineScenario` and clients with `defineClient`.
 * The kernel model itself is `pinlab/kernel`; test helpers are `pinlab/vitest`.
 */
import { runScenario as runStress, shutdownPool, type RunOptions } from './coordinator/run.js';
import {
  exploreScenario,
  replaySchedule,
  shutdownExplore,
  type ExploreOptions,
  type ExploreReport,
  type ReplayOptions,
  type ReplayReport,
  type ExploreTrialReport,
} from './explore/explore.js';
import { shrinkFailure, type ShrinkOptions, type ShrinkResult } from './explore/shrink.js';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario/schema.js';
import type { ScheduleFile } from './sched/schedule.js';
import type { RunReport } from './report/types.js';

export { defineClient } from './clients/define.js';
export type {
  ClientContext,
  ClientDefinition,
  ClientEventName,
  ClientKernel,
  ClientRegion,
  ClientStatName,
} from './clients/define.js';
export { ClientModuleError } from './clients/module.js';
export {
  defineScenario,
  parseScenario,
  ScenarioError,
  DEFAULT_SCENARIO,
  CLIENT_KINDS,
  POLICIES,
  DELAYS,
  MAPPINGS,
  type Scenario,
  type ScenarioInput,
  type ClientSpec,
  type Policy,
  type ClientKind,
  type EntryKind,
} from './scenario/schema.js';
export { loadScenario } from './scenario/load.js';
export { FAULT_NAMES } from './scenario/faults.js';
export { ERAS, type Era } from './mem/layout.js';
export { formatTextReport } from './report/text.js';
export { readScheduleFile, writeScheduleFile } from './sched/schedule.js';
export type { RunReport, Violation, ActorReport, EventRecord } from './report/types.js';
export type { RunOptions, RunProgress } from './coordinator/run.js';
export type {
  ExploreOptions,
  ExploreReport,
  ExploreTrialReport,
  ExploreProgress,
  ReplayOptions,
  ReplayReport,
} from './explore/explore.js';
export type { ScheduleFile, ScheduleStep, ScheduleViolation } from './sched/schedule.js';
export type { ShrinkOptions, ShrinkResult } from './explore/shrink.js';

/**
 * Run a scenario in stress mode: real threads for `durationMs`, the mm coordinator on this thread,
 * the oracles on. `scenario` is validated first (defaults filled in).
 * Resolves to the RunReport (`outcome` 'clean' | 'violation' | 'internal'; `violations` name the
 * oracle, page, actors and their last events). Throws ScenarioError for an invalid scenario or a
 * bad custom client module. Threads are pooled across calls: call `shutdown()` when done.
 */
export function runScenario(scenario: Scenario | ScenarioInput, opts: RunOptions = {}): Promise<RunReport> {
  return Promise.resolve().then(() => runStress(parseScenario(scenario), opts));
}

/**
 * Explore a scenario under the deterministic scheduler: trials 0..N−1 (default 100) of the
 * strategy (default 'random'; 'pct' prints a probability bound) until one violates an oracle.
 * Resolves to the ExploreReport; a failing trial's schedule is in `failure.schedule` and, with
 * `outDir`, written to a file (`failure.scheduleFile`) that `replay` reproduces.
 * Throws ScenarioError (bad scenario or client module) or RangeError (bad option).
 */
export function explore(scenario: Scenario | ScenarioInput, options: ExploreOptions = {}): Promise<ExploreReport> {
  return exploreScenario(scenario, options);
}

/**
 * Replay a schedule file (a path, or its parsed content): the recorded steps, label by label.
 * Resolves to a ReplayReport whose `outcome` is 'reproduced' when the recorded violation came back,
 * or 'divergence' (with where) when the code no longer takes the recorded steps.
 * Throws ScheduleFileError for a file that is not a schedule.
 */
export function replay(file: string | ScheduleFile, options: ReplayOptions = {}): Promise<ReplayReport> {
  return replaySchedule(file, options);
}

/**
 * Shrink a failing explore trial (fewer preemptions, steps, actors, pages), verified by strict
 * replay. Resolves to the ShrinkResult (`schedule`, `stats.verified`); default budget 20 s.
 */
export function shrink(
  scenario: Scenario | ScenarioInput,
  options: ExploreOptions,
  failure: ExploreTrialReport,
  shrinkOptions: ShrinkOptions = {},
): Promise<ShrinkResult> {
  return shrinkFailure(scenario, options, failure, shrinkOptions);
}

/** Destroy the threads pooled by runScenario and explore (safe to call at any time; later calls start new ones). */
export async function shutdown(): Promise<void> {
  await shutdownPool();
  await shutdownExplore();
}

// ---- the research bench (issue 12): sweeps, the writeback study, merges, HTML and JUnit -------

export { RunMetricsSchema, type RunMetrics } from './report/metrics.js';
export type { SweepAxis, SweepCell, SweepReport, SweepRun, SweepValue, CellSummary } from './report/sweep-types.js';
export type { SweepOptions, SweepProgress, SweepRunner } from './sweep/sweep.js';
export type { WritebackStudyOptions } from './sweep/study.js';
export { formatSweepText, formatSweepCsv } from './report/sweep-text.js';
export { formatVerdictText } from './report/verdict.js';
export { runHtml, exploreHtml, sweepHtml } from './report/html.js';
export { runJunit, exploreJunit, sweepJunit } from './report/junit.js';
export { mergeSweeps } from './sweep/merge.js';
export { mergeExplores } from './sweep/merge-explore.js';
export { writebackStudy } from './sweep/study.js';

/**
 * Run a sweep: every cell of the grid (`axes`: dotted scenario paths and their values, the first
 * axis varying slowest) × `opts.repeat` seeds (default 3: base.seed, base.seed + 1, …, the same in
 * every cell), one stress run at a time on the shared actor pool. Resolves to the report with
 * every run's outcome metrics and, per cell, each metric's mean with a Student-t 95 % interval and
 * the violation rate with a Wilson interval. `opts.shard` runs only its share (merge the shards
 * with mergeSweeps); aborting `opts.signal` keeps the finished runs (status 'interrupted').
 * Throws ScenarioError, before anything runs, when a cell's scenario is invalid.
 */
export async function sweep(
  base: Scenario | ScenarioInput,
  axes: import('./report/sweep-types.js').SweepAxis[],
  opts: import('./sweep/sweep.js').SweepOptions = {},
): Promise<import('./report/sweep-types.js').SweepReport> {
  const { runSweep } = await import('./sweep/sweep.js');
  return runSweep(parseScenario(base), axes, opts);
}
