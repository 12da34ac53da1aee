/**
 * The sweep report (`pinlab sweep --json`, `pinlab merge`): every run of a grid of scenario cells
 * × repeat seeds with its outcome metrics, and per cell the mean and 95 % interval of each metric.
 * Stable: the runs are the data (keyed by cell and repeat), the summaries are recomputed from them,
 * so merged shards and an unsharded sweep give the same report.
 */
import type { Scenario } from '../scenario/schema.js';
import type { RunMetrics } from './metrics.js';
import type { MeanCi } from '../util/stats.js';

export const SWEEP_SCHEMA_VERSION = 1;

/** A cell's value of one axis as reports show it: the value, or its name when the value is an object. */
export type SweepValue = string | number | boolean;

/**
 * One varied field: a dotted path into the scenario (`clients.0.count`, `policy`) and its values
 * in order. Values may be any JSON (a whole `clients` list); `names` then labels them (`mix=dio`).
 */
export interface SweepAxis {
  path: string;
  values: unknown[];
  /** Labels of the values, and the axis' name in labels (default: the path). */
  names?: string[];
  label?: string;
}

/** The first violation of a run, for the tables and the JUnit failure. */
export interface RunViolationBrief {
  oracle: string;
  kind: string;
  page: number;
  actors: string[];
  detail: string;
}

/** One run of one cell. */
export interface SweepRun {
  cell: number;
  repeat: number;
  seed: number;
  outcome: 'clean' | 'violation' | 'internal';
  violations: number;
  firstViolation?: RunViolationBrief;
  failures: string[];
  durationMs: number;
  metrics: RunMetrics;
}

/** A cell's summary: per metric (report/metrics.ts METRIC_COLUMNS) the mean with its Student-t 95 % CI. */
export interface CellSummary {
  runs: number;
  /** Runs with a violation, with the Wilson 95 % interval of the proportion. */
  violationRate: { k: number; n: number; p: number; lo: number; hi: number };
  metrics: Record<string, MeanCi>;
}

export interface SweepCell {
  index: number;
  /** The varied values of this cell (or their names), by axis label. */
  assign: Record<string, SweepValue>;
  /** A readable label: `policy=skip era=v6.3`. */
  label: string;
  /** The command that re-runs exactly this cell (all its repeats). */
  command: string;
  summary: CellSummary;
}

export interface SweepReport {
  schema: number;
  kind: 'sweep';
  /** The study or sweep's name (the base scenario's name for a plain sweep). */
  name: string;
  /** The base scenario (before the cell's values are set) and where it came from. */
  base: Scenario;
  baseSource: string;
  axes: SweepAxis[];
  repeat: number;
  /** The seeds of repeat r are base.seed + r, the same for every cell (common random numbers). */
  seeds: number[];
  /** Which shards the runs came from: `[i, N]` each ([0, 1] unsharded); merge lists every shard it joined. */
  shards: [number, number][];
  ci: { mean: 'student-t-95'; proportion: 'wilson-95' };
  /**
   * 'complete'; 'interrupted' (Ctrl-C: the runs that finished are kept); 'partial' (a shard, or a
   * merge that lacks some runs).
   */
  status: 'complete' | 'interrupted' | 'partial';
  durationMs: number;
  cells: SweepCell[];
  runs: SweepRun[];
}
