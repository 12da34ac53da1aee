/**
 * Explore mode (DESIGN.md §6): the same protocol code as stress mode, under the deterministic
 * scheduler of src/sched, trial after trial, until a trial violates an oracle.
 *
 * A trial is a small bounded workload derived from the scenario: every client actor runs
 * `opsPerActor` client steps and the coordinator `mmSteps` MmOps.step() calls, each participant on
 * its own pooled worker thread, serialised by the scheduler's baton. The main thread boots a fresh
 * machine and lab (prepareRun), starts the participants, awaits them, then runs the end-of-run
 * oracles itself (releaseFailedActorsPins + finishRun) and reads the lab's violation log.
 *
 * Everything random comes from (seed, trial): the workload seed of trial t is trialSeed(seed, t)
 * and every scheduling decision hashes (seed, trial, step), so a trial is a pure function of
 * (scenario, faults, strategy, seed, trial index) — `runExploreTrial` re-runs any one of them.
 *
 * API
 *   exploreScenario(scenario, options)  → ExploreReport   trials until the first violation
 *   runExploreTrial(scenario, options, trial) → ExploreTrialReport   one trial, with its schedule
 *   replaySchedule(file | ScheduleFile) → ReplayReport    follow a schedule file's steps
 *   replayFile(path)                    → ReplayReport
 *   exploreScenarioOf(scenario, machine) → Scenario       the scenario a campaign really runs
 *   shutdownExplore()                                     destroy the shared participant threads
 */
import { join } from 'node:path';
import { set_current } from '../kernel/current.js';
import { type KernelContext } from '../kernel/context.js';
import { setFutexWait } from '../mem/futex.js';
import { LAB_HDR, type Lab, ORACLE_NAMES } from '../oracle/lab.js';
import { type Violation } from '../report/types.js';
import { parseScenario, type Scenario, type ScenarioInput } from '../scenario/schema.js';
import { fnv32, trialSeed } from '../sched/hash.js';
import { TRIAL_STATUS } from '../sched/layout.js';
import { type LabelContext, labWordName, machineWordName, pendingLabel } from '../sched/labels.js';
import { type PctBound, pctBound, pctPlan } from '../sched/pct.js';
import { type TrialResult, type TrialRunner, type TrialSpec, sharedTrialRunner, shutdownTrialRunner } from './runner.js';
import { type EngineName, loadInThreadDriver, parseEngine, selectRunner } from './inthread/engine.js';
import { type TrialMachine, prepareTrialMachine } from './machine-pool.js';
import { Coverage } from '../sched/coverage.js';
import { type ConcreteStrategy, portfolioStrategy } from '../sched/strategy/index.js';
import { surwExpected } from '../sched/strategy/surw.js';
import {
  SCHEDULE_FORMAT, SCHEDULE_VERSION, type ScheduleFile, type ScheduleStep, type ScheduleViolation, checkScheduleFile,
  readScheduleFile, stepsToReplay, traceToSteps, writeScheduleFile,
} from '../sched/schedule.js';
import { type RunPlan, finishRun, prepareRun, releaseFailedActorsPins, setupCoordinator } from '../coordinator/setup.js';
import { buildViolations } from '../coordinator/violations.js';
import { resolveClientModules } from '../coordinator/client-modules.js';
import { addWork, vacuousKinds } from '../coordinator/vacuity.js';

export const EXPLORE_REPORT_SCHEMA = 1;

/** The coordinator participant's name in labels and schedule files. */
export const COORDINATOR_NAME = 'coordinator';

export interface ExploreOptions {
  /**
   * 'random' (uniform among enabled participants at every point), 'pct', 'pos' (partial-order
   * sampling), 'surw' (selectively uniform random walk) or 'portfolio' (trial t runs
   * PORTFOLIO[t mod 4]). Default 'random' here; the CLI's default is 'portfolio'.
   */
  strategy?: ExploreStrategy;
  /** PCT depth d (the bug depth the bound is for). Default 3. */
  depth?: number;
  /** Trials to run (fewer if one fails). Default 100, or unbounded with `timeMs`. */
  trials?: number;
  /** Wall-time budget in ms: no trial starts after it (the one running finishes). Default: none. */
  timeMs?: number;
  /** The first trial index (trials firstTrial .. firstTrial+trials−1). Default 0. */
  firstTrial?: number;
  /** A calibration already run for this scenario and these options (ExploreReport.calibration): not run again. */
  calibration?: ExploreCalibration;
  /** Add the trials' racing-pair orders here too (a campaign over several configurations), under `coverageScope`. */
  coverage?: Coverage;
  coverageScope?: string;
  /** Campaign seed. Default: the scenario's seed. */
  seed?: number;
  /** 'access': every shared access is a scheduling point (default); 'events': only Mem.event labels, waits, start and end. */
  points?: 'access' | 'events';
  /** Client steps per actor per trial. Default 2. */
  opsPerActor?: number;
  /** MmOps.step() calls of the coordinator per trial. Default 3. */
  mmSteps?: number;
  /**
   * Logical µs (scheduling steps) the coordinator sleeps between its mm steps, so they land later
   * in the clients' operations (stress mode's mm.intervalUs). Default 0: back to back.
   */
  mmIntervalUs?: number;
  /**
   * Step bound of a trial. A trial that reaches it while its participants still finish operations
   * is 'too-long' (not a violation: raise the bound). Default: derived from the trial's work
   * (trialBounds), at most DEFAULT_MAX_STEPS_CAP; never above MAX_STEPS.
   */
  maxSteps?: number;
  /**
   * Scheduling steps in which no participant finishes an operation (or ends) after which a trial
   * is an O5 livelock. Default: derived from the largest single operation of the trial's work.
   */
  livelockWindow?: number;
  /** PCT's k. Default: the step count of a calibration trial (PCT with no change point). */
  pctSteps?: number;
  /** 'small' (default): shrink the scenario's machine to what its regions need (fast trial set-up); 'scenario': as given. */
  machine?: 'small' | 'scenario';
  /** Keep going after a failing trial (default false: stop at the first). */
  keepGoing?: boolean;
  /**
   * Run only the trials t with t % count === index (`--shard i/N`): the same trials, seeds and
   * schedules as the unsharded campaign, so `pinlab merge` of every shard gives its report.
   */
  shard?: { index: number; count: number };
  /** Write the schedule file of a failing trial into this directory. */
  outDir?: string;
  /** Called after every trial. */
  onProgress?: (p: ExploreProgress) => void;
  /** Stop between trials when aborted; the report covers the trials run. */
  signal?: AbortSignal;
  /** Participant threads (default: a runner shared by the process; see shutdownExplore). */
  runner?: TrialRunner;
  /**
   * Which engine runs the trials (src/explore/inthread/engine.ts): 'baton' (a thread per
   * participant), 'inthread' (every participant on this thread; not for custom clients), or
   * 'auto' (in-thread where it can express the trial). Default: PINLAB_ENGINE, else 'auto'.
   */
  engine?: EngineName;
}

export interface ExploreProgress {
  trial: number; // trials done
  trials: number; // trials requested
  steps: number;
  elapsedMs: number;
  stepsPerSec: number;
  failures: number;
}

/** One trial's outcome. */
export interface ExploreTrialReport {
  trial: number;
  workloadSeed: number;
  /** 'too-long': the step bound came while participants still finished operations (not a violation). */
  outcome: 'clean' | 'violation' | 'livelock' | 'internal' | 'too-long';
  steps: number;
  /** Baton handoffs between threads (deterministic: the first decision's thread is not counted). */
  switches: number;
  traceHash: number;
  violations: Violation[];
  /** Participant errors and harness failures (a KernelBug shows here and as an O2 violation). */
  errors: string[];
  /** The schedule (always for a failing trial; for a clean one when asked). */
  schedule?: ScheduleFile;
  scheduleFile?: string;
  counters: TrialCounters;
}

export interface TrialCounters {
  blocks: number;
  timeoutWakes: number;
  flushes: number;
  drains: number;
  /** Logical clock at the end, µs. */
  time: number;
}

/** The calibration trial's measures: PCT's k and SURW's expected interesting events per participant. */
export interface ExploreCalibration {
  steps: number;
  surwExpected: number[];
}

/** A campaign's strategy: one of the schedulers, or the portfolio mixing them by trial index. */
export type ExploreStrategy = ConcreteStrategy | 'portfolio';

/** What a campaign exercised: coverage by racing-pair orders and interleavings, trials per strategy. */
export interface ExploreCoverage {
  /** Distinct (word, first participant and kind, second participant and kind) orders of racing accesses. */
  racingPairOrders: number;
  /** Distinct trace hashes. */
  interleavings: number;
  /** Trials and failures per concrete strategy. */
  byStrategy: Partial<Record<ConcreteStrategy, { trials: number; failures: number }>>;
}

export interface ExploreReport {
  schema: number;
  mode: 'explore';
  /** The scenario as explored (machine shrunk unless `machine: 'scenario'`; delay off). */
  scenario: Scenario;
  strategy: ExploreStrategy;
  /** The time budget, when one was given (ms). */
  timeMs?: number;
  coverage: ExploreCoverage;
  /** The calibration trial's measures, when one was run or given (pass it back as options.calibration). */
  calibration?: ExploreCalibration;
  depth?: number;
  seed: number;
  points: 'access' | 'events';
  opsPerActor: number;
  mmSteps: number;
  mmIntervalUs: number;
  maxSteps: number;
  livelockWindow: number;
  participants: string[];
  /** 'too-long': a trial reached the step bound while still making progress (exit 4: raise --max-steps). */
  outcome: 'clean' | 'violation' | 'livelock' | 'internal' | 'too-long';
  /** Why the clean trials prove nothing (a client kind that took no pins or made no accesses in any trial); empty: they did work. */
  vacuous: string[];
  trialsRequested: number;
  trials: number;
  steps: number;
  /** Scheduling steps per second of wall time (trial set-up and oracles included). */
  stepsPerSec: number;
  trialsPerSec: number;
  switches: number;
  durationMs: number;
  meanStepsPerTrial: number;
  /** FNV-1a over every trial's trace hash: equal for equal (scenario, options, seed). */
  scheduleHash: number;
  counters: TrialCounters;
  /** PCT: the bound 1/(n·k^(d−1)) and the miss probability after the clean trials. */
  pct?: PctBound & { calibrationSteps?: number };
  /** The first failing trial (the others too with keepGoing). */
  failure?: ExploreTrialReport;
  failures: ExploreTrialReport[];
  stoppedBy: 'trials' | 'failure' | 'signal' | 'time';
  /** With options.shard: the shard `[index, count]` (a merge lists each) and every run trial's trace hash, by trial. */
  shards?: [number, number][];
  trialHashes?: [number, number][];
}

/** A campaign's options resolved: the report's own fields of the same names, and what only the trials need. */
interface Resolved
  extends Pick<ExploreReport, 'scenario' | 'strategy' | 'seed' | 'points' | 'opsPerActor' | 'mmSteps' | 'mmIntervalUs' | 'maxSteps' | 'livelockWindow'> {
  depth: number;
  pctSteps: number;
  /** SURW's expected interesting events per participant (the calibration trial's), [] when unused. */
  surwExpected: number[];
  runner: TrialRunner;
  engine: EngineName;
}

/** Largest step bound a trial may have: its trace takes 16 bytes a step. */
export const MAX_STEPS = 50_000_000;
/** Largest derived default step bound. */
export const DEFAULT_MAX_STEPS_CAP = 20_000_000;
/** The bound and window floors (the fixed bound of old). */
const MIN_DERIVED_STEPS = 100_000;
/** Scheduling steps one page of an operation may take, generously (measured: 20–40 with every access a point). */
const STEPS_PER_PAGE = 128;

/**
 * The step bounds of a trial, derived from its work: the livelock window covers the largest single
 * operation (a DIO request or RDMA registration of bufferPages, an mm operation over a region, a
 * hugetlb fault clearing a whole huge page) with room to spare; the step bound covers every
 * operation of every participant end to end.
 */
export function trialBounds(s: Scenario, opsPerActor: number, mmSteps: number): { maxSteps: number; livelockWindow: number } {
  const hugePages = (c: Scenario['clients'][number]): number => (c.mapping !== 'hugetlb' ? 1 : c.hugePage === '1g' ? 1 << 18 : 512);
  const opPages = s.clients.map((c) => Math.max(c.bufferPages, hugePages(c)));
  const regionPages = Math.max(1, ...s.clients.map((c) => Math.max(c.pages, hugePages(c))));
  const largestOp = Math.max(regionPages, ...opPages);
  const livelockWindow = Math.max(MIN_DERIVED_STEPS, STEPS_PER_PAGE * largestOp);
  const work = s.clients.reduce((n, c, i) => n + c.count * (opsPerActor + 1) * Math.max(opPages[i]!, hugePages(c)), 0) + (mmSteps + 1) * regionPages;
  const maxSteps = Math.min(DEFAULT_MAX_STEPS_CAP, Math.max(MIN_DERIVED_STEPS, livelockWindow, STEPS_PER_PAGE * work));
  return { maxSteps, livelockWindow: Math.min(livelockWindow, maxSteps) };
}

/**
 * The scenario an explore campaign runs: delay injection off, and with machine 'small' a machine
 * just big enough for the clients' regions (trial set-up well under a millisecond).
 */
export function exploreScenarioOf(input: Scenario | ScenarioInput, machine: 'small' | 'scenario' = 'small'): Scenario {
  const s = parseScenario(input);
  // Explore checks the contract oracles unless the scenario turns them off (schema.ts).
  const base = { ...s, delay: 'off' as const, contractOracles: s.contractOracles ?? true };
  if (machine === 'scenario') return parseScenario(base);
  const pagesOf = (pred: (c: Scenario['clients'][number]) => boolean): number =>
    s.clients.filter(pred).reduce((n, c) => n + c.count * c.pages, 0);
  const region = pagesOf((c) => c.mapping !== 'hugetlb');
  const cma = pagesOf((c) => c.mapping === 'cma');
  const hugetlb = pagesOf((c) => c.mapping === 'hugetlb');
  const filePages = Math.max(1, ...s.clients.filter((c) => c.mapping === 'file').map((c) => c.offset + c.pages));
  return parseScenario({
    ...base,
    machine: {
      ...s.machine,
      normalFrames: Math.min(s.machine.normalFrames, Math.max(64, 4 * region + 64)),
      movableFrames: cma > 0 ? Math.min(s.machine.movableFrames, 2 * cma + 16) : 0,
      daxFrames: 0,
      huge2mPages: hugetlb > 0 ? s.machine.huge2mPages : 0,
      huge1gPages: s.clients.some((c) => c.mapping === 'hugetlb' && c.hugePage === '1g') ? s.machine.huge1gPages : 0,
      filePages: Math.min(s.machine.filePages, filePages),
    },
  });
}

const STRATEGIES: readonly ExploreStrategy[] = ['random', 'pct', 'pos', 'surw', 'portfolio'];

function resolve(input: Scenario | ScenarioInput, o: ExploreOptions): Omit<Resolved, 'pctSteps' | 'surwExpected'> & { pctSteps: number | undefined } {
  const scenario = exploreScenarioOf(input, o.machine ?? 'small');
  const int = (name: string, v: number, min: number, max = 2 ** 31 - 1): number => {
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`explore: ${name} must be an integer in [${min}, ${max}], got ${v}`);
    return v;
  };
  const strategy = o.strategy ?? 'random';
  if (!STRATEGIES.includes(strategy)) throw new RangeError(`explore: strategy must be one of ${STRATEGIES.join(', ')}, got ${String(strategy)}`);
  const points = o.points ?? 'access';
  if (points !== 'access' && points !== 'events') throw new RangeError(`explore: points must be access or events, got ${String(points)}`);
  const opsPerActor = int('opsPerActor', o.opsPerActor ?? 2, 1, 1_000_000);
  const mmSteps = int('mmSteps', o.mmSteps ?? 3, 0, 1_000_000);
  const derived = trialBounds(scenario, opsPerActor, mmSteps);
  const maxSteps = int('maxSteps', o.maxSteps ?? derived.maxSteps, 16, MAX_STEPS);
  return {
    scenario, strategy, points,
    depth: int('depth', o.depth ?? 3, 1),
    seed: int('seed', o.seed ?? scenario.seed, 0),
    opsPerActor, mmSteps,
    mmIntervalUs: int('mmIntervalUs', o.mmIntervalUs ?? 0, 0, 1_000_000_000),
    maxSteps,
    // Not shortened by a lower --max-steps: reaching that bound first is 'too long', not a livelock.
    livelockWindow: int('livelockWindow', o.livelockWindow ?? derived.livelockWindow, 1, MAX_STEPS),
    pctSteps: o.pctSteps !== undefined ? int('pctSteps', o.pctSteps, 1) : undefined,
    runner: o.runner ?? sharedTrialRunner(),
    engine: engineOf(o),
  };
}

const participantNames = (plan: RunPlan): string[] => [...plan.specs.map((x) => x.name), COORDINATOR_NAME];

/** Thrown on the main thread when the end-of-run teardown would block (nobody is left to wake it). */
class TeardownBlocked extends Error {
  override name = 'TeardownBlocked';
  constructor(
    readonly word: string,
  ) {
    super(`end-of-run teardown blocked on ${word}`);
  }
}

interface TrialRun {
  report: ExploreTrialReport;
  result: TrialResult;
  labels: LabelContext;
}

type Mode =
  | { kind: ConcreteStrategy; depth: number; pctSteps: number; surwExpected?: readonly number[] }
  | { kind: 'replay'; steps: readonly ScheduleStep[]; lenient: boolean };

/** The mode trial `trial` of a resolved campaign runs (the portfolio picks its strategy by trial). */
function modeOf(r: Resolved, trial: number): Mode {
  const kind = r.strategy === 'portfolio' ? portfolioStrategy(trial) : r.strategy;
  return { kind, depth: r.depth, pctSteps: r.pctSteps, ...(kind === 'surw' ? { surwExpected: r.surwExpected } : {}) };
}

/** Does the campaign need a calibration trial (PCT's k, SURW's expected counts)? */
const needsCalibration = (s: ExploreStrategy): boolean => s === 'pct' || s === 'surw' || s === 'portfolio';

/** The engine a campaign with these options uses (ExploreOptions.engine, else PINLAB_ENGINE, else 'auto'). */
export const engineOf = (o: Pick<ExploreOptions, 'engine'>): EngineName => o.engine ?? parseEngine(process.env.PINLAB_ENGINE ?? 'auto');

/** Load the in-thread engine now unless the options ask for the baton one (a first stepped build is not part of a time budget). */
export async function readyEngine(o: Pick<ExploreOptions, 'engine'>): Promise<void> {
  if (engineOf(o) !== 'baton') await loadInThreadDriver();
}

/** Will this campaign's trials run on the in-thread engine (the same choice selectRunner makes)? */
async function runsInThread(r: Pick<Resolved, 'engine' | 'scenario'>): Promise<boolean> {
  if (r.engine === 'baton') return false;
  if (r.scenario.clients.some((c) => c.kind === 'custom')) return false;
  return typeof (await loadInThreadDriver()) !== 'string';
}

/** Run trial `trial` of a resolved campaign (strategy `mode`) and judge it. */
async function runTrial(r: Resolved, trial: number, mode: Mode, workloadSeed = trialSeed(r.seed, trial)): Promise<TrialRun> {
  const s: Scenario = { ...r.scenario, seed: workloadSeed };
  // In-thread trials reuse the campaign's booted machine (./machine-pool.ts); baton trials boot their own.
  const machine = (await runsInThread(r)) ? prepareTrialMachine(r.scenario, s) : { ...prepareRun(s), release: () => {} };
  try {
    return await runPreparedTrial(r, trial, mode, workloadSeed, machine);
  } finally {
    machine.release();
    await yieldToEventLoop();
  }
}

/** How long a campaign may keep the event loop between two yields (ms). */
const YIELD_EVERY_MS = 25;
let lastYield = 0;

/**
 * Let timers, signals and I/O run now and then: an in-thread trial is synchronous and the awaits
 * between trials resolve as microtasks, so without this a campaign would starve the event loop
 * (Ctrl-C, progress output, a caller's abort timer) until it ended.
 */
async function yieldToEventLoop(): Promise<void> {
  const now = performance.now();
  if (now - lastYield < YIELD_EVERY_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastYield = performance.now();
}

/** The body of runTrial, on a prepared machine. */
async function runPreparedTrial(r: Resolved, trial: number, mode: Mode, workloadSeed: number, { k, lab, plan }: TrialMachine): Promise<TrialRun> {
  lab.store(LAB_HDR.START_GATE, 1);
  const names = participantNames(plan);
  const labActors = [...plan.specs.map((x) => x.actor), plan.coordActor];
  const c: LabelContext = { layout: k.layout, lab: lab.layout, names, labActorNames: names };
  const replay = mode.kind === 'replay' ? stepsToReplay(mode.steps, names) : undefined;
  const spec: TrialSpec = {
    strategy: mode.kind, seed: r.seed, trial, points: r.points,
    // Replay: the recorded bound (a livelock recorded at its bound replays to the same bound), or the
    // schedule's length if longer (a hand-made or shrunk schedule).
    maxSteps: replay !== undefined ? Math.max(r.maxSteps, replay.who.length) : r.maxSteps,
    livelockWindow: r.livelockWindow,
    ...(mode.kind === 'pct' ? { pct: pctPlan(r.seed, trial, names.length, mode.depth, mode.pctSteps) } : {}),
    ...(mode.kind === 'surw' && mode.surwExpected !== undefined ? { surw: { expected: mode.surwExpected } } : {}),
    ...(replay !== undefined ? { replay, lenient: mode.kind === 'replay' && mode.lenient } : {}),
    participants: [
      ...plan.specs.map((spec) => ({ role: 'client' as const, init: plan.init, spec, ops: r.opsPerActor })),
      { role: 'coordinator' as const, plan, mmSteps: r.mmSteps, mmIntervalUs: r.mmIntervalUs },
    ],
    join: {
      machineSab: k.mem.sab, machineConfig: k.layout.config, labSab: lab.sab, labConfig: plan.labConfig, names, labActors,
      labActorNames: names,
    },
  };
  const result = await (await selectRunner(r.engine, spec, r.runner)).runTrial(spec);
  const errors: string[] = [...result.taskErrors];
  result.results.forEach((x, p) => {
    if (x.error !== undefined && !result.taskErrors.some((e) => e.startsWith(`participant ${p}:`))) errors.push(`${names[p]} threw: ${x.error}`);
  });
  let violations: Violation[] = [];
  let outcome: ExploreTrialReport['outcome'] = 'clean';
  switch (result.status) {
    case TRIAL_STATUS.DONE: {
      const failed = new Set(plan.specs.filter((_, p) => result.results[p]?.error !== undefined).map((x) => x.name));
      const blocked = teardown(k, lab, plan, failed, errors);
      violations = buildViolations(lab, plan.specs, plan.coordActor, k);
      if (blocked !== null) violations.push(livelockViolation(lab, plan, c, result, `the end-of-run teardown blocked on ${blocked.word}: a participant left it held`));
      outcome = violations.length > 0 ? 'violation' : errors.length > 0 ? 'internal' : 'clean';
      break;
    }
    case TRIAL_STATUS.STEP_LIMIT:
      violations = [
        livelockViolation(lab, plan, c, result, `no participant finished an operation within ${r.livelockWindow} scheduling steps (step ${result.steps}, logical time ${result.time} µs)`),
      ];
      outcome = 'livelock';
      break;
    case TRIAL_STATUS.TOO_LONG:
      outcome = 'too-long'; // still making progress at the bound: not a violation
      break;
    case TRIAL_STATUS.DIVERGED:
      outcome = 'clean'; // the replay caller reports the divergence
      break;
    default:
      errors.push(`trial ${trial}: stopped by the watchdog (no scheduling progress) or a dead participant thread`);
      outcome = 'internal';
  }
  const report: ExploreTrialReport = {
    trial, workloadSeed, outcome, steps: result.steps, switches: result.switches, traceHash: result.traceHash, violations, errors,
    counters: { blocks: result.blocks, timeoutWakes: result.timeoutWakes, flushes: result.flushes, drains: result.drains, time: result.time },
  };
  return { report, result, labels: c };
}

/**
 * releaseFailedActorsPins + finishRun on the main thread, where nobody else can release a lock:
 * any wait there would block for ever, so the main thread's futexWait throws instead.
 */
function teardown(k: KernelContext, lab: Lab, plan: RunPlan, failed: ReadonlySet<string>, errors: string[]): TeardownBlocked | null {
  const names = participantNames(plan);
  const prev = setFutexWait((arr, index) => {
    throw new TeardownBlocked(arr.buffer === k.mem.sab ? machineWordName(k.layout, index) : labWordName(lab.layout, names, index));
  });
  try {
    set_current(k);
    errors.push(...releaseFailedActorsPins(lab, plan, failed));
    const { mmops } = setupCoordinator(k, lab, plan);
    finishRun(k, lab, plan, mmops, failed);
    return null;
  } catch (e) {
    if (e instanceof TeardownBlocked) return e;
    errors.push(`end-of-run oracles failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return null;
  } finally {
    setFutexWait(prev);
  }
}

function livelockViolation(lab: Lab, plan: RunPlan, c: LabelContext, r: TrialResult, why: string): Violation {
  const names = c.names;
  const doing = r.pending.map((p, i) => pendingLabel(c, i, p, r.strings));
  const labActors = [...plan.specs.map((x) => x.actor), plan.coordActor];
  const events: Violation['events'] = {};
  names.forEach((n, i) => {
    events[n] = lab.lastEvents(labActors[i]!, 8);
  });
  return {
    oracle: ORACLE_NAMES[5]!, kind: 'livelock', page: -1, actors: [...names],
    detail: `${why}; pending: ${doing.join('; ')}`, events,
  };
}

const toScheduleViolation = (v: Violation): ScheduleViolation => ({
  oracle: v.oracle, kind: v.kind, page: v.page, ...(v.where !== undefined ? { where: v.where } : {}), detail: v.detail,
});

function scheduleOf(r: Resolved, run: TrialRun, mode: Mode): ScheduleFile {
  const plan = run.labels;
  return {
    format: SCHEDULE_FORMAT, version: SCHEDULE_VERSION, scenario: r.scenario, faults: [...r.scenario.faults],
    strategy: mode.kind === 'replay' ? 'random' : mode.kind,
    ...(mode.kind === 'pct' ? { depth: mode.depth, pctSteps: mode.pctSteps } : {}),
    seed: r.seed, trial: run.report.trial, workloadSeed: run.report.workloadSeed, points: r.points, opsPerActor: r.opsPerActor,
    mmSteps: r.mmSteps, ...(r.mmIntervalUs > 0 ? { mmIntervalUs: r.mmIntervalUs } : {}), maxSteps: r.maxSteps, livelockWindow: r.livelockWindow,
    participants: [...plan.names], traceHash: run.result.traceHash,
    steps: traceToSteps(run.result.trace, run.result.strings, plan),
    violation: run.report.violations[0] !== undefined ? toScheduleViolation(run.report.violations[0]) : null,
    violations: run.report.violations.map(toScheduleViolation),
  };
}

/** Run one trial of a campaign (as exploreScenario would run trial `trial`), with its schedule. */
export async function runExploreTrial(
  scenario: Scenario | ScenarioInput, options: ExploreOptions, trial: number,
): Promise<ExploreTrialReport> {
  const r0 = resolve(await resolveClientModules(parseScenario(scenario)), options);
  const cal = needsCalibration(r0.strategy) ? await calibrate(r0) : { steps: 1, surwExpected: [] };
  const r: Resolved = { ...r0, pctSteps: r0.pctSteps ?? cal.steps, surwExpected: cal.surwExpected };
  const mode = modeOf(r, trial);
  const run = await runTrial(r, trial, mode);
  run.report.schedule = scheduleOf(r, run, mode);
  return run.report;
}

/**
 * The calibration trial: trial 0 run by PCT with no change point (the unperturbed run). Its step
 * count is PCT's k; its per-participant interesting events are SURW's expected counts.
 */
async function calibrate(r: Omit<Resolved, 'pctSteps' | 'surwExpected'>): Promise<{ steps: number; surwExpected: number[] }> {
  const run = await runTrial({ ...r, pctSteps: 1, surwExpected: [] }, 0, { kind: 'pct', depth: 1, pctSteps: 1 });
  return { steps: Math.max(1, run.result.steps), surwExpected: surwExpected(run.result.trace, run.labels.names.length) };
}

/**
 * Explore a scenario: run trials 0..N−1 under the strategy until one violates an oracle (or all are
 * clean). A failing trial's schedule comes back in the report, and is written to `outDir` if set.
 */
export async function exploreScenario(scenario: Scenario | ScenarioInput, options: ExploreOptions = {}): Promise<ExploreReport> {
  const parsed = await resolveClientModules(parseScenario(scenario));
  const r0 = resolve(parsed, options);
  await runsInThread(r0); // a first stepped build is not part of the time budget
  const t0 = performance.now();
  const timeMs = options.timeMs;
  if (timeMs !== undefined && (!Number.isFinite(timeMs) || timeMs <= 0)) throw new RangeError(`explore: time must be a positive number of ms, got ${timeMs}`);
  const trialsRequested = options.trials ?? (timeMs !== undefined ? Number.MAX_SAFE_INTEGER : 100);
  if (!Number.isInteger(trialsRequested) || trialsRequested < 0) throw new RangeError(`explore: trials must be an integer >= 0, got ${trialsRequested}`);
  let calibrationSteps: number | undefined;
  let pctSteps = 0;
  let surwCounts: number[] = [];
  let cal: ExploreCalibration | null = null;
  if (needsCalibration(r0.strategy)) {
    cal = options.calibration ?? (r0.pctSteps !== undefined && r0.strategy === 'pct' ? null : await calibrate(r0));
    pctSteps = r0.pctSteps ?? cal?.steps ?? 1;
    if (cal !== null && r0.pctSteps === undefined && options.calibration === undefined) calibrationSteps = cal.steps;
    surwCounts = cal?.surwExpected ?? [];
  }
  const r: Resolved = { ...r0, pctSteps, surwExpected: surwCounts };
  const coverage = new Coverage();
  const byStrategy: ExploreCoverage['byStrategy'] = {};
  const failures: ExploreTrialReport[] = [];
  const hashes: number[] = [];
  const counters: TrialCounters = { blocks: 0, timeoutWakes: 0, flushes: 0, drains: 0, time: 0 };
  let steps = 0;
  let switches = 0;
  let trials = 0;
  let clean = 0; // clean PCT trials (the bound's N)
  let stoppedBy: ExploreReport['stoppedBy'] = 'trials';
  let participants: string[] = [];
  const work = new Map<string, number>(); // per client kind: pins taken or accesses made, over the trials
  const shard = options.shard;
  const trialHashes: [number, number][] = [];
  const firstTrial = options.firstTrial ?? 0;
  if (!Number.isInteger(firstTrial) || firstTrial < 0) throw new RangeError(`explore: firstTrial must be an integer >= 0, got ${firstTrial}`);
  for (let t = firstTrial; t - firstTrial < trialsRequested; t++) {
    if (shard !== undefined && t % shard.count !== shard.index) continue;
    if (options.signal?.aborted) {
      stoppedBy = 'signal';
      break;
    }
    if (timeMs !== undefined && t > firstTrial && performance.now() - t0 >= timeMs) {
      stoppedBy = 'time';
      break;
    }
    const mode = modeOf(r, t);
    const run = await runTrial(r, t, mode);
    trials++;
    trialHashes.push([t, run.report.traceHash]);
    coverage.add(run.result.trace, run.result.traceHash);
    options.coverage?.add(run.result.trace, run.result.traceHash, options.coverageScope);
    const bs = (byStrategy[mode.kind as ConcreteStrategy] ??= { trials: 0, failures: 0 });
    bs.trials++;
    if (run.report.outcome !== 'clean' && run.report.outcome !== 'too-long') bs.failures++;
    steps += run.report.steps;
    switches += run.report.switches;
    hashes.push(run.report.traceHash);
    for (const key of ['blocks', 'timeoutWakes', 'flushes', 'drains', 'time'] as const) counters[key] += run.report.counters[key];
    if (participants.length === 0) participants = [...run.labels.names];
    addWork(work, r.scenario, (p) => run.result.results[p]?.stats);
    if (run.report.outcome === 'clean') {
      if (mode.kind === 'pct') clean++;
    } else if (run.report.outcome === 'too-long') failures.push(run.report);
    else {
      const schedule = scheduleOf(r, run, mode);
      run.report.schedule = schedule;
      if (options.outDir !== undefined) {
        const name = `schedule-${r.scenario.name}-${mode.kind}-s${r.seed}-t${t}.json`.replace(/[^\w.-]+/g, '_');
        const path = join(options.outDir, name);
        try {
          writeScheduleFile(path, schedule);
          run.report.scheduleFile = path;
        } catch (e) {
          // The violation is still reported (and its schedule is in the JSON report).
          run.report.errors.push(`cannot write the schedule file ${path}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      failures.push(run.report);
    }
    const elapsed = performance.now() - t0;
    options.onProgress?.({ trial: trials, trials: timeMs !== undefined && options.trials === undefined ? 0 : trialsRequested, steps, elapsedMs: Math.round(elapsed), stepsPerSec: Math.round((steps * 1000) / Math.max(1, elapsed)), failures: failures.length });
    if (failures.length > 0 && !options.keepGoing) {
      stoppedBy = 'failure';
      break;
    }
  }
  const durationMs = performance.now() - t0;
  const first = failures[0];
  const outcome: ExploreReport['outcome'] = first === undefined ? 'clean' : first.outcome === 'clean' ? 'internal' : first.outcome;
  return {
    schema: EXPLORE_REPORT_SCHEMA, mode: 'explore', scenario: r.scenario, strategy: r.strategy,
    ...(timeMs !== undefined ? { timeMs } : {}),
    coverage: { racingPairOrders: coverage.racingPairOrders, interleavings: coverage.interleavings, byStrategy },
    ...(cal !== null ? { calibration: cal } : {}),
    ...(r.strategy === 'pct' || r.strategy === 'portfolio' ? { depth: r.depth } : {}), seed: r.seed, points: r.points, opsPerActor: r.opsPerActor,
    mmSteps: r.mmSteps, mmIntervalUs: r.mmIntervalUs, maxSteps: r.maxSteps, livelockWindow: r.livelockWindow, participants, outcome,
    vacuous: trials > 0 && first === undefined ? vacuousKinds(r.scenario, work, ' in any trial') : [], trialsRequested, trials, steps,
    stepsPerSec: Math.round((steps * 1000) / Math.max(1, durationMs)),
    trialsPerSec: Math.round((trials * 1000 * 10) / Math.max(1, durationMs)) / 10,
    switches, durationMs: Math.round(durationMs), meanStepsPerTrial: trials > 0 ? Math.round(steps / trials) : 0,
    scheduleHash: fnv32(hashes), counters,
    // PCT's bound counts only the clean PCT trials (a portfolio runs PCT on one trial in four).
    ...(r.strategy === 'pct' || r.strategy === 'portfolio'
      ? { pct: { ...pctBound(Math.max(1, participants.length || r.scenario.clients.reduce((n, x) => n + x.count, 0) + 1), pctSteps, r.depth, clean), ...(calibrationSteps !== undefined ? { calibrationSteps } : {}) } }
      : {}),
    ...(first !== undefined ? { failure: first } : {}), failures, stoppedBy,
    ...(shard !== undefined ? { shards: [[shard.index, shard.count] as [number, number]], trialHashes } : {}),
  };
}

export interface ReplayOptions {
  runner?: TrialRunner;
  /** The trial engine (as ExploreOptions.engine): a schedule replays the same in either. */
  engine?: EngineName;
  /**
   * Lenient replay, for shrinking: where a step cannot be followed (its participant is not enabled
   * or not at the recorded label, or the steps ran out), take the named participant if enabled,
   * else keep the running one, else the lowest enabled; count the mismatches and go on. The report
   * then carries the schedule actually run. Default false: the first mismatch is a divergence.
   */
  lenient?: boolean;
}

export interface ReplayReport {
  schema: number;
  mode: 'replay';
  file?: string;
  scenario: unknown;
  strategy: ConcreteStrategy;
  seed: number;
  trial: number;
  /** 'reproduced': the recorded first violation came back; 'different': other violations; 'clean': none; 'divergence': the schedule no longer matches the code. */
  outcome: 'reproduced' | 'different' | 'clean' | 'divergence' | 'livelock' | 'internal' | 'too-long';
  reproduced: boolean;
  /** Same trace hash and the same violations (oracle, kind, page) as recorded. */
  identical: boolean;
  expected: ScheduleViolation | null;
  violations: Violation[];
  errors: string[];
  recordedSteps: number;
  steps: number;
  traceHash: number;
  divergence?: { step: number; actor: string; expected: string; actual: string | null };
  /** Recorded steps after the end of the replayed trial, which it therefore did not follow (absent: none). */
  unfollowedSteps?: number;
  /** Lenient replay: steps that could not be followed, the first of them, and the schedule actually run. */
  mismatches?: number;
  firstMismatch?: { step: number; actor: string; expected: string; actual: string | null };
  schedule?: ScheduleFile;
  durationMs: number;
}

const sameViolation = (a: ScheduleViolation | null | undefined, b: ScheduleViolation | null | undefined): boolean =>
  a != null && b != null && a.oracle === b.oracle && a.kind === b.kind && a.page === b.page;

/** Replay a schedule file (path or parsed): the recorded steps, checked label by label. */
export async function replaySchedule(file: string | ScheduleFile, options: ReplayOptions = {}): Promise<ReplayReport> {
  const t0 = performance.now();
  const f = typeof file === 'string' ? readScheduleFile(file) : checkScheduleFile(file);
  // The file's own fields rule: its fault list (over the scenario's copy), bounds and seeds.
  const r0 = resolve(await resolveClientModules(parseScenario({ ...(f.scenario as ScenarioInput), faults: [...f.faults] })), {
    machine: 'scenario', seed: f.seed, points: f.points, opsPerActor: f.opsPerActor, mmSteps: f.mmSteps, mmIntervalUs: f.mmIntervalUs ?? 0,
    maxSteps: f.maxSteps, ...(f.livelockWindow !== undefined ? { livelockWindow: f.livelockWindow } : {}),
    ...(options.runner !== undefined ? { runner: options.runner } : {}), ...(options.engine !== undefined ? { engine: options.engine } : {}),
  });
  const r: Resolved = { ...r0, pctSteps: f.pctSteps ?? 1, surwExpected: [] };
  const lenient = options.lenient === true;
  const mode: Mode = { kind: 'replay', steps: f.steps, lenient };
  const run = await runTrial(r, f.trial, mode, f.workloadSeed);
  const res = run.result;
  const base = {
    schema: EXPLORE_REPORT_SCHEMA, mode: 'replay' as const, ...(typeof file === 'string' ? { file } : {}), scenario: f.scenario,
    strategy: f.strategy, seed: f.seed, trial: f.trial, expected: f.violation, errors: run.report.errors,
    recordedSteps: f.steps.length, steps: res.steps, traceHash: res.traceHash,
  };
  if (res.status === TRIAL_STATUS.DIVERGED && res.divergence !== undefined) {
    const { step, participant } = res.divergence;
    const expected = f.steps[step];
    return {
      ...base, outcome: 'divergence', reproduced: false, identical: false, violations: [],
      divergence: {
        step, actor: expected?.actor ?? '(end of schedule)', expected: expected?.label ?? '(the schedule ended here)',
        actual: participant >= 0 && participant < res.pending.length ? res.divergence.actual : null,
      },
      durationMs: Math.round(performance.now() - t0),
    };
  }
  const got = run.report.violations.map(toScheduleViolation);
  const reproduced = sameViolation(got[0], f.violation);
  // The trial ended before the schedule did: the steps left were never followed.
  const unfollowedSteps = lenient ? 0 : Math.max(0, f.steps.length - res.steps);
  const identical =
    unfollowedSteps === 0 && res.traceHash === f.traceHash && got.length === f.violations.length && got.every((v, i) => sameViolation(v, f.violations[i]));
  const outcome: ReplayReport['outcome'] = reproduced ? 'reproduced'
    : run.report.outcome === 'livelock' ? 'livelock'
    : run.report.outcome === 'too-long' ? 'too-long'
    : run.report.outcome === 'internal' ? 'internal'
    : got.length > 0 ? 'different' : 'clean';
  const lenientPart: Partial<ReplayReport> = {};
  if (lenient) {
    lenientPart.mismatches = res.mismatches;
    if (res.divergence !== undefined) {
      const e = f.steps[res.divergence.step];
      lenientPart.firstMismatch = {
        step: res.divergence.step, actor: e?.actor ?? '(end of schedule)', expected: e?.label ?? '(the schedule ended here)',
        actual: res.divergence.participant >= 0 ? res.divergence.actual : null,
      };
    }
    const ran = scheduleOf(r, run, { kind: f.strategy, depth: f.depth ?? 1, pctSteps: f.pctSteps ?? 1 });
    lenientPart.schedule = { ...ran, strategy: f.strategy, trial: f.trial, workloadSeed: f.workloadSeed, ...(f.depth !== undefined ? { depth: f.depth } : {}), ...(f.pctSteps !== undefined ? { pctSteps: f.pctSteps } : {}) };
  }
  return {
    ...base, outcome, reproduced, identical, violations: run.report.violations, ...(unfollowedSteps > 0 ? { unfollowedSteps } : {}), ...lenientPart,
    durationMs: Math.round(performance.now() - t0),
  };
}

/** `pinlab replay FILE`: replay the schedule file at `path`. */
export function replayFile(path: string, options: ReplayOptions = {}): Promise<ReplayReport> {
  return replaySchedule(path, options);
}

/** Destroy the participant threads shared by explore calls (the CLI calls this before exiting). */
export function shutdownExplore(): Promise<void> {
  return shutdownTrialRunner();
}

