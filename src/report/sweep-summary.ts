/**
 * Per-cell summaries of a sweep, computed from its runs only (so a merge recomputes them): each
 * metric's mean with a Student-t 95 % interval over the repeats (each repeat an independent seed),
 * cut at 0 (every metric is non-negative), and the violation rate with a Wilson 95 % interval.
 */
import { type MeanCi, meanCi, wilsonCi } from '../util/stats.js';
import { METRIC_COLUMNS } from './metrics.js';
import type { CellSummary, SweepRun } from './sweep-types.js';

/** The summary of one cell's runs. */
export function summariseCell(runs: readonly SweepRun[]): CellSummary {
  const k = runs.filter((r) => r.outcome === 'violation').length;
  const w = wilsonCi(k, runs.length);
  const metrics: CellSummary['metrics'] = {};
  // Every metric is non-negative: an interval reaching below 0 is cut at 0.
  for (const c of METRIC_COLUMNS) {
    const m = meanCi(runs.map((r) => c.get(r.metrics)));
    metrics[c.name] = round({ ...m, lo: Math.max(0, m.lo) });
  }
  return { runs: runs.length, violationRate: { k, n: runs.length, p: w.p, lo: w.lo, hi: w.hi }, metrics };
}

const r6 = (v: number): number => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);

/** Rounded for a stable report (6 significant digits). */
function round(x: MeanCi): MeanCi {
  return { n: x.n, mean: r6(x.mean), lo: r6(x.lo), hi: r6(x.hi), sd: r6(x.sd) };
}
