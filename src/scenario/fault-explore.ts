/**
 * The fault catalogue in explore mode (DESIGN.md §6–7): for each fault of src/scenario/faults.ts,
 * the smallest, fastest explore setup found by experiment that catches it — scenario, strategy,
 * seed and the trial budget it is caught within (`exploreFault(name)` in src/explore/fault.ts runs it).
 *
 * Explore runs the real protocol code under the deterministic scheduler, so a setup is a pure
 * function of (scenario, fault, options, seed): `exploreFault` finds the same violation at the same
 * trial every time, as long as the model's scheduling points stay the same. A change to the code
 * paths involved (a shared access added or removed) reshuffles the schedules; the budgets leave
 * room for that (see `measured` below: the trial that caught it when the setup was chosen).
 *
 * Each setup's scenario is clean without its fault over the same explore options (the tests in
 * test/faults/explore.test.ts run the twin), except where `twinNote` says what the model reports
 * without the fault and why.
 *
 * One fault is not detectable in explore mode as the model stands (`undetectable` says why and
 * what would make them detectable); their setups are the closest explore gets, and exploreFault
 * runs them like the others (they stay clean).
 *
 * This module is the catalogue's data only: `exploreFault` (src/explore/fault.ts) runs a setup, one
 * layer up, so the catalogue imports no engine.
 */
import { faultEntry } from './faults.js';
import { type ScenarioInput } from './schema.js';

export interface FaultExploreSetup {
  /** The scenario explored, without its fault (exploreFault adds it). Default: the catalogue entry's scenario. */
  scenario?: ScenarioInput;
  strategy: 'random' | 'pct';
  /** PCT depth (default 3). */
  depth?: number;
  seed: number;
  /** The budget: the fault is caught within this many trials (with this seed). */
  trials: number;
  opsPerActor?: number;
  mmSteps?: number;
  mmIntervalUs?: number;
  points?: 'access' | 'events';
  machine?: 'small' | 'scenario';
  /** PCT's k (default: a calibration trial's step count). */
  pctSteps?: number;
  /** The trial (1-based) that caught it when this setup was chosen; documentation, not asserted. */
  measured?: number;
  /**
   * Failing trials per 1000 when this setup was chosen (1000 trials with keepGoing; plain-pte-clear
   * 2000): how much room the budget leaves should a model change reshuffle the schedules.
   */
  perMille?: number;
  /** Set when explore cannot show the fault in the model as it stands: why, and what would change that. */
  undetectable?: string;
  /** Set when the twin (this setup without the fault) is not entirely clean: what it reports, and why that is not the fault. */
  twinNote?: string;
}

/** No mm operation (scenario helper): each setup switches on only the ones its fault races. */
const NO_MM = { writeback: 0, munmap: 0, migrate: 0, reclaim: 0, truncate: 0 } as const;

export const FAULT_EXPLORE: Readonly<Record<string, FaultExploreSetup>> = {
  // One RDMA region on one file page, two writebacks: a FOLL_GET reference is invisible to the pin check, so the page is written while the device writes it.
  'pin-as-get': {
    scenario: {
      name: 'explore-pin-as-get', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'file', pages: 1, bufferPages: 1, holdOps: 3, writeRatio: 1 }],
      mm: { ...NO_MM, writeback: 1, writebackUs: 50 },
    },
    strategy: 'pct', depth: 3, seed: 1, trials: 100, opsPerActor: 4, mmSteps: 2, mmIntervalUs: 20, measured: 3, perMille: 82,
  },
  // One DIO writer against writeback of its page: PCT d=2 places writeback's page_mkclean and pin check between the DIO's PTE read and its grab, which nothing re-checks.
  'gup-fast-no-recheck': {
    scenario: {
      name: 'explore-gup-fast-no-recheck', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'dio', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: { ...NO_MM, writeback: 1 },
    },
    strategy: 'pct', depth: 2, seed: 1, trials: 300, opsPerActor: 3, mmSteps: 3, mmIntervalUs: 30, measured: 21, perMille: 26,
  },
  // Two DIO clients pinning the same page with no mm operation: random interleaves their plain read-modify-writes of its refcount at once.
  'plain-refcount': {
    scenario: {
      name: 'explore-plain-refcount', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'dio', count: 2, mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: NO_MM,
    },
    strategy: 'random', seed: 1, trials: 50, opsPerActor: 2, mmSteps: 0, measured: 8, perMille: 377,
  },
  // Writeback of two dirty pages one DIO writer pins together: the SB window (store buffered between page_mkclean's PTE store and the pin check) is one scheduling point wide, so random needs many windows; the second page delays the DMA into the first past the I/O snapshot.
  'plain-pte-clear': {
    scenario: {
      name: 'explore-plain-pte-clear', era: 'v6.3', policy: 'skip',
      machine: { wordsPerPage: 1, nrMms: 1 },
      clients: [{ kind: 'dio', mapping: 'file', pages: 2, bufferPages: 2, writeRatio: 1 }],
      mm: { ...NO_MM, writeback: 1, writebackUs: 300 },
    },
    // v6.3's gup-fast has four accesses between its PTE read and its re-check (two refcount RMWs, the
    // PMD re-read), where v5.7 had two: the coordinator's buffered store usually drains first. About
    // 1 failing trial in 15,000 (seeds 1-5 x 3,000 trials: one failure, seed 4 trial 1679).
    strategy: 'random', seed: 4, trials: 2000, opsPerActor: 6, mmSteps: 6, mmIntervalUs: 40, measured: 1679, perMille: 0.07,
  },
  // The catalogue's 9 RDMA clients pinning one 1 GB page whole: the ninth is refused once the biased head is negative.
  'bias-hugepage-overflow': {
    strategy: 'pct', depth: 3, seed: 1, trials: 1, opsPerActor: 2, mmSteps: 1,
    undetectable:
      'the refusal needs nine whole-1 GB registrations held at once, and the model touches every 4 KB subpage of the '
      + '1 GB page one shared access at a time, every one a scheduling point in explore: faulting the page in clears '
      + '2^18 x wordsPerPage words and every deregistration dirties and puts each subpage (2-3 accesses each), so one '
      + 'trial of nine clients is several million points (minutes under random, which hands the baton over at most '
      + 'of them). PCT runs each client to its end (register, operations, deregister) unless change points fall in '
      + 'nine short windows, so the holds never overlap nine deep. Stress mode shows it in a few seconds. Detectable '
      + 'once hugetlb unpins go per folio as in the kernel (gup_folio_range_next in unpin_user_pages_dirty_lock: one '
      + 'refcount RMW per folio run) and faulting a huge page in is one labelled event rather than 2^18 stores.',
  },
  // One RDMA region on one file page under policy ignore (the pre-2019 kernel): writeback cleans the pinned page, the device writes it, the deregistration leaves it clean.
  'unpin-without-dirty': {
    scenario: {
      name: 'explore-unpin-without-dirty', era: 'v6.3', policy: 'ignore',
      clients: [{ kind: 'rdma', mapping: 'file', pages: 1, bufferPages: 1, holdOps: 3, writeRatio: 1 }],
      mm: { ...NO_MM, writeback: 1, writebackUs: 0 },
    },
    strategy: 'pct', depth: 2, seed: 1, trials: 300, opsPerActor: 4, mmSteps: 1, measured: 32, perMille: 39,
    twinNote:
      'only policy ignore can show this fault (every safe policy leaves a pinned page dirty), and ignore writes pinned '
      + 'pages without a stable snapshot: deeper schedules (PCT d=3, random) find O3 unstable-page without the fault, '
      + 'the pre-2019 bug the safe policies fix. At depth 2 the twin is clean (1000 trials measured), and the fault\'s '
      + 'signature, lost-write, never appears without it.',
  },
  // Two buffered readers of one page-cache page while migration moves it: PCT d=3 orders a read's folio_try_get and slot re-check between migration's refcount compare and its slot switch, and the read's copy after the switch.
  'migrate-no-freeze': {
    scenario: {
      name: 'explore-migrate-no-freeze', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'buffered', count: 2, mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 0 }],
      mm: { ...NO_MM, migrate: 1 },
    },
    // Three orderings at once (a read that copies before the switch reads the very data being
    // migrated, which is no loss): rare — random finds none in 2,000 trials; PCT 5 of 2,000.
    strategy: 'pct', depth: 3, seed: 1, trials: 2000, opsPerActor: 4, mmSteps: 4, measured: 965, perMille: 2.5,
  },

  // One ODP client against munmap and migration of its one page: PCT preempts the fault between the walk and the device PTE install.
  'odp-no-retry': {
    scenario: {
      name: 'explore-odp-no-retry', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: { ...NO_MM, munmap: 1, migrate: 1 },
    },
    strategy: 'pct', depth: 3, seed: 1, trials: 100, measured: 1, perMille: 164,
  },
  // One RDMA region on one file page, two writebacks: page_mkclean and writeback never ask about pins, so the page is written while the device writes it.
  'writeback-ignores-pins': {
    scenario: {
      name: 'explore-writeback-ignores-pins', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'file', pages: 1, bufferPages: 1, holdOps: 3, writeRatio: 1 }],
      mm: { ...NO_MM, writeback: 1, writebackUs: 50 },
    },
    strategy: 'pct', depth: 3, seed: 1, trials: 200, opsPerActor: 4, mmSteps: 2, mmIntervalUs: 20, measured: 21, perMille: 81,
  },
  // One DIO writer on one anonymous page against munmap: a gup-fast that sees its PTE change undoes its pin with put_page (the end-of-run conservation check counts the leak).
  'unbalanced-undo': {
    scenario: {
      name: 'explore-unbalanced-undo', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'dio', mapping: 'anon', pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: { ...NO_MM, munmap: 1 },
    },
    strategy: 'random', seed: 1, trials: 100, opsPerActor: 3, mmSteps: 2, mmIntervalUs: 20, measured: 1, perMille: 163,
  },
  // One DIO writer on one anonymous page, one munmap: the unpin of the orphaned page is its final put, and the late statistics read its struct page.
  'stats-after-put': {
    scenario: {
      name: 'explore-stats-after-put', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'dio', mapping: 'anon', pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: { ...NO_MM, munmap: 1 },
    },
    strategy: 'pct', depth: 3, seed: 1, trials: 50, opsPerActor: 2, mmSteps: 1, measured: 1, perMille: 290,
  },
  // One longterm RDMA registration of one CMA page: no interleaving needed, the first trial shows it.
  'longterm-in-cma': {
    scenario: {
      name: 'explore-longterm-in-cma', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'cma', pages: 1, bufferPages: 1, holdOps: 1 }],
      mm: NO_MM,
    },
    strategy: 'random', seed: 1, trials: 10, opsPerActor: 1, mmSteps: 0, measured: 1, perMille: 1000,
  },
  // One DIO request of two subpages of a 2 MB hugetlb page: gup-fast takes one bias for both, the second unpin underflows.
  'huge-run-one-bias': {
    scenario: {
      name: 'explore-huge-run-one-bias', era: 'v6.3', policy: 'skip', machine: { huge2mPages: 1, wordsPerPage: 1 },
      clients: [{ kind: 'dio', mapping: 'hugetlb', pages: 512, bufferPages: 2, writeRatio: 1 }],
      mm: NO_MM,
    },
    // The first request faults the page in through the slow path (a bias per subpage); the second is gup-fast's.
    strategy: 'random', seed: 1, trials: 10, opsPerActor: 3, mmSteps: 0, machine: 'scenario', measured: 1,
  },
  // One registration of one CMA page the application wrote first: gup-fast pins it where it is.
  'gup-fast-longterm-cma': {
    scenario: {
      name: 'explore-gup-fast-longterm-cma', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'cma', pages: 1, bufferPages: 1, holdOps: 1, prefault: true }],
      mm: NO_MM,
    },
    strategy: 'random', seed: 1, trials: 10, opsPerActor: 1, mmSteps: 0,
  },
  // One registration of one CMA page: the loop's put_page leaves 1023 references, the end-of-trial O2 sees them.
  'cma-unpin-put-page': {
    scenario: {
      name: 'explore-cma-unpin-put-page', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'cma', pages: 1, bufferPages: 1, holdOps: 1 }],
      mm: NO_MM,
    },
    strategy: 'random', seed: 1, trials: 10, opsPerActor: 1, mmSteps: 0,
  },
  // Two registrations of the same CMA page: one's pin fails the other's migration, which then re-pins in CMA.
  'cma-migrate-fail-repin': {
    scenario: {
      name: 'explore-cma-migrate-fail-repin', era: 'v6.3', policy: 'skip',
      clients: [{ kind: 'rdma', count: 2, shared: true, mapping: 'cma', pages: 1, bufferPages: 1, holdOps: 1 }],
      mm: NO_MM,
    },
    // Random walks hand the baton over too often to keep one pin across the other's migration
    // (clean in 1,000 trials); PCT's few change points do (caught at trial 8 when chosen).
    strategy: 'pct', depth: 3, seed: 1, trials: 200, opsPerActor: 2, mmSteps: 0, measured: 8,
  },
  // One fork client pinning its page R/W before fork: without early COW the first cycle shares the pinned page; no race.
  'fork-no-early-cow': {
    scenario: {
      name: 'explore-fork-no-early-cow', era: 'v6.3',
      clients: [{ kind: 'fork', mapping: 'anon', pages: 1, bufferPages: 1, params: { cases: 'rw-pin' } }],
      mm: NO_MM,
    },
    strategy: 'random', seed: 1, trials: 20, opsPerActor: 4, mmSteps: 0, measured: 1,
  },
  // A fork client forking while a DIO writer pins the page of its own region in the same mm: PCT places the DIO's grab and PTE re-check between fork's pin test and its write-protect.
  'gup-fast-no-wp-seq': {
    scenario: {
      name: 'explore-gup-fast-no-wp-seq', era: 'v6.3',
      clients: [
        { kind: 'fork', mapping: 'anon', pages: 1, bufferPages: 1, params: { cases: 'cow' } },
        { kind: 'dio', mapping: 'anon', pages: 1, bufferPages: 1, writeRatio: 1 },
      ],
      mm: NO_MM,
    },
    // Random hands the baton over at most points: DIO's grab and re-check fall between fork's pin test and its
    // write-protect, and the DMA after fork installed the child's entry (11 failing trials of 200, the first at trial 1).
    strategy: 'random', seed: 1, trials: 200, opsPerActor: 16, mmSteps: 0, measured: 1, perMille: 55,
  },
  // The vmsplice cases of cow.c in one fork client: a page reused by mapcount leaks on the first cycle; no race.
  'cow-reuse-by-mapcount': {
    scenario: {
      name: 'explore-cow-reuse-by-mapcount', era: 'v6.3',
      clients: [{ kind: 'fork', mapping: 'anon', pages: 1, bufferPages: 1, params: { cases: 'vmsplice-child,vmsplice-parent' } }],
      mm: NO_MM,
    },
    strategy: 'random', seed: 1, trials: 20, opsPerActor: 4, mmSteps: 0, measured: 1,
  },
};

/** The explore setup of fault `name` (throws for an unknown name). */
export function faultExploreSetup(name: string): FaultExploreSetup {
  const setup = FAULT_EXPLORE[name];
  if (setup === undefined || faultEntry(name) === undefined) throw new RangeError(`no explore setup for fault '${name}'`);
  return setup;
}

/** The scenario fault `name` is explored on, with the fault switched on (or off: its twin). */
export function faultExploreScenario(name: string, withFault = true): ScenarioInput {
  const setup = faultExploreSetup(name);
  const base = setup.scenario ?? faultEntry(name)!.scenario;
  return { ...base, faults: withFault ? [name] : [] };
}

/**
 * The explore options of a setup: the subset of the engine's ExploreOptions (src/explore/explore.ts)
 * a setup fixes, declared here so the catalogue needs no engine; it is assignable to ExploreOptions.
 */
export type FaultExploreOptions = Pick<
  FaultExploreSetup, 'strategy' | 'seed' | 'trials' | 'depth' | 'opsPerActor' | 'mmSteps' | 'mmIntervalUs' | 'points' | 'machine' | 'pctSteps'
>;

/** The explore options of fault `name`'s setup (strategy, seed, budget, workload shape). */
export function faultExploreOptions(name: string): FaultExploreOptions {
  const s = faultExploreSetup(name);
  const o: FaultExploreOptions = { strategy: s.strategy, seed: s.seed, trials: s.trials };
  if (s.depth !== undefined) o.depth = s.depth;
  if (s.opsPerActor !== undefined) o.opsPerActor = s.opsPerActor;
  if (s.mmSteps !== undefined) o.mmSteps = s.mmSteps;
  if (s.mmIntervalUs !== undefined) o.mmIntervalUs = s.mmIntervalUs;
  if (s.points !== undefined) o.points = s.points;
  if (s.machine !== undefined) o.machine = s.machine;
  if (s.pctSteps !== undefined) o.pctSteps = s.pctSteps;
  return o;
}

/** Does violation (oracle, kind) match what the catalogue expects of fault `name`: its damage oracle and kinds, or one of its contract (O6) kinds? */
export function matchesExpectation(name: string, v: { oracle: string; kind: string }): boolean {
  const e = faultEntry(name)?.expect;
  if (e === undefined) return false;
  if (e.contract?.includes(v.kind) === true && v.oracle.startsWith('O6 ')) return true;
  return v.oracle.startsWith(`${e.oracle} `) && (e.kinds.length === 0 || e.kinds.includes(v.kind));
}
