/**
 * The in-thread trial driver: every participant of an explore trial as a generator on this one
 * thread, stepped by the same scheduler code as the baton engine.
 *
 * This module only works from the stepped build (src/explore/inthread/transform.ts): there
 * runParticipant and everything below it are generators, and SchedThread.waitTurn's Atomics.wait
 * is a `yield`. Each participant keeps its own SchedThread over the one sched buffer, takes its
 * decisions itself exactly as on its own thread, and when it hands the baton on (SH.RUNNING) it
 * yields; the driver then resumes the participant named there. The per-thread globals of the model
 * (the kernel's `current`, the futex-wait implementation) are swapped on each switch, as a context
 * switch would. Loaded from source, it refuses to run.
 */
import { type KernelContext } from '../../kernel/context.js';
import { current, set_current } from '../../kernel/current.js';
import { type FutexWait, setFutexWait } from '../../mem/futex.js';
import { SH, TRIAL_STATUS, schedLayout, snapshotStates } from '../../sched/layout.js';
import { type ParticipantResult, type ParticipantTask, runParticipant } from '../participant.js';
import { type TrialResult, type TrialSpec, collectTrialResult, initTrialBuffer, trialGeometry } from '../runner.js';
import { type SchedJoin, wakeAll } from '../../sched/scheduler.js';

/** Resumptions without a scheduling step after which the trial is stopped (the in-thread watchdog). */
const STALL_RESUMES = 100_000;

let buffer: Int32Array | null = null;

function sched(words: number): Int32Array {
  if (buffer === null || buffer.length < words) buffer = new Int32Array(new SharedArrayBuffer(words * 4));
  return buffer;
}

/** Run one trial with every participant on this thread. Same contract as TrialRunner.runTrial. */
export function runTrialInThread(spec: TrialSpec): TrialResult {
  const t0 = performance.now();
  const n = spec.participants.length;
  if (n < 1 || n > 255) throw new RangeError(`a trial needs 1..255 participants, got ${n}`);
  const geometry = trialGeometry(spec);
  const l = schedLayout(geometry);
  const i32 = sched(l.totalWords);
  initTrialBuffer(i32, l, spec);
  const sab = i32.buffer as SharedArrayBuffer;
  const stop = (): void => {
    if (Atomics.compareExchange(i32, SH.STATUS, TRIAL_STATUS.RUNNING, TRIAL_STATUS.ABORTED) === TRIAL_STATUS.RUNNING) snapshotStates(i32, l);
    wakeAll(i32, l);
  };
  const gens = spec.participants.map((p, participant) => {
    const join: SchedJoin = { ...spec.join, sab, geometry, participant, ...(spec.replay !== undefined ? { replay: spec.replay } : {}) };
    const g = runParticipant({ ...p, join } as ParticipantTask) as unknown as Generator<unknown, ParticipantResult, undefined>;
    if (typeof (g as { next?: unknown }).next !== 'function') throw new Error('the in-thread driver runs only from the stepped build');
    return g;
  });
  const settled: (PromiseSettledResult<ParticipantResult> | undefined)[] = new Array(n).fill(undefined);
  const ctx: { current: KernelContext | undefined; wait: FutexWait | null }[] = gens.map(() => ({ current: undefined, wait: null }));
  let left = n;
  const outer = { current, wait: setFutexWait(null) };

  const resume = (p: number): void => {
    const c = ctx[p]!;
    if (c.current !== undefined) set_current(c.current);
    setFutexWait(c.wait);
    try {
      const r = gens[p]!.next();
      if (r.done === true) {
        settled[p] = { status: 'fulfilled', value: r.value };
        left--;
      }
    } catch (e) {
      settled[p] = { status: 'rejected', reason: e };
      left--;
      stop(); // as a dead participant thread does: the others may be waiting for it
    }
    c.current = current;
    c.wait = setFutexWait(null);
  };

  try {
    for (let p = 0; p < n; p++) resume(p); // each runs to its start point
    let stalled = 0;
    let lastStep = -1;
    while (left > 0) {
      const step = Atomics.load(i32, SH.STEP);
      if (step !== lastStep) {
        lastStep = step;
        stalled = 0;
      } else if (++stalled > STALL_RESUMES) {
        stop();
        if (stalled > 2 * STALL_RESUMES) break; // a participant that does not unwind
      }
      const running = Atomics.load(i32, SH.RUNNING);
      if (Atomics.load(i32, SH.STATUS) !== TRIAL_STATUS.RUNNING || running < 0 || settled[running] !== undefined) {
        // Stopped (or nobody holds the baton): every participant wakes and unwinds.
        if (Atomics.load(i32, SH.STATUS) === TRIAL_STATUS.RUNNING) stop();
        for (let p = 0; p < n; p++) if (settled[p] === undefined) resume(p);
        continue;
      }
      resume(running);
    }
    for (let p = 0; p < n; p++) {
      if (settled[p] !== undefined) continue;
      gens[p]!.return(undefined as unknown as ParticipantResult);
      settled[p] = { status: 'rejected', reason: new Error('did not unwind after the trial stopped') };
    }
  } finally {
    set_current(outer.current);
    setFutexWait(outer.wait);
  }
  return collectTrialResult(i32, l, spec, settled as PromiseSettledResult<ParticipantResult>[], t0);
}
