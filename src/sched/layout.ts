/**
 * The "sched" SharedArrayBuffer of explore mode: one per trial runner, reset before every trial.
 * Everything the deterministic scheduler decides from lives here, so any participant thread (the
 * one holding the baton) can take the next decision, and the decision is a pure function of it.
 *
 *   header       SH words: step counter, logical clock, the running participant, status, ...
 *   change pts   MAX_CHANGE_POINTS × [step, priority] (PCT), sorted by step
 *   participants nPart blocks of PART_WORDS: state, baton wait slot, pending point, blocking word,
 *                deadline, PCT priority, and the TSO store buffer ([index, value] FIFO ring)
 *   strings      STR_SLOTS × STR_WORDS: event names interned by the running participant
 *   note         NOTE_WORDS: a text left for the main thread (the actual label at a divergence)
 *   trace        traceCap × TRACE_WORDS: [who | type << 8 | wake << 12, kind, index, op] per step
 *
 * Offsets are Int32 indices. Only the participant holding the baton writes anything but its own
 * wait slot's wake-up; the main thread writes only between trials (and STATUS on a watchdog abort).
 */

export const SH = {
  STEP: 0, // decisions taken so far (= trace entries)
  TIME: 1, // logical clock, µs (1 per step; jumps forward when every participant is blocked)
  RUNNING: 2, // participant holding the baton, -1 none
  STATUS: 3, // TrialStatus
  READY: 4, // participants that reached their start point
  NPART: 5,
  MAX_STEPS: 6, // step bound (O5 livelock)
  STRATEGY: 7, // StrategyCode
  SEED: 8,
  TRIAL: 9,
  POINTS: 10, // 0 every access, 1 labelled events only
  FINISHED: 11, // participants done
  SWITCHES: 12, // baton handoffs between threads
  NCP: 13, // PCT change points
  NEXT_CP: 14, // next change point to apply
  FLUSHES: 15, // store-buffer entries flushed by a scheduler choice
  TIMEOUT_WAKES: 16, // blocked participants woken by a timeout
  BLOCKS: 17, // waits that blocked
  DIV_STEP: 18, // replay: step at which the schedule diverged (-1 none)
  DIV_PART: 19, // replay: the participant the schedule named there
  STR_COUNT: 20, // interned strings
  TRACE_CAP: 21,
  SB_CAP: 22,
  REPLAY_LEN: 23,
  ERROR_PART: 24, // participant whose protocol threw (first), -1 none
  DRAINS: 25, // store-buffer drains by an Atomics access
  LENIENT: 26, // replay: follow the schedule where it matches, go on where it does not (shrinking)
  MISMATCHES: 27, // lenient replay: steps that could not be followed
  PROGRESS: 28, // participants' operations finished (lab OPS words) + participants done, as last seen
  PROGRESS_STEP: 29, // the step at which PROGRESS last changed
  LIVELOCK_WINDOW: 30, // steps without progress after which a trial is a livelock (O5); 0 = off
} as const;
export const HEADER_WORDS = 32;

/**
 * STEP_LIMIT: no participant finished an operation within the livelock window (O5).
 * TOO_LONG: the step bound came while participants were still finishing operations — not a
 * violation, the trial is just longer than its bound (raise --max-steps).
 */
export const TRIAL_STATUS = { RUNNING: 0, DONE: 1, STEP_LIMIT: 2, DIVERGED: 3, ABORTED: 4, TOO_LONG: 5 } as const;
export type TrialStatus = (typeof TRIAL_STATUS)[keyof typeof TRIAL_STATUS];

export const STRATEGY_CODE = { random: 0, pct: 1, replay: 2, pos: 3, surw: 4 } as const;
export type StrategyName = keyof typeof STRATEGY_CODE;

export const MAX_CHANGE_POINTS = 32;
export const CP_OFF = HEADER_WORDS;
export const PART_OFF = CP_OFF + 2 * MAX_CHANGE_POINTS;

/** Participant state. */
export const PS = { INIT: 0, READY: 1, BLOCKED: 2, DONE: 3 } as const;

/** Per-participant block fields. */
export const PW = {
  STATE: 0,
  SLOT: 1, // baton: 1 = your turn (the waiter resets it)
  KIND: 2, // pending point: PointKind
  INDEX: 3, // word index (machine, or lab for waits on lab words)
  OP: 4, // the actor's operation (lab ACTOR_STAT.CUR_OP) when it reached the point
  ARR: 5, // blocked on: 0 machine word, 1 lab word, 2 nothing (a sleep)
  VALUE: 6, // blocked while the word holds this value
  DEADLINE: 7, // logical time at which the wait times out
  WAKE: 8, // how the last wait ended: 0 changed, 1 timed out
  PRIO: 9, // PCT priority; POS: the pending event's priority
  SB_HEAD: 10, // index of the oldest buffered store
  SB_LEN: 11,
  POINTS: 12, // scheduling points this participant reached
  EVENT: 13, // interned event name of a pending EVENT point
  STOP_STATE: 14, // state + 1 when the trial was stopped (0: not stopped); later unwinding does not touch it
  SURW_LEFT: 15, // SURW: interesting events this participant is still expected to reach
} as const;
export const PART_FIXED_WORDS = 16;

/** Where a blocked participant's word lives. */
export const ARR = { MACHINE: 0, LAB: 1, NONE: 2 } as const;

/**
 * Point kinds: Mem's ACCESS kinds 0..5 (load, store, rmw, plain-load, plain-store, event), then
 * the scheduler's own.
 */
export const PK = {
  LOAD: 0, STORE: 1, RMW: 2, PLAIN_LOAD: 3, PLAIN_STORE: 4, EVENT: 5,
  WAIT: 6, // about to Atomics.wait (through futexWait)
  WAKE: 7, // a blocked participant resumes (its word changed, or it timed out)
  SLEEP: 8, // a timed sleep of the coordinator (policy waits, I/O completion)
  START: 9,
  END: 10,
} as const;
export const PK_NAMES = ['load', 'store', 'rmw', 'plain-load', 'plain-store', 'event', 'wait', 'wake', 'sleep', 'start', 'end'] as const;

/** Trace entry types. */
export const TT = { RUN: 0, FLUSH: 1 } as const;
export const TRACE_WORDS = 4;

export const STR_SLOTS = 64;
export const STR_WORDS = 32; // length + up to 31 chars
export const NOTE_WORDS = 256; // length + up to 255 chars

export const NO_DEADLINE = 0x7fffffff;

export interface SchedGeometry {
  nPart: number;
  sbCap: number;
  traceCap: number;
}

export interface SchedLayout extends SchedGeometry {
  partWords: number;
  strOff: number;
  noteOff: number;
  traceOff: number;
  totalWords: number;
}

export function schedLayout(g: SchedGeometry): SchedLayout {
  const partWords = PART_FIXED_WORDS + 2 * g.sbCap;
  const strOff = PART_OFF + g.nPart * partWords;
  const noteOff = strOff + STR_SLOTS * STR_WORDS;
  const traceOff = noteOff + NOTE_WORDS;
  return { ...g, partWords, strOff, noteOff, traceOff, totalWords: traceOff + g.traceCap * TRACE_WORDS };
}

export const partBase = (l: SchedLayout, p: number): number => PART_OFF + p * l.partWords;

/** Read interned string `id` (0-based) out of the table. */
export function readString(i32: Int32Array, l: SchedLayout, id: number): string {
  const base = l.strOff + id * STR_WORDS;
  const n = Atomics.load(i32, base);
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(Atomics.load(i32, base + 1 + k));
  return s;
}

/** Intern `s` (only the participant holding the baton calls this). Returns its id, -1 if the table is full. */
export function internString(i32: Int32Array, l: SchedLayout, s: string): number {
  const n = Atomics.load(i32, SH.STR_COUNT);
  for (let id = 0; id < n; id++) if (readString(i32, l, id) === s) return id;
  if (n >= STR_SLOTS) return -1;
  const base = l.strOff + n * STR_WORDS;
  const len = Math.min(s.length, STR_WORDS - 1);
  for (let k = 0; k < len; k++) Atomics.store(i32, base + 1 + k, s.charCodeAt(k));
  Atomics.store(i32, base, len);
  Atomics.store(i32, SH.STR_COUNT, n + 1);
  return n;
}

/** Write the note (only the participant holding the baton, or the main thread between trials). */
export function writeNote(i32: Int32Array, l: SchedLayout, s: string): void {
  const len = Math.min(s.length, NOTE_WORDS - 1);
  for (let k = 0; k < len; k++) Atomics.store(i32, l.noteOff + 1 + k, s.charCodeAt(k));
  Atomics.store(i32, l.noteOff, len);
}

export function readNote(i32: Int32Array, l: SchedLayout): string {
  const n = Atomics.load(i32, l.noteOff);
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(Atomics.load(i32, l.noteOff + 1 + k));
  return s;
}

/** Snapshot every participant's state (before waking them to unwind after a stop). */
export function snapshotStates(i32: Int32Array, l: SchedLayout): void {
  for (let p = 0; p < l.nPart; p++) {
    const b = partBase(l, p);
    Atomics.store(i32, b + PW.STOP_STATE, Atomics.load(i32, b + PW.STATE) + 1);
  }
}
