/**
 * The human-readable explore and replay summaries (`pinlab explore`, `pinlab replay`): the budget
 * and throughput line, coverage, the configuration that found a failure, the violations, the
 * shrink, the failing trace one column per participant, the replay command line and the verdict.
 * Plain text lines; the CLI escapes control characters when it prints them.
 */
import { relative, resolve } from 'node:path';
import type { BridgeTarget } from '../explore/bridge.js';
import type { ExploreProgress, ExploreReport, ReplayReport } from '../explore/explore.js';
import type { ShrinkMeasure, ShrinkProgress, ShrinkResult } from '../explore/shrink.js';
import type { SmallScopeReport } from '../explore/small-scope.js';
import type { Scenario } from '../scenario/schema.js';
import { formatPctBound } from '../sched/pct.js';
import type { ScheduleFile, ScheduleViolation } from '../sched/schedule.js';
import { formatTraceColumns, schedulePreemptions } from '../sched/trace-columns.js';
import { eraInfo, fmtDuration, fmtNum, nativeNote, violationBlock } from './text.js';
import type { Violation } from './types.js';

/** "3 trials", "1 step": a count and its noun, pluralised. */
export const plural = (n: number, word: string): string => `${fmtNum(n)} ${word}${n === 1 ? '' : 's'}`;

const stepsPerSec = (steps: number, ms: number): number => Math.round((steps * 1000) / Math.max(1, ms));

/** One progress line of a campaign ("trial 12/100   steps …"); a time budget shows the elapsed time instead of a count. */
export function exploreProgressLine(p: ExploreProgress): string {
  return `trial ${fmtNum(p.trial)}${p.trials > 0 ? `/${fmtNum(p.trials)}` : ''}   steps ${fmtNum(p.steps)}   ${fmtNum(p.stepsPerSec)} steps/s   failures ${fmtNum(p.failures)}` +
    (p.trials > 0 ? '' : `   ${fmtDuration(p.elapsedMs)} elapsed`);
}

/** The coverage line of a campaign: trials per strategy, racing-pair orders, interleavings. */
export function exploreCoverageLine(r: ExploreReport): string {
  const c = r.coverage;
  const per = Object.entries(c.byStrategy).map(([k, v]) => `${k} ${fmtNum(v.trials)}`).join(', ');
  return `coverage: ${fmtNum(c.racingPairOrders)} racing-pair orders, ${fmtNum(c.interleavings)} distinct interleavings${per !== '' ? `; trials by strategy: ${per}` : ''}`;
}

/** The first `max` violations in full, and how many more the JSON report has. */
export function violationsSection(vs: readonly Violation[], max = 3): string[] {
  if (vs.length === 0) return [];
  const out = [`violations (${vs.length})`];
  vs.slice(0, max).forEach((v, i) => out.push(...violationBlock(v, i), ''));
  if (vs.length > max) out.push(`  … ${vs.length - max} more (in the JSON report, --json PATH)`, '');
  return out;
}

/** "O3 data integrity: unstable-page at pfn 7 (writeback)". */
export const oneViolation = (v: ScheduleViolation | Violation): string =>
  `${v.oracle}: ${v.kind}${v.page >= 0 ? ` at pfn ${v.page}${v.where ? ` (${v.where})` : ''}` : ''}`;

/** The trace of a schedule, one column per participant, with its counts. */
export function traceSection(title: string, f: ScheduleFile): string[] {
  const p = schedulePreemptions(f.steps);
  return [
    `${title} (${plural(f.steps.length, 'step')}, ${fmtNum(p.switches)} switch${p.switches === 1 ? '' : 'es'}, ` +
      `${plural(p.preemptions, 'preemption')}; ▶ marks a preemption):`,
    ...formatTraceColumns(f.steps, { participants: f.participants }),
  ];
}

/** "preemptions 2 → 1, steps 172 → 120, actors 1 → 1, pages 1 → 1, ops/actor 2 → 1, mm steps 3 → 1". */
export function formatShrinkMeasures(a: ShrinkMeasure, b: ShrinkMeasure): string {
  const f = (name: string, x: number, y: number): string => `${name} ${x} → ${y}`;
  return [
    f('preemptions', a.preemptions, b.preemptions), f('steps', a.steps, b.steps), f('actors', a.actors, b.actors),
    f('pages', a.pages, b.pages), f('ops/actor', a.opsPerActor, b.opsPerActor), f('mm steps', a.mmSteps, b.mmSteps),
  ].join(', ');
}

/** One progress line of a shrink ("shrinking (steps): 12 candidates, 3 accepted; now …"). */
export function shrinkProgressLine(p: ShrinkProgress): string {
  const c = p.current;
  return `shrinking (${p.phase}): ${plural(p.candidates, 'candidate')}, ${p.accepted} accepted; now ${plural(c.preemptions, 'preemption')}, ` +
    `${plural(c.steps, 'step')}, ${plural(c.actors, 'actor')}, ${plural(c.pages, 'page')}`;
}

/** A path for a command line to copy: relative to the working directory when below it, shell-quoted when needed. */
export function shellPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  const shown = rel !== '' && !rel.startsWith('..') ? rel : resolve(p);
  return /^[\w./@%+=:,-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** What an explore summary is made of: the campaign's report and what the command did with it. */
export interface ExploreTextInput {
  scenario: Scenario;
  /** The options line ("strategy portfolio (d=3), seed 1, points access, …"). */
  desc: string;
  report: ExploreReport;
  /** The exit code the verdict announces. */
  code: number;
  /** Trials given on the command line (undefined: a time budget alone). */
  trials?: number;
  /** `--from REPORT` and the violation it reproduces. */
  from?: { path: string; target: BridgeTarget };
  /** A small-scope campaign's configurations. */
  small?: SmallScopeReport['smallScope'];
  shrunk?: ShrinkResult;
  shrunkFile?: string;
  /** The signal that stopped the campaign. */
  stopSignal?: string;
}

/** The explore summary, one line per element: header, counts, coverage, then the verdict (clean) or the failure, shrink and trace. */
export function exploreText(x: ExploreTextInput): string[] {
  const { scenario, report, code, trials, small, shrunk, shrunkFile, stopSignal } = x;
  const failure = report.failure;
  const vacuous = report.vacuous ?? [];
  const text: string[] = [`explore ${scenario.name}: ${x.desc}`];
  if (x.from !== undefined) text.push(`from ${x.from.path}: reproducing ${x.from.target.oracle}: ${x.from.target.kind} (actors ${x.from.target.actors.join(', ')})`);
  const stop = stopSignal !== undefined ? ` (stopped by ${stopSignal === 'SIGINT' ? 'Ctrl-C' : stopSignal})` : '';
  const requested = report.timeMs !== undefined && trials === undefined ? `${fmtDuration(report.timeMs)} budget` : fmtNum(report.trialsRequested);
  text.push(
    `trials ${fmtNum(report.trials)}/${requested}${stop}   steps ${fmtNum(report.steps)}   ` +
      `${fmtNum(report.stepsPerSec)} steps/s   ${fmtNum(report.meanStepsPerTrial)} steps/trial   ${fmtDuration(report.durationMs)}` +
      (report.participants.length ? `   participants ${report.participants.join(', ')}` : ''),
  );
  text.push(exploreCoverageLine(report));
  if (small !== undefined) {
    const tiers = (['small', 'widen', 'wide'] as const).map((t) => {
      const cs = small.configurations.filter((c) => c.tier === t);
      return `${t} ${fmtNum(cs.filter((c) => c.trials > 0).length)}/${fmtNum(cs.length)}`;
    });
    text.push(`configurations: ${fmtNum(small.covered)} of ${fmtNum(small.total)} explored in ${plural(small.rounds, 'round')} (${tiers.join(', ')})`);
    if (small.foundBy !== undefined) text.push(`found by configuration "${small.foundBy.id}" (${small.foundBy.options.strategy}, ${small.foundBy.options.opsPerActor} ops/actor, ${small.foundBy.options.mmSteps} mm steps)`);
  }
  if (failure === undefined || failure.outcome === 'too-long') {
    if (report.pct !== undefined) text.push(formatPctBound(report.pct));
    const ran = `${plural(report.trials, 'trial')} (${fmtNum(report.steps)} steps, ${fmtNum(report.stepsPerSec)} steps/s), strategy ${report.strategy}, seed ${report.seed}${stop}`;
    text.push(
      failure !== undefined
        ? `TRIAL TOO LONG (raise --max-steps) — trial ${failure.trial} was still making progress at its bound of ${fmtNum(report.maxSteps)} steps; ` +
            `no violation in ${ran} — exit ${code}`
        : stopSignal !== undefined ? `STOPPED — no violation in ${ran}; the exploration did not finish — exit ${code}`
        : vacuous.length > 0 ? `VACUOUS — no violation, but the trials prove nothing: ${vacuous.join('; ')}; ${ran} — exit ${code}`
        : `CLEAN — no violation in ${ran}${nativeNote(eraInfo(scenario))} — exit ${code}`,
    );
    return text;
  }
  text.push('', `${failure.outcome === 'livelock' ? 'LIVELOCK' : failure.outcome === 'internal' ? 'INTERNAL FAILURE' : 'VIOLATION'} in trial ${failure.trial} (workload seed ${failure.workloadSeed}, ${plural(failure.steps, 'step')})`);
  text.push(...violationsSection(failure.violations));
  if (failure.errors.length) text.push(`errors (${failure.errors.length})`, ...failure.errors.map((e) => `  - ${e.split('\n')[0]}`), '');
  if (failure.scheduleFile !== undefined) {
    const p = failure.schedule !== undefined ? schedulePreemptions(failure.schedule.steps) : undefined;
    text.push(`schedule written to ${failure.scheduleFile}${p !== undefined ? ` (${plural(failure.steps, 'step')}, ${plural(p.preemptions, 'preemption')})` : ''}`);
  }
  let replayPath = failure.scheduleFile;
  let shown = failure.schedule;
  if (shrunk !== undefined) {
    const s = shrunk.stats;
    text.push(
      `shrunk in ${fmtDuration(s.elapsedMs)} (${s.stoppedBy === 'fixpoint' ? 'nothing more to remove' : s.stoppedBy === 'time' ? 'time budget spent' : s.stoppedBy === 'signal' ? 'stopped by Ctrl-C' : 'skipped'}; ` +
        `${plural(s.candidates, 'candidate')}, ${s.accepted} accepted, ${plural(s.replays, 'replay')}, ${plural(s.exploreTrials, 'explore trial')}): ` +
        formatShrinkMeasures(s.before, s.after),
    );
    text.push(...s.log.map((l) => `  - ${l}`));
    if (s.note !== undefined) text.push(`  note: ${s.note}`);
    if (shrunkFile !== undefined) {
      text.push(`shrunk schedule written to ${shrunkFile}`);
      replayPath = shrunkFile;
      shown = shrunk.schedule;
      const v = shrunk.violations[0];
      if (v !== undefined) text.push(`the shrunk run's violation: ${oneViolation(v)}`);
    }
  }
  if (shown !== undefined) text.push('', ...traceSection(shrunkFile !== undefined ? 'shrunk trace' : 'trace', shown), '');
  if (replayPath !== undefined) text.push(`replay: pinlab replay ${shellPath(replayPath)}`);
  const first = failure.violations[0];
  text.push(
    code === 3
      ? `INTERNAL FAILURE — trial ${failure.trial}: ${failure.errors[0]?.split('\n')[0] ?? 'no violation and no error recorded'} — exit 3`
      : `VIOLATION — ${first !== undefined ? oneViolation(first) : failure.outcome} in trial ${failure.trial} of ${requested} ` +
          `(strategy ${report.strategy}${failure.schedule !== undefined && failure.schedule.strategy !== report.strategy ? `: ${failure.schedule.strategy}` : ''}, seed ${report.seed})${nativeNote(eraInfo(scenario))} — exit 1`,
  );
  return text;
}

/** What a replay summary is made of. */
export interface ReplayTextInput {
  /** The schedule file's name as shown. */
  name: string;
  schedule: ScheduleFile;
  report: ReplayReport;
  lenient: boolean;
  /** The exit code the verdict announces. */
  code: number;
}

/** The replay summary: the file, what it recorded, what the run did, and the verdict (its last line). */
export function replayText(x: ReplayTextInput): string[] {
  const { schedule: f, report: r, lenient, code } = x;
  const sname = typeof (f.scenario as { name?: unknown }).name === 'string' ? (f.scenario as { name: string }).name : '(unnamed)';
  const text: string[] = [
    `replay ${x.name}: scenario ${sname}, strategy ${f.strategy}, seed ${f.seed}, trial ${f.trial}, ` +
      `${plural(f.steps.length, 'recorded step')}, faults ${f.faults.length ? f.faults.join(', ') : 'none'}${lenient ? ', lenient' : ''}`,
    `recorded violation: ${f.violation !== null ? oneViolation(f.violation) : 'none'}`,
  ];
  text.push(`ran ${plural(r.steps, 'step')} in ${fmtDuration(r.durationMs)} (${fmtNum(stepsPerSec(r.steps, r.durationMs))} steps/s)`);
  if (r.unfollowedSteps !== undefined) {
    text.push(`the trial ended at step ${fmtNum(r.steps)}: the ${plural(r.unfollowedSteps, 'recorded step')} after it were not followed`);
  }
  if (lenient && r.mismatches !== undefined) {
    const m = r.firstMismatch;
    text.push(
      `lenient: ${plural(r.mismatches, 'step')} could not be followed` +
        (m !== undefined ? `; the first at step ${m.step}: the schedule expects "${m.expected}", ${m.actual !== null ? `${m.actor} is at "${m.actual}"` : `${m.actor} cannot run there`}` : ''),
    );
  }
  if (r.outcome === 'divergence' && r.divergence !== undefined) {
    const d = r.divergence;
    const ended = d.actor === '(end of schedule)';
    text.push(
      ended
        ? `DIVERGENCE at step ${d.step}: the schedule ended there but the run did not${d.actual ? ` (next: "${d.actual}")` : ''}`
        : `DIVERGENCE at step ${d.step}: the schedule expects ${d.actor} at "${d.expected}", but ${d.actual !== null && d.actual !== '' ? `${d.actor} is at "${d.actual}"` : `${d.actor} cannot run there`}`,
      'the schedule no longer matches the code or the scenario (or the file was edited); `--lenient` goes on past it, and `pinlab explore` records a fresh one',
      `DIVERGENCE — step ${d.step}: expected "${d.expected}", actual ${d.actual !== null && d.actual !== '' ? `"${d.actual}"` : '(not runnable)'} — exit ${code}`,
    );
    return text;
  }
  text.push('', ...violationsSection(r.violations));
  if (r.errors.length) text.push(`errors (${r.errors.length})`, ...r.errors.map((e) => `  - ${e.split('\n')[0]}`), '');
  const ran = lenient && r.schedule !== undefined ? r.schedule : { ...f, steps: f.steps.slice(0, r.steps) };
  if (r.violations.length > 0) text.push(...traceSection(lenient ? 'trace as run' : 'trace', ran), '');
  const first = r.violations[0];
  switch (r.outcome) {
    case 'reproduced':
      text.push(`REPRODUCED — ${oneViolation(first!)}${r.identical ? ' (identical trace)' : ''} — exit ${code}`);
      break;
    case 'too-long':
      text.push(`TRIAL TOO LONG (raise maxSteps in the file) — still making progress at ${plural(r.steps, 'step')} — exit ${code}`);
      break;
    case 'different':
    case 'livelock':
      text.push(`VIOLATION — ${first !== undefined ? oneViolation(first) : r.outcome}, not the recorded ${f.violation !== null ? oneViolation(f.violation) : 'clean run'} — exit ${code}`);
      break;
    case 'clean':
      text.push(`CLEAN — ${f.violation !== null ? `the recorded ${oneViolation(f.violation)} did not show` : 'no violation'} — exit ${code}`);
      break;
    default:
      text.push(`INTERNAL FAILURE — ${r.errors[0]?.split('\n')[0] ?? 'the replay did not finish'} — exit ${code}`);
  }
  return text;
}
