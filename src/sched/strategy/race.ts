/**
 * Which scheduling points race: accesses to the same word (same array, same index) with at least
 * one write. The engine knows every pending point's word (PW.KIND/ARR/INDEX) and every step's word
 * (the trace), so POS and the coverage counters need no instrumentation of their own.
 */
import { PK, PS, PW, TRACE_WORDS, TT, partBase, type SchedLayout } from '../layout.js';

/** A point kind that touches a word: the accesses, and a wait (it reads its word). */
export const touchesWord = (kind: number): boolean => kind <= PK.PLAIN_STORE || kind === PK.WAIT;
/** A point kind that writes its word. */
export const writesWord = (kind: number): boolean => kind === PK.STORE || kind === PK.RMW || kind === PK.PLAIN_STORE;

/** Step `step`'s trace entry, decoded. */
export interface TraceStep {
  who: number;
  flush: boolean;
  kind: number;
  arr: number;
  index: number;
}

export function traceStep(i32: Int32Array, l: SchedLayout, step: number): TraceStep {
  const t = l.traceOff + step * TRACE_WORDS;
  const w0 = Atomics.load(i32, t);
  const flush = ((w0 >>> 8) & 0xf) === TT.FLUSH;
  return { who: w0 & 0xff, flush, kind: Atomics.load(i32, t + 1) & 0xff, arr: flush ? 0 : (w0 >>> 16) & 0xff, index: Atomics.load(i32, t + 2) };
}

/** Does participant q's pending point race with the step `s`? (q ready, same word, one of them writes.) */
export function pendingRaces(i32: Int32Array, l: SchedLayout, q: number, s: TraceStep): boolean {
  if (!touchesWord(s.kind)) return false;
  const b = partBase(l, q);
  if (Atomics.load(i32, b + PW.STATE) !== PS.READY) return false;
  const kind = Atomics.load(i32, b + PW.KIND);
  if (!touchesWord(kind)) return false;
  if (Atomics.load(i32, b + PW.ARR) !== s.arr || Atomics.load(i32, b + PW.INDEX) !== s.index) return false;
  return writesWord(kind) || writesWord(s.kind);
}
