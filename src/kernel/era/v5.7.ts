/**
 * v5.7: linux 5.7.14 (../shared/reference/kernel-src/v5.7/). Pin tracking as merged
 * (3faa52c03f44, 47e29d32afba): the bias for small pages and order-1 compounds,
 * hpage_pinned_refcount in page[2] for order >= 2.
 */
import { FOLL_BITS_2019 } from './foll.js';
import * as C from '../constants.js';
import type { EraSpec } from './spec.js';

export const V5_7: EraSpec = {
  name: 'v5.7',
  title: 'linux 5.7: hpage_pinned_refcount in page[2] for compound order >= 2, the bias otherwise',
  tree: 'linux 5.7.14 (kernel-src/v5.7)',
  native: [
    // unpin_user_page() updates NR_FOLL_PIN_RELEASED after page_ref_sub_and_test()/__put_page()
    // (v5.7/mm/gup.c:244-248); put_compound_head() (:2093) does it first.
    'stats-after-put',
    // check_and_migrate_cma_pages() drops FOLL_PIN pages with put_page() (v5.7/mm/gup.c:1711-1712).
    'cma-unpin-put-page',
    // ... and when migrate_pages() fails re-pins without migrating (migrate_allow = false, :1722).
    'cma-migrate-fail-repin',
    // copy_one_pte() write-protects and shares every anon page (v5.7/mm/memory.c:779-782): no
    // early COW (70e806e4e645, ≈v5.9) and no write_protect_seq (57efa1fe5957, ≈v5.11; gup-fast
    // at v5.7/mm/gup.c:2770-2830 reads none).
    'fork-no-early-cow',
    'gup-fast-no-wp-seq',
    // do_wp_page() reuses an anon page mapped once, whoever holds GUP references to it
    // (reuse_swap_page: v5.7/mm/memory.c:2956; the page-count rule is 09854ba94c6a, ≈v5.9).
    'cow-reuse-by-mapcount',
  ],
  foll: FOLL_BITS_2019,
  // hpage_pincount_available(): PageCompound(page) && compound_order(page) > 1 (v5.7/include/linux/mm.h).
  pincountMinOrder: 2,
  pincountPage: 2,
  fastAllowedFlags: C.FOLL_WRITE | C.FOLL_LONGTERM | C.FOLL_FORCE | C.FOLL_PIN | C.FOLL_GET,
  twoStepSmallPin: false,
  unpinPerFolio: false,
  fastRecheckPmd: false,
  gupArgRules: 'rfc-2019',
  longtermLoop: 'v5.7',
  refuseLongtermFile: false,
  // shrink_page_list(): try_to_unmap (v5.7/mm/vmscan.c:1301), then try_to_release_page (:1393):
  // no pin check; a pinned page loses its buffers and the freeze (:887) fails. kernel-notes 4.1.
  reclaimKeepsPinned: false,
  // try_to_unmap_one(TTU_MIGRATION) (v5.7/mm/rmap.c:1362) never asks about pins; the refcount
  // compare of migrate_page_move_mapping() (v5.7/mm/migrate.c:412, 428) catches them.
  migratePinCheck: false,
  // reuse_swap_page() by mapcount (v5.7/mm/memory.c:2956); 17839856fd58 backported (v5.7/mm/gup.c:398).
  anonExclusive: false,
  gupBreaksCow: true,
};
