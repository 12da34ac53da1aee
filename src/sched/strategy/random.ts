/** Random walk: uniform over the enabled participants and the non-empty store buffers. */
import { hash4 } from '../hash.js';
import { type DecisionView, type Scheduler } from './types.js';

export const randomScheduler: Scheduler = {
  name: 'random',
  choose(v: DecisionView, step: number, ne: number): number {
    const nf = v.flushable();
    const pick = hash4(v.seed, v.trial, step, 0x52a7) % (ne + nf);
    return pick < ne ? v.enabled[pick]! : -v.fl[pick - ne]! - 1;
  },
};
