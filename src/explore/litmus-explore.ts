/**
 * Explore a litmus program (src/sched/litmus.ts) under the deterministic scheduler: an outcome
 * histogram over N trials (jcstress-style), with the first trial and schedule of each outcome, and
 * single-trial runs (including replay of recorded steps). Checks the scheduler's memory model.
 */
import { computeLayout } from '../mem/layout.js';
import { createMem } from '../mem/mem.js';
import { type LabelContext } from '../sched/labels.js';
import { LITMUS, litmusMachine, litmusOutcome } from '../sched/litmus.js';
import { TRIAL_STATUS, type TrialStatus } from '../sched/layout.js';
import { pctPlan } from '../sched/pct.js';
import { surwExpected } from '../sched/strategy/surw.js';
import { type TrialRunner, sharedTrialRunner } from './runner.js';
import { type ScheduleStep, stepsToReplay, traceToSteps } from '../sched/schedule.js';

export interface LitmusTrialOptions {
  strategy: 'random' | 'pct' | 'pos' | 'surw' | 'replay';
  seed?: number;
  trial?: number;
  /** PCT depth (default 2) and k (default 8). */
  depth?: number;
  pctSteps?: number;
  /** Strategy replay: the steps to follow. */
  steps?: readonly ScheduleStep[];
  points?: 'access' | 'events';
  runner?: TrialRunner;
}

export interface LitmusTrial {
  outcome: string;
  status: TrialStatus;
  traceHash: number;
  steps: ScheduleStep[];
  /** The raw trace (TrialResult.trace). */
  rawTrace: Int32Array;
  divergence?: { step: number; expected: ScheduleStep | null; actual: string | null };
}

/** Run one trial of a litmus program. */
export async function runLitmusTrial(program: string, o: LitmusTrialOptions): Promise<LitmusTrial> {
  const prog = LITMUS[program];
  if (prog === undefined) throw new RangeError(`unknown litmus program "${program}"; known: ${Object.keys(LITMUS).join(', ')}`);
  const runner = o.runner ?? sharedTrialRunner();
  const mem = createMem(litmusMachine(prog.vars));
  const layout = computeLayout(litmusMachine(prog.vars));
  const vars = Array.from({ length: prog.vars }, (_, i) => layout.dataOff + i * layout.config.wordsPerPage);
  const names = Array.from({ length: prog.threads }, (_, t) => `t${t}`);
  const seed = o.seed ?? 1;
  const trial = o.trial ?? 0;
  const replay = o.strategy === 'replay' ? stepsToReplay(o.steps ?? [], names) : undefined;
  // SURW's weights: each thread's interesting events in a random-walk calibration trial (trial −1).
  const surw = o.strategy === 'surw' ? { expected: surwExpected((await runLitmusTrial(program, { ...o, strategy: 'random', trial: -1 })).rawTrace, prog.threads) } : undefined;
  const r = await runner.runTrial({
    ...(surw !== undefined ? { surw } : {}),
    strategy: o.strategy, seed, trial, points: o.points ?? 'access', maxSteps: Math.max(10_000, (replay?.who.length ?? 0) + 1),
    ...(o.strategy === 'pct' ? { pct: pctPlan(seed, trial, prog.threads, o.depth ?? 2, o.pctSteps ?? 8) } : {}),
    ...(replay !== undefined ? { replay } : {}),
    participants: names.map((_, t) => ({ role: 'litmus' as const, program, thread: t, vars, machineConfig: layout.config })),
    join: { machineSab: mem.sab, machineConfig: layout.config, labSab: null, labConfig: null, names, labActors: names.map(() => -1), labActorNames: [] },
  });
  if (r.taskErrors.length > 0) throw new Error(`litmus ${program}: ${r.taskErrors.join('; ')}`);
  const c: LabelContext = { layout, lab: null, names, labActorNames: [] };
  const steps = traceToSteps(r.trace, r.strings, c);
  const out: LitmusTrial = {
    outcome: litmusOutcome(r.results.map((x) => x.registers ?? [])), status: r.status, traceHash: r.traceHash, steps, rawTrace: r.trace,
  };
  if (r.status === TRIAL_STATUS.DIVERGED && r.divergence !== undefined) {
    const who = r.divergence.participant;
    out.divergence = {
      step: r.divergence.step, expected: o.steps?.[r.divergence.step] ?? null,
      actual: who >= 0 ? r.divergence.actual : null,
    };
  }
  return out;
}

export interface LitmusReport {
  program: string;
  strategy: 'random' | 'pct' | 'pos' | 'surw';
  trials: number;
  outcomes: Record<string, { count: number; firstTrial: number; steps: ScheduleStep[] }>;
  /** Outcomes seen that TSO forbids (must be empty). */
  tsoForbiddenSeen: string[];
  /** Outcomes seen that SC forbids (TSO behaviour observed). */
  scForbiddenSeen: string[];
}

/** Run `trials` trials (seed, trial 0..N−1) and histogram the outcomes. */
export async function exploreLitmus(
  program: string, o: { strategy?: 'random' | 'pct' | 'pos' | 'surw'; trials?: number; seed?: number; depth?: number; runner?: TrialRunner } = {},
): Promise<LitmusReport> {
  const prog = LITMUS[program];
  if (prog === undefined) throw new RangeError(`unknown litmus program "${program}"`);
  const strategy = o.strategy ?? 'random';
  const trials = o.trials ?? 100;
  const outcomes: LitmusReport['outcomes'] = {};
  for (let t = 0; t < trials; t++) {
    const r = await runLitmusTrial(program, {
      strategy, seed: o.seed ?? 1, trial: t, ...(o.depth !== undefined ? { depth: o.depth } : {}), ...(o.runner ? { runner: o.runner } : {}),
    });
    const e = (outcomes[r.outcome] ??= { count: 0, firstTrial: t, steps: r.steps });
    e.count++;
  }
  const seen = Object.keys(outcomes);
  return {
    program, strategy, trials, outcomes,
    tsoForbiddenSeen: seen.filter((x) => prog.tsoForbidden.includes(x)),
    scForbiddenSeen: seen.filter((x) => prog.scForbidden.includes(x)),
  };
}
