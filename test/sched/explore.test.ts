// Explore mode end to end: the real protocol code on pooled threads under the deterministic
// scheduler. Fixed seeds and trial budgets; every test asserts real work or a real finding.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ExploreOptions, exploreScenario, replayFile, replaySchedule, runExploreTrial,
} from '../../src/explore/explore.js';
import { formatPctBound } from '../../src/sched/pct.js';
import { TrialRunner } from '../../src/explore/runner.js';
import { readScheduleFile } from '../../src/sched/schedule.js';
import { DEFAULT_SCENARIO, type ScenarioInput } from '../../src/scenario/schema.js';

const runner = new TrialRunner();
const outDir = mkdtempSync(join(tmpdir(), 'pinlab-explore-'));
afterAll(async () => {
  await runner.destroy();
  rmSync(outDir, { recursive: true, force: true });
});

const opts = (o: ExploreOptions): ExploreOptions => ({ runner, ...o });

/** ODP against munmap and migration of its one page. */
const odp = (faults: string[] = []): ScenarioInput => ({
  name: 'odp-vs-mm', seed: 1, faults,
  clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
  mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
});
/** A DIO writer (gup-fast) against writeback of its page. */
// Policy skip: writeback asks about pins and promises not to write a pinned page, so a missed pin
// shows as an unstable page (under mainline it would be legal without a stable-writes device).
const dioWriteback = (faults: string[] = []): ScenarioInput => ({
  name: 'dio-vs-writeback', seed: 1, faults, policy: 'skip',
  clients: [{ kind: 'dio', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
  mm: { writeback: 1, munmap: 0, migrate: 0, reclaim: 0, truncate: 0 },
});
/** Slow-path (mmap_lock) pins against munmap, migration and reclaim: lots of blocking. */
const slowPins: ScenarioInput = {
  name: 'slow-pins-vs-munmap', seed: 5,
  clients: [
    { kind: 'rdma', count: 2, mapping: 'file', pages: 4, bufferPages: 2, fast: false, holdOps: 1 },
    { kind: 'dio', mapping: 'anon', pages: 4, bufferPages: 2, fast: false },
  ],
  mm: { writeback: 1, munmap: 3, migrate: 1, reclaim: 1, truncate: 0 },
};

describe('determinism', () => {
  it('the same seed gives the same schedules twice; another seed does not', async () => {
    const a = await exploreScenario(dioWriteback(), opts({ strategy: 'random', trials: 15, seed: 11 }));
    const b = await exploreScenario(dioWriteback(), opts({ strategy: 'random', trials: 15, seed: 11 }));
    const c = await exploreScenario(dioWriteback(), opts({ strategy: 'random', trials: 15, seed: 12 }));
    expect(a.outcome).toBe('clean');
    expect(a.steps).toBeGreaterThan(15 * 50);
    expect(b.scheduleHash).toBe(a.scheduleHash);
    expect(b.steps).toBe(a.steps);
    expect(b.switches).toBe(a.switches);
    expect(c.scheduleHash).not.toBe(a.scheduleHash);
    const p1 = await exploreScenario(slowPins, opts({ strategy: 'pct', trials: 8, seed: 3 }));
    const p2 = await exploreScenario(slowPins, opts({ strategy: 'pct', trials: 8, seed: 3 }));
    expect(p2.scheduleHash).toBe(p1.scheduleHash);
    expect(p2.pct?.k).toBe(p1.pct?.k);
    const t1 = await runExploreTrial(slowPins, opts({ strategy: 'random', seed: 9 }), 4);
    const t2 = await runExploreTrial(slowPins, opts({ strategy: 'random', seed: 9 }), 4);
    expect(t2.traceHash).toBe(t1.traceHash);
    expect(t2.schedule!.steps).toEqual(t1.schedule!.steps);
  });
});

describe('faults are caught, and their schedule files replay', () => {
  it('odp-no-retry: O4 within the budget (PCT ≤ 100 trials, random ≤ 500), replayed 3× identically', async () => {
    const pct = await exploreScenario(odp(['odp-no-retry']), opts({ strategy: 'pct', trials: 100, seed: 1, outDir }));
    expect(pct.outcome).toBe('violation');
    const f = pct.failure!;
    expect(f.violations[0]).toMatchObject({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte' });
    expect(f.scheduleFile).toBeDefined();
    const file = readScheduleFile(f.scheduleFile!);
    expect(file).toMatchObject({ strategy: 'pct', trial: f.trial, seed: 1, faults: ['odp-no-retry'], participants: ['odp#0', 'coordinator'] });
    expect(file.violation).toMatchObject({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte', page: f.violations[0]!.page });
    expect(file.steps.length).toBe(f.steps);
    expect(file.steps.some((s) => /^coordinator event pte-cleared pte\[\d+\] \((munmap|migrate)\)$/.test(s.label))).toBe(true);
    for (let i = 0; i < 3; i++) {
      const r = await replayFile(f.scheduleFile!, { runner });
      expect(r.outcome).toBe('reproduced');
      expect(r.identical).toBe(true);
      expect(r.steps).toBe(file.steps.length);
    }
    const rnd = await exploreScenario(odp(['odp-no-retry']), opts({ strategy: 'random', trials: 500, seed: 1 }));
    expect(rnd.outcome).toBe('violation');
    expect(rnd.failure!.violations[0]!.kind).toBe('stale-device-pte');
    const r = await replaySchedule(rnd.failure!.schedule!, { runner });
    expect(r.reproduced).toBe(true);
  });

  it('gup-fast-no-recheck: O6 sb-contract, then O3 unstable page, under PCT d=2 within 200 trials (100 with mm steps spread), replayed', async () => {
    // Seed 4: gup-fast's write_protect_seq reads (v6.3/mm/gup.c:2912, 2937) moved the schedules; seeds
    // 1-3 are clean in 200 trials, 4-6 catch it at trials 32, 33, 103.
    const x = await exploreScenario(dioWriteback(['gup-fast-no-recheck']), opts({ strategy: 'pct', depth: 2, trials: 200, seed: 4 }));
    expect(x.outcome).toBe('violation');
    // The contract oracle sees the kept pin first (explore checks them by default), then O3 the damage.
    expect(x.failure!.violations[0]).toMatchObject({ oracle: 'O6 API contract', kind: 'sb-contract' });
    expect(x.failure!.violations.some((v) => v.oracle === 'O3 data integrity' && v.kind === 'unstable-page')).toBe(true);
    const spread = await exploreScenario(
      dioWriteback(['gup-fast-no-recheck']), opts({ strategy: 'pct', depth: 2, trials: 100, seed: 1, opsPerActor: 3, mmIntervalUs: 30 }),
    );
    expect(spread.outcome).toBe('violation');
    expect(spread.failure!.schedule).toMatchObject({ mmIntervalUs: 30, opsPerActor: 3 });
    expect(spread.failure!.schedule!.steps.some((s) => s.label === 'coordinator sleep')).toBe(true);
    expect((await replaySchedule(spread.failure!.schedule!, { runner })).identical).toBe(true);
    for (let i = 0; i < 2; i++) {
      const r = await replaySchedule(x.failure!.schedule!, { runner });
      expect(r.outcome).toBe('reproduced');
      expect(r.identical).toBe(true);
    }
  });

  it('a tampered or truncated schedule reports a divergence with both labels', async () => {
    const x = await exploreScenario(odp(['odp-no-retry']), opts({ strategy: 'pct', trials: 100, seed: 1 }));
    const file = x.failure!.schedule!;
    const i = file.steps.findIndex((s, k) => k > 10 && s.actor === 'coordinator' && s.label.includes(' load '));
    const tampered = structuredClone(file);
    tampered.steps[i] = { ...tampered.steps[i]!, label: tampered.steps[i]!.label.replace(' load ', ' store ') };
    const r = await replaySchedule(tampered, { runner });
    expect(r.outcome).toBe('divergence');
    expect(r.reproduced).toBe(false);
    expect(r.divergence).toMatchObject({ step: i, actor: 'coordinator', expected: tampered.steps[i]!.label, actual: file.steps[i]!.label });

    const short = { ...structuredClone(file), steps: file.steps.slice(0, 40) };
    const s = await replaySchedule(short, { runner });
    expect(s.outcome).toBe('divergence');
    expect(s.divergence!.step).toBe(40);
    expect(s.divergence!.expected).toMatch(/schedule ended/);
  });

  it('lenient replay (for shrinking) goes on past unfollowable steps and returns the schedule it ran', async () => {
    const x = await exploreScenario(odp(['odp-no-retry']), opts({ strategy: 'pct', trials: 100, seed: 1 }));
    const file = x.failure!.schedule!;
    const same = await replaySchedule(file, { runner, lenient: true });
    expect(same).toMatchObject({ outcome: 'reproduced', identical: true, mismatches: 0 });
    // Cut a slice out of the middle: the replay can no longer follow it, but runs to the end.
    const cut = { ...structuredClone(file), steps: [...file.steps.slice(0, 30), ...file.steps.slice(45)] };
    const r = await replaySchedule(cut, { runner, lenient: true });
    expect(r.outcome).not.toBe('divergence');
    expect(r.mismatches).toBeGreaterThan(0);
    expect(r.firstMismatch?.step).toBeGreaterThanOrEqual(30);
    expect(r.schedule!.steps.length).toBe(r.steps);
    // The schedule it ran replays strictly, to the same end.
    const again = await replaySchedule(r.schedule!, { runner });
    expect(again.outcome).not.toBe('divergence');
    expect(again.traceHash).toBe(r.traceHash);
    expect(again.violations.map((v) => v.kind)).toEqual(r.violations.map((v) => v.kind));
  });
});

describe('the model without faults raises nothing', () => {
  const budgets: [string, ScenarioInput, number][] = [
    ['odp vs munmap/migrate', odp(), 120],
    ['dio vs writeback', dioWriteback(), 120],
    ['slow pins vs munmap', slowPins, 25],
    ['default scenario (no truncate)', { ...DEFAULT_SCENARIO, mm: { ...DEFAULT_SCENARIO.mm, truncate: 0 } }, 4],
  ];
  for (const strategy of ['random', 'pct'] as const) {
    for (const [name, s, trials] of budgets) {
      it(`${strategy}: ${name}, ${trials} trials`, async () => {
        const r = await exploreScenario(s, opts({ strategy, trials, seed: 21 }));
        expect(r.failure?.violations ?? [], JSON.stringify(r.failure?.violations.slice(0, 1))).toEqual([]);
        expect(r.failure?.errors ?? []).toEqual([]);
        expect(r.outcome).toBe('clean');
        expect(r.trials).toBe(trials);
        expect(r.stepsPerSec).toBeGreaterThan(0);
      });
    }
  }
});

describe('PCT', () => {
  it('reports its bound 1/(n·k^(d−1)) and the miss probability after the clean trials', async () => {
    const r = await exploreScenario(dioWriteback(), opts({ strategy: 'pct', depth: 3, trials: 30, seed: 2 }));
    expect(r.outcome).toBe('clean');
    const p = r.pct!;
    expect(p.n).toBe(2);
    expect(p.d).toBe(3);
    expect(p.k).toBe(p.calibrationSteps);
    expect(p.k).toBeGreaterThan(20);
    expect(p.bound).toBeCloseTo(1 / (2 * p.k ** 2), 15);
    expect(p.trials).toBe(30);
    expect(p.missProbability).toBeCloseTo((1 - p.bound) ** 30, 12);
    expect(formatPctBound(p)).toMatch(/PCT n=2 k=\d+ d=3: bound 1\/\(n·k\^\(d−1\)\) = .*miss probability ≤ .* after 30 clean trials/);
    const fixed = await exploreScenario(dioWriteback(), opts({ strategy: 'pct', depth: 2, trials: 5, seed: 2, pctSteps: 100 }));
    expect(fixed.pct).toMatchObject({ k: 100, d: 2, bound: 1 / 200 });
  });
});

describe('blocking and liveness', () => {
  it('slow-path pins (mmap_lock, page-table and page locks) against munmap block and never deadlock', async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const r = await exploreScenario(slowPins, opts({ strategy, trials: 20, seed: 4 }));
      expect(r.outcome).toBe('clean');
      expect(r.counters.blocks).toBeGreaterThan(0);
      expect(r.meanStepsPerTrial).toBeGreaterThan(300);
    }
  });

  it('a trial past its step bound while still making progress is "too long", not a violation; no finished operation within the window is an O5 livelock', async () => {
    const long = await exploreScenario(slowPins, opts({ strategy: 'random', trials: 3, seed: 4, maxSteps: 64 }));
    expect(long.outcome).toBe('too-long');
    expect(long.failure!.violations).toEqual([]);
    expect(long.failure!.steps).toBe(64);
    const r = await exploreScenario(slowPins, opts({ strategy: 'random', trials: 3, seed: 4, livelockWindow: 64 }));
    expect(r.outcome).toBe('livelock');
    const v = r.failure!.violations[0]!;
    expect(v.oracle).toBe('O5 liveness');
    expect(v.detail).toMatch(/no participant finished an operation within 64 scheduling steps.*pending: /);
    // The window counts from the last finished operation: the trial stops 64 steps after it.
    expect(r.failure!.schedule!.steps.length).toBeGreaterThanOrEqual(64);
    expect(r.failure!.schedule!.steps).toHaveLength(r.failure!.steps);
    const ok = await exploreScenario(slowPins, opts({ strategy: 'random', trials: 2, seed: 4 }));
    expect(ok.outcome).toBe('clean');
  });
});
