/**
 * The verdict table of `pinlab study writeback`: per policy and client mix, what was lost or let
 * change (lost writes, unstable pages, violations) and what it cost (bounced MB, writeback p99,
 * client throughput), each a mean with its 95 % Student-t interval over the seeds.
 */
import { fmtStat } from './sweep-text.js';
import type { SweepCell, SweepReport } from './sweep-types.js';
import type { MeanCi } from '../util/stats.js';

/** A cell's verdict in words, from its means and violations. */
export function cellVerdict(c: SweepCell): string {
  const m = c.summary.metrics;
  if (c.summary.runs === 0) return 'not run';
  const parts: string[] = [];
  const lost = m['lostWrites']?.mean ?? 0;
  if (lost > 0) parts.push('loses writes');
  else if (c.summary.violationRate.k > 0) parts.push('violations');
  if ((m['unstablePages']?.mean ?? 0) > 0) parts.push('unstable pages');
  if (parts.length === 0) parts.push('safe');
  if ((m['pinFailures']?.mean ?? 0) > 0 && (m['clientOpsPerSec']?.mean ?? 0) > 0) parts.push('pins refused');
  return parts.join(', ');
}

/** One row of the verdict table. */
export interface VerdictRow {
  policy: string;
  mix: string;
  verdict: string;
  cell: SweepCell;
}

export function verdictRows(r: SweepReport): VerdictRow[] {
  return r.cells.map((c) => ({ policy: String(c.assign['policy']), mix: String(c.assign['mix']), verdict: cellVerdict(c), cell: c }));
}

/** The verdict table's metric columns (SweepCell.summary.metrics names) and headers. */
export const VERDICT_COLUMNS = [
  ['lostWrites', 'lost writes'],
  ['unstablePages', 'unstable pages'],
  ['bouncedMB', 'bounced MB'],
  ['writebackP99Us', 'writeback p99 µs'],
  ['clientOpsPerSec', 'client ops/s'],
] as const;

/** `mean ± half-width` of a 95 % interval (just the mean for one seed). */
export function fmtCi(m: MeanCi | undefined): string {
  if (m === undefined || m.n === 0) return '-';
  if (m.n === 1 || !Number.isFinite(m.hi)) return fmtStat(m.mean);
  return `${fmtStat(m.mean)} ± ${fmtStat((m.hi - m.lo) / 2)}`;
}

/** The verdict table as text. */
export function formatVerdictText(r: SweepReport): string {
  const rows = [['policy', 'mix', ...VERDICT_COLUMNS.map(([, h]) => h), 'violation runs', 'verdict']];
  for (const v of verdictRows(r)) {
    const s = v.cell.summary;
    rows.push([v.policy, v.mix, ...VERDICT_COLUMNS.map(([k]) => fmtCi(s.metrics[k])), `${s.violationRate.k}/${s.violationRate.n}`, v.verdict]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const lines = rows.map((x) => x.map((c, i) => (i < 2 || i === x.length - 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd());
  return `\nverdict (era v6.18; mean ± 95 % CI half-width, Student t over ${r.repeat} seeds)\n${lines.join('\n')}\n`;
}

/** The verdict table as Markdown (the benchmark script's note). */
export function formatVerdictMarkdown(r: SweepReport): string {
  const head = ['policy', 'mix', ...VERDICT_COLUMNS.map(([, h]) => h), 'violation runs', 'verdict'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const v of verdictRows(r)) {
    const s = v.cell.summary;
    lines.push(`| ${[v.policy, v.mix, ...VERDICT_COLUMNS.map(([k]) => fmtCi(s.metrics[k])), `${s.violationRate.k}/${s.violationRate.n}`, v.verdict].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
