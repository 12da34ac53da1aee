/** The sweep report as text tables (one per metric: mean and 95 % CI per cell) and as CSV. */
import { METRIC_COLUMNS } from './metrics.js';
import type { SweepReport } from './sweep-types.js';

/** A number for a table: 3 significant digits, thousands kept whole. */
export function fmtStat(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1000) return String(Math.round(v));
  if (a === 0) return '0';
  return String(Number(v.toPrecision(3)));
}

function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd());
}

/**
 * One table per metric that is not zero everywhere, rows = cells, then the violation rates.
 * Every table says its interval method.
 */
export function formatSweepText(r: SweepReport): string {
  const out: string[] = [];
  const done = r.runs.length;
  out.push(`sweep ${r.name}: ${r.cells.length} cells x ${r.repeat} seeds (${r.seeds.join(', ')}), ${done} runs ${r.status}`);
  out.push('intervals: 95 % Student t over the seeds of a cell (means), Wilson score (violation rate)');
  for (const c of METRIC_COLUMNS) {
    if (r.cells.every((cell) => !cell.summary.metrics[c.name] || cell.summary.metrics[c.name]!.mean === 0 || cell.summary.runs === 0)) continue;
    out.push('', `${c.name} (${c.unit})`);
    const rows = [['cell', 'n', 'mean', '95% CI']];
    for (const cell of r.cells) {
      const m = cell.summary.metrics[c.name]!;
      rows.push([cell.label, String(m.n), fmtStat(m.mean), m.n > 1 ? `[${fmtStat(m.lo)}, ${fmtStat(m.hi)}]` : '-']);
    }
    out.push(...table(rows));
  }
  out.push('', 'runs with a violation');
  const rows = [['cell', 'k/n', 'rate', '95% CI (Wilson)']];
  for (const cell of r.cells) {
    const v = cell.summary.violationRate;
    rows.push([cell.label, `${v.k}/${v.n}`, fmtStat(v.p), v.n > 0 ? `[${fmtStat(v.lo)}, ${fmtStat(v.hi)}]` : '-']);
  }
  out.push(...table(rows));
  return out.join('\n') + '\n';
}

const csvCell = (v: unknown): string => {
  const s = v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The summary as CSV, long format: one row per cell and metric (`violationRate` included) with
 * the cell's varied values as columns, n, mean, lo, hi, sd and the interval method.
 */
export function formatSweepCsv(r: SweepReport): string {
  const paths = r.axes.map((a) => a.path);
  const lines = [['cell', ...paths, 'metric', 'unit', 'n', 'mean', 'lo', 'hi', 'sd', 'method'].map(csvCell).join(',')];
  for (const cell of r.cells) {
    const vals = paths.map((p) => cell.assign[p]);
    for (const c of METRIC_COLUMNS) {
      const m = cell.summary.metrics[c.name]!;
      lines.push([cell.index, ...vals, c.name, c.unit, m.n, m.mean, m.lo, m.hi, m.sd, 'student-t-95'].map(csvCell).join(','));
    }
    const v = cell.summary.violationRate;
    lines.push([cell.index, ...vals, 'violationRate', 'runs', v.n, v.p, v.lo, v.hi, '', 'wilson-95'].map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}

/** The sweep report as pretty JSON (its objects are built in a fixed key order). */
export function formatSweepJson(r: SweepReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
