/**
 * Truncation / hole punching of a file's pages (mm/truncate.c, truncate_pagecache_range):
 * unmap every mapping of the range, remove the pages from the page cache, free the blocks.
 */
import { PG, PG_dirty, PG_private, VMA_KIND } from '../mem/layout.js';
import { current } from './current.js';
import { backing_word, find_get_page, pagecache_slot, wait_on_page_writeback } from './filemap.js';
import { leaf_ptl } from './fault.js';
import { mm_of, vmas } from './mm.js';
import { mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start } from './mmap.js';
import { lock_page, put_page, pw, set_page_dirty, unlock_page } from './page.js';
import { pte_dirty, pte_pfn, pte_present, spin_lock, spin_unlock } from './pgtable.js';
import { try_to_unmap } from './reclaim.js';
import { vma_lock, vma_unlock } from './rmap.js';

/**
 * unmap_mapping_range(): zap every PTE that maps file pages [start, end) of `file`, in every mm:
 * under each mm's VMA lock (the i_mmap lock role; not mmap_lock), for each file VMA overlapping
 * the range, mmu_notifier_invalidate_range_start(..., 'unmap'), each PTE exchanged to 0 under the
 * PT lock ('pte-cleared'), a dirty PTE moved to the page, the mapcount and the mapping's reference
 * dropped, then _end. VMAs stay. Returns the number of PTEs zapped.
 */
export function unmap_mapping_range(file: number, start: number, end: number): number {
  const m = current.mem;
  let zapped = 0;
  for (let id = 0; id < current.layout.config.nrMms; id++) {
    const mm = mm_of(id);
    vma_lock(mm);
    try {
      for (const v of vmas(mm)) {
        if (v.kind !== VMA_KIND.FILE || v.file !== file) continue;
        const lo = Math.max(start, v.pgoff);
        const hi = Math.min(end, v.pgoff + (v.end - v.start));
        if (lo >= hi) continue;
        const vstart = v.start + (lo - v.pgoff);
        const vend = v.start + (hi - v.pgoff);
        mmu_notifier_invalidate_range_start(mm, vstart, vend, 'unmap');
        for (let vpn = vstart; vpn < vend; vpn++) {
          const idx = mm.pt.pte(vpn);
          const ptl = leaf_ptl(mm.pt, vpn, 0);
          spin_lock(ptl);
          const old = m.xchg(idx, 0);
          spin_unlock(ptl);
          if (old === 0) continue;
          m.event('pte-cleared', idx);
          if (!pte_present(old)) continue; // a migration entry holds no reference
          const page = pte_pfn(old);
          if (pte_dirty(old)) set_page_dirty(page);
          m.sub(pw(page, PG.MAPCOUNT), 1);
          put_page(page);
          zapped++;
        }
        mmu_notifier_invalidate_range_end(mm, vstart, vend);
      }
    } finally {
      vma_unlock(mm);
    }
  }
  return zapped;
}

/**
 * truncate_inode_pages_range(): punch the hole [start, end) (file page indices) in `file`:
 *  1. the blocks are freed first — the backing store words of the range are zeroed — so a page
 *     read in again from here on reads the hole (zeroed once more at the end, after the last
 *     writeback of a removed page has ended);
 *  2. unmap_mapping_range() zaps every mapping of the range;
 *  3. for each cached page: take a reference (find_get_page), lock it, wait out writeback
 *     (bounded: a timeout WARNs at 'truncate_inode_pages_range:writeback timeout' and goes on),
 *     unmap it again if a fault mapped it meanwhile (truncate_cleanup_folio), delete it from the
 *     page cache (slot pfn+1 → 0), clear PG_dirty and PG_private and the mapping, unlock, and put
 *     the cache's reference and ours. A pinned page survives as an orphan (the pin holds it).
 * The caller must not be the only thread able to end writeback of pages in the range (the
 * coordinator completes its own I/O first). Returns the number of pages removed.
 */
export function truncate_inode_pages_range(file: number, start: number, end: number): number {
  const m = current.mem;
  const l = current.layout;
  if (file < 0 || file >= l.config.nrFiles) throw new RangeError(`truncate: file ${file} outside [0, ${l.config.nrFiles})`);
  start = Math.max(0, start);
  end = Math.min(end, l.config.filePages);
  if (start >= end) return 0;
  m.fillWords(backing_word(file, start), (end - start) * l.config.wordsPerPage, 0);
  unmap_mapping_range(file, start, end);
  let removed = 0;
  for (let index = start; index < end; index++) {
    const slot = pagecache_slot(file, index);
    if (m.load(slot) === 0) continue;
    const page = find_get_page(file, index);
    if (page < 0) continue;
    lock_page(page);
    if (m.load(slot) !== page + 1) {
      // Removed (reclaimed, migrated) between the lookup and the lock.
      unlock_page(page);
      put_page(page);
      continue;
    }
    if (!wait_on_page_writeback(page)) current.WARN_ON_ONCE(true, 'truncate_inode_pages_range:writeback timeout');
    if (m.load(pw(page, PG.MAPCOUNT)) > 0) try_to_unmap(page);
    m.cas(slot, page + 1, 0);
    m.and(pw(page, PG.FLAGS), ~(PG_dirty | PG_private));
    m.store(pw(page, PG.MAPPING), 0);
    unlock_page(page);
    put_page(page); // the page cache's reference
    put_page(page); // ours: frees it unless a pin (or another reference) holds it
    removed++;
  }
  // And again: an I/O that ended while the pages were still cached may have written the range.
  m.fillWords(backing_word(file, start), (end - start) * l.config.wordsPerPage, 0);
  return removed;
}
