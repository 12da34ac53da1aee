/**
 * PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010): n participants get random
 * distinct priorities d, d+1, …, d+n−1; d−1 change points k_1..k_{d−1} are drawn uniformly from
 * [1, k]; the highest-priority enabled participant always runs, and at step k_i the running one's
 * priority drops to i (below every initial priority). One run finds a bug of depth d with
 * probability at least 1/(n·k^(d−1)); after N runs that found nothing, a depth-d bug was missed
 * with probability at most (1 − 1/(n·k^(d−1)))^N.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { hash4 } from './hash.js';
import { MAX_CHANGE_POINTS } from './layout.js';

export interface PctPlan {
  /** Initial priority of each participant. */
  priorities: number[];
  /** [step, new priority], sorted by step. */
  changePoints: [number, number][];
}

/** The priorities and change points of trial `trial` (a pure function of its arguments). */
export function pctPlan(seed: number, trial: number, n: number, depth: number, k: number): PctPlan {
  if (!Number.isInteger(depth) || depth < 1 || depth - 1 > MAX_CHANGE_POINTS) {
    throw new RangeError(`PCT depth must be an integer in [1, ${MAX_CHANGE_POINTS + 1}], got ${depth}`);
  }
  const rng = xoroshiro128plus(hash4(seed, trial, 0x9c7, n) | 0);
  const priorities = Array.from({ length: n }, (_, i) => depth + i);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [priorities[i], priorities[j]] = [priorities[j]!, priorities[i]!];
  }
  const kk = Math.max(1, Math.floor(k));
  const steps = new Set<number>();
  const changePoints: [number, number][] = [];
  for (let i = 1; i < depth; i++) {
    let s = uniformInt(rng, 1, kk);
    // Distinct steps when there is room (a repeated step would waste a change point).
    for (let tries = 0; steps.has(s) && tries < 16 && steps.size < kk; tries++) s = uniformInt(rng, 1, kk);
    steps.add(s);
    changePoints.push([s, i]);
  }
  changePoints.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { priorities, changePoints };
}

export interface PctBound {
  n: number;
  k: number;
  d: number;
  /** 1/(n·k^(d−1)): the probability that one run finds a given depth-d bug, at least. */
  bound: number;
  /** Clean runs so far. */
  trials: number;
  /** (1 − bound)^trials: the chance a depth-d bug was missed, at most. */
  missProbability: number;
}

export function pctBound(n: number, k: number, d: number, trials: number): PctBound {
  const bound = 1 / (n * Math.max(1, k) ** (d - 1));
  // (1 − b)^N via log1p, accurate for tiny b.
  const missProbability = trials === 0 ? 1 : Math.exp(trials * Math.log1p(-Math.min(bound, 1)));
  return { n, k, d, bound, trials, missProbability };
}

/** One line for a terminal: "PCT n=3 k=1840 d=3: bound 1/(n·k^(d−1)) = 9.85e-8; miss ≤ 0.99999 after 100 clean trials". */
export function formatPctBound(b: PctBound): string {
  const f = (x: number): string => (x >= 1e-3 ? x.toPrecision(4) : x.toExponential(3));
  return `PCT n=${b.n} k=${b.k} d=${b.d}: bound 1/(n·k^(d−1)) = ${f(b.bound)}; miss probability ≤ ${f(b.missProbability)} after ${b.trials} clean trials`;
}
