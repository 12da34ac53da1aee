/**
 * The main-thread side of explore trials: a piscina pool of participant threads (reused across
 * trials; at least as many threads as a trial has participants, so every participant of a trial
 * runs at once), the sched SharedArrayBuffer (reset before each trial), and a watchdog.
 *
 * The main thread never takes the baton and never Atomics.waits: it starts the participants'
 * tasks and awaits them; the last participant to reach its start point takes the first decision.
 */
import { Piscina } from 'piscina';
import { piscinaOptions, workerUrl } from '../util/worker-url.js';
import { fnv32 } from '../sched/hash.js';
import { type PctPlan } from '../sched/pct.js';
import {
  CP_OFF, PS, PW, SH, STRATEGY_CODE, TRACE_WORDS, TRIAL_STATUS, partBase, readNote, readString, schedLayout, snapshotStates,
  type SchedGeometry, type SchedLayout,
  type StrategyName, type TrialStatus,
} from '../sched/layout.js';
import { type ParticipantResult, type ParticipantTask } from './participant.js';
import { type SchedJoin, wakeAll } from '../sched/scheduler.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ParticipantSpec = DistributiveOmit<ParticipantTask, 'join'>;

/** The watchdog's bound while participants are still starting (thread spawn and module import), ms. */
export const START_WATCHDOG_MS = 120_000;

export interface TrialSpec {
  strategy: StrategyName;
  seed: number;
  trial: number;
  points: 'access' | 'events';
  maxSteps: number;
  /**
   * Steps without any participant finishing an operation after which the trial is a livelock
   * (STEP_LIMIT); default 0: off (only maxSteps bounds the trial, as TOO_LONG).
   */
  livelockWindow?: number;
  /** Store-buffer entries per participant (default 32). */
  sbCap?: number;
  pct?: PctPlan;
  /** SURW: each participant's expected interesting events (from a calibration trial); absent: weights 1. */
  surw?: { expected: readonly number[] };
  replay?: NonNullable<SchedJoin['replay']>;
  /** Replay leniently: where a step cannot be followed, count it and go on (see scheduler.ts). */
  lenient?: boolean;
  participants: ParticipantSpec[];
  /** Shared by every participant's SchedJoin. */
  join: Omit<SchedJoin, 'sab' | 'geometry' | 'participant' | 'replay'>;
  /** Abort the trial when neither a step nor a start happened for this long (default 20 s). */
  watchdogMs?: number;
}

export interface TrialResult {
  status: TrialStatus;
  steps: number;
  /** Logical clock at the end, µs. */
  time: number;
  switches: number;
  flushes: number;
  drains: number;
  blocks: number;
  timeoutWakes: number;
  /** [who | type << 8 | wake << 12 | arr << 16, kind | event << 8, index, op] per step. */
  trace: Int32Array;
  /** Interned event names (trace event id − 1). */
  strings: string[];
  traceHash: number;
  results: ParticipantResult[];
  /** Participants' states and pending points at the end (for livelock and divergence reports). */
  pending: { state: number; kind: number; index: number; op: number; arr: number; event: number; timedOut: boolean }[];
  /** Replay: where the schedule stopped matching (lenient replay: the first step it could not follow). */
  divergence?: { step: number; participant: number; actual: string };
  /** A participant task failed (its thread died, or the harness threw). */
  taskErrors: string[];
  /** Lenient replay: steps that could not be followed. */
  mismatches: number;
  wallMs: number;
}

const DAY_MS = 24 * 3600 * 1000;

export class TrialRunner {
  private pool: Piscina<ParticipantTask, ParticipantResult> | null = null;
  private size = 0;
  private sab: SharedArrayBuffer | null = null;
  private i32: Int32Array | null = null;
  private readonly url: URL;

  constructor(opts: { threads?: number; worker?: URL } = {}) {
    this.url = opts.worker ?? workerUrl('../../workers/explore-host', import.meta.url);
    if (opts.threads !== undefined) this.ensure(opts.threads);
  }

  /** Threads in the pool. */
  get threads(): number {
    return this.size;
  }

  /**
   * Have at least `n` threads ready before the first trial (a campaign whose configurations grow
   * would otherwise rebuild the pool, and pay thread start-up, at each larger one).
   */
  reserve(n: number): void {
    this.ensure(n);
  }

  private ensure(n: number): Piscina<ParticipantTask, ParticipantResult> {
    if (this.pool !== null && this.size >= n) return this.pool;
    void this.pool?.destroy();
    this.size = Math.max(n, this.size);
    this.pool = new Piscina<ParticipantTask, ParticipantResult>({
      ...piscinaOptions(this.url),
      minThreads: this.size,
      maxThreads: this.size,
      idleTimeout: DAY_MS,
      concurrentTasksPerWorker: 1,
    });
    return this.pool;
  }

  private buffer(l: SchedLayout): Int32Array {
    if (this.sab === null || this.sab.byteLength < l.totalWords * 4) {
      this.sab = new SharedArrayBuffer(l.totalWords * 4);
      this.i32 = new Int32Array(this.sab);
    }
    return this.i32!;
  }

  async runTrial(spec: TrialSpec): Promise<TrialResult> {
    const t0 = performance.now();
    const n = spec.participants.length;
    if (n < 1 || n > 255) throw new RangeError(`a trial needs 1..255 participants, got ${n}`);
    const pool = this.ensure(n);
    const geometry = trialGeometry(spec);
    const l = schedLayout(geometry);
    const i32 = this.buffer(l);
    initTrialBuffer(i32, l, spec);
    const sab = this.sab!;
    const abort = (): void => {
      if (Atomics.compareExchange(i32, SH.STATUS, TRIAL_STATUS.RUNNING, TRIAL_STATUS.ABORTED) === TRIAL_STATUS.RUNNING) {
        snapshotStates(i32, l);
      }
      wakeAll(i32, l);
    };
    const tasks = spec.participants.map((p, participant) => {
      const join: SchedJoin = { ...spec.join, sab, geometry, participant, ...(spec.replay !== undefined ? { replay: spec.replay } : {}) };
      // A participant whose thread fails stops the trial at once: the others may be waiting for it.
      return pool.run({ ...p, join } as ParticipantTask).catch((e: unknown) => {
        abort();
        throw e;
      });
    });

    // Watchdog: a trial whose step counter stands still is stopped (every participant unwinds).
    // Before every participant has reached its start point the bound is START_WATCHDOG_MS: a
    // fresh thread imports the whole model first, which on a loaded machine takes longer than
    // any scheduling stall should (a thread that dies meanwhile aborts the trial at once).
    const watchdogMs = spec.watchdogMs ?? 20_000;
    const startBoundMs = Math.max(watchdogMs, START_WATCHDOG_MS);
    let lastProgress = -1;
    let lastAt = performance.now();
    const timer = setInterval(() => {
      const ready = Atomics.load(i32, SH.READY);
      const progress = Atomics.load(i32, SH.STEP) + ready;
      const bound = ready < n ? startBoundMs : watchdogMs;
      if (progress !== lastProgress) {
        lastProgress = progress;
        lastAt = performance.now();
      } else if (performance.now() - lastAt > bound && Atomics.load(i32, SH.STATUS) === TRIAL_STATUS.RUNNING) {
        abort();
      }
    }, Math.min(1000, watchdogMs));
    timer.unref();
    const settled = await Promise.allSettled(tasks);
    clearInterval(timer);

    return collectTrialResult(i32, l, spec, settled, t0);
  }

  async destroy(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    this.size = 0;
    if (p !== null) await p.destroy();
  }
}

/** The sched buffer's geometry for a trial. */
export function trialGeometry(spec: TrialSpec): SchedGeometry {
  return { nPart: spec.participants.length, sbCap: spec.sbCap ?? 32, traceCap: spec.maxSteps };
}

/** Reset the sched buffer for a trial (both engines: the same words, so the same decisions). */
export function initTrialBuffer(i32: Int32Array, l: SchedLayout, spec: TrialSpec): void {
  const n = spec.participants.length;
  i32.fill(0, 0, l.traceOff);
  Atomics.store(i32, SH.RUNNING, -1);
  Atomics.store(i32, SH.NPART, n);
  Atomics.store(i32, SH.MAX_STEPS, spec.maxSteps);
  Atomics.store(i32, SH.LIVELOCK_WINDOW, spec.livelockWindow ?? 0);
  Atomics.store(i32, SH.STRATEGY, STRATEGY_CODE[spec.strategy]);
  Atomics.store(i32, SH.SEED, spec.seed | 0);
  Atomics.store(i32, SH.TRIAL, spec.trial | 0);
  Atomics.store(i32, SH.POINTS, spec.points === 'events' ? 1 : 0);
  Atomics.store(i32, SH.TRACE_CAP, spec.maxSteps);
  Atomics.store(i32, SH.SB_CAP, spec.sbCap ?? 32);
  Atomics.store(i32, SH.DIV_STEP, -1);
  Atomics.store(i32, SH.ERROR_PART, -1);
  Atomics.store(i32, SH.REPLAY_LEN, spec.replay?.who.length ?? 0);
  Atomics.store(i32, SH.LENIENT, spec.lenient === true ? 1 : 0);
  if (spec.pct !== undefined) {
    spec.pct.priorities.forEach((pr, p) => Atomics.store(i32, partBase(l, p) + PW.PRIO, pr));
    Atomics.store(i32, SH.NCP, spec.pct.changePoints.length);
    spec.pct.changePoints.forEach(([step, pr], c) => {
      Atomics.store(i32, CP_OFF + 2 * c, step);
      Atomics.store(i32, CP_OFF + 2 * c + 1, pr);
    });
  }
  spec.surw?.expected.forEach((e, p) => {
    if (p < n) Atomics.store(i32, partBase(l, p) + PW.SURW_LEFT, Math.max(0, Math.min(0x7fffffff, Math.round(e))));
  });
}

/** The trial's result from the sched buffer and each participant's settled task (both engines). */
export function collectTrialResult(
  i32: Int32Array, l: SchedLayout, spec: TrialSpec, settled: PromiseSettledResult<ParticipantResult>[], t0: number,
): TrialResult {
  const taskErrors: string[] = [];
  const results: ParticipantResult[] = settled.map((r, p) => {
    if (r.status === 'fulfilled') return r.value;
    const msg = r.reason instanceof Error ? `${r.reason.name}: ${r.reason.message}` : String(r.reason);
    taskErrors.push(`participant ${p}: ${msg}`);
    return { participant: p, aborted: true, error: msg };
  });
  let status = Atomics.load(i32, SH.STATUS) as TrialStatus;
  if (status === TRIAL_STATUS.RUNNING) status = TRIAL_STATUS.DONE;
  const steps = Atomics.load(i32, SH.STEP);
  const trace = i32.slice(l.traceOff, l.traceOff + steps * TRACE_WORDS);
  const strings = Array.from({ length: Atomics.load(i32, SH.STR_COUNT) }, (_, id) => readString(i32, l, id));
  const pending = spec.participants.map((_, p) => {
    const b = partBase(l, p);
    const stopped = Atomics.load(i32, b + PW.STOP_STATE);
    const state = stopped > 0 ? stopped - 1 : Atomics.load(i32, b + PW.STATE);
    return {
      state, kind: Atomics.load(i32, b + PW.KIND), index: Atomics.load(i32, b + PW.INDEX), op: Atomics.load(i32, b + PW.OP),
      arr: Atomics.load(i32, b + PW.ARR), event: Atomics.load(i32, b + PW.EVENT),
      timedOut: state === PS.BLOCKED && Atomics.load(i32, b + PW.DEADLINE) <= Atomics.load(i32, SH.TIME),
    };
  });
  const divStep = Atomics.load(i32, SH.DIV_STEP);
  return {
    status, steps, time: Atomics.load(i32, SH.TIME), switches: Atomics.load(i32, SH.SWITCHES), flushes: Atomics.load(i32, SH.FLUSHES),
    drains: Atomics.load(i32, SH.DRAINS), blocks: Atomics.load(i32, SH.BLOCKS), timeoutWakes: Atomics.load(i32, SH.TIMEOUT_WAKES),
    trace, strings, traceHash: fnv32(trace), results, pending,
    ...(divStep >= 0 ? { divergence: { step: divStep, participant: Atomics.load(i32, SH.DIV_PART), actual: readNote(i32, l) } } : {}),
    taskErrors, mismatches: Atomics.load(i32, SH.MISMATCHES), wallMs: performance.now() - t0,
  };
}

let shared: TrialRunner | null = null;

/** The runner shared by explore calls in this process (threads reused across calls). */
export function sharedTrialRunner(): TrialRunner {
  shared ??= new TrialRunner();
  return shared;
}

/** Destroy the shared runner's threads (the CLI calls this before exiting; tests in afterAll). */
export async function shutdownTrialRunner(): Promise<void> {
  const r = shared;
  shared = null;
  if (r !== null) await r.destroy();
}
