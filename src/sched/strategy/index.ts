/**
 * The strategies behind one `Scheduler` interface, one file each (shuttle's layout):
 *
 *   types.ts      Scheduler, DecisionView
 *   race.ts       racing points: same word, at least one write
 *   random.ts     random walk
 *   pct.ts        PCT (the plan is drawn in ../pct.ts)
 *   pos.ts        partial-order sampling
 *   surw.ts       selectively uniform random walk
 *   portfolio.ts  the default mix, by trial index
 *
 * Replay is not a strategy here: it follows a schedule file and reports divergence (scheduler.ts).
 */
import { STRATEGY_CODE } from '../layout.js';
import { pctScheduler } from './pct.js';
import { posScheduler } from './pos.js';
import { randomScheduler } from './random.js';
import { surwScheduler } from './surw.js';
import { type Scheduler } from './types.js';

export type { DecisionView, Scheduler } from './types.js';
export { PORTFOLIO, portfolioStrategy, type ConcreteStrategy } from './portfolio.js';
export { pendingRaces, traceStep, touchesWord, writesWord, type TraceStep } from './race.js';

/** The scheduler of a strategy code (null: replay). */
export function schedulerOf(code: number): Scheduler | null {
  switch (code) {
    case STRATEGY_CODE.random: return randomScheduler;
    case STRATEGY_CODE.pct: return pctScheduler;
    case STRATEGY_CODE.pos: return posScheduler;
    case STRATEGY_CODE.surw: return surwScheduler;
    default: return null;
  }
}
