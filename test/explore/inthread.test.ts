/**
 * The in-thread engine (src/explore/inthread/) against the baton engine: the same (strategy, seed,
 * trial) gives the same trace, outcome and schedule in both — litmus programs and small scenarios
 * of the model, clean and with a catalogue fault — and a schedule written by one replays in the
 * other. Plus engine selection: custom clients stay on the baton engine, bad names are bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExploreStrategy, exploreScenario, replaySchedule, shutdownExplore } from '../../src/explore/explore.js';
import { InThreadRunner, inThreadBlocker, loadInThreadDriver, parseEngine } from '../../src/explore/inthread/engine.js';
import { LITMUS } from '../../src/sched/litmus.js';
import { runLitmusTrial } from '../../src/explore/litmus-explore.js';
import { type TrialRunner, type TrialSpec } from '../../src/explore/runner.js';
import { type ScenarioInput, parseScenario } from '../../src/scenario/schema.js';
import { machinePoolStats, prepareTrialMachine, setMachinePoolVerify } from '../../src/explore/machine-pool.js';
import { exploreScenarioOf } from '../../src/explore/explore.js';
import { MIXED } from '../fixtures/mixed-scenario.js';

let inThread: TrialRunner;
beforeAll(async () => {
  const d = await loadInThreadDriver(); // builds build/stepped on a clean tree (cached after)
  if (typeof d === 'string') throw new Error(d);
  inThread = new InThreadRunner(d) as unknown as TrialRunner;
}, 180_000);
afterAll(() => shutdownExplore());

const dioWriteback = (faults: string[] = []): ScenarioInput => ({
  name: 'dio-vs-writeback', seed: 1, faults, policy: 'skip',
  clients: [{ kind: 'dio', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
  mm: { writeback: 1, munmap: 0, migrate: 0, reclaim: 0, truncate: 0 },
});
const getVsMm: ScenarioInput = {
  name: 'get-vs-mm', seed: 1,
  clients: [{ kind: 'get', mapping: 'anon', pages: 2, bufferPages: 2 }, { kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1 }],
  mm: { writeback: 1, munmap: 1, migrate: 1, reclaim: 0, truncate: 1 },
};

// The crowd of every client kind (MIXED): the in-thread engine once shared the model's module-level
// page-walk scratch objects between participants (a participant preempted between its walk and the
// walk's use read another's), which only this crowd showed.

describe('the same decisions in both engines', () => {
  it('litmus programs: identical traces and outcomes (random, PCT, POS; 4 trials each)', async () => {
    for (const program of Object.keys(LITMUS)) {
      for (const strategy of ['random', 'pct', 'pos'] as const) {
        for (let trial = 0; trial < 4; trial++) {
          const a = await runLitmusTrial(program, { strategy, seed: 7, trial });
          const b = await runLitmusTrial(program, { strategy, seed: 7, trial, runner: inThread });
          expect([program, strategy, trial, b.traceHash, b.outcome]).toEqual([program, strategy, trial, a.traceHash, a.outcome]);
        }
      }
    }
  });

  it('small scenarios: identical schedules, steps and outcomes', async () => {
    for (const [input, strategy, trials] of [
      [dioWriteback(), 'random', 8], [dioWriteback(), 'pos', 4], [getVsMm, 'random', 4], [getVsMm, 'pct', 3], [MIXED, 'random', 5],
    ] as [ScenarioInput, ExploreStrategy, number][]) {
      const o = { strategy, trials, seed: 3, keepGoing: true };
      const a = await exploreScenario(input, { ...o, engine: 'baton' });
      const b = await exploreScenario(input, { ...o, engine: 'inthread' });
      expect(a.steps).toBeGreaterThan(trials * 50);
      expect({ hash: b.scheduleHash, steps: b.steps, switches: b.switches, outcome: b.outcome })
        .toEqual({ hash: a.scheduleHash, steps: a.steps, switches: a.switches, outcome: a.outcome });
    }
  });

  it('a catalogue fault: the same failing trial, and each engine replays the other one\'s schedule', async () => {
    const o = { strategy: 'pct' as const, depth: 2, trials: 200, seed: 4 };
    const a = await exploreScenario(dioWriteback(['gup-fast-no-recheck']), { ...o, engine: 'baton' });
    const b = await exploreScenario(dioWriteback(['gup-fast-no-recheck']), { ...o, engine: 'inthread' });
    expect(a.outcome).toBe('violation');
    expect(b.failure!.trial).toBe(a.failure!.trial);
    expect(b.failure!.violations).toEqual(a.failure!.violations);
    const ab = await replaySchedule(a.failure!.schedule!, { engine: 'inthread' });
    const ba = await replaySchedule(b.failure!.schedule!, { engine: 'baton' });
    expect([ab.reproduced, ab.identical, ba.reproduced, ba.identical]).toEqual([true, true, true, true]);
  });
});

describe('the machine reused between in-thread trials (src/explore/machine-pool.ts)', () => {
  it('every restore gives back the booted machine and lab, word for word, over clients, mm operations, faults and contract oracles', async () => {
    const wide: ScenarioInput = {
      name: 'pool-wide', seed: 2,
      clients: [
        { kind: 'rdma', mapping: 'file', pages: 2, bufferPages: 2, holdOps: 1 },
        { kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 },
        { kind: 'get', mapping: 'anon', pages: 2, bufferPages: 2 },
      ],
      mm: { writeback: 1, munmap: 1, migrate: 1, reclaim: 1, truncate: 1 },
    };
    const fork: ScenarioInput = {
      name: 'pool-fork', seed: 3, clients: [{ kind: 'fork', mapping: 'anon', pages: 1, bufferPages: 1 }, { kind: 'buffered', mapping: 'file', pages: 1, bufferPages: 1 }],
      mm: { writeback: 1, munmap: 0, migrate: 1, reclaim: 0, truncate: 0 },
    };
    setMachinePoolVerify(true);
    try {
      const before = machinePoolStats.restores;
      // plain-pte-clear: plain stores and store-buffer flushes; gup-fast-no-recheck: the sb-contract records.
      for (const [input, trials] of [[wide, 12], [fork, 8], [dioWriteback(['plain-pte-clear']), 12], [dioWriteback(['gup-fast-no-recheck']), 12]] as const) {
        const r = await exploreScenario(input, { strategy: 'random', trials, seed: 5, keepGoing: true, engine: 'inthread' });
        expect(r.trials).toBe(trials);
        expect(r.outcome === 'clean' || r.failures.every((f) => f.errors.length === 0)).toBe(true);
      }
      expect(machinePoolStats.restores - before).toBe(12 + 8 + 12 + 12 - 4); // every trial but each campaign's first
    } finally {
      setMachinePoolVerify(false);
    }
  });

  it('the check names a write that bypassed the write map, and a tracked write is undone', () => {
    const base = exploreScenarioOf(parseScenario(dioWriteback()));
    const first = prepareTrialMachine(base, { ...base, seed: 11 });
    const word = first.k.layout.dataOff + 3;
    const booted = first.k.mem.load(word);
    first.k.mem.store(word, booted + 7); // through the Mem: marked, so undone
    first.release();
    setMachinePoolVerify(true);
    try {
      const second = prepareTrialMachine(base, { ...base, seed: 12 });
      expect(second.k.mem.load(word)).toBe(booted);
      expect(second.plan.scenario.seed).toBe(12);
      Atomics.store(new Int32Array(second.k.mem.sab), word, booted + 1); // behind the Mem's back
      second.release();
      expect(() => prepareTrialMachine(base, { ...base, seed: 13 })).toThrow(`machine word ${word} is ${booted + 1} after the restore, ${booted} when booted`);
    } finally {
      setMachinePoolVerify(false);
    }
  });
});

describe('engine selection', () => {
  it('custom clients stay on the baton engine; a bad engine name is named', () => {
    const spec = {
      participants: [{ role: 'client', spec: { kind: 'custom', name: 'mine#0' } }],
    } as unknown as TrialSpec;
    expect(inThreadBlocker(spec)).toMatch(/custom client mine#0/);
    expect(parseEngine('inthread')).toBe('inthread');
    expect(() => parseEngine('fast')).toThrow(/engine must be one of auto, baton, inthread, got "fast"/);
  });
});
