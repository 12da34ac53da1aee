/**
 * v6.18: linux 6.18.2 (../shared/reference/kernel-src/v6.18/), the current era. As v6.3, plus the
 * v6.5 refusal of writable longterm pins of dirty-tracked file mappings (check_vma_flags →
 * writable_file_mapping_allowed, v6.18/mm/gup.c:1182-1197; gup_fast_folio_allowed, :2738).
 */
import { FOLL_BITS_ENUM } from './foll.js';
import * as C from '../constants.js';
import type { EraSpec } from './spec.js';

export const V6_18: EraSpec = {
  name: 'v6.18',
  title: 'linux 6.18: as v6.3, and writable longterm pins of dirty-tracked file mappings are refused (v6.5+)',
  tree: 'linux 6.18.2 (kernel-src/v6.18)',
  native: [],
  foll: FOLL_BITS_ENUM,
  pincountMinOrder: 1,
  pincountPage: 1,
  // try_grab_folio_fast(): try_get_folio(+refs), then folio_ref_add(refs * 1023) (v6.18/mm/gup.c:517-570).
  fastAllowedFlags: C.FOLL_WRITE | C.FOLL_LONGTERM | C.FOLL_FORCE | C.FOLL_PIN | C.FOLL_GET,
  twoStepSmallPin: true,
  unpinPerFolio: true,
  fastRecheckPmd: true,
  gupArgRules: 'is_valid_gup_args',
  longtermLoop: 'v6.3',
  refuseLongtermFile: true,
  // d824ec2a1546 as in v6.3 (v6.18/mm/vmscan.c:1407).
  reclaimKeepsPinned: true,
  // folio_try_share_anon_rmap_pte() / hugetlb_try_share_anon_rmap() (v6.18/mm/rmap.c:2517-2530, include/linux/rmap.h:528, 833).
  migratePinCheck: true,
  // folio_try_dup_anon_rmap_pte / gup_must_unshare (v6.18/include/linux/rmap.h, mm/internal.h).
  anonExclusive: true,
  gupBreaksCow: false,
};
