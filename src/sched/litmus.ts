/**
 * Litmus programs for the explore scheduler's memory model (jcstress-style): a few threads, a few
 * shared words of a tiny machine, each thread's registers as the outcome. They check the scheduler
 * itself — that plain accesses under the TSO store buffer produce exactly the outcomes TSO allows,
 * and Atomics-only programs stay sequentially consistent.
 *
 * Shared variables live in the data words of frames 0, 1, …: labels read "data[0]", "data[1]".
 */
import { type Mem } from '../mem/mem.js';
import { type MachineConfig } from '../mem/layout.js';

export interface LitmusProgram {
  name: string;
  description: string;
  threads: number;
  vars: number;
  /** Thread `t`'s body over `mem`; `v` holds the word index of each variable. Returns its registers. */
  body(mem: Mem, t: number, v: readonly number[]): number[];
  /** Outcomes sequential consistency forbids (as "r0,r1"). */
  scForbidden: readonly string[];
  /** Outcomes TSO forbids as well. */
  tsoForbidden: readonly string[];
  /** An ordering bug the program plants: the outcomes that show it (strategy comparisons). */
  bug?: { outcomes: readonly string[]; depth: number };
}

/** order-window: t0's private work between its two stores, t1's private work before its load. */
const WINDOW_T0_PRIVATE = 2;
const WINDOW_T1_PRIVATE = 12;

const F = 'litmus';

export const LITMUS: Readonly<Record<string, LitmusProgram>> = {
  'sb-plain': {
    name: 'sb-plain',
    description: 'store buffering with plain accesses: x=1; r0=y || y=1; r1=x. TSO allows 0,0.',
    threads: 2,
    vars: 2,
    body(m, t, v) {
      const [mine, other] = t === 0 ? [v[0]!, v[1]!] : [v[1]!, v[0]!];
      m.plainStore(mine, 1, F);
      return [m.plainLoad(other, F)];
    },
    scForbidden: ['0,0'],
    tsoForbidden: [],
  },
  'sb-atomics': {
    name: 'sb-atomics',
    description: 'store buffering with Atomics: x=1; r0=y || y=1; r1=x. 0,0 is forbidden.',
    threads: 2,
    vars: 2,
    body(m, t, v) {
      const [mine, other] = t === 0 ? [v[0]!, v[1]!] : [v[1]!, v[0]!];
      m.store(mine, 1);
      return [m.load(other)];
    },
    scForbidden: ['0,0'],
    tsoForbidden: ['0,0'],
  },
  'mp-plain': {
    name: 'mp-plain',
    description: 'message passing with plain accesses: x=1; y=1 || r0=y; r1=x. TSO keeps store order: 1,0 is forbidden.',
    threads: 2,
    vars: 2,
    body(m, t, v) {
      if (t === 0) {
        m.plainStore(v[0]!, 1, F);
        m.plainStore(v[1]!, 1, F);
        return [];
      }
      const r0 = m.plainLoad(v[1]!, F);
      return [r0, m.plainLoad(v[0]!, F)];
    },
    scForbidden: ['1,0'],
    tsoForbidden: ['1,0'],
  },
  'order-window': {
    name: 'order-window',
    description:
      'a depth-2 ordering bug: x=1; (2 private loads); x=0 || (12 private loads); r0=x. r0=1 needs t1\'s load after ' +
      't0\'s first store and before its second; a random walk rarely gets t1 that far while t0 is in its window.',
    threads: 2,
    vars: 3,
    body(m, t, v) {
      const x = v[0]!;
      const mine = v[1 + t]!;
      if (t === 0) {
        m.store(x, 1);
        for (let k = 0; k < WINDOW_T0_PRIVATE; k++) m.load(mine);
        m.store(x, 0);
        return [];
      }
      for (let k = 0; k < WINDOW_T1_PRIVATE; k++) m.load(mine);
      return [m.load(x)];
    },
    scForbidden: [],
    tsoForbidden: [],
    bug: { outcomes: ['1'], depth: 2 },
  },
};

/** A machine just big enough for a litmus program. */
export function litmusMachine(vars: number): Partial<MachineConfig> {
  return {
    normalFrames: Math.max(1, vars), movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [],
    wordsPerPage: 1, nrMms: 1, vaPages: 1, maxVmas: 1, nrFiles: 0, filePages: 0, nrCpus: 1,
  };
}

/** The outcome key of a run: every thread's registers, in thread order. */
export const litmusOutcome = (regs: readonly (readonly number[])[]): string => regs.flat().join(',');
