/**
 * v6.3: linux 6.3.8 (../shared/reference/kernel-src/v6.3/). folio->_pincount for every large
 * folio, try_get_folio + folio_ref_add for small pages, is_valid_gup_args, the FOLL_* enum.
 */
import { FOLL_BITS_ENUM } from './foll.js';
import * as C from '../constants.js';
import type { EraSpec } from './spec.js';

export const V6_3: EraSpec = {
  name: 'v6.3',
  title: 'linux 6.3: folio->_pincount for every large folio, two-RMW small-page pin, is_valid_gup_args',
  tree: 'linux 6.3.8 (kernel-src/v6.3)',
  native: [],
  foll: FOLL_BITS_ENUM,
  // try_grab_folio(): folio_test_large(folio) → atomic_add(refs, &folio->_pincount) (v6.3/mm/gup.c:152).
  pincountMinOrder: 1,
  pincountPage: 1,
  fastAllowedFlags: C.FOLL_WRITE | C.FOLL_LONGTERM | C.FOLL_FORCE | C.FOLL_PIN | C.FOLL_GET,
  twoStepSmallPin: true,
  unpinPerFolio: true,
  fastRecheckPmd: true,
  gupArgRules: 'is_valid_gup_args',
  longtermLoop: 'v6.3',
  refuseLongtermFile: false,
  // d824ec2a1546: folio_maybe_dma_pinned() → activate_locked after the unmap (v6.3/mm/vmscan.c:1921).
  reclaimKeepsPinned: true,
  // page_try_share_anon_rmap() from try_to_migrate_one() (v6.3/mm/rmap.c:2058, include/linux/rmap.h:350).
  migratePinCheck: true,
  // PageAnonExclusive + gup_must_unshare (v6.3/mm/internal.h:902, include/linux/rmap.h:243).
  anonExclusive: true,
  gupBreaksCow: false,
};
