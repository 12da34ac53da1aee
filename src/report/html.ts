/**
 * HTML reports (`--html` on run, explore, sweep, study, merge): one self-contained file that
 * opens offline — inline CSS, plots as inline SVG rendered from vega-lite specs at report time
 * (plots.ts), tables, the scenario, the seeds, the command that reproduces each cell or run, and
 * for a violation the trace columns (the actors' last events, or an explore schedule's columns).
 * A few lines of inline script only stamp what the browser laid out (data-plots, data-tables on
 * <body>) for the headless-browser test; the report reads the same without it.
 */
import type { ExploreReport } from '../explore/explore.js';
import { formatTraceColumns } from '../sched/trace-columns.js';
import { METRIC_COLUMNS } from './metrics.js';
import { barChart, intervalChart, renderSvg } from './plots.js';
import { fmtStat } from './sweep-text.js';
import type { SweepReport } from './sweep-types.js';
import type { RunReport, Violation } from './types.js';
import { VERDICT_COLUMNS, fmtCi, verdictRows } from './verdict.js';

/** Escape text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:2px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.l,th.l{text-align:left}code,pre{font:12px/1.35 ui-monospace,monospace}pre{background:#f7f7f7;padding:.6em;overflow-x:auto}
.plots{display:flex;flex-wrap:wrap;gap:1.5em}.bad{color:#a00;font-weight:600}.ok{color:#070}`;

// Records what the browser laid out: plots with a non-empty box, tables with rows.
const STAMP = `<script>addEventListener('load',function(){var p=0,t=0;document.querySelectorAll('.plot svg').forEach(function(s){var b=s.getBBox();if(b.width>0&&b.height>0&&s.querySelectorAll('path,line,rect,text').length>3)p++});document.querySelectorAll('table').forEach(function(x){if(x.rows.length>1)t++});document.body.setAttribute('data-plots',p);document.body.setAttribute('data-tables',t)})</script>`;

function page(title: string, body: string[]): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style>${STAMP}</head>\n<body>\n<h1>${esc(title)}</h1>\n${body.join('\n')}\n<p><small>pinlab report, generated ${esc(new Date().toISOString())}</small></p>\n</body></html>\n`;
}

function tableHtml(head: string[], rows: string[][], leftCols = 1): string {
  const cls = (i: number) => (i < leftCols ? ' class="l"' : '');
  return `<table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

async function plots(specs: Parameters<typeof renderSvg>[0][]): Promise<string> {
  const svgs = await Promise.all(specs.map((s) => renderSvg(s)));
  return `<div class="plots">${svgs.map((s) => `<div class="plot">${s}</div>`).join('')}</div>`;
}

/** A violation's trace columns: one column per actor, its last events in sequence order. */
function violationTrace(v: Violation): string {
  const actors = Object.keys(v.events);
  const all = actors.flatMap((a) => (v.events[a] ?? []).map((e) => ({ a, e }))).sort((x, y) => x.e.seq - y.e.seq);
  const rows = all.map(({ a, e }) => [String(e.seq), ...actors.map((b) => (b === a ? esc(`${e.event} pfn ${e.page} arg ${e.arg}`) : ''))]);
  return tableHtml(['seq', ...actors], rows, actors.length + 1);
}

function violationsSection(vs: readonly Violation[], command: string | undefined): string[] {
  if (vs.length === 0) return ['<h2>Violations</h2><p class="ok">none</p>'];
  const out = ['<h2>Violations</h2>'];
  if (command) out.push(`<p>reproduce: <code>${esc(command)}</code></p>`);
  vs.slice(0, 20).forEach((v, i) => {
    out.push(`<h3>${i + 1}. <span class="bad">${esc(v.oracle)} ${esc(v.kind)}</span> page ${esc(v.page)}${v.where ? ` (${esc(v.where)})` : ''}</h3>`);
    out.push(`<p>${esc(v.detail)}</p><p>actors: ${esc(v.actors.join(', '))}</p>`, violationTrace(v));
  });
  if (vs.length > 20) out.push(`<p>… and ${vs.length - 20} more (the JSON report has them all)</p>`);
  return out;
}

function scenarioSection(s: unknown): string {
  return `<h2>Scenario</h2><pre>${esc(JSON.stringify(s, null, 2))}</pre>`;
}

/** The HTML report of one stress run. `command`: how to re-run it (default: the seed only). */
export async function runHtml(r: RunReport, o: { title?: string; command?: string } = {}): Promise<string> {
  const command = o.command ?? `npx pinlab run <scenario> --seed ${r.scenario.seed}`;
  const m = r.metrics;
  const wbOutcomes = Object.entries(r.mm).filter(([k]) => k.startsWith('writeback:')).map(([k, v]) => ({ x: k.slice('writeback:'.length), y: v }));
  const kinds = Object.entries(m.clientOpsPerSec).map(([x, y]) => ({ x, y }));
  const body = [
    `<p>outcome <b class="${r.outcome === 'clean' ? 'ok' : 'bad'}">${esc(r.outcome)}</b>, stopped by ${esc(r.stoppedBy)}, ${esc(r.durationMs)} ms;
era ${esc(r.scenario.era)}, policy ${esc(r.scenario.policy)}, seed ${esc(r.scenario.seed)}</p><p>re-run: <code>${esc(command)}</code></p>`,
    '<h2>Plots</h2>',
    await plots([barChart('client throughput by kind', 'ops/s', kinds), barChart('writeback outcomes', 'pages', wbOutcomes.length ? wbOutcomes : [{ x: 'none', y: 0 }])]),
    '<h2>Outcome metrics</h2>',
    tableHtml(['metric', 'unit', 'value'], METRIC_COLUMNS.map((c) => [c.name, esc(c.unit), esc(fmtStat(c.get(m)))]), 2),
    '<h2>Actors</h2>',
    tableHtml(['actor', 'kind', 'state', 'ops', 'ops/s'], r.actors.map((a) => [esc(a.name), esc(a.kind), esc(a.state), esc(a.ops), esc(a.opsPerSec)]), 3),
    ...violationsSection(r.violations, command),
    scenarioSection(r.scenario),
  ];
  return page(o.title ?? `pinlab run: ${r.scenario.name}`, body);
}

/** The HTML report of an explore campaign: counters, the failing trial's violations and schedule columns. */
export async function exploreHtml(r: ExploreReport, o: { title?: string } = {}): Promise<string> {
  const f = r.failure;
  const replay = f?.scheduleFile ? `npx pinlab replay ${f.scheduleFile}` : undefined;
  const body = [
    `<p>outcome <b class="${r.outcome === 'clean' ? 'ok' : 'bad'}">${esc(r.outcome)}</b>: ${esc(r.trials)} of ${esc(r.trialsRequested)} trials, strategy ${esc(r.strategy)}${r.depth !== undefined ? ` depth ${esc(r.depth)}` : ''}, seed ${esc(r.seed)}, ${esc(r.steps)} steps, ${esc(r.durationMs)} ms</p>`,
    `<p>re-run: <code>${esc(`npx pinlab explore <scenario> --strategy ${r.strategy} --trials ${r.trialsRequested} --seed ${r.seed}`)}</code></p>`,
    '<h2>Plots</h2>',
    await plots([barChart('campaign counters', 'count', [
      { x: 'trials', y: r.trials }, { x: 'failing trials', y: r.failures.length }, { x: 'blocks', y: r.counters.blocks },
      { x: 'timeout wakes', y: r.counters.timeoutWakes }, { x: 'flushes', y: r.counters.flushes },
    ])]),
    '<h2>Campaign</h2>',
    tableHtml(['field', 'value'], [
      ['participants', esc(r.participants.join(', '))], ['steps/s', esc(r.stepsPerSec)], ['trials/s', esc(r.trialsPerSec)],
      ['switches', esc(r.switches)], ['schedule hash', esc(r.scheduleHash)], ['stopped by', esc(r.stoppedBy)],
      ...(r.pct ? [['PCT bound', esc(JSON.stringify(r.pct))]] : []),
    ], 1),
  ];
  if (f) {
    body.push(...violationsSection(f.violations, replay));
    if (f.schedule) body.push(`<h3>Schedule of trial ${esc(f.trial)} (one column per participant)</h3><pre class="trace">${esc(formatTraceColumns(f.schedule.steps).join('\n'))}</pre>`);
  } else body.push('<h2>Violations</h2><p class="ok">none</p>');
  body.push(scenarioSection(r.scenario));
  return page(o.title ?? `pinlab explore: ${r.scenario.name}`, body);
}

/** The HTML report of a sweep, a study (with its verdict table when the axes are policy and mix) or a merge. */
export async function sweepHtml(r: SweepReport, o: { title?: string } = {}): Promise<string> {
  const hasPolicy = r.axes.some((a) => (a.label ?? a.path) === 'policy');
  const groupAxis = hasPolicy ? 'policy' : undefined;
  const plotMetrics = ['lostWrites', 'unstablePages', 'bouncedMB', 'writebackP99Us', 'clientOpsPerSec', 'dirtyAtEnd'];
  const specs = plotMetrics.map((name) => {
    const col = METRIC_COLUMNS.find((c) => c.name === name)!;
    return intervalChart(`${name} (mean, 95 % CI)`, col.unit, r.cells.filter((c) => c.summary.runs > 0).map((c) => {
      const s = c.summary.metrics[name]!;
      return { x: c.label, mean: s.mean, lo: s.lo, hi: s.hi, ...(groupAxis ? { group: String(c.assign[groupAxis]) } : {}) };
    }));
  });
  const body = [
    `<p>${esc(r.cells.length)} cells × ${esc(r.repeat)} seeds (${esc(r.seeds.join(', '))}); ${esc(r.runs.length)} runs, ${esc(r.status)}; ${esc(Math.round(r.durationMs / 1000))} s; shards ${esc(r.shards.map(([i, n]) => `${i}/${n}`).join(', '))}</p>`,
    '<p>Intervals: 95 % Student t over the seeds of a cell for means; Wilson score for the violation rate.</p>',
    `<p>Axes: ${r.axes.map((a) => `<code>${esc(a.label ?? a.path)}</code> = ${esc((a.names ?? a.values.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))).join(', '))}`).join('; ')}</p>`,
  ];
  if (r.axes.some((a) => a.label === 'mix') && hasPolicy) {
    body.push('<h2>Verdict</h2>', tableHtml(
      ['policy', 'mix', ...VERDICT_COLUMNS.map(([, h]) => h), 'violation runs', 'verdict'],
      verdictRows(r).map((v) => [esc(v.policy), esc(v.mix), ...VERDICT_COLUMNS.map(([k]) => esc(fmtCi(v.cell.summary.metrics[k]))), esc(`${v.cell.summary.violationRate.k}/${v.cell.summary.violationRate.n}`), `<span class="${v.verdict.startsWith('safe') ? 'ok' : 'bad'}">${esc(v.verdict)}</span>`]),
      2,
    ));
  }
  body.push('<h2>Plots</h2>', await plots(specs));
  body.push('<h2>Cells</h2>', tableHtml(
    ['cell', 'runs', 'violation rate [95 % CI]', 'reproduce'],
    r.cells.map((c) => {
      const v = c.summary.violationRate;
      return [esc(c.label), esc(c.summary.runs), v.n ? esc(`${fmtStat(v.p)} [${fmtStat(v.lo)}, ${fmtStat(v.hi)}]`) : '-', `<code>${esc(c.command)}</code>`];
    }),
    1,
  ));
  for (const col of METRIC_COLUMNS) {
    body.push(`<h3>${esc(col.name)} (${esc(col.unit)})</h3>`, tableHtml(['cell', 'n', 'mean', '95 % CI', 'sd'], r.cells.map((c) => {
      const s = c.summary.metrics[col.name]!;
      return [esc(c.label), esc(s.n), esc(fmtStat(s.mean)), s.n > 1 ? esc(`[${fmtStat(s.lo)}, ${fmtStat(s.hi)}]`) : '-', esc(fmtStat(s.sd))];
    })));
  }
  const bad = r.runs.filter((x) => x.firstViolation !== undefined || x.outcome === 'internal');
  body.push('<h2>Runs with a violation</h2>', bad.length === 0 ? '<p class="ok">none</p>' : tableHtml(
    ['cell', 'seed', 'outcome', 'violations', 'first', 'detail'],
    bad.slice(0, 200).map((x) => [esc(r.cells[x.cell]?.label ?? x.cell), esc(x.seed), esc(x.outcome), esc(x.violations),
      esc(x.firstViolation ? `${x.firstViolation.oracle} ${x.firstViolation.kind} page ${x.firstViolation.page}` : x.failures[0] ?? ''), esc(x.firstViolation?.detail ?? '')]),
    1,
  ));
  body.push(scenarioSection(r.base));
  return page(o.title ?? `pinlab sweep: ${r.name}`, body);
}
