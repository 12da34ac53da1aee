/**
 * One `pinlab explore` campaign end to end: a small-scope campaign over the scenario's small
 * configurations, or the scenario as given; then, on a failure, the shrink (in the configuration
 * that found it) and the shrunk schedule file beside the original. The CLI parses the options,
 * calls this and prints the result through src/report/explore-text.ts.
 */
import { join } from 'node:path';
import type { Violation } from '../report/types.js';
import type { Scenario } from '../scenario/schema.js';
import { writeScheduleFile } from '../sched/schedule.js';
import { type ExploreOptions, type ExploreReport, exploreScenario } from './explore.js';
import { type ShrinkOptions, type ShrinkResult, shrinkFailure } from './shrink.js';
import { type SmallScopeReport, exploreSmallScope } from './small-scope.js';

export interface CampaignOptions extends ExploreOptions {
  /** 'small': spread the budget over small configurations of the scenario; 'scenario': the scenario as given. */
  scope: 'small' | 'scenario';
  /** The violation to reproduce (the bridge, `--from`): a small-scope campaign passes over every other failure. */
  target?: { oracle: string; kind: string };
  /** Shrink a failing trial within this budget (absent: report it as found). The campaign's signal stops it too, keeping its best. */
  shrink?: {
    timeoutMs: number;
    /** Called once the shrink of the failing trial starts. */
    onStart?: (trial: number) => void;
    onProgress?: ShrinkOptions['onProgress'];
  };
  /** Called when the exploration ends, before any shrink. */
  onExplored?: () => void;
}

export interface CampaignResult {
  report: ExploreReport;
  /** A small-scope campaign's configurations (which one found the failure). */
  small?: SmallScopeReport['smallScope'];
  shrunk?: ShrinkResult;
  /** Where the shrunk schedule was written (a verified shrink that changed the schedule). */
  shrunkFile?: string;
  /** The shrink threw: the failure is reported as found. */
  shrinkError?: unknown;
}

/**
 * Run the campaign `options` describe on `scenario`. Throws what the engine throws (a RangeError or
 * ScenarioError for bad input); a shrink that throws is returned as `shrinkError`.
 */
export async function exploreCampaign(scenario: Scenario, options: CampaignOptions): Promise<CampaignResult> {
  const { scope, target, shrink, onExplored, ...explore } = options;
  const { onProgress: _progress, signal, ...base } = explore;
  let report: ExploreReport;
  let small: SmallScopeReport['smallScope'] | undefined;
  try {
    if (scope === 'small') {
      const accept = target === undefined ? undefined : (vs: readonly Violation[]) => vs.some((v) => v.oracle === target.oracle && v.kind === target.kind);
      const ss = await exploreSmallScope(scenario, { ...explore, ...(accept !== undefined ? { accept } : {}) });
      small = ss.smallScope;
      report = ss;
    } else {
      report = await exploreScenario(scenario, explore);
    }
  } finally {
    onExplored?.();
  }
  const result: CampaignResult = { report, ...(small !== undefined ? { small } : {}) };
  const failure = report.failure;
  if (shrink === undefined || failure === undefined || failure.violations.length === 0 || signal?.aborted === true) return result;
  shrink.onStart?.(failure.trial);
  const so: ShrinkOptions = { timeoutMs: shrink.timeoutMs, ...(signal !== undefined ? { signal } : {}), ...(shrink.onProgress !== undefined ? { onProgress: shrink.onProgress } : {}) };
  try {
    // A small-scope failure shrinks in the configuration that found it.
    const by = small?.foundBy;
    result.shrunk = by !== undefined
      ? await shrinkFailure(by.scenario, { ...base, ...by.options }, failure, so)
      : await shrinkFailure(scenario, base, failure, so);
  } catch (e) {
    result.shrinkError = e;
    return result;
  }
  if (result.shrunk.stats.verified && result.shrunk.schedule !== failure.schedule) {
    const name = `schedule-${scenario.name}-t${failure.trial}.json`.replace(/[^\w./-]+/g, '_');
    const orig = failure.scheduleFile ?? join(base.outDir ?? '.', name);
    result.shrunkFile = orig.replace(/\.json$/, '') + '.shrunk.json';
    writeScheduleFile(result.shrunkFile, result.shrunk.schedule);
  }
  return result;
}
