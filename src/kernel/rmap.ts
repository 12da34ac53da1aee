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
 * An anon page's page->mapping: -(mm id + 1), minus ANON_FORKED once fork() shared it with a child
 * (the anon_vma chain's role: the page may then be mapped at the same address in any mm, as a
 * child's address space is a copy of its parent's).
 */
export const ANON_FORKED = 1 << 20;
/** The mm that first mapped an anon page, from its page->mapping (< 0). */
export const anon_mm_id = (mapping: number): number => (-mapping - 1) & (ANON_FORKED - 1);

/**
 * rmap_walk(): call fn(mm, vpn) for every place that may map `page` (an order-0 page or a subpage).
 * fn must itself check the PTE under the page-table lock: a candidate place may map another page.
 * A forked anon page is looked for at its address in every mm (its own first).
 */
export function rmap_walk(page: number, fn: (mm: MmStruct, vpn: number) => boolean | void): void {
  const m = current.mem;
  const mapping = m.load(pw(page, PG.MAPPING));
  const index = m.load(pw(page, PG.INDEX));
  if (mapping < 0) {
    const own = anon_mm_id(mapping);
    const forked = -mapping - 1 >= ANON_FORKED;
    const n = forked ? current.layout.config.nrMms : 1;
    for (let i = 0; i < n; i++) {
      const mm = mm_of((own + i) % current.layout.config.nrMms);
      vma_lock(mm);
      try {
        if (fn(mm, index) === false) return;
      } finally {
        vma_unlock(mm);
      }
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
