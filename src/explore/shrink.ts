/**
 * Shrinking a failing explore trial (DESIGN.md §6; stress-tools.md §10 idea 5): fewer actors, fewer
 * pages, fewer operations, fewer preemptions, fewer steps — as long as the same violation (oracle and
 * kind of the first violation) stays.
 *
 *   shrinkFailure(scenario, exploreOptions, failingTrial, shrinkOptions?) → { schedule, scenario, stats, violations }
 *
 * The state is a schedule file that replays strictly. Every candidate is judged by running it:
 *
 *  (a) workload — drop a client entry, decrement a count, shrink a region's pages or bufferPages,
 *      fewer client steps (opsPerActor) or mm steps, an mm operation kind off. The current schedule
 *      is replayed leniently on the smaller workload (steps of removed actors dropped; where a step
 *      cannot be followed the replay goes on); if that does not show the violation, a small explore
 *      budget with the same strategy and seed looks for it (trials 0..refindTrials−1).
 *  (b) preemptions — cut the schedule at a preemption (the rest runs without preemption), let the
 *      preempted participant run its next run before the one that preempted it, or drop the
 *      preempting run; each replayed leniently.
 *  (c) steps — move a remaining preemption a little earlier or later.
 *
 * A candidate is accepted only when its run shows the same violation AND the schedule it actually
 * ran replays strictly to that violation (so the result is always a schedule `pinlab replay`
 * reproduces). Shrinking stops at a fixpoint, after `timeoutMs` (default 20 s) or on the signal;
 * the result is the best schedule accepted so far.
 */
import {
  type ExploreOptions, type ExploreTrialReport, type ReplayReport, exploreScenario, replaySchedule, runExploreTrial,
} from './explore.js';
import type { Violation } from '../report/types.js';
import { type Scenario, type ScenarioInput, parseScenario } from '../scenario/schema.js';
import type { TrialRunner } from './runner.js';
import type { ScheduleFile, ScheduleStep } from '../sched/schedule.js';
import { type ScheduleRun, schedulePreemptions, scheduleRuns } from '../sched/trace-columns.js';

export interface ShrinkOptions {
  /** Wall-time budget, ms (default 20 000). */
  timeoutMs?: number;
  /** Stop (keeping the best so far) when aborted. */
  signal?: AbortSignal;
  /** Explore trials per workload candidate that lenient replay did not reproduce (default: 2·(trial+1), 8..24). */
  refindTrials?: number;
  /** Shrink the workload (default true). */
  workload?: boolean;
  /** Called after every accepted candidate and at each phase change. */
  onProgress?: (p: ShrinkProgress) => void;
}

export interface ShrinkProgress {
  phase: 'workload' | 'preemptions' | 'steps' | 'verify';
  candidates: number;
  accepted: number;
  current: ShrinkMeasure;
}

/** What shrinking minimises. */
export interface ShrinkMeasure {
  preemptions: number;
  switches: number;
  steps: number;
  /** Client actors (participants − 1). */
  actors: number;
  /** Σ count × pages over the client entries. */
  pages: number;
  opsPerActor: number;
  mmSteps: number;
}

export interface ShrinkStats {
  target: { oracle: string; kind: string };
  before: ShrinkMeasure;
  after: ShrinkMeasure;
  /** Candidates run, accepted; lenient and strict replays; explore trials spent re-finding. */
  candidates: number;
  accepted: number;
  replays: number;
  exploreTrials: number;
  elapsedMs: number;
  stoppedBy: 'fixpoint' | 'time' | 'signal' | 'skipped';
  /** The shrunk schedule replayed strictly and reproduced the violation. */
  verified: boolean;
  /** One line per accepted step, in order. */
  log: string[];
  note?: string;
}

export interface ShrinkResult {
  /** The shrunk schedule (the original when nothing could be shrunk or verified). */
  schedule: ScheduleFile;
  /** The scenario the shrunk schedule runs. */
  scenario: Scenario;
  stats: ShrinkStats;
  /** The violations of the final strict replay (with their event columns), when verified. */
  violations: Violation[];
  /** The strict replay of the result. */
  replay?: ReplayReport;
}

const MM_KINDS = ['writeback', 'munmap', 'migrate', 'reclaim', 'truncate'] as const;

type Target = { oracle: string; kind: string };
const matches = (v: { oracle: string; kind: string } | null | undefined, t: Target): boolean =>
  v != null && v.oracle === t.oracle && v.kind === t.kind;

/** The measure of a schedule file. */
export function measureSchedule(f: ScheduleFile): ShrinkMeasure {
  const s = parseScenario(f.scenario);
  const p = schedulePreemptions(f.steps);
  return {
    preemptions: p.preemptions, switches: p.switches, steps: f.steps.length,
    actors: s.clients.reduce((n, c) => n + c.count, 0),
    pages: s.clients.reduce((n, c) => n + c.count * c.pages, 0),
    opsPerActor: f.opsPerActor, mmSteps: f.mmSteps,
  };
}

/** Participant names of a scenario's client entries, as setup.ts planActors names them ("kind#n"). */
function entryNames(clients: readonly { kind: string; name?: string; count: number }[]): string[][] {
  const per = new Map<string, number>();
  return clients.map((c) => {
    const names: string[] = [];
    for (let j = 0; j < c.count; j++) {
      const prefix = c.name ?? c.kind;
      const n = per.get(prefix) ?? 0;
      per.set(prefix, n + 1);
      names.push(`${prefix}#${n}`);
    }
    return names;
  });
}

interface WorkloadCandidate {
  what: string;
  scenario: ScenarioInput;
  /** New entry index → old entry index. */
  origin: number[];
  opsPerActor: number;
  mmSteps: number;
}

function workloadCandidates(f: ScheduleFile): WorkloadCandidate[] {
  const s = parseScenario(f.scenario);
  const out: WorkloadCandidate[] = [];
  const ids = s.clients.map((_, i) => i);
  const withClients = (clients: Scenario['clients'], origin: number[], what: string): void => {
    out.push({ what, scenario: { ...s, clients }, origin, opsPerActor: f.opsPerActor, mmSteps: f.mmSteps });
  };
  const name = (i: number): string => `clients[${i}] (${s.clients[i]!.kind})`;
  // Fewer actors.
  if (s.clients.length > 1) {
    s.clients.forEach((_, i) => withClients(s.clients.filter((_, k) => k !== i), ids.filter((k) => k !== i), `drop ${name(i)}`));
  }
  s.clients.forEach((c, i) => {
    const counts = [...new Set([1, Math.floor(c.count / 2), c.count - 1])].filter((n) => n >= 1 && n < c.count);
    for (const n of counts) withClients(s.clients.map((x, k) => (k === i ? { ...x, count: n } : x)), ids, `${name(i)} count ${c.count} → ${n}`);
  });
  // Fewer operations.
  const fewer = (v: number, min: number): number[] => [...new Set([min, Math.floor(v / 2), v - 1])].filter((n) => n >= min && n < v);
  for (const n of fewer(f.mmSteps, 0)) out.push({ what: `mm steps ${f.mmSteps} → ${n}`, scenario: s, origin: ids, opsPerActor: f.opsPerActor, mmSteps: n });
  for (const n of fewer(f.opsPerActor, 1)) out.push({ what: `ops/actor ${f.opsPerActor} → ${n}`, scenario: s, origin: ids, opsPerActor: n, mmSteps: f.mmSteps });
  // Fewer pages.
  s.clients.forEach((c, i) => {
    const unit = c.mapping === 'hugetlb' ? 512 : 1;
    const pages = [...new Set([unit, Math.ceil(c.pages / 2 / unit) * unit])].filter((n) => n >= unit && n < c.pages && n % unit === 0);
    for (const n of pages) {
      withClients(
        s.clients.map((x, k) => (k === i ? { ...x, pages: n, bufferPages: Math.min(x.bufferPages, n) } : x)), ids,
        `${name(i)} pages ${c.pages} → ${n}`,
      );
    }
    for (const n of fewer(c.bufferPages, 1)) {
      withClients(s.clients.map((x, k) => (k === i ? { ...x, bufferPages: n } : x)), ids, `${name(i)} bufferPages ${c.bufferPages} → ${n}`);
    }
  });
  // Fewer kinds of mm operation.
  const on = MM_KINDS.filter((k) => s.mm[k] > 0);
  if (on.length > 1 && f.mmSteps > 0) {
    for (const k of on) out.push({ what: `mm.${k} off`, scenario: { ...s, mm: { ...s.mm, [k]: 0 } }, origin: ids, opsPerActor: f.opsPerActor, mmSteps: f.mmSteps });
  }
  return out;
}

/** Map the steps of `f` onto the actors of a candidate's entries (steps of removed actors dropped). */
function mapSteps(f: ScheduleFile, c: WorkloadCandidate, coordinator: string): { steps: ScheduleStep[]; participants: string[] } {
  const oldNames = entryNames(parseScenario(f.scenario).clients);
  const cand = c.scenario as Scenario;
  const newNames = entryNames(cand.clients);
  const rename = new Map<string, string>([[coordinator, coordinator]]);
  newNames.forEach((names, e) => {
    const from = oldNames[c.origin[e]!] ?? [];
    names.forEach((n, j) => {
      if (from[j] !== undefined) rename.set(from[j]!, n);
    });
  });
  const steps: ScheduleStep[] = [];
  for (const s of f.steps) {
    const to = rename.get(s.actor);
    if (to === undefined) continue;
    const label = s.label.startsWith(`${s.actor} `) ? `${to}${s.label.slice(s.actor.length)}` : s.label;
    steps.push({ ...s, actor: to, label });
  }
  return { steps, participants: [...newNames.flat(), coordinator] };
}

/** Reorder runs: `order` lists run indices; a run may be given as [index, from, to) to take part of it. */
function stepsOf(steps: readonly ScheduleStep[], parts: readonly [number, number][]): ScheduleStep[] {
  const out: ScheduleStep[] = [];
  for (const [a, b] of parts) for (let i = a; i < b; i++) out.push(steps[i]!);
  return out;
}

interface ScheduleCandidate {
  what: string;
  steps: ScheduleStep[];
}

/** Candidates that remove a preemption: truncate there, postpone the preempting runs, drop the preempting run. */
function preemptionCandidates(steps: readonly ScheduleStep[]): ScheduleCandidate[] {
  const runs = scheduleRuns(steps);
  const pre = runs.map((r, i) => (r.exit === 'preempted' && i + 1 < runs.length ? i : -1)).filter((i) => i >= 0);
  const out: ScheduleCandidate[] = [];
  // Cut at a preemption: everything after it runs without preemption. Earliest first.
  for (const r of pre) out.push({ what: `cut at step ${runs[r + 1]!.start} (no preemption from there)`, steps: steps.slice(0, runs[r + 1]!.start) });
  for (const r of pre) {
    const x = runs[r]!;
    const y = runs[r + 1]!;
    const r2 = nextRunOf(runs, r);
    if (r2 >= 0) {
      // X goes on with its next run before Y: X^a [Y … ] X^c → X^a X^c [Y … ].
      const z = runs[r2]!;
      out.push({
        what: `${x.actor} not preempted by ${y.actor} at step ${y.start}`,
        steps: stepsOf(steps, [[0, x.end], [z.start, z.end], [x.end, z.start], [z.end, steps.length]]),
      });
    }
    // Y's run dropped here (its steps come later, where the schedule names it next).
    out.push({ what: `drop ${y.actor}'s run at step ${y.start}`, steps: [...steps.slice(0, y.start), ...steps.slice(y.end)] });
  }
  return out;
}

/** Candidates that move a preemption a little later or earlier (fewer steps, e.g. less lock contention). */
function shiftCandidates(steps: readonly ScheduleStep[]): ScheduleCandidate[] {
  const runs = scheduleRuns(steps);
  const out: ScheduleCandidate[] = [];
  runs.forEach((x, r) => {
    if (x.exit !== 'preempted' || r + 1 >= runs.length) return;
    const r2 = nextRunOf(runs, r);
    if (r2 >= 0) {
      const z = runs[r2]!;
      for (const d of halvings(z.end - z.start)) {
        if (d >= z.end - z.start) continue; // the whole run: a preemption candidate
        out.push({
          what: `preemption of ${x.actor} at step ${x.end} moved ${d} later`,
          steps: stepsOf(steps, [[0, x.end], [z.start, z.start + d], [x.end, z.start], [z.start + d, steps.length]]),
        });
      }
      for (const d of halvings(x.end - x.start - 1)) {
        out.push({
          what: `preemption of ${x.actor} at step ${x.end} moved ${d} earlier`,
          steps: stepsOf(steps, [[0, x.end - d], [x.end, z.start], [x.end - d, x.end], [z.start, steps.length]]),
        });
      }
    }
  });
  return out;
}

const halvings = (n: number): number[] => {
  const out: number[] = [];
  for (let d = Math.floor(n / 2); d >= 1; d = Math.floor(d / 2)) out.push(d);
  if (n >= 1 && !out.includes(n)) out.unshift(n);
  return out;
};

function nextRunOf(runs: readonly ScheduleRun[], r: number): number {
  for (let k = r + 1; k < runs.length; k++) if (runs[k]!.actor === runs[r]!.actor) return k;
  return -1;
}

/** Fewer preemptions, or as many and fewer steps. */
const better = (a: ShrinkMeasure, b: ShrinkMeasure): boolean =>
  a.preemptions < b.preemptions || (a.preemptions === b.preemptions && a.steps < b.steps);

/**
 * Shrink a failing trial (exploreScenario's `failure`, or runExploreTrial's report) of `scenario`
 * explored with `exploreOptions`. See the module comment.
 */
export async function shrinkFailure(
  scenario: Scenario | ScenarioInput, exploreOptions: ExploreOptions, failingTrial: ExploreTrialReport, options: ShrinkOptions = {},
): Promise<ShrinkResult> {
  const t0 = Date.now();
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = t0 + timeoutMs;
  const runner: TrialRunner | undefined = exploreOptions.runner;
  const rOpt = runner !== undefined ? { runner } : {};
  const original = failingTrial.schedule ?? (await runExploreTrial(scenario, exploreOptions, failingTrial.trial)).schedule!;
  const first = failingTrial.violations[0] ?? original.violation;
  const stats: ShrinkStats = {
    target: { oracle: first?.oracle ?? '', kind: first?.kind ?? '' },
    before: measureSchedule(original), after: measureSchedule(original),
    candidates: 0, accepted: 0, replays: 0, exploreTrials: 0, elapsedMs: 0, stoppedBy: 'fixpoint', verified: false, log: [],
  };
  const finish = (schedule: ScheduleFile, replay: ReplayReport | undefined): ShrinkResult => {
    stats.after = measureSchedule(schedule);
    stats.elapsedMs = Date.now() - t0;
    return {
      schedule, scenario: parseScenario(schedule.scenario), stats, violations: replay?.violations ?? [],
      ...(replay !== undefined ? { replay } : {}),
    };
  };
  if (first == null) {
    stats.stoppedBy = 'skipped';
    stats.note = 'the trial has no violation to keep (nothing to shrink)';
    return finish(original, undefined);
  }
  const target: Target = stats.target;
  const livelock = target.kind === 'livelock';
  const coordinator = original.participants[original.participants.length - 1] ?? 'coordinator';
  // Candidate runs are capped well below a livelock bound (unless a livelock is what we keep).
  const stepCap = livelock ? original.maxSteps : Math.min(original.maxSteps, Math.max(2_000, 4 * original.steps.length));

  const timeLeft = (): boolean => {
    if (options.signal?.aborted) {
      stats.stoppedBy = 'signal';
      return false;
    }
    if (Date.now() >= deadline) {
      stats.stoppedBy = 'time';
      return false;
    }
    return true;
  };

  /** Strict replay of `f`: its report when it shows the target violation first. */
  const strict = async (f: ScheduleFile): Promise<ReplayReport | null> => {
    stats.replays++;
    try {
      const r = await replaySchedule(f, rOpt);
      return r.outcome === 'reproduced' && matches(r.violations[0], target) ? r : null;
    } catch {
      return null;
    }
  };

  // The starting point must itself replay strictly.
  const startReplay = await strict(original);
  if (startReplay === null) {
    stats.stoppedBy = 'skipped';
    stats.note = 'the failing schedule does not replay strictly to its violation; not shrunk';
    return finish(original, undefined);
  }
  type Found = { file: ScheduleFile; replay: ReplayReport; m: ShrinkMeasure; log: string[] };
  const found = (file: ScheduleFile, replay: ReplayReport, log: string[]): Found => ({ file, replay, m: measureSchedule(file), log });
  let best: Found = found(original, startReplay, []);
  const progress = (phase: ShrinkProgress['phase'], current: ShrinkMeasure = best.m): void =>
    options.onProgress?.({ phase, candidates: stats.candidates, accepted: stats.accepted, current });

  /** The schedule a (lenient) run produced, with the file's own bound restored. */
  const ran = (r: ReplayReport): ScheduleFile | null => {
    if (r.schedule === undefined || !matches(r.violations[0], target)) return null;
    return { ...r.schedule, maxSteps: livelock ? r.schedule.maxSteps : Math.max(original.maxSteps, r.schedule.maxSteps) };
  };

  /** Lenient replay of `f`, then a strict replay of what it ran: the new schedule, or null. */
  const tryLenient = async (f: ScheduleFile): Promise<{ file: ScheduleFile; replay: ReplayReport } | null> => {
    stats.replays++;
    let r: ReplayReport;
    try {
      r = await replaySchedule({ ...f, maxSteps: stepCap }, { ...rOpt, lenient: true });
    } catch {
      return null;
    }
    const file = ran(r);
    if (file === null) return null;
    const check = await strict(file);
    return check === null ? null : { file, replay: check };
  };

  /**
   * Schedule passes from `start`: (b) fewer preemptions (then fewer steps), or (c) fewer steps with
   * no more preemptions; to a fixpoint or the deadline.
   */
  const schedulePass = async (start: Found, phase: 'preemptions' | 'steps', report: boolean): Promise<Found> => {
    let b = start;
    let changed = true;
    while (changed && timeLeft()) {
      changed = false;
      const cands = phase === 'preemptions' ? preemptionCandidates(b.file.steps) : shiftCandidates(b.file.steps);
      for (const c of cands) {
        if (!timeLeft()) break;
        stats.candidates++;
        const got = await tryLenient({ ...b.file, steps: c.steps });
        if (got === null) continue;
        const m = measureSchedule(got.file);
        const ok = phase === 'preemptions' ? better(m, b.m) : m.preemptions <= b.m.preemptions && m.steps < b.m.steps;
        if (!ok) continue;
        b = { ...got, m, log: [...b.log, `${c.what}: preemptions ${b.m.preemptions} → ${m.preemptions}, steps ${b.m.steps} → ${m.steps}`] };
        if (report) {
          stats.accepted++;
          progress(phase, m);
        }
        changed = true;
        break;
      }
    }
    return b;
  };

  // (a) Workload: a smaller workload whose failure, after the preemption pass, has no more
  // preemptions and no more steps than the current best (so nothing ever grows).
  const refindTrials = options.refindTrials ?? Math.max(8, Math.min(24, 2 * (failingTrial.trial + 1)));
  const refind = async (c: WorkloadCandidate): Promise<{ file: ScheduleFile; replay: ReplayReport } | null> => {
    const f0 = best.file;
    const eo: ExploreOptions = {
      ...rOpt, strategy: f0.strategy, seed: f0.seed, points: f0.points, opsPerActor: c.opsPerActor, mmSteps: c.mmSteps,
      mmIntervalUs: f0.mmIntervalUs ?? 0, maxSteps: stepCap, machine: 'small',
      ...(f0.livelockWindow !== undefined ? { livelockWindow: f0.livelockWindow } : {}),
      ...(f0.depth !== undefined ? { depth: f0.depth } : exploreOptions.depth !== undefined ? { depth: exploreOptions.depth } : {}),
    };
    if (eo.strategy === 'pct') {
      if (exploreOptions.pctSteps !== undefined) eo.pctSteps = exploreOptions.pctSteps;
      else {
        stats.exploreTrials++;
        const cal = await exploreScenario(c.scenario, { ...eo, trials: 0 });
        eo.pctSteps = cal.pct?.k ?? 1;
      }
    }
    for (let t = 0; t < refindTrials && timeLeft(); t++) {
      stats.exploreTrials++;
      const rep = await runExploreTrial(c.scenario, eo, t);
      if (rep.schedule === undefined || !matches(rep.violations[0], target)) continue;
      const file: ScheduleFile = { ...rep.schedule, maxSteps: livelock ? rep.schedule.maxSteps : original.maxSteps };
      const check = await strict(file);
      if (check !== null) return { file, replay: check };
    }
    return null;
  };

  if (options.workload !== false) {
    progress('workload');
    // Give the starting schedule its preemption pass first: workload candidates are judged against it.
    best = await schedulePass(best, 'preemptions', true);
    let changed = true;
    while (changed && timeLeft()) {
      changed = false;
      for (const c of workloadCandidates(best.file)) {
        if (!timeLeft()) break;
        try {
          parseScenario(c.scenario);
        } catch {
          continue;
        }
        stats.candidates++;
        const mapped = mapSteps(best.file, c, coordinator);
        const f: ScheduleFile = {
          ...best.file, scenario: c.scenario, faults: [...((c.scenario as Scenario).faults ?? [])], opsPerActor: c.opsPerActor,
          mmSteps: c.mmSteps, participants: mapped.participants, steps: mapped.steps,
        };
        let got: { file: ScheduleFile; replay: ReplayReport } | null = null;
        let how = 'lenient replay';
        try {
          got = await tryLenient(f);
          if (got === null && timeLeft()) {
            how = 'explore';
            got = await refind(c);
          }
        } catch {
          got = null;
        }
        if (got === null) continue;
        const m0 = measureSchedule(got.file);
        const line = `${c.what} (${how}): preemptions ${best.m.preemptions} → ${m0.preemptions}, steps ${best.m.steps} → ${m0.steps}`;
        const shrunk = await schedulePass(found(got.file, got.replay, [...best.log, line]), 'preemptions', false);
        if (shrunk.m.preemptions > best.m.preemptions || shrunk.m.steps > best.m.steps) continue;
        stats.accepted += shrunk.log.length - best.log.length;
        best = shrunk;
        progress('workload');
        changed = true;
        break; // candidates are recomputed from the new workload
      }
    }
  }

  // (b) Preemptions, then (c) steps.
  progress('preemptions');
  best = await schedulePass(best, 'preemptions', true);
  progress('steps');
  best = await schedulePass(best, 'steps', true);
  if (stats.stoppedBy === 'fixpoint' && options.signal?.aborted) stats.stoppedBy = 'signal';
  stats.log = best.log;

  // The result must replay strictly (each accepted schedule did; check the final one once more).
  progress('verify');
  const final = await strict(best.file);
  if (final !== null) {
    stats.verified = true;
    return finish(best.file, final);
  }
  // Unreachable unless replay is not deterministic: fall back to the original, which did replay.
  stats.note = 'the shrunk schedule did not replay strictly a second time; reporting the original';
  const again = await strict(original);
  stats.verified = again !== null;
  return finish(original, again ?? undefined);
}
