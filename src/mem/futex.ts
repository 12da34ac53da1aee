/**
 * The one way the model blocks on a shared word: `futexWait(i32, index, value, timeoutMs)`, with
 * Atomics.wait's contract ('ok' | 'not-equal' | 'timed-out'). Mem.wait (kernel words) and the ODP
 * client's driver waits (lab words) call it.
 *
 * The implementation is per thread and pluggable: stress mode leaves the real Atomics.wait; the
 * deterministic scheduler (src/sched) installs one that marks the thread blocked on the word and
 * passes the baton, so no thread ever sleeps in the kernel while it is being explored.
 */
export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';
export type FutexWait = (i32: Int32Array, index: number, value: number, timeoutMs: number) => FutexWaitResult;

const atomicsWait: FutexWait = (i32, index, value, timeoutMs) => Atomics.wait(i32, index, value, timeoutMs);

let impl: FutexWait = atomicsWait;

/** Block until `i32[index]` is no longer `value`, or `timeoutMs` pass (this thread's implementation). */
export function futexWait(i32: Int32Array, index: number, value: number, timeoutMs: number): FutexWaitResult {
  return impl(i32, index, value, timeoutMs);
}

/** Install this thread's implementation (null: the real Atomics.wait). Returns the previous one. */
export function setFutexWait(next: FutexWait | null): FutexWait {
  const prev = impl;
  impl = next ?? atomicsWait;
  return prev;
}
