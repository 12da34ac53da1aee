/**
 * The deterministic scheduler of explore mode (DESIGN.md §6). The campaign API is in
 * src/coordinator/explore.ts (exploreScenario, runExploreTrial, replaySchedule, replayFile);
 * this module exports the pieces a CLI, a shrinker or a test builds on.
 *
 *   layout.ts        the sched SharedArrayBuffer (step, clock, participants, store buffers, trace)
 *   scheduler.ts     SchedThread: the access hook, futexWait, sleep and the decision, per thread
 *   participant.ts   what a participant thread runs (client actor, coordinator, litmus thread)
 *   runner.ts        TrialRunner: the pooled participant threads and one trial on the main thread
 *   pct.ts           PCT priorities and change points; the bound and the miss probability
 *   labels.ts        scheduling-point labels ("dio#0 rmw refcount[1409] (pin)")
 *   schedule.ts      schedule files: labelled steps, read/write/check
 *   trace-columns.ts a schedule as one column per participant; switches and preemptions
 *   shrink.ts        shrinkFailure: fewer actors, pages, operations, preemptions, steps (not re-exported
 *                    here: it runs trials, so it imports the coordinator)
 *   litmus*.ts       litmus programs (store buffering, message passing) over the TSO model
 *   hash.ts          counter-based hashing (every random choice is hash(seed, trial, step))
 */
export { ExploreAbort, SchedThread, type SchedJoin } from './scheduler.js';
export { TrialRunner, sharedTrialRunner, shutdownTrialRunner, type TrialResult, type TrialSpec, type ParticipantSpec } from './runner.js';
export { pctBound, pctPlan, formatPctBound, type PctBound, type PctPlan } from './pct.js';
export { pointLabel, flushLabel, machineWordName, labWordName, pendingLabel, type LabelContext } from './labels.js';
export {
  SCHEDULE_FORMAT, SCHEDULE_VERSION, ScheduleFileError, checkScheduleFile, readScheduleFile, stepsToReplay, traceToSteps,
  writeScheduleFile, type ScheduleFile, type ScheduleStep, type ScheduleViolation,
} from './schedule.js';
export {
  formatTraceColumns, labelBody, labelKind, schedulePreemptions, scheduleRuns, type PreemptionCount, type ScheduleRun,
  type TraceColumnsOptions,
} from './trace-columns.js';
export { LITMUS, litmusOutcome, type LitmusProgram } from './litmus.js';
export { exploreLitmus, runLitmusTrial, type LitmusReport, type LitmusTrial, type LitmusTrialOptions } from './litmus-explore.js';
export { trialSeed, hash4 } from './hash.js';
export { TRIAL_STATUS, PK, PK_NAMES, type StrategyName, type TrialStatus } from './layout.js';
