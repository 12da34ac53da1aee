/**
 * Schedules as the reader wants to see them: who ran when, one column per participant (a CPU0 /
 * CPU1 litmus table), and how many of the context switches were preemptions.
 *
 *   scheduleRuns(steps)            consecutive steps of one participant, with the switch after each
 *   schedulePreemptions(steps)     switches, preemptions, and the step index of each preemption
 *   formatTraceColumns(steps, ...) the table: one row per label, long runs collapsed, preemptions marked
 *
 * A switch from X to Y is *forced* when X could not go on: its last step was its end, or a wait or
 * a sleep after which it blocked (its next step is a wake). Every other switch is a preemption: X
 * was still runnable when the scheduler gave the baton to Y. Store-buffer flush steps are the
 * scheduler's, not a participant's: they belong to the run they fall in and never switch.
 */
import type { ScheduleStep } from './schedule.js';

/** The point kind of a label ("dio#0 rmw refcount[3] (pin)" → "rmw"; "wake(timeout)" → "wake"). */
export function labelKind(label: string): string {
  const sp = label.indexOf(' ');
  const rest = sp < 0 ? '' : label.slice(sp + 1);
  const end = rest.search(/[ (]/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The label without its participant prefix ("dio#0 rmw x (pin)" → "rmw x (pin)"). */
export function labelBody(step: ScheduleStep): string {
  const p = `${step.actor} `;
  return step.label.startsWith(p) ? step.label.slice(p.length) : step.label;
}

const BLOCKING_KINDS = new Set(['wait', 'sleep']);

/** A run of consecutive steps of one participant (flush steps inside it included). */
export interface ScheduleRun {
  actor: string;
  /** First step index. */
  start: number;
  /** One past the last step index. */
  end: number;
  /** Steps of `actor` itself (flushes excluded). */
  own: number;
  /** How the run ended: 'preempted' (runnable, the baton moved on), 'blocked', 'done', or 'last' (the schedule ended). */
  exit: 'preempted' | 'blocked' | 'done' | 'last';
}

/** Split a schedule into runs and classify each switch. */
export function scheduleRuns(steps: readonly ScheduleStep[]): ScheduleRun[] {
  const runs: ScheduleRun[] = [];
  let cur: ScheduleRun | null = null;
  steps.forEach((s, i) => {
    if (s.flush === true) {
      if (cur !== null) cur.end = i + 1;
      else {
        cur = { actor: s.actor, start: i, end: i + 1, own: 0, exit: 'last' };
        runs.push(cur);
      }
      return;
    }
    if (cur !== null && (cur.actor === s.actor || cur.own === 0)) {
      cur.actor = s.actor;
      cur.end = i + 1;
      cur.own++;
      return;
    }
    cur = { actor: s.actor, start: i, end: i + 1, own: 1, exit: 'last' };
    runs.push(cur);
  });
  // Classify each run's exit from its last own step and the participant's next step.
  const nextOwn = new Map<string, number>(); // actor -> first step of its next run, scanning backwards
  const nextOf: number[] = new Array<number>(runs.length).fill(-1);
  for (let r = runs.length - 1; r >= 0; r--) {
    const run = runs[r]!;
    nextOf[r] = nextOwn.get(run.actor) ?? -1;
    if (run.own > 0) nextOwn.set(run.actor, run.start);
  }
  runs.forEach((run, r) => {
    if (r === runs.length - 1) return;
    let last: ScheduleStep | undefined;
    for (let i = run.end - 1; i >= run.start && last === undefined; i--) if (steps[i]!.flush !== true) last = steps[i];
    const kind = last === undefined ? '' : labelKind(last.label);
    const next = nextOf[r]!;
    if (kind === 'end' || next < 0) run.exit = 'done';
    else if (BLOCKING_KINDS.has(kind) && labelKind(steps[next]!.label) === 'wake') run.exit = 'blocked';
    else run.exit = 'preempted';
  });
  return runs;
}

export interface PreemptionCount {
  /** Context switches (run boundaries). */
  switches: number;
  /** Switches where the participant left was still runnable. */
  preemptions: number;
  /** The step index at which each preemption happened (the first step of the run that preempted). */
  points: number[];
}

export function schedulePreemptions(steps: readonly ScheduleStep[]): PreemptionCount {
  const runs = scheduleRuns(steps);
  const points: number[] = [];
  runs.forEach((r, i) => {
    if (r.exit === 'preempted' && i + 1 < runs.length) points.push(runs[i + 1]!.start);
  });
  return { switches: Math.max(0, runs.length - 1), preemptions: points.length, points };
}

export interface TraceColumnsOptions {
  /** Column order (default: order of first appearance). Unknown actors are appended. */
  participants?: readonly string[];
  /** Runs of at most this many steps are shown in full (default 6). */
  fullRun?: number;
  /** A collapsed run shows this many first and last labels (default 2 and 2), plus its events, waits and wakes. */
  head?: number;
  tail?: number;
  /** Events, waits and wakes kept inside a collapsed run, at most (default 6). */
  keepMarked?: number;
  /** Widest cell (default 46). */
  cellWidth?: number;
  indent?: string;
}

const MARKED_KINDS = new Set(['event', 'wait', 'wake', 'sleep', 'flush', 'start', 'end']);

/**
 * The schedule as one column per participant and one row per shown label, top to bottom in step
 * order. A run longer than `fullRun` steps keeps its first and last labels and its events, waits and
 * wakes; the rest becomes "… n steps". A preemption is marked ▶ on the first row of the run that
 * took the baton; a forced switch is not marked. The first column is the step index.
 */
export function formatTraceColumns(steps: readonly ScheduleStep[], opts: TraceColumnsOptions = {}): string[] {
  const fullRun = opts.fullRun ?? 6;
  const head = opts.head ?? 2;
  const tail = opts.tail ?? 2;
  const keepMarked = opts.keepMarked ?? 6;
  const width = opts.cellWidth ?? 46;
  const indent = opts.indent ?? '  ';
  const names: string[] = [...(opts.participants ?? [])];
  for (const s of steps) if (!names.includes(s.actor)) names.push(s.actor);
  if (steps.length === 0) return [`${indent}(no steps)`];
  const col = new Map(names.map((n, i) => [n, i]));
  const clip = (s: string): string => (s.length > width ? `${s.slice(0, width - 1)}~` : s);
  const runs = scheduleRuns(steps);
  // Rows: [step, marker, ...cells].
  const rows: string[][] = [];
  const row = (step: string, mark: string, c: number, text: string): void => {
    const r = [step, mark, ...names.map(() => '')];
    r[2 + c] = clip(text);
    rows.push(r);
  };
  runs.forEach((run, ri) => {
    const prev = ri > 0 ? runs[ri - 1]! : undefined;
    const mark = prev !== undefined && prev.exit === 'preempted' ? '▶' : '';
    const idx: number[] = [];
    for (let i = run.start; i < run.end; i++) idx.push(i);
    let shown: Set<number>;
    if (idx.length <= fullRun) shown = new Set(idx);
    else {
      shown = new Set([...idx.slice(0, head), ...idx.slice(idx.length - tail)]);
      let marked = 0;
      for (const i of idx.slice(head, idx.length - tail)) {
        const s = steps[i]!;
        if (marked < keepMarked && (s.flush === true || MARKED_KINDS.has(labelKind(s.label)))) {
          shown.add(i);
          marked++;
        }
      }
    }
    let first = true;
    let skipped = 0;
    const flushSkip = (): void => {
      if (skipped > 0) {
        row('', '', col.get(run.actor)!, `… ${skipped} step${skipped === 1 ? '' : 's'}`);
        skipped = 0;
      }
    };
    for (const i of idx) {
      if (!shown.has(i)) {
        skipped++;
        continue;
      }
      flushSkip();
      const s = steps[i]!;
      const text = s.flush === true ? `(sb) ${labelBody(s)}` : labelBody(s);
      row(String(i), first ? mark : '', col.get(s.actor)!, text);
      first = false;
    }
    flushSkip();
  });
  // Header and layout.
  const header = ['step', '', ...names];
  const rule = ['----', '', ...names.map((n) => '-'.repeat(Math.max(4, n.length)))];
  const all = [header, rule, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => {
    const cells = r.map((cell, c) => (c === 0 ? cell.padStart(widths[0]!) : cell.padEnd(widths[c]!)));
    const [step, mark, ...rest] = cells;
    return `${indent}${step}  ${mark}  ${rest.join(' | ')}`.trimEnd();
  });
}
