// The explore scheduler's memory model, checked on litmus programs run by real threads under the
// baton: plain accesses go through the per-participant TSO store buffer, Atomics stay SC.
import { afterAll, describe, expect, it } from 'vitest';
import { exploreLitmus, runLitmusTrial } from '../../src/explore/litmus-explore.js';
import { TRIAL_STATUS } from '../../src/sched/layout.js';
import { TrialRunner } from '../../src/explore/runner.js';

const runner = new TrialRunner({ threads: 2 });
afterAll(() => runner.destroy());

describe('TSO store buffer (plain accesses of faults)', () => {
  it('store buffering: the 0,0 outcome appears with plain accesses, and replays identically', async () => {
    const r = await exploreLitmus('sb-plain', { strategy: 'random', trials: 150, seed: 3, runner });
    const sb = r.outcomes['0,0'];
    expect(sb, JSON.stringify(Object.keys(r.outcomes))).toBeDefined();
    expect(r.scForbiddenSeen).toEqual(['0,0']);
    expect(r.tsoForbiddenSeen).toEqual([]);
    // Every SC outcome shows up too.
    for (const o of ['0,1', '1,0', '1,1']) expect(r.outcomes[o]?.count ?? 0).toBeGreaterThan(0);
    // The schedule of that trial names the buffered stores and a flush step.
    const labels = sb!.steps.map((s) => s.label);
    expect(labels).toContain('t0 plain-store data[0]');
    expect(labels).toContain('t1 plain-load data[0]');

    // Same (seed, trial): same outcome, same trace. Replaying its steps: the same again, every time.
    const again = await runLitmusTrial('sb-plain', { strategy: 'random', seed: 3, trial: sb!.firstTrial, runner });
    expect(again.outcome).toBe('0,0');
    for (let i = 0; i < 3; i++) {
      const rep = await runLitmusTrial('sb-plain', { strategy: 'replay', steps: sb!.steps, runner });
      expect(rep.status).toBe(TRIAL_STATUS.DONE);
      expect(rep.outcome).toBe('0,0');
      expect(rep.traceHash).toBe(again.traceHash);
      expect(rep.steps).toEqual(sb!.steps);
    }
  });

  it('PCT produces the store-buffering outcome too', async () => {
    const r = await exploreLitmus('sb-plain', { strategy: 'pct', trials: 150, seed: 5, depth: 2, runner });
    expect(r.outcomes['0,0']?.count ?? 0).toBeGreaterThan(0);
  });

  it('with Atomics only, 0,0 never appears (sequential consistency)', async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const r = await exploreLitmus('sb-atomics', { strategy, trials: 150, seed: 3, runner });
      expect(r.outcomes['0,0']).toBeUndefined();
      expect(Object.keys(r.outcomes).sort()).toEqual(['0,1', '1,0', '1,1']);
    }
  });

  it('stores leave the buffer in order: message passing never sees 1,0', async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const r = await exploreLitmus('mp-plain', { strategy, trials: 150, seed: 7, runner });
      expect(r.tsoForbiddenSeen).toEqual([]);
      expect(r.outcomes['1,1']?.count ?? 0).toBeGreaterThan(0);
    }
  });

  it('a tampered schedule is a divergence naming both labels', async () => {
    const r = await exploreLitmus('sb-plain', { strategy: 'random', trials: 20, seed: 3, runner });
    const steps = Object.values(r.outcomes)[0]!.steps.slice();
    const i = steps.findIndex((s) => s.label.includes('plain-load'));
    steps[i] = { ...steps[i]!, label: steps[i]!.label.replace('data[', 'data[9') };
    const rep = await runLitmusTrial('sb-plain', { strategy: 'replay', steps, runner });
    expect(rep.status).toBe(TRIAL_STATUS.DIVERGED);
    expect(rep.divergence?.step).toBe(i);
    expect(rep.divergence?.expected?.label).toBe(steps[i]!.label);
    expect(rep.divergence?.actual).toMatch(/plain-load data\[\d\]$/);
  });
});
