/**
 * rfc-2019: "mm/gup: track FOLL_PIN pages" as posted in Oct-Dec 2019 (first posting 30 Oct 2019,
 * message id 20191030224930.3990755-13-jhubbard@nvidia.com; v2, v7, v8; never released as a tree:
 * ../shared/reference/kernel-src/README.md lists what the postings do). The seed documents'
 * kernel. Accepted under its old name `seed-2019`.
 */
import { FOLL_BITS_2019 } from './foll.js';
import * as C from '../constants.js';
import type { EraSpec } from './spec.js';

export const RFC_2019: EraSpec = {
  name: 'rfc-2019',
  title: 'the 2019 FOLL_PIN tracking postings: bias on the head refcount for every page, unsigned compare',
  tree: '"[PATCH 12/19] mm/gup: track FOLL_PIN pages" (30 Oct 2019) and its v2-v8 reposts',
  native: [
    // gup-fast's PTE-changed branch undoes a pin with put_page(head): -1, not -1024.
    'unbalanced-undo',
    // put_user_page() subtracts the bias, frees on zero, and only then updates the stat.
    'stats-after-put',
    // gup_hugepte / gup_huge_pmd/pud take one bias for a run of `refs` subpages; each subpage is
    // released with its own put_user_page().
    'huge-run-one-bias',
    // gup-fast has no CMA test: a FOLL_LONGTERM pin of an already-mapped CMA page stays in CMA.
    'gup-fast-longterm-cma',
    // The postings sit on check_and_migrate_cma_pages() as v5.6 has it (v5.6/mm/gup.c:1391-1470)
    // and v5.7 still does: FOLL_PIN pages dropped with put_page(), re-pinned in CMA when
    // migration fails.
    'cma-unpin-put-page',
    'cma-migrate-fail-repin',
    // Fork shares every anon page read-only, pinned or not: early COW is 70e806e4e645 (≈v5.9),
    // and the write_protect_seq check of gup-fast is 57efa1fe5957 (≈v5.11).
    'fork-no-early-cow',
    'gup-fast-no-wp-seq',
    // do_wp_page() reuses an anon page mapped once, whoever holds GUP references to it
    // (reuse_swap_page: v5.7/mm/memory.c:2956; the page-count rule is 09854ba94c6a, ≈v5.9).
    'cow-reuse-by-mapcount',
  ],
  foll: FOLL_BITS_2019,
  pincountMinOrder: Infinity,
  pincountPage: 1,
  fastAllowedFlags: C.FOLL_WRITE | C.FOLL_LONGTERM | C.FOLL_PIN,
  twoStepSmallPin: false,
  unpinPerFolio: false,
  fastRecheckPmd: false,
  gupArgRules: 'rfc-2019',
  longtermLoop: 'rfc-2019',
  refuseLongtermFile: false,
  // The postings touch no reclaim or migration code: the mm side is v5.6's (shrink_page_list
  // releases buffers after try_to_unmap with no pin check, v5.6/mm/vmscan.c:1302-1394;
  // try_to_unmap_one has none either, v5.6/mm/rmap.c:1366).
  reclaimKeepsPinned: false,
  migratePinCheck: false,
  // the postings predate 17839856fd58 and PageAnonExclusive: do_wp_page reuses by mapcount.
  anonExclusive: false,
  gupBreaksCow: false,
};
