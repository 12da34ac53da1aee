/**
 * The fault catalogue (DESIGN.md §7, kernel-notes §4): each historical bug the model can express,
 * as a named switch inside the real protocol code — never a copied variant. Each entry carries its
 * reference, a one-line story, the oracle that must catch it, whether catching it needs a race,
 * and the smallest scenario that shows it (`pinlab run` with `--fault NAME`, the tests in
 * test/faults, detection benchmarks): run with the fault, it must report `expect`; run without, it
 * must be clean.
 */
import { erasWithNative } from '../kernel/era/index.js';
import type { Era } from '../mem/layout.js';
import type { ScenarioInput } from './schema.js';

/** What a run of an entry's scenario with the fault must report: a violation of this oracle, of one of these kinds. */
export interface FaultExpectation {
  oracle: FaultEntry['oracle'];
  /** Violation kinds (report names: 'unstable-page', 'lost-write', 'false-negative', ...). */
  kinds: string[];
  /**
   * O6 kinds the contract oracles report for this fault at the moment the protocol breaks, before
   * (or instead of) the damage `oracle` sees. Explore checks them by default
   * (scenario.contractOracles), so there either one is the fault's signature.
   */
  contract?: string[];
}

export interface FaultEntry {
  name: string;
  /** Commit id, CVE or LWN title. */
  reference: string;
  story: string;
  /** The oracle that must report it: "O1".."O6". */
  oracle: 'O1' | 'O2' | 'O3' | 'O4' | 'O5' | 'O6';
  /** Needs an interleaving to show (caught in stress mode only with delay injection and luck). */
  race: boolean;
  /** Where the switch lives. */
  site: string;
  /**
   * The smallest scenario that shows it (the fault itself is not in `faults`: add it). Race faults
   * carry delay injection; every scenario is clean without the fault.
   */
  scenario: ScenarioInput;
  expect: FaultExpectation;
  /**
   * Set when the model cannot show the fault: why (its other protections close every path the
   * bug needs). The scenario then runs clean with the fault too, and tests assert exactly that.
   */
  undetectable?: string;
}

/** No mm operation but those named (scenario helper). */
const only = (ops: Partial<Record<'writeback' | 'munmap' | 'migrate' | 'reclaim' | 'truncate', number>>) => ({
  writeback: 0, munmap: 0, migrate: 0, reclaim: 0, truncate: 0, ...ops,
});

export const FAULTS: readonly FaultEntry[] = [
  {
    name: 'pin-as-get',
    reference: 'LWN 753027 "The trouble with get_user_pages()"; fc1d8e7cca2d (put_user_page placeholders)',
    story: 'DIO and RDMA take FOLL_GET references instead of pins: writeback cannot tell their pages are under DMA.',
    oracle: 'O3',
    race: false,
    site: 'src/clients/dio.ts, src/clients/rdma.ts',
    scenario: {
      name: 'fault-pin-as-get', seed: 1, era: 'v6.3', durationMs: 3000, policy: 'skip',
      clients: [
        { kind: 'dio', count: 2, mapping: 'file', file: 0, pages: 16, bufferPages: 2 },
        { kind: 'rdma', mapping: 'file', file: 0, pages: 16, bufferPages: 4, holdOps: 300 },
      ],
      mm: { ...only({ writeback: 6, reclaim: 3 }), writebackUs: 200 },
    },
    expect: { oracle: 'O3', kinds: ['unstable-page', 'lost-write'], contract: ['not-dma-pinned'] },
  },
  {
    name: 'gup-fast-no-recheck',
    reference: '2667f50e8b81 (RCU gup-fast), kernel-notes §3.1: "(2) check pte not changed"',
    story: 'gup-fast keeps the page without re-reading the PTE, so a racing unmap or migration misses the pin and the pin misses the unmap.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/gup.ts gup_fast / gup_huge',
    scenario: {
      name: 'fault-gup-fast-no-recheck', seed: 1, era: 'v6.3', durationMs: 5000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'dio', count: 2, mapping: 'file', file: 0, pages: 2, bufferPages: 1, writeRatio: 1 }],
      mm: { ...only({ writeback: 1 }), intervalUs: 50, writebackUs: 2000 },
    },
    expect: { oracle: 'O3', kinds: ['unstable-page'], contract: ['sb-contract', 'dma-stale-frame'] },
  },
  {
    name: 'plain-refcount',
    reference: 'kernel-notes §3.1 (atomic RMW on the refcount); DESIGN.md §2',
    story: 'The refcount is updated with a plain read-modify-write: two concurrent grabs or puts lose an update.',
    oracle: 'O2',
    race: true,
    site: 'src/kernel/pin.ts __try_get_compound_head (plain_get) and __put_compound_head (plain_put)',
    scenario: {
      // A BUG() leaves the locks its thread held held, as an oops does; so no thread may BUG here
      // with a lock held: no mm operation (the coordinator never trips over a corrupted count while
      // the clients run) and read-only DIO (no write fault, which takes a reference under the PT
      // lock). The clients' own unpins find the lost update.
      name: 'fault-plain-refcount', seed: 1, era: 'v6.3', durationMs: 5000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'dio', count: 3, mapping: 'file', file: 0, pages: 2, bufferPages: 2, writeRatio: 0 }],
      mm: only({}),
    },
    expect: { oracle: 'O2', kinds: ['bug', 'refcount', 'counters', 'leak'] },
  },
  {
    name: 'plain-pte-clear',
    reference: '088b8aa537c2 "mm: fix PageAnonExclusive clearing racing with concurrent RCU GUP-fast"',
    story: 'The mm side clears the PTE with a plain store and no barrier, then checks pins: the store sits in the store buffer while both sides read stale values.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/writeback.ts page_mkclean (the A1 store), src/kernel/pin.ts __page_maybe_dma_pinned (the A2 load)',
    scenario: {
      // Two DIO clients share one mapping of one page: its only PTE is the one write-protected
      // (a second PTE's A1/A2 would see the pin). In stress mode the coordinator's plain store
      // waits in a store buffer until its next Atomics access (src/coordinator/store-buffer.ts).
      name: 'fault-plain-pte-clear', seed: 1, era: 'v6.3', durationMs: 55000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'dio', count: 2, shared: true, mapping: 'file', file: 0, pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: { ...only({ writeback: 1 }), intervalUs: 50, writebackUs: 1000 },
    },
    expect: { oracle: 'O3', kinds: ['unstable-page'], contract: ['sb-contract'] },
  },
  {
    name: 'bias-hugepage-overflow',
    reference: '47e29d32afba "page->hpage_pinned_refcount: exact pin counts for huge pages"; pin_user_pages.rst 1 GB TODO',
    story: 'The 2019 accounting (the bias on the head of every compound page) carried into a later kernel: a 1 GB page registered by nine clients overflows the head refcount into the sign bit, and the ninth pin is refused with a WARN (the compare is unsigned, so the page never reads unpinned).',
    oracle: 'O2',
    race: false,
    site: 'src/kernel/pin.ts pincount_min_order (hpage_pincount_available)',
    scenario: {
      name: 'fault-bias-hugepage-overflow', seed: 1, durationMs: 5000, era: 'v6.3', policy: 'skip',
      machine: { huge1gPages: 1, huge2mPages: 0, nrMms: 1, nrFiles: 1, filePages: 16, wordsPerPage: 9 },
      clients: [{
        kind: 'rdma', count: 9, shared: true, mapping: 'hugetlb', hugePage: '1g', pages: 1 << 18, bufferPages: 1 << 18,
        holdOps: 1 << 30, writeRatio: 0.1,
      }],
      mm: { ...only({ migrate: 1 }), intervalUs: 500 },
    },
    expect: { oracle: 'O2', kinds: ['refcount-overflow'] },
  },
  {
    name: 'unpin-without-dirty',
    reference: 'kernel-notes §1.1 unpin_user_pages_dirty_lock; 4.1 (set_page_dirty_lock after DIO)',
    story: 'Unpin without set_page_dirty_lock: data the device wrote into a page that writeback cleaned while it was pinned (as mainline does) is never written back.',
    oracle: 'O3',
    race: false,
    site: 'src/kernel/gup.ts unpin_user_pages_dirty_lock',
    scenario: {
      name: 'fault-unpin-without-dirty', seed: 1, era: 'v6.3', durationMs: 1000, policy: 'ignore',
      clients: [{ kind: 'rdma', mapping: 'file', file: 0, pages: 2, bufferPages: 2, holdOps: 1 << 30, writeRatio: 5e-6 }],
      mm: { ...only({ writeback: 1 }), intervalUs: 20000, writebackUs: 0 },
    },
    expect: { oracle: 'O3', kinds: ['lost-write'] },
  },
  {
    name: 'migrate-no-freeze',
    reference: 'kernel-notes §3.3 folio_migrate_mapping / folio_ref_freeze (v6.3/mm/migrate.c:437); filemap_get_read_batch (v6.3/mm/filemap.c:2371-2417)',
    story:
      'Migration compares a page-cache page\'s refcount instead of freezing it: a lockless read(2) (folio_try_get + slot re-check) '
      + 'takes a reference after the compare, the copy and the slot switch go on, and the read copies out of a frame that has left the page cache.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/migrate.ts migrate_page',
    scenario: {
      // Two buffered readers look one page-cache page up locklessly while migration moves it.
      name: 'fault-migrate-no-freeze', seed: 1, era: 'v6.3', durationMs: 20000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'buffered', count: 2, mapping: 'file', file: 0, pages: 1, bufferPages: 1, writeRatio: 0 }],
      mm: { ...only({ migrate: 4 }), intervalUs: 20 },
    },
    expect: { oracle: 'O3', kinds: ['stale-read'] },
  },
  {
    name: 'odp-no-retry',
    reference: '99cb252f5e68 mmu_interval_notifier; kernel-notes §3.5 mmu_interval_read_retry',
    story: 'ODP installs a device PTE without mmu_interval_read_retry: a walk that raced an invalidation maps a page the mm has moved.',
    oracle: 'O4',
    race: true,
    site: 'src/clients/odp.ts OdpClient.fault',
    scenario: {
      name: 'fault-odp-no-retry', seed: 1, era: 'v6.3', durationMs: 5000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'odp', count: 2, mapping: 'file', file: 1, pages: 8, writeRatio: 0.7 }],
      mm: { ...only({ munmap: 3, migrate: 3 }), intervalUs: 50 },
    },
    expect: { oracle: 'O4', kinds: ['stale-device-pte'] },
  },
  {
    name: 'writeback-ignores-pins',
    reference: 'Jan Kara, LSF/MM 2018 "get_user_pages() and writeback"; kernel-notes 4.1, 4.2',
    story: 'page_mkclean and writeback never look at pins: DMA changes pages under writeback and lands in pages whose buffers were released.',
    oracle: 'O3',
    race: false,
    site: 'src/coordinator/mmops.ts writebackPage, reclaimOne',
    scenario: {
      name: 'fault-writeback-ignores-pins', seed: 1, era: 'v6.3', durationMs: 3000, policy: 'skip',
      clients: [
        { kind: 'dio', count: 2, mapping: 'file', file: 0, pages: 16, bufferPages: 2 },
        { kind: 'rdma', mapping: 'file', file: 0, pages: 16, bufferPages: 4, holdOps: 300 },
      ],
      mm: { ...only({ writeback: 6, reclaim: 3 }), writebackUs: 200 },
    },
    expect: { oracle: 'O3', kinds: ['unstable-page', 'lost-write'] },
  },
  {
    name: 'unbalanced-undo',
    reference: 'Claudio Imbrenda, Feb 2020 linux-next gup_pte_range fix (kernel-notes 4.10)',
    story: "gup-fast's bail-out path undoes a pin with put_page: 1023 references leak and the page reads pinned forever.",
    oracle: 'O2',
    race: true,
    site: 'src/kernel/gup.ts undo_grab',
    scenario: {
      name: 'fault-unbalanced-undo', seed: 1, era: 'v6.3', durationMs: 1000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'dio', count: 2, mapping: 'file', file: 0, pages: 2, bufferPages: 1, writeRatio: 1 }],
      mm: { ...only({ writeback: 2, munmap: 1 }), intervalUs: 50 },
    },
    expect: { oracle: 'O2', kinds: ['counters', 'refcount', 'leak'] },
  },
  {
    name: 'stats-after-put',
    reference: '4509b42c3896 "mm/gup: combine put_compound_head() and unpin_user_page()" (kernel-notes 4.12)',
    story: 'unpin touches the page for its statistics after the final put: the page may already be freed or reused (a KASAN use-after-free report).',
    oracle: 'O2',
    race: false,
    site: 'src/kernel/pin.ts __put_compound_head (kasan_page_pgdat)',
    scenario: {
      name: 'fault-stats-after-put', seed: 1, era: 'v6.3', durationMs: 600, policy: 'skip',
      clients: [{ kind: 'dio', count: 2, mapping: 'anon', pages: 8, bufferPages: 2 }],
      mm: { ...only({ munmap: 1 }), intervalUs: 100 },
    },
    expect: { oracle: 'O2', kinds: ['kasan-use-after-free'] },
  },
  {
    name: 'longterm-in-cma',
    reference: '9a4e9f3b2d73, d1e153fea2a8 "mm/gup: migrate pinned pages out of movable zone"',
    story: 'A longterm pin is left in a CMA/movable region: migration (compaction, CMA allocation) of that region then fails for as long as the pin lives (gup_test PIN_LONGTERM_BENCHMARK checks folio_is_longterm_pinnable).',
    oracle: 'O6',
    race: false,
    site: 'src/kernel/gup.ts is_longterm_pinnable (caught by the check in src/clients/rdma.ts)',
    scenario: {
      name: 'fault-longterm-in-cma', seed: 1, era: 'v6.3', durationMs: 1000, policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'cma', pages: 16, bufferPages: 4, holdOps: 50 }],
      mm: only({}),
    },
    expect: { oracle: 'O6', kinds: ['longterm-movable'] },
  },
  {
    name: 'huge-run-one-bias',
    reference: '"[PATCH 12/19] mm/gup: track FOLL_PIN pages" (30 Oct 2019): gup_huge_pmd/pud, gup_hugepte; fixed in the v7 repost',
    story: 'gup-fast pins a run of huge-page subpages with one GUP_PIN_COUNTING_BIAS on the head, while each subpage is unpinned with its own put_user_page(): the second unpin underflows the refcount (a BUG), and after the first the page already reads unpinned.',
    oracle: 'O2',
    race: false,
    site: 'src/kernel/pin.ts try_grab_folio',
    scenario: {
      name: 'fault-huge-run-one-bias', seed: 1, era: 'v6.3', durationMs: 600, policy: 'skip',
      machine: { huge2mPages: 1, wordsPerPage: 1 },
      clients: [{ kind: 'dio', mapping: 'hugetlb', pages: 512, bufferPages: 4, writeRatio: 1 }],
      mm: only({}),
    },
    expect: { oracle: 'O2', kinds: ['bug'] },
  },
  {
    name: 'gup-fast-longterm-cma',
    reference: 'v5.7/mm/gup.c:92-96 (try_grab_compound_head: "Can\'t do FOLL_LONGTERM + FOLL_PIN with CMA in the gup fast path"), absent in the 2019 postings',
    story: 'gup-fast has no CMA test, so a longterm pin of a CMA page that the application had already touched is taken in CMA by the fast path and never migrated out: CMA allocation and compaction of that range fail for as long as the registration lives.',
    oracle: 'O6',
    race: false,
    site: 'src/kernel/gup.ts fast_longterm_pinnable',
    scenario: {
      name: 'fault-gup-fast-longterm-cma', seed: 1, era: 'v6.3', durationMs: 600, policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'cma', pages: 16, bufferPages: 4, holdOps: 50, prefault: true }],
      mm: only({}),
    },
    expect: { oracle: 'O6', kinds: ['longterm-movable'] },
  },
  {
    name: 'cma-unpin-put-page',
    reference: 'v5.7/mm/gup.c:1711-1712 check_and_migrate_cma_pages "put_page(pages[i])"; fixed by unpin_user_pages in the movable rework (d1e153fea2a8 era)',
    story: 'The longterm loop drops the pins of CMA pages it is about to migrate with put_page(): each page keeps 1023 references (a huge page its exact pin count), reads pinned forever, and its migration can never succeed.',
    oracle: 'O2',
    race: false,
    site: 'src/kernel/gup.ts __gup_longterm_locked',
    scenario: {
      name: 'fault-cma-unpin-put-page', seed: 1, era: 'v6.3', durationMs: 600, policy: 'skip',
      clients: [{ kind: 'rdma', mapping: 'cma', pages: 16, bufferPages: 4, holdOps: 50 }],
      mm: only({}),
    },
    expect: { oracle: 'O2', kinds: ['refcount', 'leak', 'counters'] },
  },
  {
    name: 'cma-migrate-fail-repin',
    reference: 'v5.7/mm/gup.c:1715-1740 check_and_migrate_cma_pages (migrate_allow = false); v6.3/mm/gup.c:2009-2014 returns -ENOMEM instead',
    story: 'When migrating a CMA page out fails (another pin holds it), the longterm loop pins the range again without migrating: the registration succeeds with its pages in CMA.',
    oracle: 'O6',
    race: true,
    site: 'src/kernel/gup.ts __gup_longterm_locked',
    scenario: {
      // Two registrations of the same CMA pages: one's pin makes the other's migration fail.
      name: 'fault-cma-migrate-fail-repin', seed: 1, era: 'v6.3', durationMs: 10000, policy: 'skip', delay: 'heavy',
      clients: [{ kind: 'rdma', count: 2, shared: true, mapping: 'cma', pages: 2, bufferPages: 2, holdOps: 5 }],
      mm: { ...only({ munmap: 1 }), intervalUs: 100 },
    },
    expect: { oracle: 'O6', kinds: ['longterm-movable'] },
  },
  {
    name: 'fork-no-early-cow',
    reference: '70e806e4e645 "mm: Do early cow for pinned pages during fork() for ptes" + 008cfe4418b3 (≈v5.9); kernel-notes 4.4; CVE-2020-29374 family',
    story:
      'fork() shares a pinned anon page read-only with the child instead of copying it: the parent\'s next write COWs it a new page, '
      + 'and the device keeps writing into the old one, which only the child maps ("fork breaks DMA", MADV_DONTFORK).',
    oracle: 'O3',
    race: false,
    site: 'src/kernel/fork.ts page_try_dup_anon_rmap',
    scenario: {
      name: 'fault-fork-no-early-cow', seed: 1, era: 'v6.3', durationMs: 1000,
      clients: [{ kind: 'fork', mapping: 'anon', pages: 4, params: { cases: 'rw-pin' } }],
      mm: only({}),
    },
    expect: { oracle: 'O3', kinds: ['cow-leak'] },
  },
  {
    name: 'gup-fast-no-wp-seq',
    reference: '57efa1fe5957 "mm/gup: prevent gup_fast from racing with COW during fork" (≈v5.11); kernel-notes 3.4, 4.5',
    story:
      'gup-fast pins without reading mm->write_protect_seq: it reads a writable PTE, fork finds the page not yet pinned and shares it, '
      + 'the grab and the PTE re-check land before fork write-protects, and the pin is on a page the child now maps too.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/gup.ts internal_get_user_pages_fast',
    scenario: {
      name: 'fault-gup-fast-no-wp-seq', seed: 1, era: 'v6.3', durationMs: 20000, delay: 'heavy',
      clients: [
        { kind: 'fork', mapping: 'anon', pages: 1, bufferPages: 1, params: { cases: 'cow' } },
        { kind: 'dio', count: 2, mapping: 'anon', pages: 1, bufferPages: 1, writeRatio: 1 },
      ],
      mm: only({}),
    },
    expect: { oracle: 'O3', kinds: ['cow-leak'] },
  },
  {
    name: 'cow-reuse-by-mapcount',
    reference: 'CVE-2020-29374 (Jann Horn, Project Zero 2045); 17839856fd58, 09854ba94c6a "mm: do_wp_page() simplification" (≈v5.9); kernel-notes 4.3',
    story:
      'do_wp_page() reuses an anon page that is mapped once, whoever holds GUP references to it: a child that vmsplice()d a shared page '
      + 'and unmapped it reads what the parent writes next (and a parent\'s reference taken before fork sees the child\'s writes).',
    oracle: 'O3',
    race: false,
    site: 'src/kernel/fault.ts wp_can_reuse_anon_page',
    scenario: {
      name: 'fault-cow-reuse-by-mapcount', seed: 1, era: 'v6.3', durationMs: 1000,
      clients: [{ kind: 'fork', mapping: 'anon', pages: 4, params: { cases: 'vmsplice-child,vmsplice-parent' } }],
      mm: only({}),
    },
    expect: { oracle: 'O3', kinds: ['cow-leak'] },
  },
];

/** The names of the fault catalogue's entries, usable in a scenario's `faults` and `--fault`. */
export const FAULT_NAMES: readonly string[] = FAULTS.map((f) => f.name);

export function faultEntry(name: string): FaultEntry | undefined {
  return FAULTS.find((f) => f.name === name);
}

/** The eras whose tree has this fault's code natively (on by default there): `pinlab list faults`. */
export function nativeIn(name: string): Era[] {
  return erasWithNative(name);
}
