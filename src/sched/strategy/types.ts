/**
 * The `Scheduler` interface every exploration strategy implements (shuttle's layout: one file per
 * strategy). A strategy holds no state of its own: the decision is taken by whichever participant
 * thread holds the baton, so everything a strategy remembers lives in the sched SharedArrayBuffer
 * (per-participant PRIO and SURW_LEFT words, the change points, the trace) and every random choice
 * is hash(seed, trial, step, salt) — a trial stays a pure function of (seed, trial).
 */
import { type SchedLayout } from '../layout.js';

/** What the deciding thread exposes to a strategy at one decision. */
export interface DecisionView {
  readonly i32: Int32Array;
  readonly l: SchedLayout;
  readonly seed: number;
  readonly trial: number;
  /** The participant taking the decision (the one that reached a point, or just finished). */
  readonly me: number;
  /** Enabled participants (first `ne` entries valid), in index order. */
  readonly enabled: Int32Array;
  /** Participants with a non-empty store buffer, in index order, into `fl`; returns the count. */
  flushable(): number;
  readonly fl: Int32Array;
}

/**
 * A scheduling strategy. `update` runs once per decision, before `choose`, and may write the
 * strategy's words in the sched SAB (only the baton holder calls it). `choose` returns p >= 0 to
 * run participant p, or -(q+1) to flush the oldest store of q's buffer.
 */
export interface Scheduler {
  readonly name: string;
  update?(v: DecisionView, step: number): void;
  choose(v: DecisionView, step: number, ne: number): number;
}

/** A flush of one of the `nf` non-empty buffers, on a seeded 1-in-`oneIn` coin; null: run someone. */
export function flushCoin(v: DecisionView, step: number, oneIn: number, salt: number, hash: (a: number, b: number, c: number, d: number) => number): number | null {
  const nf = v.flushable();
  if (nf === 0) return null;
  const h = hash(v.seed, v.trial, step, salt);
  return h % oneIn === 0 ? -v.fl[(h >>> 8) % nf]! - 1 : null;
}
