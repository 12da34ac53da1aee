/**
 * Run a catalogue fault's explore setup (src/scenario/fault-explore.ts holds the setups, as data):
 * `exploreFault(name)` explores the setup's scenario with the fault on (or off: its twin) under the
 * setup's strategy, seed and budget.
 */
import { faultExploreOptions, faultExploreScenario } from '../scenario/fault-explore.js';
import { type ExploreOptions, type ExploreReport, exploreScenario } from './explore.js';
import { type TrialRunner } from './runner.js';

export interface ExploreFaultOptions {
  /** Run the twin: the same setup without the fault (default false). */
  withoutFault?: boolean;
  /** Override the budget (e.g. a shorter twin). */
  trials?: number;
  keepGoing?: boolean;
  runner?: TrialRunner;
  outDir?: string;
}

/**
 * Explore fault `name` with its setup: trials until the first violation, within the setup's budget.
 * The report's failure carries the violations (oracle "O3 data integrity", kind "unstable-page", ...)
 * and the schedule that replays it. Throws a RangeError for a fault without an explore setup.
 */
export function exploreFault(name: string, options: ExploreFaultOptions = {}): Promise<ExploreReport> {
  const o: ExploreOptions = { ...faultExploreOptions(name) };
  if (options.trials !== undefined) o.trials = options.trials;
  if (options.keepGoing !== undefined) o.keepGoing = options.keepGoing;
  if (options.runner !== undefined) o.runner = options.runner;
  if (options.outDir !== undefined) o.outDir = options.outDir;
  return exploreScenario(faultExploreScenario(name, options.withoutFault !== true), o);
}
