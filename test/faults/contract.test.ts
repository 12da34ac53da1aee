import { afterAll, describe, expect, it } from 'vitest';
import { exploreScenario, shutdownExplore } from '../../src/explore/explore.js';
import { faultExploreOptions, faultExploreScenario } from '../../src/scenario/fault-explore.js';
import { parseScenario } from '../../src/scenario/schema.js';

afterAll(() => shutdownExplore());

describe('contract oracles (scenario.contractOracles)', () => {
  it('pin-as-get trips O6 not-dma-pinned at the pin itself, trials and steps before O3 sees the damage', async () => {
    const base = { ...faultExploreScenario('pin-as-get'), faults: ['pin-as-get'] };
    const opts = { ...faultExploreOptions('pin-as-get'), seed: 1, trials: 100 };
    const damage = await exploreScenario(parseScenario(base), opts);
    const contract = await exploreScenario(parseScenario({ ...base, contractOracles: true }), opts);
    const o3 = damage.failure!;
    const o6 = contract.failure!;
    expect(o3.violations.map((v) => v.oracle)).toContain('O3 data integrity');
    expect(o6.violations[0]).toMatchObject({ oracle: 'O6 API contract', kind: 'not-dma-pinned' });
    // Earlier: in an earlier trial, or in the same trial with fewer steps run.
    expect(o6.trial < o3.trial || (o6.trial === o3.trial && o6.steps <= o3.steps)).toBe(true);
    expect(o6.trial).toBe(0); // the first pin of the first trial already breaks the contract
  }, 60_000);

  it('the fault-free model stays clean with the contract oracles on', async () => {
    const s = parseScenario({ ...faultExploreScenario('pin-as-get'), faults: [], contractOracles: true });
    const r = await exploreScenario(s, { ...faultExploreOptions('pin-as-get'), seed: 1, trials: 40, strategy: 'portfolio' });
    expect(r.outcome).toBe('clean');
  }, 60_000);
});
