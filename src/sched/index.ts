/**
 * The deterministic scheduler's primitives (DESIGN.md §6): what needs neither the coordinator nor
 * a trial to run. The explore engine that runs trials on them — campaigns, participants, the trial
 * runner, shrinking — is src/explore/ (exploreScenario, replaySchedule, shrinkFailure, …), one layer
 * up; nothing here imports it or the coordinator (test/infra/layers.test.ts checks).
 *
 *   layout.ts        the sched SharedArrayBuffer (step, clock, participants, store buffers, trace)
 *   scheduler.ts     SchedThread: the access hook, futexWait, sleep and the decision, per thread
 *   pct.ts           PCT priorities and change points; the bound and the miss probability
 *   labels.ts        scheduling-point labels ("dio#0 rmw refcount[1409] (pin)")
 *   schedule.ts      schedule files: labelled steps, read/write/check
 *   trace-columns.ts a schedule as one column per participant; switches and preemptions
 *   litmus.ts        litmus programs (store buffering, message passing) over the TSO model
 *   strategy/        one file per scheduling strategy behind one Scheduler interface
 *   coverage.ts      racing-pair orders and distinct interleavings of a campaign
 *   hash.ts          counter-based hashing (every random choice is hash(seed, trial, step))
 */
export { ExploreAbort, SchedThread, type SchedJoin } from './scheduler.js';
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
export { trialSeed, hash4 } from './hash.js';
export { TRIAL_STATUS, PK, PK_NAMES, type StrategyName, type TrialStatus } from './layout.js';
