import { afterAll, describe, expect, it } from 'vitest';
import { type ExploreTrialReport, exploreScenario, runExploreTrial, shutdownExplore } from '../../src/explore/explore.js';
import { faultExploreOptions, faultExploreScenario } from '../../src/scenario/fault-explore.js';
import { parseScenario, type ScenarioInput } from '../../src/scenario/schema.js';

/** Where in the failing trial's violation log (recording order) the first violation of `oracle` (and `kind`) sits; -1 none. */
const at = (f: ExploreTrialReport, oracle: string, kind?: string): number =>
  f.violations.findIndex((v) => v.oracle.startsWith(`${oracle} `) && (kind === undefined || v.kind === kind));

/** The fault's setup explored twice: contract oracles off (the damage) and on (the contract). */
async function damageAndContract(name: string, trials?: number): Promise<{ o3: ExploreTrialReport; o6: ExploreTrialReport }> {
  const base = { ...faultExploreScenario(name), faults: [name] };
  const opts = { ...faultExploreOptions(name), ...(trials !== undefined ? { trials } : {}) };
  const damage = await exploreScenario(parseScenario({ ...base, contractOracles: false }), opts);
  const contract = await exploreScenario(parseScenario({ ...base, contractOracles: true }), opts);
  return { o3: damage.failure!, o6: contract.failure! };
}

afterAll(() => shutdownExplore());

describe('contract oracles (scenario.contractOracles; explore turns them on unless it is false)', () => {
  it('pin-as-get trips O6 not-dma-pinned at the pin itself, trials and steps before O3 sees the damage', async () => {
    const base = { ...faultExploreScenario('pin-as-get'), faults: ['pin-as-get'] };
    const opts = { ...faultExploreOptions('pin-as-get'), seed: 1, trials: 100 };
    const damage = await exploreScenario(parseScenario({ ...base, contractOracles: false }), opts);
    const contract = await exploreScenario(parseScenario({ ...base, contractOracles: true }), opts);
    const o3 = damage.failure!;
    const o6 = contract.failure!;
    expect(o3.violations.map((v) => v.oracle)).toContain('O3 data integrity');
    expect(o6.violations[0]).toMatchObject({ oracle: 'O6 API contract', kind: 'not-dma-pinned' });
    // Earlier: in an earlier trial, or in the same trial with fewer steps run.
    expect(o6.trial < o3.trial || (o6.trial === o3.trial && o6.steps <= o3.steps)).toBe(true);
    expect(o6.trial).toBe(0); // the first pin of the first trial already breaks the contract
  }, 60_000);

  it('gup-fast-no-recheck trips O6 sb-contract when the pin is kept, in the trial O3 sees the damage, before O3 records it', async () => {
    const { o3, o6 } = await damageAndContract('gup-fast-no-recheck');
    expect(at(o3, 'O3', 'unstable-page')).toBeGreaterThanOrEqual(0);
    expect(at(o3, 'O6')).toBe(-1);
    const sb = at(o6, 'O6', 'sb-contract');
    expect(sb).toBe(0); // the first violation of the trial
    const v = o6.violations[sb]!;
    expect(v.actors).toContain('dio#0');
    expect(v.page).toBeGreaterThanOrEqual(0);
    expect(v.detail).toMatch(/store-buffering pair/);
    // Earlier: an earlier trial, or the same trial with the contract recorded before O3's damage.
    expect(o6.trial < o3.trial || (o6.trial === o3.trial && sb < at(o6, 'O3'))).toBe(true);
  }, 60_000);

  it('plain-pte-clear on one page: PCT trips O6 sb-contract in trial 112, where O3 sees no damage in 200 trials', async () => {
    // The store-buffered write-protect races a single-page DIO writer: without a second page to
    // delay the DMA past writeback's snapshot, the broken pair leaves no damage O3 can see.
    const name = 'plain-pte-clear';
    const s: ScenarioInput = {
      ...faultExploreScenario(name), faults: [name],
      clients: [{ kind: 'dio', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
    };
    const opts = { ...faultExploreOptions(name), strategy: 'pct' as const, seed: 1, trials: 200 };
    const damage = await exploreScenario(parseScenario({ ...s, contractOracles: false }), opts);
    const contract = await exploreScenario(parseScenario({ ...s, contractOracles: true }), opts);
    expect(damage.outcome).toBe('clean');
    const f = contract.failure!;
    expect(f.violations[0]).toMatchObject({ oracle: 'O6 API contract', kind: 'sb-contract' });
    expect(f.trial).toBe(112);
  }, 60_000);

  it('gup-fast-no-recheck against migration trips O6 dma-stale-frame (PCT trial 1211), where O3 sees no damage in as many trials', async () => {
    // gup-fast reads the PTE, migration moves the page and drops it from the page cache, the grab
    // lands on the old frame before its last put, and nothing re-checks: the DIO writes a frame
    // the file no longer has. The next fault maps the new page, so no oracle of the damage sees it.
    const s: ScenarioInput = {
      ...faultExploreScenario('gup-fast-no-recheck'), name: 'contract-migrate', faults: ['gup-fast-no-recheck'],
      mm: { writeback: 0, munmap: 0, migrate: 1, reclaim: 0, truncate: 0 },
    };
    const opts = { strategy: 'pct' as const, depth: 3, seed: 1, trials: 1212, opsPerActor: 3, mmSteps: 3 };
    const contract = await exploreScenario(parseScenario({ ...s, contractOracles: true }), opts);
    const f = contract.failure!;
    expect(f.trial).toBe(1211);
    expect(f.violations[0]).toMatchObject({ oracle: 'O6 API contract', kind: 'dma-stale-frame', actors: expect.arrayContaining(['dio#0']) });
    expect(f.violations[0]!.detail).toMatch(/the page cache holds pfn \d+/);
    const damage = await exploreScenario(parseScenario({ ...s, contractOracles: false }), opts);
    expect(damage.outcome).toBe('clean');
  }, 120_000);

  it('the fault-free model stays clean with the contract oracles on', async () => {
    const s = parseScenario({ ...faultExploreScenario('pin-as-get'), faults: [], contractOracles: true });
    const r = await exploreScenario(s, { ...faultExploreOptions('pin-as-get'), seed: 1, trials: 40, strategy: 'portfolio' });
    expect(r.outcome).toBe('clean');
  }, 60_000);

  // Both halves of the store-buffering pair race in these twins: DIO writers' gup-fast against
  // writeback's page_mkclean under a policy that asks about pins (two writers: one can fault the
  // entry writable again between the other's read and re-check, the ABA the oracle must allow).
  const twins: [string, ScenarioInput][] = [
    ['gup-fast-no-recheck', faultExploreScenario('gup-fast-no-recheck', false)],
    ['plain-pte-clear', faultExploreScenario('plain-pte-clear', false)],
    ['migrate and truncate', {
      ...faultExploreScenario('gup-fast-no-recheck', false), name: 'contract-migrate-truncate',
      mm: { writeback: 0, munmap: 0, migrate: 1, reclaim: 0, truncate: 1 },
    }],
    ['two writers', {
      ...faultExploreScenario('gup-fast-no-recheck', false), name: 'contract-two-writers',
      clients: [{ kind: 'dio', count: 2, mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
    }],
  ];
  /** Trials per twin and strategy (4 twins x 4 strategies). */
  const TWIN_TRIALS = 40;
  for (const strategy of ['random', 'pct', 'pos', 'surw'] as const) {
    it(`the fault-free twins stay clean with the contract oracles on (${strategy}, seed 1)`, async () => {
      for (const [what, twin] of twins) {
        const s = parseScenario({ ...twin, faults: [], contractOracles: true });
        const r = await exploreScenario(s, { ...faultExploreOptions('gup-fast-no-recheck'), strategy, seed: 1, trials: TWIN_TRIALS });
        expect(r.outcome, `${what}: ${r.failure?.violations.map((v) => v.kind).join(', ')}`).toBe('clean');
        expect(r.trials).toBe(TWIN_TRIALS);
      }
    }, 120_000);
  }

  it('a pin taken while a punch runs (between its two epoch bumps) is exempt from dma-stale-frame (POS seed 1, trial 194 and its neighbours)', async () => {
    // DIO and a holding RDMA client on one file against writeback, migration and truncate; without
    // the odd-epoch exemption POS seed 1 reports a false dma-stale-frame at trial 194.
    const s = parseScenario({
      name: 'contract-punch', seed: 1, era: 'v6.3', policy: 'skip', contractOracles: true,
      clients: [
        { kind: 'dio', count: 2, mapping: 'file', file: 0, pages: 2, bufferPages: 1, writeRatio: 1 },
        { kind: 'rdma', mapping: 'file', file: 0, offset: 2, pages: 2, bufferPages: 1, holdOps: 2, writeRatio: 1 },
      ],
      mm: { writeback: 2, munmap: 0, migrate: 1, reclaim: 0, truncate: 1, intervalUs: 50, writebackUs: 500 },
    });
    // A trial is a pure function of (strategy, seed, trial): run the one that reported it, and its neighbours.
    for (const t of [193, 194, 195]) {
      const r = await runExploreTrial(s, { strategy: 'pos', seed: 1, opsPerActor: 4, mmSteps: 4 }, t);
      expect(r.violations.map((v) => v.detail), `trial ${t}`).toEqual([]);
      expect(r.errors, `trial ${t}`).toEqual([]);
    }
  }, 120_000);
});
