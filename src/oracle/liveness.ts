/**
 * The thread-side half of stress mode's liveness watchdog (the other half, coordinator/watchdog.ts,
 * runs on a thread of its own): each watched thread keeps, in its lab block, the lock words it
 * holds (a KernelContext.lockdep tracker) and the word it is blocked on (a futexWait wrapper);
 * when the watchdog sets LAB_HDR.ABORT, every watched wait throws RunAborted, so a deadlocked
 * thread — the coordinator on the main thread too — unwinds and the run can end with a report.
 */
import { type LockTracker } from '../kernel/context.js';
import { type FutexWait, type FutexWaitResult } from '../mem/futex.js';
import { LAB_HDR, LOCK_WORDS, type Lab } from './lab.js';
import { currentTid } from './thread-cpu.js';

/** Thrown by a watched wait once the watchdog has aborted the run (a deadlock or a hung coordinator). */
export class RunAborted extends Error {
  override name = 'RunAborted';
}

/** A lockdep tracker writing the held lock words into `actor`'s lab block. */
export function labLockTracker(lab: Lab, actor: number): LockTracker {
  lab.store(lab.actorBase(actor) + LOCK_WORDS.TID, currentTid()); // for the watchdog's /proc reads
  const base = lab.actorBase(actor) + LOCK_WORDS.HELD;
  return {
    acquired(word) {
      for (let s = 0; s < LOCK_WORDS.HELD_SLOTS; s++) if (lab.cas(base + s, 0, word + 1) === 0) return;
      // More locks than slots: the report names the first HELD_SLOTS.
    },
    released(word) {
      for (let s = 0; s < LOCK_WORDS.HELD_SLOTS; s++) if (lab.cas(base + s, word + 1, 0) === word + 1) return;
    },
  };
}

/** A bounded slice of a wait: the abort word is looked at between slices. */
const SLICE_MS = 50;

/**
 * futexWait for a watched thread of `actor`: records the awaited machine word, waits in slices,
 * and throws RunAborted once LAB_HDR.ABORT is set. `machine` is the machine's Int32Array (waits on
 * other words, e.g. the ODP driver's lab words, are recorded as -1).
 */
export function watchedFutexWait(lab: Lab, actor: number, machine: Int32Array): FutexWait {
  const awaitIdx = lab.actorBase(actor) + LOCK_WORDS.AWAIT;
  const aborted = (): boolean => Atomics.load(lab.i32, LAB_HDR.ABORT) !== 0;
  return (i32, index, value, timeoutMs): FutexWaitResult => {
    if (aborted()) throw new RunAborted('the liveness watchdog aborted the run');
    lab.store(awaitIdx, i32.buffer === machine.buffer ? index + 1 : -1);
    try {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const left = deadline - performance.now();
        const r = Atomics.wait(i32, index, value, Math.max(0, Math.min(SLICE_MS, left)));
        if (r !== 'timed-out' || left <= SLICE_MS) return r;
        if (aborted()) throw new RunAborted('the liveness watchdog aborted the run');
      }
    } finally {
      lab.store(awaitIdx, 0);
    }
  };
}

/** What one thread holds and awaits, as the watchdog reads it (machine word indices). */
export interface LockState {
  held: number[];
  /** The machine word it is blocked on, -1 another word, null none. */
  awaits: number | null;
}

export function readLockState(lab: Lab, actor: number): LockState {
  const base = lab.actorBase(actor);
  const held: number[] = [];
  for (let s = 0; s < LOCK_WORDS.HELD_SLOTS; s++) {
    const v = lab.load(base + LOCK_WORDS.HELD + s);
    if (v !== 0) held.push(v - 1);
  }
  const a = lab.load(base + LOCK_WORDS.AWAIT);
  return { held, awaits: a === 0 ? null : a > 0 ? a - 1 : -1 };
}
