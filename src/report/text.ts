/**
 * The human-readable run summary: scenario, actors, mm operations, oracle checks, vmstat, WARN/BUG
 * counts, every violation with the last events of the actors involved side by side, and a verdict.
 * Plain text, no control characters.
 */
import { eraSpec } from '../kernel/era/index.js';
import type { Scenario } from '../scenario/schema.js';
import { escapeControl } from '../util/escape.js';
import type { ActorReport, EraInfo, EventRecord, RunReport, Violation } from './types.js';

/** Violations printed in full in the text summary. */
export const MAX_DETAILED_VIOLATIONS = 5;

export interface TextReportOptions {
  /** Only the violations (if any), failures and the verdict line. */
  brief?: boolean;
  /** Widest line for wrapped name/value lists (default 100). */
  width?: number;
  /** Widest cell of an event column (default 44). */
  eventCellWidth?: number;
  /** The exit code the verdict line announces (default: 0 clean, 1 violation, 3 internal, 4 vacuous). */
  exitCode?: number;
}

/** Thousands-separated integer, or a number with at most one decimal for small values. */
export function fmtNum(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) || Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(1);
}

/** 850 ms, 12.3 s, 2 m 05 s, 1 h 02 m. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

/** Left-aligned columns; `right` lists the columns to right-align (numbers). */
export function table(rows: string[][], right: ReadonlySet<number> = new Set(), indent = '  ', gap = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    (
      indent +
      r.map((c, i) => (i === r.length - 1 && !right.has(i) ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(gap)
    ).trimEnd(),
  );
}

/** `name value` pairs, wrapped to `width`. */
function pairs(entries: [string, number][], width: number, indent = '  '): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const [k, v] of entries) {
    const item = `${k} ${fmtNum(v)}`;
    if (line.length > indent.length && line.length + 3 + item.length > width) {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += (line.length > indent.length ? '   ' : '') + item;
  }
  if (line.length > indent.length) lines.push(line);
  return lines;
}

function sorted(rec: Record<string, number> | undefined): [string, number][] {
  return Object.entries(rec ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function sum(rec: Record<string, number> | undefined): number {
  return Object.values(rec ?? {}).reduce((a, b) => a + b, 0);
}

const PIN_STAT_KEYS = ['pins'];
/** Actor stats that are bookkeeping, not results (ops has its own column). */
const HIDDEN_STATS = new Set(['state', 'ops', 'heartbeat', 'cur_op', 'cur_page']);
/** The order key stats are shown in; any others follow by name. */
const STAT_ORDER = [
  'unpins', 'gets', 'puts', 'dma_writes', 'dma_reads', 'gup_fails', 'registrations',
  'odp_faults', 'odp_retries', 'odp_accesses', 'revoke_req', 'revoke_ack', 'ledger_used', 'errors',
];

function actorPins(a: ActorReport): number | undefined {
  for (const k of PIN_STAT_KEYS) if (typeof a.stats?.[k] === 'number') return a.stats[k];
  return undefined;
}

/** Non-zero stats, as "name=value", in STAT_ORDER then by name. */
function actorStats(a: ActorReport): string {
  const rank = (k: string) => {
    const i = STAT_ORDER.indexOf(k);
    return i < 0 ? STAT_ORDER.length : i;
  };
  return Object.entries(a.stats ?? {})
    .filter(([k, v]) => !PIN_STAT_KEYS.includes(k) && !HIDDEN_STATS.has(k) && v !== 0)
    .sort(([x], [y]) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${fmtNum(v)}`)
    .join(' ');
}

function eventCell(e: EventRecord, max: number): string {
  const s = `#${e.seq} ${e.event}${e.page >= 0 ? ` pfn ${e.page}` : ''}${e.arg !== 0 ? ` arg ${e.arg}` : ''}`;
  return s.length > max ? s.slice(0, max - 1) + '~' : s;
}

/** The last events of each actor as one column per actor, bottom-aligned (latest events on the last row). */
export function eventColumns(events: Record<string, EventRecord[]>, order: readonly string[], cellWidth = 44): string[] {
  const names = [...order.filter((n) => Object.hasOwn(events, n)), ...Object.keys(events).filter((n) => !order.includes(n)).sort()];
  if (names.length === 0) return [];
  const cols = names.map((n) => (events[n] ?? []).map((e) => eventCell(e, cellWidth)));
  const depth = Math.max(...cols.map((c) => c.length));
  if (depth === 0) return [];
  const rows: string[][] = [names, names.map((n) => '-'.repeat(Math.max(n.length, 4)))];
  for (let r = 0; r < depth; r++) {
    rows.push(cols.map((c) => c[r - (depth - c.length)] ?? ''));
  }
  return table(rows, new Set(), '      ', ' | ');
}

/** A violation as the text report shows it: oracle, kind, page, actors, detail, the actors' last events side by side. */
export function violationBlock(v: Violation, i: number, cellWidth = 44): string[] {
  const where = v.page >= 0 ? `pfn ${v.page}${v.where ? ` (${v.where})` : ''}` : v.where ?? 'no page';
  const lines = [
    `  #${i + 1} ${v.oracle} — ${v.kind} at ${where}`,
    `      actors: ${v.actors.length ? v.actors.join(', ') : '(none)'}`,
    ...v.detail.split('\n').map((l, j) => (j === 0 ? `      ${l}` : `        ${l}`)),
  ];
  const cols = eventColumns(v.events ?? {}, v.actors, cellWidth);
  if (cols.length) lines.push('      last events (oldest first):', ...cols);
  return lines;
}

/** The native bugs of the era a scenario runs (none when nativeBugs is false). */
export function eraInfo(s: Pick<Scenario, 'era' | 'nativeBugs'>): EraInfo {
  return { name: s.era, native: s.nativeBugs === false ? [] : [...eraSpec(s.era).native] };
}

/** ' — violations expected on this era: native bugs …' for an era with native bugs on, else ''. */
export function nativeNote(era: EraInfo | undefined): string {
  return era !== undefined && era.native.length > 0
    ? ` — violations expected on this era: native bugs ${era.native.join(', ')} (pinlab list eras)`
    : '';
}

/** One-line verdict, as the last line of the summary; `code` is the exit code it announces. */
export function verdictLine(r: RunReport, code?: number): string {
  const signal = r.stoppedBy === 'signal' ? (r.signal ?? 'signal') : undefined;
  const stop = signal !== undefined ? `, stopped by ${signal}` : r.stoppedBy === 'failure' ? ', stopped by a failure' : '';
  const run = `${fmtDuration(r.durationMs)}, ${fmtNum(r.totals.ops)} ops, seed ${r.scenario.seed}${stop}`;
  const vacuous = r.vacuous ?? [];
  if (r.outcome === 'internal') {
    const first = r.failures[0] ? `: ${r.failures[0].split('\n')[0]}` : '';
    return `INTERNAL FAILURE — pinlab itself failed (${r.failures.length} failure${r.failures.length === 1 ? '' : 's'}${first}; ${run}) — exit ${code ?? 3}`;
  }
  if (r.outcome === 'violation' || r.violations.length > 0) {
    const byKind = new Map<string, number>();
    for (const v of r.violations) byKind.set(`${v.oracle}: ${v.kind}`, (byKind.get(`${v.oracle}: ${v.kind}`) ?? 0) + 1);
    const kinds = [...byKind].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join('; ');
    const n = r.violations.length;
    return `VIOLATION — ${n} violation${n === 1 ? '' : 's'}${kinds ? ` (${kinds})` : ''} in ${run}${nativeNote(r.era)} — exit ${code ?? 1}`;
  }
  if (signal !== undefined) return `STOPPED — no violation in ${run}; the run did not finish — exit ${code ?? 130}`;
  if (vacuous.length > 0) return `VACUOUS — no violation, but the run proves nothing: ${vacuous.join('; ')} (${run}) — exit ${code ?? 4}`;
  return `CLEAN — no violation in ${run}${nativeNote(r.era)} — exit ${code ?? 0}`;
}

/** The text summary of a run (ends with the verdict line and a newline). */
export function formatTextReport(r: RunReport, opts: TextReportOptions = {}): string {
  const width = opts.width ?? 100;
  const cellWidth = opts.eventCellWidth ?? 44;
  const s = r.scenario;
  const out: string[] = [];

  if (!opts.brief) {
    out.push(
      `scenario ${s.name}   era ${s.era}   policy ${s.policy}   delay ${s.delay}   duration ${fmtDuration(s.durationMs)}` +
        ` (ran ${fmtDuration(r.durationMs)}, stopped by ${r.stoppedBy})   seed ${s.seed}`,
      `faults ${s.faults.length ? s.faults.join(', ') : 'none'}   oracles ${s.oracles ? 'on' : 'off'}`,
      '',
    );

    // Actors.
    out.push(`actors (${r.actors.length})`);
    const rows: string[][] = [['name', 'kind', 'state', 'ops', 'ops/s', 'pins', 'stats']];
    for (const a of r.actors) {
      const pins = actorPins(a);
      rows.push([a.name, a.kind, a.state, fmtNum(a.ops), fmtNum(a.opsPerSec), pins === undefined ? '-' : fmtNum(pins), actorStats(a)]);
    }
    rows.push(['total', '', '', fmtNum(r.totals.ops), fmtNum(r.totals.opsPerSec), fmtNum(r.totals.pins), '']);
    out.push(...table(rows, new Set([3, 4, 5])));
    for (const a of r.actors) if (a.error) out.push(`  ${a.name}: ${a.state}: ${a.error.split('\n')[0]}`);
    out.push('');

    // mm operations.
    const mm = sorted(r.mm);
    // Operation counts are the keys without a ':' (the rest are outcomes and I/O figures).
    const opCount = Object.entries(r.mm).reduce((n, [key, v]) => (key.includes(':') ? n : n + v), 0);
    out.push(`mm operations (${fmtNum(opCount)})`);
    out.push(...(mm.length ? pairs(mm, width) : ['  none']));
    out.push('');

    // Oracles.
    const fp = sorted(r.oracle.falsePositives);
    const fpTotal = sum(r.oracle.falsePositives);
    out.push(
      `oracle checks ${fmtNum(r.oracle.checks)}   invalidations ${fmtNum(r.oracle.invalidations)}   false positives ${fmtNum(fpTotal)}` +
        (fp.length && fpTotal > 0 ? ` (${fp.filter(([, n]) => n > 0).map(([k, n]) => `${k} ${fmtNum(n)}`).join(', ')})` : ''),
    );

    // vmstat.
    const vm = sorted(r.vmstat);
    const acq = r.vmstat['nr_foll_pin_acquired'];
    const rel = r.vmstat['nr_foll_pin_released'];
    const balance = acq !== undefined && rel !== undefined ? (acq === rel ? '   (pins balanced)' : `   (UNBALANCED: ${fmtNum(acq - rel)} pins not released)`) : '';
    out.push(`vmstat${balance}`);
    out.push(...(vm.length ? pairs(vm, width) : ['  none']));

    // WARN / BUG.
    const warns = sum(r.warnings);
    const bugs = sum(r.bugs);
    out.push(`WARN ${fmtNum(warns)}   BUG ${fmtNum(bugs)}`);
    for (const [site, n] of sorted(r.warnings)) if (n > 0) out.push(`  WARN ${site} ×${fmtNum(n)}`);
    for (const [site, n] of sorted(r.bugs)) if (n > 0) out.push(`  BUG ${site} ×${fmtNum(n)}`);
    out.push('');
  }

  if (r.violations.length) {
    out.push(`violations (${r.violations.length})`);
    // The first few in full; the JSON report keeps every one.
    r.violations.slice(0, MAX_DETAILED_VIOLATIONS).forEach((v, i) => {
      out.push(...violationBlock(v, i, cellWidth));
      out.push('');
    });
    if (r.violations.length > MAX_DETAILED_VIOLATIONS) {
      out.push(`  … ${r.violations.length - MAX_DETAILED_VIOLATIONS} more (all of them are in the JSON report, --json PATH)`);
      out.push('');
    }
  }
  if (r.failures.length) {
    out.push(`failures (${r.failures.length})`);
    for (const f of r.failures) out.push(...f.split('\n').map((l, j) => (j === 0 ? `  - ${l}` : `    ${l}`)));
    out.push('');
  }

  out.push(verdictLine(r, opts.exitCode));
  // No control characters beyond newlines, whatever the engine put in names and details.
  return out.map(escapeControl).join('\n') + '\n';
}
