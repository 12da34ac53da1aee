/**
 * SURW, selectively uniform random walk (Zhao et al., ASPLOS 2025; in Fray): pick the next
 * participant with probability proportional to its remaining interesting events, which samples the
 * interleavings of those events uniformly (a plain random walk favours interleavings where the
 * short participant runs early). Interesting events here are the points that touch shared words or
 * are labelled events; each participant's expected count comes from a calibration trial of the
 * same campaign (SurwPlan, written into PW.SURW_LEFT by the runner), so the weights are a pure
 * function of (scenario, seed) and the trial stays replayable. Without a plan every weight is 1:
 * a random walk. A store-buffer flush is chosen on PCT's seeded coin.
 */
import { hash4 } from '../hash.js';
import { PK, PW, TRACE_WORDS, TT, partBase } from '../layout.js';
import { PCT_FLUSH_ONE_IN } from './pct.js';
import { traceStep } from './race.js';
import { type DecisionView, type Scheduler, flushCoin } from './types.js';

/** Interesting for SURW: an access to a shared word, or a labelled event. */
export const surwInteresting = (kind: number): boolean => kind <= PK.EVENT;

export const surwScheduler: Scheduler = {
  name: 'surw',
  update(v: DecisionView, step: number): void {
    if (step === 0) return;
    const s = traceStep(v.i32, v.l, step - 1);
    if (s.flush || !surwInteresting(s.kind)) return;
    const w = partBase(v.l, s.who) + PW.SURW_LEFT;
    if (Atomics.load(v.i32, w) > 0) Atomics.sub(v.i32, w, 1);
  },
  choose(v: DecisionView, step: number, ne: number): number {
    const f = flushCoin(v, step, PCT_FLUSH_ONE_IN, 0x5f15, hash4);
    if (f !== null) return f;
    let total = 0;
    for (let k = 0; k < ne; k++) total += Math.max(1, Atomics.load(v.i32, partBase(v.l, v.enabled[k]!) + PW.SURW_LEFT));
    let r = hash4(v.seed, v.trial, step, 0x5e7) % total;
    for (let k = 0; k < ne; k++) {
      r -= Math.max(1, Atomics.load(v.i32, partBase(v.l, v.enabled[k]!) + PW.SURW_LEFT));
      if (r < 0) return v.enabled[k]!;
    }
    return v.enabled[ne - 1]!;
  },
};

/** Each participant's interesting events in a trial's trace (a calibration trial): SURW's plan. */
export function surwExpected(trace: Int32Array, n: number): number[] {
  const out = new Array<number>(n).fill(0);
  for (let t = 0; t + TRACE_WORDS <= trace.length; t += TRACE_WORDS) {
    const w0 = trace[t] ?? 0;
    const who = w0 & 0xff;
    if (((w0 >>> 8) & 0xf) === TT.RUN && who < n && surwInteresting((trace[t + 1] ?? 0) & 0xff)) out[who] = (out[who] ?? 0) + 1;
  }
  return out;
}
