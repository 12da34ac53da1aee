// The fault catalogue in explore mode: every fault of src/scenario/faults.ts that explore can show
// is caught by its setup in src/scenario/fault-explore.ts (scenario, strategy, fixed seed) within
// the setup's trial budget, and reported by the oracle (and a kind) its catalogue entry names; the
// failing schedule replays to the same violation; the same setup without the fault stays clean
// over a fixed number of trials (the whole budget, at most TWIN_MAX), and so does the very trial
// that caught the fault. Two faults explore cannot show as the model stands get the strongest
// statement that is true of them. The model without faults: a mixed scenario with every client
// kind and every mm operation stays clean for a fixed budget per strategy.
//
// Explore is deterministic: the same trials fail on every run, on any machine. Measured (2 cores):
// every detection takes under 1 s once the participant threads are up (plain-pte-clear, the
// slowest: 144 random trials, 0.6 s); the whole file 25–35 s.
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ExploreOptions, type ExploreReport, exploreScenario, exploreScenarioOf, replaySchedule, runExploreTrial,
} from '../../src/explore/explore.js';
import { exploreFault } from '../../src/explore/fault.js';
import { TrialRunner } from '../../src/explore/runner.js';
import {
  FAULT_EXPLORE, faultExploreOptions, faultExploreScenario, faultExploreSetup, matchesExpectation,
} from '../../src/scenario/fault-explore.js';
import { FAULT_NAMES, faultEntry } from '../../src/scenario/faults.js';
import { parseScenario, type ScenarioInput } from '../../src/scenario/schema.js';
import { MIXED } from '../fixtures/mixed-scenario.js';

const runner = new TrialRunner();
afterAll(() => runner.destroy());

/**
 * Explore is deterministic, so a campaign that two tests read (the detection and what it shows,
 * the twin) runs once per file: plain-pte-clear's 1,679-trial campaign is the slowest in the suite.
 */
const campaigns = new Map<string, Promise<ExploreReport>>();
function campaign(name: string, o: { withoutFault?: boolean; trials?: number; keepGoing?: boolean } = {}): Promise<ExploreReport> {
  const key = JSON.stringify([name, o.withoutFault === true, o.trials ?? null, o.keepGoing === true]);
  let r = campaigns.get(key);
  if (r === undefined) {
    r = exploreFault(name, { runner, ...o });
    campaigns.set(key, r);
  }
  return r;
}

/** The twin of a setup runs its whole budget, up to this many trials. */
const TWIN_MAX = 300;
/** The issue's target: every fault within 2,000 trials and 30 s. */
const MAX_TRIALS = 2000;
const MAX_MS = 30_000;

const DETECTABLE = FAULT_NAMES.filter((n) => FAULT_EXPLORE[n]?.undetectable === undefined);
const UNDETECTABLE = FAULT_NAMES.filter((n) => FAULT_EXPLORE[n]?.undetectable !== undefined);

const summary = (r: ExploreReport): string =>
  JSON.stringify({
    outcome: r.outcome, trials: r.trials, steps: r.steps, failure: r.failure?.trial,
    violations: r.failure?.violations.slice(0, 3).map((v) => `${v.oracle} ${v.kind}: ${v.detail}`), errors: r.failure?.errors.slice(0, 3),
  });

/** The mm operations a scenario weights above 0 (each shows as "(op)" in the coordinator's labels). */
function mmOpsOf(s: ScenarioInput): string[] {
  const mm = parseScenario(s).mm;
  return (['writeback', 'munmap', 'migrate', 'reclaim', 'truncate'] as const).filter((op) => mm[op] > 0);
}

describe('the explore setups', () => {
  it('one per catalogue fault, within 2,000 trials, each a valid scenario with its fault; one marked undetectable', () => {
    expect(Object.keys(FAULT_EXPLORE).sort()).toEqual([...FAULT_NAMES].sort());
    for (const name of FAULT_NAMES) {
      const s = faultExploreSetup(name);
      expect(s.trials, name).toBeGreaterThan(0);
      expect(s.trials, name).toBeLessThanOrEqual(MAX_TRIALS);
      expect(parseScenario(faultExploreScenario(name)).faults).toEqual([name]);
      expect(parseScenario(faultExploreScenario(name, false)).faults).toEqual([]);
      expect(faultExploreOptions(name)).toMatchObject({ strategy: s.strategy, seed: s.seed, trials: s.trials });
    }
    expect(UNDETECTABLE).toEqual(['bias-hugepage-overflow']);
    for (const name of UNDETECTABLE) expect(FAULT_EXPLORE[name]!.undetectable!.length, name).toBeGreaterThan(200);
  });
});

describe('each fault is caught in explore mode within its budget, by the oracle its entry names; without it, clean', () => {
  for (const name of DETECTABLE) {
    const setup = FAULT_EXPLORE[name]!;
    const want = faultEntry(name)!.expect;
    const how = `${setup.strategy}${setup.depth !== undefined ? ` d=${setup.depth}` : ''}, seed ${setup.seed}`;
    it(`${name}: ${want.oracle} ${want.kinds.join('|')}${want.contract !== undefined ? ` or O6 ${want.contract.join('|')}` : ''} within ${setup.trials} trials (${how})`, async () => {
      const t0 = performance.now();
      const r = await campaign(name);
      const ms = performance.now() - t0;
      expect(r.outcome, summary(r)).toBe('violation');
      expect(r.stoppedBy).toBe('failure');
      expect(r.trials).toBeLessThanOrEqual(setup.trials);
      expect(ms, 'detection time').toBeLessThan(MAX_MS);
      const f = r.failure!;
      const hit = f.violations.find((v) => matchesExpectation(name, v));
      expect(hit, summary(r)).toBeDefined();
      expect(hit!.detail.length).toBeGreaterThan(10);
      expect(r.scenario.faults).toEqual([name]);
      // The TSO faults really went through the store buffer.
      if (name.startsWith('plain-')) expect(r.counters.flushes + r.counters.drains).toBeGreaterThan(0);

      // The failing schedule replays to the same violations (explore is deterministic).
      const replay = await replaySchedule(f.schedule!, { runner });
      expect(replay.outcome).toBe('reproduced');
      expect(replay.identical).toBe(true);

      // The very trial that caught it, without the fault: clean, and the operations it races ran.
      const opts: ExploreOptions = { ...faultExploreOptions(name), runner, ...(r.pct !== undefined ? { pctSteps: r.pct.k } : {}) };
      const twinTrial = await runExploreTrial(faultExploreScenario(name, false), opts, f.trial);
      expect(twinTrial.violations, JSON.stringify(twinTrial.violations.slice(0, 2))).toEqual([]);
      expect(twinTrial.errors).toEqual([]);
      const labels = twinTrial.schedule!.steps.map((s) => s.label);
      const ops = mmOpsOf(faultExploreScenario(name, false));
      // A contract oracle can fire before any mm operation runs (pin-as-get: at the pin itself);
      // the damage route, with them off, is test/faults/contract.test.ts's.
      const byContract = hit!.oracle.startsWith('O6 ') && want.contract?.includes(hit!.kind) === true;
      if (ops.length > 0 && !byContract) {
        const ran = ops.filter((op) => labels.some((l) => l.startsWith('coordinator ') && l.endsWith(`(${op})`)));
        expect(ran, `an mm operation of ${ops.join('/')} ran in trial ${f.trial}`).not.toEqual([]);
      }

      // The whole setup without the fault (the budget, up to TWIN_MAX trials): clean.
      const twinTrials = Math.min(setup.trials, TWIN_MAX);
      const twin = await campaign(name, { withoutFault: true, trials: twinTrials, keepGoing: true });
      expect(twin.failures.map((x) => x.violations.map((v) => `${v.oracle} ${v.kind}`)), summary(twin)).toEqual([]);
      expect(twin.outcome).toBe('clean');
      expect(twin.trials).toBe(twinTrials);
      expect(twin.scenario.faults).toEqual([]);
    }, 60_000);
  }
});

describe('what the explore setups show beyond the first violation', () => {
  it('unpin-without-dirty: the device write after writeback cleaned the pinned page is missing from the disk', async () => {
    const r = await campaign('unpin-without-dirty');
    const v = r.failure!.violations.find((x) => x.kind === 'lost-write')!;
    expect(v.oracle).toBe('O3 data integrity');
    expect(v.detail).toMatch(/last DMA write 0x[0-9a-f]+ is not on the backing store/);
    // Its signature never appears without the fault (policy ignore; see the setup's twinNote).
    const setup = FAULT_EXPLORE['unpin-without-dirty']!;
    const twin = await campaign('unpin-without-dirty', { withoutFault: true, trials: setup.trials, keepGoing: true });
    expect(twin.trials).toBe(setup.trials);
    expect(twin.failures.flatMap((x) => x.violations).filter((x) => x.kind === 'lost-write')).toEqual([]);
  });

  it('plain-pte-clear: the store-buffering outcome — the gup-fast re-check read the old PTE while page_mkclean\'s store sat in the store buffer', async () => {
    const r = await campaign('plain-pte-clear');
    const steps = r.failure!.schedule!.steps;
    // coordinator: plain-store pte (buffered) … plain-load refcount (reads "not pinned"); then, before
    // the store is flushed, the client's grab (rmw refcount) and its re-check of the same PTE.
    let sb = false;
    steps.forEach((s, i) => {
      const m = /^coordinator plain-store pte\[(\d+)\]/.exec(s.label);
      if (m === null) return;
      const flush = steps.findIndex((t, j) => j > i && t.label === `coordinator flush pte[${m[1]}]`);
      const load = steps.findIndex((t, j) => j > i && /^coordinator plain-load refcount\[\d+\]/.test(t.label));
      if (flush < 0 || load < 0 || load > flush) return;
      const client = steps.slice(load + 1, flush).filter((t) => t.actor !== 'coordinator').map((t) => t.label);
      const grab = client.findIndex((l) => / rmw refcount\[\d+\] \(pin\)$/.test(l));
      if (grab >= 0 && client.slice(grab + 1).some((l) => l.endsWith(` load pte[${m[1]}] (pin)`))) sb = true;
    });
    expect(sb).toBe(true);
  });
});

describe('faults explore cannot show as the model stands (why: FAULT_EXPLORE[name].undetectable)', () => {
  it('bias-hugepage-overflow: one trial does not end within 200,000 scheduling points — the first client is still clearing the 1 GB page (too long, not a livelock)', async () => {
    const name = 'bias-hugepage-overflow';
    expect(exploreScenarioOf(faultExploreScenario(name)).machine.huge1gPages).toBe(1); // explore's small machine keeps it
    const bound = 200_000;
    // pctSteps given: no calibration trial (it would run to the bound too).
    const x = await runExploreTrial(faultExploreScenario(name), { ...faultExploreOptions(name), runner, maxSteps: bound, pctSteps: 1000 }, 0);
    // The trial does not end within the bound: one client is still clearing the 1 GB page it faulted in.
    // That is legitimate work, not a livelock: the verdict is 'too-long' (raise --max-steps), no violation.
    expect(x.outcome).toBe('too-long');
    expect(x.steps).toBe(bound);
    expect(x.violations).toEqual([]);
    const clearing = x.schedule!.steps.filter((s) => /store data\[\d+\] \(register\)$/.test(s.label)).length;
    expect(clearing).toBeGreaterThan(bound / 2);
  }, 60_000);
});

/** The clean-model campaigns' options, over MIXED (every client kind and every mm operation, test/fixtures/mixed-scenario.ts). */
const MIXED_OPTS: ExploreOptions = { seed: 21, trials: 200, opsPerActor: 3, mmSteps: 5, mmIntervalUs: 20 };

describe('the model without faults raises nothing in explore mode', () => {
  for (const strategy of ['random', 'pct'] as const) {
    it(`${strategy}: ${MIXED_OPTS.trials} trials of a mixed scenario (dio, rdma, odp, get; writeback, munmap, migrate, reclaim, truncate)`, async () => {
      const r = await exploreScenario(MIXED, { ...MIXED_OPTS, strategy, runner, keepGoing: true });
      expect(r.failures.map((f) => [f.trial, f.violations.map((v) => `${v.oracle} ${v.kind}: ${v.detail}`), f.errors]), summary(r)).toEqual([]);
      expect(r.outcome).toBe('clean');
      expect(r.trials).toBe(MIXED_OPTS.trials);
      expect(r.counters.blocks).toBeGreaterThan(0);
      // The work really happened: over the first trials every client kind and every mm operation ran.
      const opts = { ...MIXED_OPTS, strategy, runner, ...(r.pct !== undefined ? { pctSteps: r.pct.k } : {}) };
      const seen = new Set<string>();
      for (let t = 0; t < 20; t++) {
        const x = await runExploreTrial(MIXED, opts, t);
        for (const s of x.schedule!.steps) {
          const op = /\(([a-z-]+)\)$/.exec(s.label)?.[1];
          if (op !== undefined) seen.add(`${s.actor.replace(/#\d+$/, '')}:${op}`);
          if (s.label.includes(' event odp-install')) seen.add('odp:install');
        }
      }
      for (const want of [
        'coordinator:writeback', 'coordinator:munmap', 'coordinator:migrate', 'coordinator:reclaim', 'coordinator:truncate',
        'dio:pin', 'dio:unpin', 'rdma:register', 'rdma:deregister', 'get:get', 'get:put', 'odp:install',
      ]) expect([...seen], want).toContain(want);
    }, 60_000);
  }
});
