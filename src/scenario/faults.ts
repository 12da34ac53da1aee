/**
 * The fault catalogue (DESIGN.md §7, kernel-notes §4): each historical bug the model can express,
 * as a named switch inside the real protocol code — never a copied variant. Each entry carries its
 * reference, a one-line story, the oracle that must catch it, and whether catching it needs a race.
 */
export interface FaultEntry {
  name: string;
  /** Commit id, CVE or LWN title. */
  reference: string;
  story: string;
  /** The oracle that must report it: "O1".."O5". */
  oracle: 'O1' | 'O2' | 'O3' | 'O4' | 'O5' | 'O6';
  /** Needs an interleaving to show (caught in stress mode only with delay injection and luck). */
  race: boolean;
  /** Where the switch lives. */
  site: string;
}

export const FAULTS: readonly FaultEntry[] = [
  {
    name: 'pin-as-get',
    reference: 'LWN 753027 "The trouble with get_user_pages()"; fc1d8e7cca2d (put_user_page placeholders)',
    story: 'DIO and RDMA take FOLL_GET references instead of pins: writeback cannot tell their pages are under DMA.',
    oracle: 'O3',
    race: false,
    site: 'src/clients/dio.ts, src/clients/rdma.ts',
  },
  {
    name: 'gup-fast-no-recheck',
    reference: '2667f50e8b81 (RCU gup-fast), kernel-notes §3.1: "(2) check pte not changed"',
    story: 'gup-fast keeps the page without re-reading the PTE, so a racing unmap or migration misses the pin and the pin misses the unmap.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/gup.ts gup_fast / gup_huge',
  },
  {
    name: 'plain-refcount',
    reference: 'kernel-notes §3.1 (atomic RMW on the refcount); DESIGN.md §2',
    story: 'The refcount is updated with a plain read-modify-write: two concurrent grabs or puts lose an update.',
    oracle: 'O2',
    race: true,
    site: 'src/kernel/pin.ts try_get_compound_head / src/kernel/page.ts put_page_refs',
  },
  {
    name: 'plain-pte-clear',
    reference: '088b8aa537c2 "mm: fix PageAnonExclusive clearing racing with concurrent RCU GUP-fast"',
    story: 'The mm side clears the PTE with a plain store and no barrier, then checks pins: the store sits in the store buffer while both sides read stale values.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/writeback.ts page_mkclean, src/kernel/pin.ts page_maybe_dma_pinned',
  },
  {
    name: 'bias-hugepage-overflow',
    reference: '47e29d32afba "page->hpage_pinned_refcount: exact pin counts for huge pages"; pin_user_pages.rst 1 GB TODO',
    story: 'The seed-2019 bias on a 1 GB page pinned by several clients overflows the head refcount: page_dma_pinned() reads false.',
    oracle: 'O1',
    race: false,
    site: 'src/kernel/pin.ts (era seed-2019)',
  },
  {
    name: 'unpin-without-dirty',
    reference: 'kernel-notes §1.1 unpin_user_pages_dirty_lock; 4.1 (set_page_dirty_lock after DIO)',
    story: 'Unpin without set_page_dirty_lock: data the device wrote into a clean page is never written back.',
    oracle: 'O3',
    race: false,
    site: 'src/kernel/gup.ts unpin_user_pages_dirty_lock',
  },
  {
    name: 'migrate-no-freeze',
    reference: 'kernel-notes §3.3 folio_migrate_mapping / folio_ref_freeze',
    story: 'Migration copies without freezing the refcount: a pin taken during the copy stays on the old page and its writes are lost.',
    oracle: 'O3',
    race: true,
    site: 'src/kernel/migrate.ts migrate_page',
  },
  {
    name: 'odp-no-retry',
    reference: '99cb252f5e68 mmu_interval_notifier; kernel-notes §3.5 mmu_interval_read_retry',
    story: 'ODP installs a device PTE without mmu_interval_read_retry: a walk that raced an invalidation maps a page the mm has moved.',
    oracle: 'O4',
    race: true,
    site: 'src/clients/odp.ts OdpClient.fault',
  },
  {
    name: 'writeback-ignores-pins',
    reference: 'Jan Kara, LSF/MM 2018 "get_user_pages() and writeback"; kernel-notes 4.1, 4.2',
    story: 'page_mkclean and writeback never look at pins: DMA changes pages under writeback and lands in pages whose buffers were released.',
    oracle: 'O3',
    race: false,
    site: 'src/coordinator/mmops.ts writeback',
  },
  {
    name: 'unbalanced-undo',
    reference: 'Claudio Imbrenda, Feb 2020 linux-next gup_pte_range fix (kernel-notes 4.10)',
    story: "gup-fast's bail-out path undoes a pin with put_page: 1023 references leak and the page reads pinned forever.",
    oracle: 'O2',
    race: true,
    site: 'src/kernel/gup.ts undo_grab',
  },
  {
    name: 'stats-after-put',
    reference: '4509b42c3896 "mm/gup: combine put_compound_head() and unpin_user_page()" (kernel-notes 4.12)',
    story: 'unpin touches the page for its statistics after the final put: the page may already be freed or reused (a KASAN use-after-free report).',
    oracle: 'O2',
    race: false,
    site: 'src/kernel/pin.ts put_compound_head',
  },
  {
    name: 'longterm-in-cma',
    reference: '9a4e9f3b2d73, d1e153fea2a8 "mm/gup: migrate pinned pages out of movable zone"',
    story: 'A longterm pin is left in a CMA/movable region: migration (compaction, CMA allocation) of that region then fails for as long as the pin lives (gup_test PIN_LONGTERM_BENCHMARK checks folio_is_longterm_pinnable).',
    oracle: 'O6',
    race: false,
    site: 'src/kernel/gup.ts is_longterm_pinnable',
  },
];

export const FAULT_NAMES: readonly string[] = FAULTS.map((f) => f.name);

export function faultEntry(name: string): FaultEntry | undefined {
  return FAULTS.find((f) => f.name === name);
}
