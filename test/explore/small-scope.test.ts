import { afterAll, describe, expect, it } from 'vitest';
import { replaySchedule, shutdownExplore } from '../../src/explore/explore.js';
import { exploreSmallScope } from '../../src/explore/small-scope.js';
import { applyOverrides, loadScenario } from '../../src/scenario/load.js';
import { MM_KINDS, smallScopeConfigs } from '../../src/scenario/small-scope.js';

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

describe('small-scope campaigns', () => {
  it('find odp-no-retry from the default scenario with no hints, name the configuration, and the schedule replays', async () => {
    const s = applyOverrides(await loadScenario(undefined), { faults: ['odp-no-retry'] });
    const r = await exploreSmallScope(s, { seed: 1, trials: 400 });
    expect(r.outcome).toBe('violation');
    expect(r.failure?.violations[0]).toMatchObject({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte' });
    const by = r.smallScope.foundBy!;
    expect(by.id).toMatch(/odp/);
    expect(r.smallScope.configurations.find((c) => c.id === by.id)?.found).toBe('O4 ODP protocol: stale-device-pte');
    const again = await exploreSmallScope(s, { seed: 1, trials: 400 });
    expect(again.trials).toBe(r.trials); // deterministic: the same trial of the same configuration
    expect(again.smallScope.foundBy?.id).toBe(by.id);
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
