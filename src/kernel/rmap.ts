/**
 * Reverse mapping: every (mm, vpn) that maps a page. Anonymous pages name their mm and vpn in
 * page->mapping/index; file pages are found through the VMAs of every mm that map the file (the
 * i_mmap walk). The walk holds each mm's VMA lock so VMAs cannot vanish under it; PTE changes
 * are made by the callback under the page-table lock.
 */
import { PG, VMA_KIND } from '../mem/layout.js';
import { current } from './current.js';
import { type MmStruct, mm_of, vmas } from './mm.js';
import { pw } from './page.js';

export { vma_lock, vma_unlock } from './mm.js';
import { vma_lock, vma_unlock } from './mm.js';

/**
 * rmap_walk(): call fn(mm, vpn) for every place that may map `page` (an order-0 page or a subpage).
 * fn must itself check the PTE under the page-table lock: a candidate place may map another page.
 */
export function rmap_walk(page: number, fn: (mm: MmStruct, vpn: number) => boolean | void): void {
  const m = current.mem;
  const mapping = m.load(pw(page, PG.MAPPING));
  const index = m.load(pw(page, PG.INDEX));
  if (mapping < 0) {
    const mm = mm_of(-mapping - 1);
    vma_lock(mm);
    try {
      fn(mm, index);
    } finally {
      vma_unlock(mm);
    }
    return;
  }
  if (mapping === 0) return;
  const file = mapping - 1;
  for (let id = 0; id < current.layout.config.nrMms; id++) {
    const mm = mm_of(id);
    vma_lock(mm);
    try {
      for (const v of vmas(mm)) {
        if (v.kind !== VMA_KIND.FILE || v.file !== file) continue;
        const vpn = v.start + (index - v.pgoff);
        if (vpn >= v.start && vpn < v.end && fn(mm, vpn) === false) return;
      }
    } finally {
      vma_unlock(mm);
    }
  }
}
