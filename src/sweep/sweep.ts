/**
 * runSweep(): the grid of a sweep run in stress mode, cell by cell and seed by seed, on the shared
 * actor pool. Runs go one at a time: each run already uses a thread per actor, and two stress runs
 * sharing the cores would measure each other's throughput. Layer: above src/coordinator and
 * src/report, below src/cli.
 */
import { runScenario as defaultRunScenario, type RunOptions } from '../coordinator/run.js';
import type { RunReport } from '../report/types.js';
import type { Scenario } from '../scenario/schema.js';
import { SWEEP_SCHEMA_VERSION, type SweepAxis, type SweepCell, type SweepReport, type SweepRun, type SweepValue } from '../report/sweep-types.js';
import { summariseCell } from '../report/sweep-summary.js';
import { cellLabel, gridCells, inShard, type GridCell, type Shard } from './grid.js';

/** What a sweep runs per (cell, seed): runScenario by default (tests inject a deterministic one). */
export type SweepRunner = (scenario: Scenario, opts: Pick<RunOptions, 'signal'>) => Promise<RunReport>;

export interface SweepProgress {
  /** Runs finished in this shard, and in all. */
  done: number;
  total: number;
  elapsedMs: number;
  /** The run about to start (or just finished, at the end). */
  label: string;
}

export interface SweepOptions {
  /** Repeats (seeds) per cell, >= 1 (default 3). */
  repeat?: number;
  shard?: Shard;
  /** Aborting stops the run in progress (it is dropped) and keeps every finished run. */
  signal?: AbortSignal;
  onProgress?: (p: SweepProgress) => void;
  runner?: SweepRunner;
  /** Name of the report (default: the base scenario's). */
  name?: string;
  /** Where the base scenario came from (a path, or '' for the embedded default): for the re-run commands. */
  baseSource?: string;
  /** Start no run after this much wall time, ms (a study's budget): the report is then 'partial'. */
  deadlineMs?: number;
  /** The command that re-runs a cell (default: cellCommand, a `pinlab sweep` with one value per axis). */
  command?: (assign: Record<string, SweepValue>) => string;
}

/** The command that re-runs one cell, all its repeats, from the same base. */
export function cellCommand(baseSource: string, base: Scenario, assign: Record<string, unknown>, repeat: number): string {
  const q = (s: string) => (/^[\w./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const parts = ['npx pinlab sweep'];
  if (baseSource !== '') parts.push(q(baseSource));
  for (const [p, v] of Object.entries(assign)) parts.push('--vary', q(`${p}=${String(v)}`));
  parts.push('--repeat', String(repeat), '--seed', String(base.seed), '--duration', `${base.durationMs}ms`);
  return parts.join(' ');
}

/** One finished run as the sweep keeps it. */
export function sweepRun(cell: number, repeat: number, r: RunReport): SweepRun {
  const v = r.violations[0];
  return {
    cell, repeat, seed: r.scenario.seed, outcome: r.outcome, violations: r.violations.length,
    ...(v !== undefined ? { firstViolation: { oracle: v.oracle, kind: v.kind, page: v.page, actors: [...v.actors], detail: v.detail } } : {}),
    failures: [...r.failures], durationMs: r.durationMs, metrics: r.metrics,
  };
}

/** The cells of a report with their summaries, from its runs (sorted by cell, then repeat). */
export function assembleCells(grid: readonly Pick<GridCell, 'index' | 'assign'>[], runs: SweepRun[], command: (assign: Record<string, SweepValue>) => string): SweepCell[] {
  runs.sort((a, b) => a.cell - b.cell || a.repeat - b.repeat);
  return grid.map((c) => ({
    index: c.index, assign: c.assign, label: cellLabel(c.assign), command: command(c.assign),
    summary: summariseCell(runs.filter((r) => r.cell === c.index)),
  }));
}

/**
 * Run every (cell, repeat) of the grid that belongs to the shard: repeat r of every cell runs
 * with seed base.seed + r. Throws ScenarioError (before anything runs) when a cell is invalid.
 */
export async function runSweep(base: Scenario, axes: readonly SweepAxis[], opts: SweepOptions = {}): Promise<SweepReport> {
  const t0 = performance.now();
  const repeat = opts.repeat ?? 3;
  const shard = opts.shard ?? { index: 0, count: 1 };
  const runner = opts.runner ?? ((s, o) => defaultRunScenario(s, o));
  const grid = gridCells(base, axes);
  const seeds = Array.from({ length: repeat }, (_, r) => base.seed + r);
  // Run seed-major (every cell's first seed, then every cell's second, ...): a budget or a Ctrl-C
  // that cuts the sweep short leaves every cell with some runs rather than some cells with none.
  // The shard split numbers the runs cell-major; the order of running changes no figure.
  const units: { cell: GridCell; repeat: number }[] = [];
  for (let r = 0; r < repeat; r++) {
    grid.forEach((cell, c) => {
      if (inShard(c * repeat + r, shard)) units.push({ cell, repeat: r });
    });
  }
  const runs: SweepRun[] = [];
  let status: SweepReport['status'] = shard.count > 1 ? 'partial' : 'complete';
  for (const [i, u] of units.entries()) {
    if (opts.signal?.aborted) {
      status = 'interrupted';
      break;
    }
    if (opts.deadlineMs !== undefined && performance.now() - t0 >= opts.deadlineMs) {
      status = 'partial';
      break;
    }
    opts.onProgress?.({ done: i, total: units.length, elapsedMs: performance.now() - t0, label: `${u.cell.label} seed ${seeds[u.repeat]}` });
    const report = await runner({ ...u.cell.scenario, seed: seeds[u.repeat]! }, { signal: opts.signal });
    // A run cut short by Ctrl-C measured a shorter run than its cell: it is dropped.
    if (report.stoppedBy === 'signal' || opts.signal?.aborted) {
      status = 'interrupted';
      break;
    }
    runs.push(sweepRun(u.cell.index, u.repeat, report));
  }
  opts.onProgress?.({ done: runs.length, total: units.length, elapsedMs: performance.now() - t0, label: 'done' });
  const baseSource = opts.baseSource ?? '';
  const command = opts.command ?? ((assign) => cellCommand(baseSource, base, assign, repeat));
  return {
    schema: SWEEP_SCHEMA_VERSION, kind: 'sweep', name: opts.name ?? base.name, base, baseSource, axes: axes.map((a) => ({ ...a, values: [...a.values] })),
    repeat, seeds, shards: [[shard.index, shard.count]], ci: { mean: 'student-t-95', proportion: 'wilson-95' }, status,
    durationMs: Math.round(performance.now() - t0), cells: assembleCells(grid, runs, command), runs,
  };
}
