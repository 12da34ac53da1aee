import { afterAll, describe, expect, it } from 'vitest';
import { replaySchedule, shutdownExplore } from '../../src/explore/explore.js';
import { exploreSmallScope } from '../../src/explore/small-scope.js';
import { applyOverrides, loadScenario } from '../../src/scenario/load.js';
import { MM_KINDS, WIDEN_FAMILIES, smallScopeConfigs } from '../../src/scenario/small-scope.js';

afterAll(() => shutdownExplore());

describe('small-scope configurations', () => {
  it('of the default scenario: one or two client entries (two actors at most), one mm kind, one or two pages; then a wider tier', async () => {
    const s = await loadScenario(undefined);
    const cs = smallScopeConfigs(s);
    const small = cs.filter((c) => c.tier === 'small');
    expect(small.length).toBeGreaterThan(100);
    for (const c of small) {
      expect(c.scenario.clients.reduce((n, x) => n + x.count, 0)).toBeLessThanOrEqual(2);
      expect(MM_KINDS.filter((k) => c.scenario.mm[k] > 0).length).toBeLessThanOrEqual(1);
      expect(Math.max(...c.scenario.clients.map((x) => x.pages))).toBeLessThanOrEqual(2);
      expect(c.opsPerActor).toBeLessThanOrEqual(2);
    }
    expect(new Set(cs.map((c) => c.id)).size).toBe(cs.length);
    expect(cs.at(-1)?.scenario).toBe(s); // the scenario as given is the widest
    expect(smallScopeConfigs(s).map((c) => c.id)).toEqual(cs.map((c) => c.id));
  });
});

describe('the widen tier', () => {
  it('varies one dimension at a time from the scenario and the machine/era facts, never from the faults', async () => {
    const s = await loadScenario(undefined);
    const widen = smallScopeConfigs(s).filter((c) => c.tier === 'widen');
    expect(new Set(widen.map((c) => c.family))).toEqual(new Set(WIDEN_FAMILIES));
    const ids = widen.map((c) => c.id);
    // Other mappings the default machine offers (CMA, 2 MB hugetlb), alone and shared; none the era refuses.
    for (const id of ['dio:cma / none / 3ops', 'rdma:cma / none / 3ops', 'dio:hugetlb-2m / none / 3ops', '2×rdma:cma shared / none / 3ops', 'odp:anon / none / 3ops']) {
      expect(ids).toContain(id);
    }
    expect(ids.filter((id) => /^(2×)?rdma:file/.test(id))).toEqual([]); // v6.18 refuses writable longterm file pins
    expect(ids.filter((id) => /^(2×)?odp:hugetlb/.test(id))).toEqual([]);
    for (const c of widen) {
      expect(c.scenario.clients.reduce((n, x) => n + x.count, 0)).toBeLessThanOrEqual(2);
      expect(MM_KINDS.filter((k) => c.scenario.mm[k] > 0).length).toBeLessThanOrEqual(2);
      // Long sequences only for the clients alone (their own multi-step protocols); with mm steps at most 4 ops.
      expect(c.opsPerActor).toBeLessThanOrEqual(c.mmSteps > 0 ? 4 : 16);
    }
    // Every family shows up early: the first 20 widen configurations hold all five.
    expect(new Set(widen.slice(0, 20).map((c) => c.family)).size).toBe(WIDEN_FAMILIES.length);
    // An older era lets RDMA register file pages; faults change nothing.
    expect(smallScopeConfigs({ ...s, era: 'v6.3' }).some((c) => c.id.startsWith('rdma:file'))).toBe(true);
    expect(smallScopeConfigs({ ...s, faults: ['odp-no-retry', 'cma-unpin-put-page'] }).map((c) => c.id)).toEqual(smallScopeConfigs(s).map((c) => c.id));
  });
});

describe('small-scope campaigns', () => {
  it('find odp-no-retry from the default scenario with no hints and name the configuration', async () => {
    const s = applyOverrides(await loadScenario(undefined), { faults: ['odp-no-retry'] });
    const r = await exploreSmallScope(s, { seed: 1, trials: 400 });
    expect(r.outcome).toBe('violation');
    expect(r.failure?.violations[0]).toMatchObject({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte' });
    const by = r.smallScope.foundBy!;
    expect(by.id).toMatch(/odp/);
    expect(r.smallScope.configurations.find((c) => c.id === by.id)?.found).toBe('O4 ODP protocol: stale-device-pte');
  }, 120_000);

  it('find a fault of a mapping the default scenario does not use (CMA) in the first round, name the widened configuration, and the schedule replays', async () => {
    const s = applyOverrides(await loadScenario(undefined), { faults: ['cma-unpin-put-page'] });
    const r = await exploreSmallScope(s, { seed: 1, trials: 200 });
    expect(r.failure?.violations[0]).toMatchObject({ oracle: 'O2 conservation' });
    expect(r.smallScope.foundBy?.id).toMatch(/rdma:cma/);
    expect(r.smallScope.configurations.find((c) => c.id === r.smallScope.foundBy?.id)).toMatchObject({ tier: 'widen', family: 'mapping' });
    const again = await exploreSmallScope(s, { seed: 1, trials: 200 });
    expect(again.trials).toBe(r.trials); // deterministic: the same trial of the same configuration
    expect(again.smallScope.foundBy?.id).toBe(r.smallScope.foundBy?.id);
    const rep = await replaySchedule(r.failure!.schedule!);
    expect(rep.outcome).toBe('reproduced');
  }, 120_000);

  it('the fault-free default scenario stays clean over every strategy of the portfolio', async () => {
    const r = await exploreSmallScope(await loadScenario(undefined), { seed: 1, trials: 160 });
    expect(r.outcome).toBe('clean');
    expect(Object.keys(r.coverage.byStrategy).sort()).toEqual(['pct', 'pos', 'random', 'surw']);
    expect(r.smallScope.covered).toBe(40);
    expect(r.coverage.racingPairOrders).toBeGreaterThan(0);
  }, 120_000);
});
