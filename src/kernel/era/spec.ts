/**
 * What differs between the kernels pinlab models, as data (DESIGN.md §3 "Eras are trees").
 *
 * Each era is one tree or posting (`../shared/reference/kernel-src/`, its README for the 2019
 * postings) and one file in this folder; the engine reads these fields, chosen once at boot into
 * `KernelContext.spec`, instead of testing the era's name. "What differs in v5.7" is `v5.7.ts`.
 */
import type { Era } from '../../mem/layout.js';

/** The FOLL_* bit values of one tree (the model's internal encoding is the 2019 one: constants.ts). */
export interface FollBits {
  readonly FOLL_WRITE: number;
  readonly FOLL_TOUCH: number;
  readonly FOLL_GET: number;
  readonly FOLL_DUMP: number;
  readonly FOLL_FORCE: number;
  readonly FOLL_NOWAIT: number;
  readonly FOLL_HWPOISON: number;
  readonly FOLL_ANON: number;
  readonly FOLL_LONGTERM: number;
  readonly FOLL_SPLIT_PMD: number;
  readonly FOLL_REMOTE: number;
  readonly FOLL_TRIED: number;
  readonly FOLL_PIN: number;
  /** 0 where the tree has no such flag. */
  readonly FOLL_FAST_ONLY: number;
  readonly FOLL_UNLOCKABLE: number;
}

/**
 * How the exported GUP entry points check their arguments:
 *  - `rfc-2019` (the postings and v5.7): WARN_ON_ONCE(gup_flags & FOLL_PIN) → -EINVAL in
 *    get_user_pages*, WARN_ON_ONCE(gup_flags & FOLL_GET) → -EINVAL in pin_user_pages*
 *    (v5.7/mm/gup.c:1928, 1970, 2852, 2889, 2931, 2966); FOLL_PIN without pages is a BUG in
 *    __get_user_pages.
 *  - `is_valid_gup_args`: v6.3/mm/gup.c:2103 — FOLL_PIN/TRIED/REMOTE/UNLOCKABLE/FAST_ONLY from a
 *    caller, GET|PIN together, LONGTERM without PIN, GET/PIN without pages: one WARN, and the
 *    entry point returns -EINVAL (the _fast and get_* ones) or 0 (pin_user_pages, _remote).
 */
export type GupArgRules = 'rfc-2019' | 'is_valid_gup_args';

/**
 * The FOLL_LONGTERM pin-migrate-retry loop:
 *  - `rfc-2019`: the posting's loop as the model has always run it — pin, release with the pin's
 *    own release, migrate, re-pin, at most LONGTERM_MIGRATE_RETRIES rounds, then -ENOMEM.
 *  - `v5.7`: check_and_migrate_cma_pages (v5.7/mm/gup.c:1657): the pins are dropped with
 *    put_page() (a FOLL_PIN page keeps 1023 of its bias, a huge page its hpage_pinned_refcount),
 *    and when migrate_pages() fails, the range is re-pinned without migrating
 *    (`migrate_allow = false`, :1722), so the pin holds in CMA.
 *  - `v6.3`: check_and_migrate_movable_pages (v6.3/mm/gup.c:2041): unpin_user_page() each page,
 *    migrate, -EAGAIN → re-pin; the first migration failure unpins everything and returns -ENOMEM.
 */
export type LongtermLoop = 'rfc-2019' | 'v5.7' | 'v6.3';

/** One kernel: the tree it follows and every behaviour of it that the engine switches on. */
export interface EraSpec {
  readonly name: Era;
  /** One line: what this era is. */
  readonly title: string;
  /** The tree or posting it follows (a folder of `../shared/reference/kernel-src/`, or the posting). */
  readonly tree: string;
  /** Fault-catalogue bugs whose code is this era's native code (on by default here). */
  readonly native: readonly string[];
  /** The tree's FOLL_* bit values; the exported entry points take flags in this encoding. */
  readonly foll: FollBits;

  // ---- pin accounting (include/linux/mm.h, mm/gup.c) ----
  /**
   * Smallest compound order that keeps an exact pin count (hpage_pincount_available() /
   * folio_test_large()); `Infinity`: none, every pinned subpage adds the bias to the head.
   */
  readonly pincountMinOrder: number;
  /** Which struct page of the folio holds the exact count (page[2] in v5.7, page[1] later). */
  readonly pincountPage: 1 | 2;
  /**
   * A small-page FOLL_PIN in gup-fast is try_get_folio(+1) then folio_ref_add(+1023): two RMWs
   * (v6.3/mm/gup.c:144-164); otherwise one RMW of +1024.
   */
  readonly twoStepSmallPin: boolean;
  /**
   * unpin_user_pages{,_dirty_lock}() release a run of subpages of one folio with one put
   * (gup_folio_next, v6.3/mm/gup.c:276-336); earlier trees unpin page by page.
   */
  readonly unpinPerFolio: boolean;
  /** gup-fast re-reads the PMD as well as the PTE after the grab (v6.3/mm/gup.c:2419). */
  readonly fastRecheckPmd: boolean;
  /**
   * The flags internal_get_user_pages_fast() accepts, WARN and -EINVAL otherwise (internal
   * encoding): the postings' FOLL_WRITE|FOLL_LONGTERM|FOLL_PIN; v5.7/mm/gup.c:2780 adds FOLL_FORCE
   * and FOLL_GET; v6.3/mm/gup.c:2957 also FOLL_FAST_ONLY, FOLL_NOFAULT, FOLL_PCI_P2PDMA (not modelled).
   */
  readonly fastAllowedFlags: number;
  /** The tree's argument rules (see GupArgRules). */
  readonly gupArgRules: GupArgRules;
  /** The FOLL_LONGTERM loop (see LongtermLoop). */
  readonly longtermLoop: LongtermLoop;
  /**
   * >= v6.5 (8ac268436e6d, a6e79df92e4a): FOLL_LONGTERM|FOLL_WRITE of a dirty-tracked file
   * mapping is -EFAULT in check_vma_flags() and left to the slow path by gup_fast_folio_allowed().
   */
  readonly refuseLongtermFile: boolean;

  // ---- the mm side: reclaim and migration (mm/vmscan.c, mm/rmap.c, mm/migrate.c) ----
  /**
   * shrink_folio_list() keeps a maybe-pinned folio after try_to_unmap(), before its fs private
   * data is released (d824ec2a1546 "mm: do not reclaim private data from pinned page":
   * v6.3/mm/vmscan.c:1921, v6.18/mm/vmscan.c:1407). Without it (v5.7/mm/vmscan.c:1301-1393,
   * shrink_page_list: try_to_unmap, then try_to_release_page) reclaim strips a pinned clean page's
   * buffers and __remove_mapping's freeze fails: kernel-notes 4.1. The writeback policy decides
   * whether reclaim follows the era (`mainline`) or not (src/coordinator/policies/).
   */
  readonly reclaimKeepsPinned: boolean;
  /**
   * try_to_migrate_one() asks about pins of an exclusive anon page right after clearing its PTE
   * (page_try_share_anon_rmap → page_maybe_dma_pinned → -EBUSY, the PTE restored:
   * v6.3/mm/rmap.c:2058, v6.3/include/linux/rmap.h:350; folio_try_share_anon_rmap_pte /
   * hugetlb_try_share_anon_rmap: v6.18/mm/rmap.c:2517-2530, v6.18/include/linux/rmap.h:528, 833).
   * false: try_to_unmap(TTU_MIGRATION) has no pin check (v5.6/mm/rmap.c:1366, v5.7/mm/rmap.c:1362
   * try_to_unmap_one); only the refcount compare of migrate_page_move_mapping() finds a pin, and
   * migration fails with -EAGAIN after the PTEs were replaced and are put back.
   *
   * In every era an order-0 anon page's refcount is compared, not frozen (v5.7/mm/migrate.c:410-413,
   * v6.3/mm/migrate.c:419-422, v6.18/mm/migrate.c:572-590 freezes only large rmappable folios), and
   * a page-cache page's is frozen under the xarray lock (v5.7/mm/migrate.c:428-433,
   * v6.3/mm/migrate.c:437, v6.18/mm/migrate.c:600): src/kernel/migrate.ts.
   */
  readonly migratePinCheck: boolean;

  // ---- fork and COW (kernel/fork.c, mm/memory.c, mm/gup.c; kernel-notes §3.4, 4.3-4.5) ----
  /**
   * PageAnonExclusive (6c287605fd56, ≈v5.19): a new anon page is exclusive; fork's
   * page_try_dup_anon_rmap() clears the bit or refuses (early COW) for a maybe-pinned page
   * (v6.3/include/linux/rmap.h:243-270); do_wp_page() reuses an exclusive page without further
   * checks and otherwise only when the page's refcount is 1 (v6.3/mm/memory.c:3366-3412); a R/O
   * FOLL_PIN of a non-exclusive anon page unshares first (gup_must_unshare,
   * v6.3/mm/internal.h:902-945; gup.c:596, 2425). false: no such bit; do_wp_page() decides by
   * the page's counts alone (the mapcount rule of rfc-2019 and v5.7 is the native fault
   * cow-reuse-by-mapcount, v5.7/mm/memory.c:2956).
   */
  readonly anonExclusive: boolean;
  /**
   * 17839856fd58 "gup: document and work around 'COW can break either way' issue" (in 5.7.3+,
   * v5.7/mm/gup.c:398-401, 1097): GUP with FOLL_GET or FOLL_PIN on a COW mapping faults as a
   * write, and gup-fast walks with FOLL_WRITE even for reads (v5.7/mm/gup.c:2795-2804).
   */
  readonly gupBreaksCow: boolean;
}
