/**
 * Reclaim of one clean page-cache page (mm/vmscan.c shrink_folio_list for a single folio),
 * kernel-notes §3.2 and §4.1:
 *
 *   trylock_page; isolate (a reference, as isolation from the LRU takes)
 *   try_to_unmap        every PTE cleared with an exchange under the PT lock, mmu notifiers around,
 *                       the mappings' references dropped
 *   [d824ec2a1546]      page_maybe_dma_pinned() after the unmap → keep the page and its buffers
 *   try_to_release_page strip the fs buffers (PG_private)
 *   __remove_mapping    page_ref_freeze(page, 2) (page cache + isolation): any pin or other
 *                       reference fails it; else delete from the page cache and free
 *
 * Without d824ec2a1546 (the eras before v6.3, EraSpec.reclaimKeepsPinned, under policy mainline;
 * every era under policy ignore), a pinned page loses its buffers and stays in the page cache (the
 * freeze fails): the 4.1 interleaving. The caller decides (ShrinkControl.keepPinnedPrivate).
 */
import { PG, PG_dirty, PG_private, PG_writeback } from '../mem/layout.js';
import { current } from './current.js';
import { pagecache_slot } from './filemap.js';
import { mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start } from './mmap.js';
import {
  page_ref_add_unless_zero, page_ref_freeze, page_ref_unfreeze, put_page, put_page_refs, pw, set_page_dirty,
  trylock_page, unlock_page,
} from './page.js';
import { pte_dirty, pte_pfn, pte_present, spin_lock, spin_unlock } from './pgtable.js';
import { page_maybe_dma_pinned } from './pin.js';
import { rmap_walk } from './rmap.js';

/**
 * try_to_unmap(): clear every PTE mapping `page` (an order-0 page, locked by the caller, who holds
 * a reference): rmap walk, mmu_notifier_invalidate_range_start(..., 'unmap') / _end around each
 * candidate place, the PTE exchanged to 0 under the PT lock ('pte-cleared' event), a dirty PTE
 * moved to the page, the mapcount and the mapping's reference dropped. Returns the number of PTEs
 * cleared.
 */
export function try_to_unmap(page: number): number {
  const m = current.mem;
  let cleared = 0;
  rmap_walk(page, (mm, vpn) => {
    mmu_notifier_invalidate_range_start(mm, vpn, vpn + 1, 'unmap');
    const idx = mm.pt.pte(vpn);
    const ptl = mm.pt.ptl(vpn);
    spin_lock(ptl);
    const e = m.load(idx);
    if (pte_present(e) && pte_pfn(e) === page) {
      const old = m.xchg(idx, 0); // ptep_clear_flush
      m.event('pte-cleared', idx);
      if (pte_dirty(old)) set_page_dirty(page);
      m.sub(pw(page, PG.MAPCOUNT), 1);
      cleared++;
    }
    spin_unlock(ptl);
    mmu_notifier_invalidate_range_end(mm, vpn, vpn + 1);
  });
  if (cleared > 0) put_page_refs(page, cleared); // the caller's reference keeps the page
  return cleared;
}

/**
 * try_to_release_page() (filemap_release_folio): drop the filesystem's buffers of a locked, clean
 * page not under writeback. Returns true if buffers were attached (and are now gone).
 */
export function try_to_release_page(page: number): boolean {
  return (current.mem.and(pw(page, PG.FLAGS), ~PG_private) & PG_private) !== 0;
}

export interface ShrinkControl {
  /** d824ec2a1546 (≈v6.4): a maybe-pinned page is kept with its private data after the unmap. */
  keepPinnedPrivate: boolean;
}

/**
 * What shrink_page() did:
 *  - 'freed'        unmapped, removed from the page cache and freed
 *  - 'busy'         __remove_mapping's freeze failed: a pin or another reference (the buffers are
 *                   gone if it had any — the 4.1 state when it is pinned)
 *  - 'pinned'       kept by d824ec2a1546 (page_maybe_dma_pinned after the unmap)
 *  - 'dirty'        the page was or became dirty (a dirty PTE): it needs writeback first
 *  - 'writeback'    under writeback
 *  - 'locked'       someone holds the page lock
 *  - 'not-cached'   not a page-cache page (anon, free, or truncated)
 */
export type ShrinkResult = 'freed' | 'busy' | 'pinned' | 'dirty' | 'writeback' | 'locked' | 'not-cached';

/** The page is in the page cache at the (file, index) its struct page names. */
function in_page_cache(page: number): boolean {
  const m = current.mem;
  const mapping = m.load(pw(page, PG.MAPPING));
  return mapping > 0 && m.load(pagecache_slot(mapping - 1, m.load(pw(page, PG.INDEX)))) === page + 1;
}

/**
 * shrink_page(): try to reclaim one order-0 page-cache page that is clean, unlocked and not under
 * writeback (kernel-notes §3.2, 4.1). Locks and isolates it (page_ref_add_unless_zero), unmaps it
 * (try_to_unmap), then — the mm half of the store-buffering pair — asks page_maybe_dma_pinned()
 * only when `keepPinnedPrivate` (d824ec2a1546) and keeps a pinned page ('pinned'); otherwise
 * strips its buffers (try_to_release_page) and __remove_mapping: page_ref_freeze(page, 2) fails
 * on any pin or extra reference ('busy', the buffers stay stripped); on success the page-cache slot
 * is cleared (pfn+1 → 0), the mapping cleared, the count unfrozen to the isolation reference, the
 * page unlocked and put (freed). Never blocks.
 */
export function shrink_page(page: number, sc: ShrinkControl): ShrinkResult {
  const m = current.mem;
  const flagsIdx = pw(page, PG.FLAGS);
  if (!in_page_cache(page)) return 'not-cached';
  const f = m.load(flagsIdx);
  if ((f & PG_writeback) !== 0) return 'writeback';
  if ((f & PG_dirty) !== 0) return 'dirty';
  if (!trylock_page(page)) return 'locked';
  if (!page_ref_add_unless_zero(page, 1, 2)) {
    unlock_page(page);
    return 'not-cached'; // freed under us
  }
  const putback = (r: ShrinkResult): ShrinkResult => {
    unlock_page(page);
    put_page(page); // the isolation reference
    return r;
  };
  // Re-check under the lock: truncation and writeback start both hold it.
  if (!in_page_cache(page)) return putback('not-cached');
  const g = m.load(flagsIdx);
  if ((g & PG_writeback) !== 0) return putback('writeback');
  if ((g & PG_dirty) !== 0) return putback('dirty');

  try_to_unmap(page);
  if ((m.load(flagsIdx) & PG_dirty) !== 0) return putback('dirty'); // a dirty PTE moved to the page

  // d824ec2a1546: "Folio is unmapped now so it cannot be newly pinned anymore."
  if (sc.keepPinnedPrivate && page_maybe_dma_pinned(page)) return putback('pinned');

  try_to_release_page(page);

  // __remove_mapping(): the page cache's reference and ours, nothing else.
  if (!page_ref_freeze(page, 2)) return putback('busy');
  if ((m.load(flagsIdx) & PG_dirty) !== 0) {
    page_ref_unfreeze(page, 2);
    return putback('dirty');
  }
  const mapping = m.load(pw(page, PG.MAPPING));
  m.cas(pagecache_slot(mapping - 1, m.load(pw(page, PG.INDEX))), page + 1, 0);
  m.store(pw(page, PG.MAPPING), 0);
  page_ref_unfreeze(page, 1); // the isolation reference only
  unlock_page(page);
  put_page(page); // frees it
  return 'freed';
}
