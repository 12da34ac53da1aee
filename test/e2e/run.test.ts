// End-to-end: real actor threads against the coordinator, with the oracles on. Fixed seeds,
// bounded durations; every test asserts that real work happened, not only that nothing failed.
import { afterAll, describe, expect, it } from 'vitest';
import { ActorPool } from '../../src/coordinator/pool.js';
import { runScenario } from '../../src/coordinator/run.js';
import { DEFAULT_SCENARIO, SAFE_POLICIES, parseScenario, type ScenarioInput } from '../../src/scenario/schema.js';
import { ERAS } from '../../src/mem/layout.js';
import { ERA_SPECS } from '../../src/kernel/era/index.js';
import { faultEntry } from '../../src/scenario/faults.js';
import { type RunReport } from '../../src/report/types.js';

const pool = new ActorPool({ size: 6 });
afterAll(() => pool.destroy());

const SHORT = 700;

function scenario(over: Partial<ScenarioInput> = {}) {
  return parseScenario({ ...DEFAULT_SCENARIO, durationMs: SHORT, ...over });
}

function expectWorkDone(r: RunReport): void {
  expect(r.totals.ops).toBeGreaterThan(1000);
  expect(r.totals.pins).toBeGreaterThan(100);
  expect(r.vmstat.nr_foll_pin_acquired).toBeGreaterThan(100);
  expect(r.vmstat.nr_foll_pin_acquired).toBe(r.vmstat.nr_foll_pin_released);
  for (const a of r.actors) expect(a.ops, `${a.name} made progress`).toBeGreaterThan(10);
  expect(r.mm.writeback ?? 0).toBeGreaterThan(0);
  expect(r.oracle.checks).toBeGreaterThan(0);
}

describe('pinlab run: the default scenario and every era x safe policy run clean', () => {
  it('default scenario (v6.3, skip)', async () => {
    const r = await runScenario(scenario(), { pool });
    expect(r.failures).toEqual([]);
    expect(r.violations).toEqual([]);
    expect(r.outcome).toBe('clean');
    expectWorkDone(r);
    expect(r.oracle.invalidations).toBeGreaterThan(0);
  });

  // Eras whose trees have native catalogue bugs report them (below); these run clean.
  for (const era of ERAS.filter((e) => ERA_SPECS[e].native.length === 0)) {
    for (const policy of SAFE_POLICIES) {
      it(`${era} / ${policy}`, async () => {
        const r = await runScenario(scenario({ era, policy, seed: 7, durationMs: 450 }), { pool });
        expect(r.violations, JSON.stringify(r.violations.slice(0, 2), null, 1)).toEqual([]);
        expect(r.outcome).toBe('clean');
        expect(r.totals.ops).toBeGreaterThan(500);
        expect(r.vmstat.nr_foll_pin_acquired).toBe(r.vmstat.nr_foll_pin_released);
      });
    }
  }
});

describe('an era with native bugs: the default scenario finds them, and nothing else', () => {
  for (const era of ERAS.filter((e) => ERA_SPECS[e].native.length > 0)) {
    it(`${era}: violations, each of a kind its native bugs (${ERA_SPECS[era].native.join(', ')}) produce`, async () => {
      const r = await runScenario(scenario({ era, policy: 'skip', seed: 7, durationMs: 1500 }), { pool });
      expect(r.outcome).toBe('violation');
      const kinds = new Set(ERA_SPECS[era].native.flatMap((n) => faultEntry(n)!.expect.kinds));
      for (const v of r.violations) expect(kinds, `${v.oracle} ${v.kind}: ${v.detail}`).toContain(v.kind);
      expect(r.totals.ops).toBeGreaterThan(500);
    });
  }
});

describe('policy ignore: the original gup-vs-writeback problem', () => {
  it('DIO and RDMA writing through pins while writeback ignores them lose writes or change pages under writeback', async () => {
    const r = await runScenario(
      scenario({
        policy: 'ignore',
        durationMs: 1500,
        seed: 3,
        clients: [
          { kind: 'dio', count: 2, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 4 },
          { kind: 'rdma', count: 1, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 8, holdOps: 400 },
        ],
        mm: { writeback: 6, munmap: 0, migrate: 0, reclaim: 3, truncate: 0, writebackUs: 200 },
      }),
      { pool },
    );
    expect(r.outcome).toBe('violation');
    const o3 = r.violations.filter((v) => v.oracle.startsWith('O3'));
    expect(o3.length).toBeGreaterThan(0);
    expect(o3.some((v) => v.kind === 'lost-write' || v.kind === 'unstable-page')).toBe(true);
    const v = o3[0]!;
    expect(v.where ?? String(v.page)).toMatch(/file 0:\d+|\d+/);
    expect(v.actors.length).toBeGreaterThan(0);
    expect(Object.values(v.events).some((evs) => evs.length > 0)).toBe(true);
  });
});

describe('ODP under munmap and migration', () => {
  it('runs clean and its invalidations really happen', async () => {
    const r = await runScenario(
      scenario({
        seed: 11,
        durationMs: 1000,
        clients: [{ kind: 'odp', count: 2, mapping: 'file', file: 1, offset: 0, pages: 32, writeRatio: 0.7 }],
        mm: { writeback: 1, munmap: 3, migrate: 3, reclaim: 1, truncate: 0 },
      }),
      { pool },
    );
    expect(r.violations).toEqual([]);
    expect(r.outcome).toBe('clean');
    expect(r.oracle.invalidations).toBeGreaterThan(10);
    const odp = r.actors.filter((a) => a.kind === 'odp');
    expect(odp.reduce((n, a) => n + (a.stats.odp_faults ?? 0), 0)).toBeGreaterThan(10);
    expect(odp.reduce((n, a) => n + (a.stats.odp_accesses ?? 0), 0)).toBeGreaterThan(100);
    expect((r.mm.munmap ?? 0) + (r.mm.migrate ?? 0)).toBeGreaterThan(5);
  });
});

describe('a worker that dies mid-run', () => {
  it('ends the run as an internal failure with a report, within a bound, and its pins are released', async () => {
    const t0 = performance.now();
    const r = await runScenario(scenario({ durationMs: 5000, seed: 5 }), {
      pool,
      chaos: { actor: 'rdma#0', afterOps: 2000, mode: 'exit' },
    });
    expect(performance.now() - t0).toBeLessThan(4000); // stopped early, not after 5 s
    expect(r.outcome).toBe('internal');
    expect(r.stoppedBy).toBe('failure');
    expect(r.actors.find((a) => a.name === 'rdma#0')!.state).toBe('dead');
    expect(r.failures.join('\n')).toMatch(/rdma#0 died/);
    expect(r.vmstat.nr_foll_pin_acquired).toBe(r.vmstat.nr_foll_pin_released);
  });

  it('the pool still runs a clean scenario afterwards', async () => {
    const r = await runScenario(scenario({ durationMs: 300 }), { pool });
    expect(r.outcome).toBe('clean');
  });
});
