/**
 * POS, partial-order sampling (Yuan, Yang, Gu, CAV 2018; Fray's default): every pending event has
 * a random priority, the enabled participant whose event has the highest priority runs, and after
 * each step the events that race with the one just run (same word, at least one write) get fresh
 * priorities, as does the runner's next event. Events that do not race keep theirs, so long runs
 * of private work do not dilute the choice the way they do for a random walk: POS samples partial
 * orders of racing events close to uniformly. A store-buffer flush is a write of its word, and is
 * chosen on PCT's seeded coin.
 */
import { hash4 } from '../hash.js';
import { PW, partBase } from '../layout.js';
import { highestPriority, PCT_FLUSH_ONE_IN } from './pct.js';
import { pendingRaces, traceStep } from './race.js';
import { type DecisionView, type Scheduler, flushCoin } from './types.js';

const fresh = (v: DecisionView, step: number, p: number): number => hash4(v.seed, v.trial, step, 0x9050 + p) >>> 1;

export const posScheduler: Scheduler = {
  name: 'pos',
  update(v: DecisionView, step: number): void {
    const i32 = v.i32;
    const n = v.l.nPart;
    if (step === 0) {
      for (let p = 0; p < n; p++) Atomics.store(i32, partBase(v.l, p) + PW.PRIO, fresh(v, 0, p));
      return;
    }
    const s = traceStep(i32, v.l, step - 1);
    if (!s.flush) Atomics.store(i32, partBase(v.l, s.who) + PW.PRIO, fresh(v, step, s.who));
    for (let q = 0; q < n; q++) {
      if (q !== s.who && pendingRaces(i32, v.l, q, s)) Atomics.store(i32, partBase(v.l, q) + PW.PRIO, fresh(v, step, q));
    }
  },
  choose(v: DecisionView, step: number, ne: number): number {
    return flushCoin(v, step, PCT_FLUSH_ONE_IN, 0x9f15, hash4) ?? highestPriority(v, ne);
  },
};
