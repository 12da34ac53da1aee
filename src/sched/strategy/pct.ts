/**
 * PCT at decision time (the plan — priorities and change points — is drawn by src/sched/pct.ts
 * and written into the sched SAB by the runner): change points due by this step lower the
 * deciding participant's priority; the highest-priority enabled participant runs; a non-empty
 * store buffer loses its oldest entry on a seeded 1-in-4 coin.
 */
import { hash4 } from '../hash.js';
import { CP_OFF, PW, SH, partBase } from '../layout.js';
import { type DecisionView, type Scheduler, flushCoin } from './types.js';

/** PCT's flush coin: a non-empty store buffer loses its oldest entry on 1 decision in this many. */
export const PCT_FLUSH_ONE_IN = 4;

/** The enabled participant with the highest PRIO word (ties: the lowest index). */
export function highestPriority(v: DecisionView, ne: number): number {
  let best = v.enabled[0]!;
  let bestPrio = Atomics.load(v.i32, partBase(v.l, best) + PW.PRIO);
  for (let k = 1; k < ne; k++) {
    const pr = Atomics.load(v.i32, partBase(v.l, v.enabled[k]!) + PW.PRIO);
    if (pr > bestPrio) {
      best = v.enabled[k]!;
      bestPrio = pr;
    }
  }
  return best;
}

export const pctScheduler: Scheduler = {
  name: 'pct',
  update(v: DecisionView, step: number): void {
    const i32 = v.i32;
    const ncp = Atomics.load(i32, SH.NCP);
    for (let c = Atomics.load(i32, SH.NEXT_CP); c < ncp && Atomics.load(i32, CP_OFF + 2 * c) <= step; c++) {
      Atomics.store(i32, partBase(v.l, v.me) + PW.PRIO, Atomics.load(i32, CP_OFF + 2 * c + 1));
      Atomics.store(i32, SH.NEXT_CP, c + 1);
    }
  },
  choose(v: DecisionView, step: number, ne: number): number {
    return flushCoin(v, step, PCT_FLUSH_ONE_IN, 0xf15, hash4) ?? highestPriority(v, ne);
  },
};
