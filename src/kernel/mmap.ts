/**
 * munmap(): zap the range's entries (clear each PTE with an atomic exchange under the page-table
 * lock, then drop the mapping's reference), then shrink, split or remove the VMAs.
 */
import { PG, VMA_KIND } from '../mem/layout.js';
import { EINVAL } from './constants.js';
import { current } from './current.js';
import { leaf_ptl } from './fault.js';
import {
  type MmStruct, PAGE_SIZE, type Vma, insertVma, mmap_write_lock, mmap_write_unlock, removeVma, vmas, writeVma,
} from './mm.js';
import { put_page, pw, set_page_dirty } from './page.js';
import { pte_dirty, pte_pfn, pte_present, spin_lock, spin_unlock, walk, newWalk } from './pgtable.js';
import { vma_lock, vma_unlock } from './rmap.js';

export function mmu_notifier_invalidate_range_start(mm: MmStruct, start: number, end: number, event: string): void {
  for (const n of current.mmu_notifiers) n.invalidate_range_start(mm.id, start, end, event);
}
export function mmu_notifier_invalidate_range_end(mm: MmStruct, start: number, end: number): void {
  for (const n of current.mmu_notifiers) n.invalidate_range_end(mm.id, start, end);
}

/** Drop one mapping of a page whose entry was just cleared. */
function zap_entry(old: number, order: number, file: boolean): void {
  if (!pte_present(old)) return; // none, or a migration entry (which holds no reference)
  const page = pte_pfn(old);
  if (file && pte_dirty(old)) set_page_dirty(page);
  current.mem.sub(pw(page, PG.MAPCOUNT), 1);
  put_page(page);
  void order;
}

/** zap_page_range(): clear every entry in [start, end) (vpns). Caller holds mmap_lock for write. */
export function zap_page_range(mm: MmStruct, start: number, end: number, file: boolean): void {
  const m = current.mem;
  const zapWalk = newWalk();
  for (let vpn = start; vpn < end; ) {
    const w = walk(mm.pt, vpn, zapWalk);
    const ptl = leaf_ptl(mm.pt, vpn, w.order);
    spin_lock(ptl);
    const old = m.xchg(w.idx, 0); // ptep_get_and_clear
    spin_unlock(ptl);
    if (old !== 0) m.event('pte-cleared', w.idx);
    zap_entry(old, w.order, file);
    vpn = w.order !== 0 ? (vpn | ((1 << w.order) - 1)) + 1 : vpn + 1;
  }
}

/**
 * do_munmap(): unmap [addr, addr+length). Hugetlb ranges must be huge-page aligned (-EINVAL
 * otherwise, as the kernel answers). Returns 0 or -errno.
 */
export function do_munmap(mm: MmStruct, addr: number, length: number): number {
  if (addr % PAGE_SIZE !== 0 || !(length > 0)) return -EINVAL;
  const start = addr / PAGE_SIZE;
  const end = start + Math.ceil(length / PAGE_SIZE);
  if (end > mm.vaPages) return -EINVAL;
  mmap_write_lock(mm);
  try {
    const hit = vmas(mm).filter((v) => v.start < end && start < v.end);
    for (const v of hit) {
      if (v.kind === VMA_KIND.HUGETLB) {
        const mask = (1 << v.order) - 1;
        if ((Math.max(start, v.start) & mask) !== 0 || (Math.min(end, v.end) & mask) !== 0) return -EINVAL;
      }
    }
    if (hit.length === 0) return 0;
    mmu_notifier_invalidate_range_start(mm, start, end, 'unmap');
    for (const v of hit) zap_page_range(mm, Math.max(start, v.start), Math.min(end, v.end), v.kind === VMA_KIND.FILE);
    mmu_notifier_invalidate_range_end(mm, start, end);
    vma_lock(mm);
    try {
      // Re-read: slots move as VMAs are removed. Adjust from the highest slot down.
      for (const v of vmas(mm).filter((x) => x.start < end && start < x.end).sort((a, b) => b.slot - a.slot)) {
        const keepHead = v.start < start;
        const keepTail = v.end > end;
        if (!keepHead && !keepTail) {
          removeVma(mm, v.slot);
        } else if (keepHead && keepTail) {
          writeVma(mm, v.slot, { ...v, end: start });
          insertVma(mm, { ...v, start: end, pgoff: v.pgoff + (end - v.start) });
        } else if (keepHead) {
          writeVma(mm, v.slot, { ...v, end: start });
        } else {
          writeVma(mm, v.slot, { ...v, start: end, pgoff: v.pgoff + (end - v.start) });
        }
      }
    } finally {
      vma_unlock(mm);
    }
    return 0;
  } finally {
    mmap_write_unlock(mm);
  }
}

/**
 * vma_merge(): join adjacent VMAs within [lo, hi) (vpns) that have the same kind, flags, file and
 * folio order (and, for file mappings, contiguous file offsets) — what mmap's vma_merge does for
 * a MAP_FIXED mapping next to its old neighbours. Takes mmap_lock for write and the VMA lock.
 */
export function vma_merge(mm: MmStruct, lo: number, hi: number): number {
  let merged = 0;
  mmap_write_lock(mm);
  vma_lock(mm);
  try {
    for (;;) {
      const vs = vmas(mm).filter((v) => v.start >= lo && v.end <= hi).sort((a, b) => a.start - b.start);
      let pair: [Vma, Vma] | null = null;
      for (let i = 0; i + 1 < vs.length && pair === null; i++) {
        const a = vs[i]!;
        const b = vs[i + 1]!;
        const fileBacked = a.kind === VMA_KIND.FILE || a.kind === VMA_KIND.DAX;
        if (a.end === b.start && a.kind === b.kind && a.flags === b.flags && a.order === b.order && a.file === b.file
          && (!fileBacked || b.pgoff === a.pgoff + (a.end - a.start))) pair = [a, b];
      }
      if (pair === null) return merged;
      const [a, b] = pair;
      writeVma(mm, a.slot, { ...a, end: b.end });
      removeVma(mm, b.slot);
      merged++;
    }
  } finally {
    vma_unlock(mm);
    mmap_write_unlock(mm);
  }
}
