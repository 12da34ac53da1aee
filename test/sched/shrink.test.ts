// Shrinking failing explore trials, and the trace columns the reader sees. Real trials on pooled
// threads with fixed seeds; each test asserts what shrinking achieved and that the result replays
// strictly to the same violation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExploreOptions, exploreScenario, replayFile, replaySchedule } from '../../src/explore/explore.js';
import { TrialRunner } from '../../src/explore/runner.js';
import { type ScheduleStep, checkScheduleFile, writeScheduleFile } from '../../src/sched/schedule.js';
import { measureSchedule, shrinkFailure } from '../../src/explore/shrink.js';
import { formatShrinkMeasures } from '../../src/report/explore-text.js';
import { formatTraceColumns, labelKind, schedulePreemptions, scheduleRuns } from '../../src/sched/trace-columns.js';
import type { ScenarioInput } from '../../src/scenario/schema.js';

const runner = new TrialRunner();
const outDir = mkdtempSync(join(tmpdir(), 'pinlab-shrink-'));
afterAll(async () => {
  await runner.destroy();
  rmSync(outDir, { recursive: true, force: true });
});

/** ODP against munmap and migration of its page (as in explore.test.ts). */
const odp = (faults: string[] = []): ScenarioInput => ({
  name: 'odp-vs-mm', seed: 1, faults,
  clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
  mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
});
/** The same race inside a bigger workload: two ODP actors on 8 pages each and a DIO bystander. */
const odpCrowd: ScenarioInput = {
  name: 'odp-crowd', seed: 1, faults: ['odp-no-retry'],
  clients: [
    { kind: 'odp', count: 2, mapping: 'file', pages: 8, bufferPages: 4, writeRatio: 1 },
    { kind: 'dio', mapping: 'anon', pages: 4, bufferPages: 2 },
  ],
  mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
};

const opts = (o: ExploreOptions): ExploreOptions => ({ runner, ...o });

describe('shrinkFailure', () => {
  it('odp-no-retry (PCT seed 1): fewer preemptions and steps, workload not grown, strict replay reproduces', async () => {
    const eo = opts({ strategy: 'pct', trials: 100, seed: 1 });
    const x = await exploreScenario(odp(['odp-no-retry']), eo);
    expect(x.outcome).toBe('violation');
    const f = x.failure!;
    const before = measureSchedule(f.schedule!);
    const s = await shrinkFailure(odp(['odp-no-retry']), eo, f, { timeoutMs: 15_000 });
    expect(s.stats.verified).toBe(true);
    expect(s.stats.target).toEqual({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte' });
    expect(s.stats.before).toEqual(before);
    const a = s.stats.after;
    expect(a).toEqual(measureSchedule(s.schedule));
    expect(a.preemptions).toBeLessThanOrEqual(before.preemptions);
    expect(a.steps).toBeLessThanOrEqual(before.steps);
    expect(a.actors).toBeLessThanOrEqual(before.actors);
    expect(a.pages).toBeLessThanOrEqual(before.pages);
    expect(a.opsPerActor).toBeLessThanOrEqual(before.opsPerActor);
    expect(a.mmSteps).toBeLessThanOrEqual(before.mmSteps);
    // Something did shrink (measured: preemptions 2 → 1, steps 172 → 159, mm steps 3 → 1).
    expect(a.preemptions + a.steps + a.mmSteps).toBeLessThan(before.preemptions + before.steps + before.mmSteps);
    expect(a.preemptions).toBeGreaterThanOrEqual(1); // the bug needs the coordinator to run first
    expect(s.stats.log.length).toBe(s.stats.accepted);
    expect(formatShrinkMeasures(s.stats.before, a)).toMatch(/^preemptions \d+ → \d+, steps \d+ → \d+, actors 1 → 1, pages 1 → 1/);
    // The result is a valid schedule file that replays strictly, twice, from disk too.
    expect(() => checkScheduleFile(s.schedule)).not.toThrow();
    expect(s.scenario.faults).toEqual(['odp-no-retry']);
    for (let i = 0; i < 2; i++) {
      const r = await replaySchedule(s.schedule, { runner });
      expect(r.outcome).toBe('reproduced');
      expect(r.identical).toBe(true);
      expect(r.violations[0]).toMatchObject({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte' });
    }
    const path = join(outDir, 'shrunk.json');
    writeScheduleFile(path, s.schedule);
    expect((await replayFile(path, { runner })).outcome).toBe('reproduced');
  });

  it('a crowded workload loses its bystanders: fewer actors and pages, the same violation', async () => {
    const eo = opts({ strategy: 'pct', trials: 300, seed: 1 });
    const x = await exploreScenario(odpCrowd, eo);
    expect(x.outcome).toBe('violation');
    const f = x.failure!;
    const s = await shrinkFailure(odpCrowd, eo, f, { timeoutMs: 20_000 });
    const { before, after } = s.stats;
    expect(s.stats.verified).toBe(true);
    expect(before).toMatchObject({ actors: 3, pages: 20 });
    expect(after.actors).toBeLessThan(before.actors);
    expect(after.pages).toBeLessThan(before.pages);
    expect(after.preemptions).toBeLessThanOrEqual(before.preemptions);
    expect(after.steps).toBeLessThan(before.steps);
    expect(s.schedule.participants).toContain('coordinator');
    expect(s.schedule.participants.length).toBe(after.actors + 1);
    const r = await replaySchedule(s.schedule, { runner });
    expect(r.outcome).toBe('reproduced');
    expect(r.violations[0]!.kind).toBe('stale-device-pte');
  });

  it('a spent time budget keeps a schedule that still replays (the original at worst)', async () => {
    const eo = opts({ strategy: 'pct', trials: 100, seed: 1 });
    const x = await exploreScenario(odp(['odp-no-retry']), eo);
    const s = await shrinkFailure(odp(['odp-no-retry']), eo, x.failure!, { timeoutMs: 1 });
    expect(s.stats.stoppedBy).toBe('time');
    expect(s.stats.verified).toBe(true);
    expect(s.stats.after.steps).toBeLessThanOrEqual(s.stats.before.steps);
    expect((await replaySchedule(s.schedule, { runner })).outcome).toBe('reproduced');
  });

  it('an O5 livelock (no operation finished within the window) replays strictly to the same step, and shrinks to one actor', async () => {
    const slowPins: ScenarioInput = {
      name: 'slow-pins-vs-munmap', seed: 5,
      clients: [
        { kind: 'rdma', count: 2, mapping: 'file', pages: 4, bufferPages: 2, fast: false, holdOps: 1 },
        { kind: 'dio', mapping: 'anon', pages: 4, bufferPages: 2, fast: false },
      ],
      mm: { writeback: 1, munmap: 3, migrate: 1, reclaim: 1, truncate: 0 },
    };
    const eo = opts({ strategy: 'random', trials: 3, seed: 4, livelockWindow: 64 });
    const x = await exploreScenario(slowPins, eo);
    expect(x.outcome).toBe('livelock');
    const r = await replaySchedule(x.failure!.schedule!, { runner });
    expect(r).toMatchObject({ outcome: 'reproduced', identical: true, steps: x.failure!.steps });
    const s = await shrinkFailure(slowPins, eo, x.failure!, { timeoutMs: 10_000 });
    expect(s.stats.verified).toBe(true);
    expect(s.stats.after).toMatchObject({ actors: 1, preemptions: 0 });
    expect(s.stats.after.steps).toBeGreaterThanOrEqual(64); // at least the window
    expect((await replaySchedule(s.schedule, { runner })).violations[0]).toMatchObject({ oracle: 'O5 liveness', kind: 'livelock' });
  });

  it('a trial without a violation is not shrunk', async () => {
    const eo = opts({ strategy: 'random', trials: 2, seed: 4 });
    const x = await exploreScenario(odp(), { ...eo, livelockWindow: 64 }); // no operation finished within 64 steps: O5
    expect(x.outcome).toBe('livelock');
    const f = { ...x.failure!, violations: [], schedule: { ...x.failure!.schedule!, violation: null, violations: [] } };
    const s = await shrinkFailure(odp(), eo, f);
    expect(s.stats.stoppedBy).toBe('skipped');
    expect(s.schedule).toBe(f.schedule);
  });
});

describe('trace columns', () => {
  const step = (actor: string, rest: string): ScheduleStep => ({ actor, label: `${actor} ${rest}` });
  const steps: ScheduleStep[] = [
    step('a', 'start'),
    step('a', 'load x'),
    step('b', 'start'), // a preempted (a's next step is not a wake)
    step('b', 'rmw lock (op)'),
    step('b', 'wait lock (op)'),
    step('a', 'store lock'), // b blocked: forced
    { actor: 'b', label: 'b flush pte[1]', flush: true },
    step('a', 'end'),
    step('b', 'wake lock (op)'), // a done: forced
    step('b', 'end'),
  ];

  it('classifies switches: preemptions, blocks, ends; flushes do not switch', () => {
    expect(labelKind('dio#0 wake(timeout) mm0.mmap_lock (pin)')).toBe('wake');
    expect(labelKind('coordinator event pte-cleared pte[16] (munmap)')).toBe('event');
    expect(scheduleRuns(steps).map((r) => [r.actor, r.start, r.end, r.exit])).toEqual([
      ['a', 0, 2, 'preempted'], ['b', 2, 5, 'blocked'], ['a', 5, 8, 'done'], ['b', 8, 10, 'last'],
    ]);
    expect(schedulePreemptions(steps)).toEqual({ switches: 3, preemptions: 1, points: [2] });
  });

  it('one column per participant, preemptions marked, long runs collapsed', () => {
    const lines = formatTraceColumns(steps, { participants: ['a', 'b'] });
    expect(lines[0]).toMatch(/step\s+a\s+\| b$/);
    const row = (i: number): string => lines.find((l) => l.trimStart().startsWith(`${i} `))!;
    expect(row(2)).toMatch(/▶\s+\|\s+start/);
    expect(row(5)).not.toContain('▶');
    expect(row(6)).toContain('(sb) flush pte[1]');
    // A 300-step schedule of two long runs per participant stays short.
    const long: ScheduleStep[] = [];
    for (let r = 0; r < 4; r++) for (let i = 0; i < 75; i++) long.push(step(r % 2 === 0 ? 'p' : 'q', i === 30 ? 'event pte-cleared pte[3] (munmap)' : `load w[${i}]`));
    const t = formatTraceColumns(long);
    expect(t.length).toBeLessThan(40);
    expect(t.filter((l) => l.includes('… ')).length).toBeGreaterThanOrEqual(4);
    expect(t.filter((l) => l.includes('event pte-cleared')).length).toBe(4);
    // p→q and q→p are preemptions; the last p→q is not (p has nothing left: its run ended it).
    expect(t.filter((l) => l.includes('▶')).length).toBe(2);
  });
});
