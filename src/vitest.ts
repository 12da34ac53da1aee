/**
 * `pinlab/vitest`: helpers for your own race tests, in vitest (or any runner that fails a test on
 * a thrown error). `await exploreClean(scenario)` explores the scenario under the deterministic
 * scheduler and throws one PinlabViolation if a trial violates an oracle; the error's message
 * carries the oracle, the page, the actors, the seed, the schedule file and the exact
 * `npx pinlab replay …` command that reproduces it, as fast-check's failure carries its seed and
 * path. `await runClean(scenario)` does the same for a stress-mode run.
 *
 * Environment knobs, so CI can turn a campaign without editing tests (they override the options):
 * `PINLAB_SEED` (campaign seed), `PINLAB_TRIALS` (explore trials), `PINLAB_TIME` (wall-time
 * budget: `500ms`, `10s`, `2m`, or milliseconds). A malformed value throws RangeError naming it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDuration } from './cli/options.js';
import { explore, runScenario, shrink } from './index.js';
import type { ExploreOptions, ExploreReport } from './explore/explore.js';
import { violationBlock } from './report/text.js';
import type { RunReport, Violation } from './report/types.js';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario/schema.js';
import { writeScheduleFile } from './sched/schedule.js';

/** Options of exploreClean. */
export interface ExploreCleanOptions extends Pick<ExploreOptions, 'strategy' | 'depth' | 'points' | 'opsPerActor' | 'mmSteps' | 'mmIntervalUs' | 'maxSteps'> {
  /** Trials to run (default 200; env PINLAB_TRIALS). */
  trials?: number;
  /** Campaign seed (default: the scenario's seed; env PINLAB_SEED). */
  seed?: number;
  /** Wall-time budget in ms or as `10s` (default: none, the trials bound it; env PINLAB_TIME). Trials stop between trials when it is spent. */
  time?: number | string;
  /** Where the failing schedule file is written (default `pinlab-schedules` in the working directory). */
  outDir?: string;
  /** Shrink a failure before reporting: seconds of budget (default 0: report the trial as found). */
  shrinkSeconds?: number;
}

/** Options of runClean. */
export interface RunCleanOptions {
  /** Run time in ms or as `2s` (default 2000; env PINLAB_TIME). */
  time?: number | string;
  /** Run seed (default: the scenario's; env PINLAB_SEED). */
  seed?: number;
  /** Where the scenario of a failing run and the schedule explore finds for it are written (default `pinlab-schedules`). */
  outDir?: string;
  /** After a stress violation, explore the scenario for this long (ms) to get a replayable schedule (default 20 000; 0: don't). */
  exploreMs?: number;
  /** Trials of that explore campaign (default 500). */
  exploreTrials?: number;
}

/** The one error exploreClean and runClean throw when an oracle is violated. */
export class PinlabViolation extends Error {
  override name = 'PinlabViolation';
  constructor(
    message: string,
    /** The first violation (oracle, kind, page, actors, last events). */
    readonly violation: Violation,
    /** The seed that found it (explore: the campaign seed; stress: the run seed). */
    readonly seed: number,
    /** Explore: the failing trial's schedule file (absolute). */
    readonly scheduleFile: string | undefined,
    /** The command that reproduces it (explore) or re-runs it (stress). */
    readonly command: string,
  ) {
    super(message);
  }
}

function duration(name: string, v: number | string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  let ms = 0;
  try {
    ms = typeof v === 'string' ? parseDuration(v) : 0;
  } catch {
    // reported below
  }
  if (!(ms > 0)) throw new RangeError(`${name}: expected a positive duration (500ms, 10s, 2m or milliseconds), got ${JSON.stringify(v)}`);
  return ms;
}

function envInt(name: string, min: number): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\s*\d+\s*$/.test(v) || Number(v) < min || Number(v) > 2 ** 31 - 1)
    throw new RangeError(`${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function envTime(): number | undefined {
  const v = process.env['PINLAB_TIME'];
  return v === undefined || v === '' ? undefined : duration('PINLAB_TIME', v);
}

const shell = (p: string): string => (/^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);

function message(head: string, v: Violation, lines: string[]): string {
  return [head, ...violationBlock(v, 0), ...lines].join('\n');
}

/**
 * Explore `scenario` and resolve to the clean ExploreReport, or throw PinlabViolation for the
 * first failing trial (livelocks included), after writing its schedule file. Also throws
 * ScenarioError (bad scenario or client module) and RangeError (bad option or environment knob).
 * Defaults: 200 trials, strategy 'portfolio' (random, PCT depth 3, POS, SURW in turn: the CLI's default), the scenario's seed, no time budget.
 */
export async function exploreClean(scenario: Scenario | ScenarioInput, options: ExploreCleanOptions = {}): Promise<ExploreReport> {
  const s = parseScenario(scenario);
  const seed = envInt('PINLAB_SEED', 0) ?? options.seed ?? s.seed;
  const trials = envInt('PINLAB_TRIALS', 1) ?? options.trials ?? 200;
  const time = envTime() ?? (options.time !== undefined ? duration('time', options.time) : undefined);
  const outDir = resolve(options.outDir ?? 'pinlab-schedules');
  const { time: _t, outDir: _o, shrinkSeconds, trials: _n, seed: _s, ...rest } = options;
  const xo: ExploreOptions = { strategy: 'portfolio', ...rest, seed, trials, outDir, ...(time !== undefined ? { signal: AbortSignal.timeout(time) } : {}) };
  const report = await explore(s, xo);
  const failure = report.failure;
  if (failure === undefined) return report;
  let file = failure.scheduleFile;
  let violations = failure.violations;
  if (shrinkSeconds !== undefined && shrinkSeconds > 0 && failure.violations.length > 0) {
    const shrunk = await shrink(s, { ...xo, signal: undefined }, failure, { timeoutMs: shrinkSeconds * 1000 });
    if (shrunk.stats.verified && file !== undefined) {
      file = file.replace(/\.json$/, '') + '.shrunk.json';
      writeScheduleFile(file, shrunk.schedule);
      violations = shrunk.violations.length > 0 ? shrunk.violations : violations;
    }
  }
  const v: Violation = violations[0] ?? {
    oracle: failure.outcome,
    kind: failure.outcome,
    page: -1,
    actors: [],
    detail: failure.errors[0] ?? 'no violation recorded',
    events: {},
  };
  const command = file !== undefined ? `npx pinlab replay ${shell(file)}` : '(no schedule file was written)';
  throw new PinlabViolation(
    message(
      `pinlab: ${v.oracle} (${v.kind}) on page ${v.page}${v.where !== undefined ? ` (${v.where})` : ''} — actors ${v.actors.join(', ') || '(none)'}; ` +
        `explore trial ${failure.trial} of ${trials}, seed ${seed}, strategy ${report.strategy}${report.depth !== undefined ? ` (depth ${report.depth})` : ''}`,
      v,
      [`schedule: ${file ?? '(none)'}`, `replay: ${command}`],
    ),
    v,
    seed,
    file,
    command,
  );
}

/**
 * Run `scenario` in stress mode (real threads; default 2 s, stopping at the first violation) and
 * resolve to the clean RunReport, or throw PinlabViolation naming the oracle, page, actors and
 * seed, with the scenario written to `outDir` and the `npx pinlab run …` command that re-runs it.
 * A stress run is not replayable step by step, so after a violation the scenario is explored
 * (PCT, up to `exploreTrials`/`exploreMs`) for the same oracle: when found, the error carries that
 * schedule file and its `npx pinlab replay …` command (`command`), else the re-run command.
 * An internal failure (a client threw, a thread died) throws Error with the report's failures.
 */
export async function runClean(scenario: Scenario | ScenarioInput, options: RunCleanOptions = {}): Promise<RunReport> {
  const parsed = parseScenario(scenario);
  const seed = envInt('PINLAB_SEED', 0) ?? options.seed ?? parsed.seed;
  const durationMs = envTime() ?? (options.time !== undefined ? duration('time', options.time) : 2000);
  const s = parseScenario({ ...parsed, seed, durationMs });
  const report = await runScenario(s, { stopOnViolation: true });
  if (report.outcome === 'clean') return report;
  const v = report.violations[0];
  if (v === undefined) throw new Error(`pinlab: the run failed (seed ${seed}): ${report.failures.join('; ') || report.outcome}`);
  const dir = resolve(options.outDir ?? 'pinlab-schedules');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `scenario-${s.name}-seed${seed}.json`.replace(/[^\w./-]+/g, '_'));
  await writeFile(file, JSON.stringify(report.scenario, null, 2) + '\n');
  const rerun = `npx pinlab run ${shell(file)} --seed ${seed}`;
  // A stress run is not replayable step by step: look for the same oracle's violation under the
  // deterministic scheduler, within a bound, to hand over a schedule file and its replay command.
  const budgetMs = options.exploreMs ?? 20_000;
  let scheduleFile: string | undefined;
  let found: Violation | undefined;
  if (budgetMs > 0) {
    const x = await explore(report.scenario, {
      strategy: 'pct',
      seed,
      trials: options.exploreTrials ?? 500,
      outDir: dir,
      signal: AbortSignal.timeout(budgetMs),
    });
    const f = x.failures.find((t) => t.violations.some((w) => w.oracle === v.oracle)) ?? x.failure;
    scheduleFile = f?.scheduleFile;
    found = f?.violations.find((w) => w.oracle === v.oracle) ?? f?.violations[0];
  }
  const command = scheduleFile !== undefined ? `npx pinlab replay ${shell(scheduleFile)}` : rerun;
  throw new PinlabViolation(
    message(
      `pinlab: ${v.oracle} (${v.kind}) on page ${v.page}${v.where !== undefined ? ` (${v.where})` : ''} — actors ${v.actors.join(', ') || '(none)'}; ` +
        `stress run, seed ${seed}`,
      v,
      [
        `scenario: ${file}`,
        `re-run: ${rerun}`,
        scheduleFile !== undefined
          ? `explore found ${found !== undefined ? `${found.oracle} (${found.kind}) on page ${found.page}` : 'a failure'} in the same scenario (strategy pct, seed ${seed}); schedule: ${scheduleFile}`
          : budgetMs > 0
            ? `explore did not find it in ${options.exploreTrials ?? 500} trials or ${budgetMs} ms (a stress run is not replayable step by step)`
            : 'a stress run is not replayable step by step (exploreMs 0: no explore campaign)',
        `replay: ${scheduleFile !== undefined ? command : '(no schedule)'}`,
      ],
    ),
    v,
    seed,
    scheduleFile,
    command,
  );
}
