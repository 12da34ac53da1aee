// The sweep engine with a deterministic runner (the figures are a function of cell and seed), so
// sharding, merging and Ctrl-C are checked exactly; the statistics against known values.
import { describe, expect, it } from 'vitest';
import { zeroMetrics } from '../../src/report/metrics.js';
import { formatSweepCsv, formatSweepText } from '../../src/report/sweep-text.js';
import type { RunReport } from '../../src/report/types.js';
import { REPORT_SCHEMA_VERSION } from '../../src/report/types.js';
import { DEFAULT_SCENARIO, ScenarioError, parseScenario, type Scenario } from '../../src/scenario/schema.js';
import { gridCells, inShard, parseShard, parseVary, setPath } from '../../src/sweep/grid.js';
import { mergeSweeps } from '../../src/sweep/merge.js';
import { runSweep, type SweepRunner } from '../../src/sweep/sweep.js';
import { meanCi, percentile, wilsonCi } from '../../src/util/stats.js';

const base = parseScenario({ ...DEFAULT_SCENARIO, durationMs: 100, seed: 10 });

/** A run whose figures follow from (policy, first client count, seed) only. */
const fake: SweepRunner = async (s: Scenario) => {
  const k = s.policy.length + (s.clients[0]?.count ?? 0) * 7 + s.seed * 3;
  const metrics = zeroMetrics();
  metrics.lostWrites = s.policy === 'ignore' ? k % 5 : 0;
  metrics.bounced = { pages: k, bytes: k * 4096 };
  metrics.writeback.latencyUs = { p50: k, p99: 2 * k, max: 3 * k };
  const report: RunReport = {
    schema: REPORT_SCHEMA_VERSION, scenario: s, outcome: metrics.lostWrites > 0 ? 'violation' : 'clean', stoppedBy: 'duration', durationMs: 100,
    actors: [], mm: {}, oracle: { checks: 0, falsePositives: {}, invalidations: 0 }, totals: { pins: 0, ops: 0, opsPerSec: 0 }, metrics,
    vmstat: {}, warnings: {}, bugs: {},
    violations: metrics.lostWrites > 0 ? [{ oracle: 'O3 data integrity', kind: 'lost-write', page: k, actors: ['dio#0'], detail: 'x', events: {} }] : [],
    failures: [],
  };
  return report;
};

const axes = [parseVary('policy=mainline,ignore,bounce'), parseVary('clients.0.count=1,2')];

describe('the grid', () => {
  it('parses --vary values as numbers, booleans or strings, and rejects a malformed one', () => {
    expect(parseVary('clients.0.count=1,2,4')).toEqual({ path: 'clients.0.count', values: [1, 2, 4] });
    expect(parseVary('oracles=true,false').values).toEqual([true, false]);
    expect(parseVary('era=v5.7,v6.3').values).toEqual(['v5.7', 'v6.3']);
    expect(() => parseVary('policy')).toThrow(ScenarioError);
    expect(() => parseVary('policy=a,,b')).toThrow(/empty value/);
  });

  it('sets dotted paths, refuses missing list entries, and validates every cell before running', () => {
    expect((setPath(base, 'clients.1.count', 5) as Scenario).clients[1]!.count).toBe(5);
    expect(base.clients[1]!.count).toBe(1); // a copy
    expect(() => setPath(base, 'clients.9.count', 1)).toThrow(/clients.9: no such entry/);
    const cells = gridCells(base, axes);
    expect(cells.map((c) => c.label)).toEqual([
      'policy=mainline clients.0.count=1', 'policy=mainline clients.0.count=2', 'policy=ignore clients.0.count=1',
      'policy=ignore clients.0.count=2', 'policy=bounce clients.0.count=1', 'policy=bounce clients.0.count=2',
    ]);
    expect(() => gridCells(base, [parseVary('policy=mainline,nosuch')])).toThrow(/cell policy=nosuch: policy:/);
  });

  it('shards round-robin, i from JOB_COMPLETION_INDEX with /N', () => {
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
    expect(parseShard('/4', { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 2, count: 4 });
    expect(parseShard(undefined, { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 0, count: 1 });
    expect(() => parseShard('3/3')).toThrow(/0 <= i < N/);
    expect(() => parseShard('/4', {})).toThrow(/JOB_COMPLETION_INDEX is not set/);
    const units = Array.from({ length: 10 }, (_, u) => u);
    const shards = [0, 1, 2].map((i) => units.filter((u) => inShard(u, { index: i, count: 3 })));
    expect(shards.flat().sort((a, b) => a - b)).toEqual(units);
  });
});

describe('statistics', () => {
  it('Student-t interval of a mean, Wilson interval of a proportion, nearest-rank percentiles', () => {
    const m = meanCi([1, 2, 3]);
    expect(m.mean).toBe(2);
    expect(m.sd).toBeCloseTo(1, 12);
    expect(m.hi - m.mean).toBeCloseTo(4.303 / Math.sqrt(3), 3); // t(0.975, 2) = 4.303
    expect(meanCi([5])).toMatchObject({ n: 1, mean: 5, lo: 5, hi: 5 });
    const w = wilsonCi(0, 2);
    expect(w.lo).toBe(0);
    expect(w.hi).toBeCloseTo(0.658, 3);
    expect(wilsonCi(5, 10).lo).toBeCloseTo(0.2366, 3);
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99)).toBe(99);
  });
});

describe('runSweep', () => {
  it('runs cells x repeats with the same seeds in every cell, and tabulates every cell', async () => {
    const r = await runSweep(base, axes, { repeat: 3, runner: fake });
    expect(r.status).toBe('complete');
    expect(r.runs).toHaveLength(18);
    expect(r.seeds).toEqual([10, 11, 12]);
    for (const c of r.cells) expect(r.runs.filter((x) => x.cell === c.index).map((x) => x.seed)).toEqual([10, 11, 12]);
    const ignore1 = r.cells[2]!;
    expect(ignore1.summary.violationRate.k).toBe(r.runs.filter((x) => x.cell === 2 && x.outcome === 'violation').length);
    expect(ignore1.summary.metrics['bouncedMB']!.n).toBe(3);
    const text = formatSweepText(r);
    for (const c of r.cells) expect(text).toContain(c.label);
    expect(text).toContain('Student t');
    const csv = formatSweepCsv(r).trim().split('\n');
    expect(csv[0]).toBe('cell,policy,clients.0.count,metric,unit,n,mean,lo,hi,sd,method');
    expect(csv.filter((l) => l.includes(',violationRate,'))).toHaveLength(6);
    expect(r.cells[0]!.command).toBe("npx pinlab sweep --vary policy=mainline --vary clients.0.count=1 --repeat 3 --seed 10 --duration 100ms");
  });

  it('sharded and merged equals unsharded: same cells, same runs, same summaries', async () => {
    const whole = await runSweep(base, axes, { repeat: 3, runner: fake });
    const parts = await Promise.all([0, 1, 2, 3].map((i) => runSweep(base, axes, { repeat: 3, runner: fake, shard: { index: i, count: 4 } })));
    expect(parts.map((p) => p.runs.length)).toEqual([5, 5, 4, 4]);
    expect(parts[0]!.status).toBe('partial');
    // Through JSON, as `pinlab merge` reads them, in any order.
    const merged = mergeSweeps([parts[2]!, parts[0]!, parts[3]!, parts[1]!].map((p) => JSON.parse(JSON.stringify(p))));
    expect(merged.status).toBe('complete');
    expect(merged.runs).toEqual(JSON.parse(JSON.stringify(whole.runs)));
    expect(merged.cells).toEqual(JSON.parse(JSON.stringify(whole.cells)));
    expect(merged.shards).toEqual([[0, 4], [1, 4], [2, 4], [3, 4]]);
    const half = mergeSweeps([parts[0]!, parts[1]!]);
    expect(half.status).toBe('partial');
    const other = await runSweep(base, [parseVary('policy=skip')], { repeat: 3, runner: fake });
    expect(() => mergeSweeps([whole, other], ['a.json', 'b.json'])).toThrow(/b.json: different --vary axes than a.json/);
  });

  it('Ctrl-C keeps the finished runs and drops the one it cut short', async () => {
    const ac = new AbortController();
    let n = 0;
    const runner: SweepRunner = async (s, o) => {
      const r = await fake(s, o);
      if (++n === 4) {
        ac.abort(); // arrives during the 4th run: it stops early
        return { ...r, stoppedBy: 'signal' };
      }
      return r;
    };
    const r = await runSweep(base, axes, { repeat: 2, runner, signal: ac.signal });
    expect(r.status).toBe('interrupted');
    // Seed-major order: the first seed of cells 0, 1, 2 finished, cell 3's was cut short.
    expect(r.runs.map((x) => [x.cell, x.repeat])).toEqual([[0, 0], [1, 0], [2, 0]]);
    expect(r.cells).toHaveLength(6); // every cell listed, the unrun ones with no runs
    expect(r.cells[1]!.summary.runs).toBe(1);
    expect(r.cells[5]!.summary.runs).toBe(0);
  });
});
