/**
 * fork(): dup_mmap() duplicates a process's address space into a child mm, with the kernel's
 * names (kernel/fork.c dup_mmap, mm/memory.c copy_page_range / copy_present_pte /
 * copy_present_page; kernel-notes §3.4). File VMAs are MAP_SHARED in this model: the child gets
 * the VMA and faults the pages in from the page cache (vma_needs_copy() is false for a shared
 * mapping without an anon_vma, v6.3/mm/memory.c:1239-1256). Private anon VMAs are COW mappings:
 * each present page is shared read-only by both, or — early COW, from v5.9 — copied for the
 * child when it may be pinned (page_needs_cow_for_dma). exit_mmap() tears a child down.
 *
 * Limits of the model: order-0 anon (and CMA) and file VMAs only; a VMA of large folios,
 * hugetlb or DAX makes dup_mmap() fail with -EOPNOTSUPP before anything is copied.
 */
import { MM, MMF_HAS_PINNED, PG, PG_anon, PG_anon_exclusive, VMA_KIND, VM_WRITE, ZONE } from '../mem/layout.js';
import { EBUSY, EOPNOTSUPP, ENOMEM } from './constants.js';
import { current } from './current.js';
import { alloc_pages } from './alloc.js';
import { page_data } from './filemap.js';
import {
  type MmStruct, type Vma, insertVma, mmap_write_lock, mmap_write_unlock, removeVma, vma_lock, vma_unlock, vmas,
} from './mm.js';
import { mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, zap_page_range } from './mmap.js';
import { get_page, put_page, pw } from './page.js';
import {
  _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, is_migration_entry, pfn_pte, pte_none, pte_pfn, pte_present, pte_write,
  pte_wrprotect, spin_lock, spin_unlock,
} from './pgtable.js';
import { page_maybe_dma_pinned } from './pin.js';
import { ANON_FORKED, anon_mm_id } from './rmap.js';

/**
 * page_needs_cow_for_dma() (v6.3/include/linux/mm.h:1767-1776): the mm has pinned something
 * (MMF_HAS_PINNED) and the page may be pinned. Called with write_protect_seq odd.
 */
export function page_needs_cow_for_dma(src: MmStruct, page: number): boolean {
  if ((current.mem.load(src.base + MM.FLAGS) & MMF_HAS_PINNED) === 0) return false;
  return page_maybe_dma_pinned(page);
}

/**
 * page_try_dup_anon_rmap() (v6.3/include/linux/rmap.h:243-270): the child may share the page,
 * or -EBUSY: it must get a copy now. With PageAnonExclusive (EraSpec.anonExclusive) an exclusive
 * page that may be pinned is refused and any other exclusive page loses the bit; without it
 * (the v5.9-v5.18 shape, 70e806e4e645) the pin test alone decides. The fault fork-no-early-cow
 * (native in rfc-2019 and v5.7, whose copy_one_pte shares every page: v5.7/mm/memory.c:779)
 * never refuses.
 */
export function page_try_dup_anon_rmap(src: MmStruct, page: number): number {
  const k = current;
  const m = k.mem;
  const early = !k.fault('fork-no-early-cow');
  if (k.spec.anonExclusive) {
    const flags = m.load(pw(page, PG.FLAGS));
    if ((flags & PG_anon_exclusive) !== 0) {
      if (early && page_needs_cow_for_dma(src, page)) return -EBUSY;
      m.and(pw(page, PG.FLAGS), ~PG_anon_exclusive);
    }
  } else if (early && page_needs_cow_for_dma(src, page)) {
    return -EBUSY;
  }
  m.add(pw(page, PG.MAPCOUNT), 1); // __page_dup_rmap()
  const mapping = m.load(pw(page, PG.MAPPING));
  if (-mapping - 1 < ANON_FORKED) m.store(pw(page, PG.MAPPING), -(anon_mm_id(mapping) + 1) - ANON_FORKED);
  return 0;
}

/**
 * copy_present_page() (v6.3/mm/memory.c:864-893): early COW — a private copy for the child,
 * mapped writable there; the parent keeps its (pinned) page writable. -ENOMEM without a frame.
 */
function copy_present_page(dst: MmStruct, vpn: number, page: number, dstIdx: number): number {
  const m = current.mem;
  const copy = alloc_pages(ZONE.NORMAL, 0);
  if (copy < 0) return -ENOMEM;
  m.copyWords(page_data(copy), page_data(page), current.layout.config.wordsPerPage);
  m.store(pw(copy, PG.MAPPING), -(dst.id + 1));
  m.store(pw(copy, PG.INDEX), vpn);
  m.or(pw(copy, PG.FLAGS), current.spec.anonExclusive ? PG_anon | PG_anon_exclusive : PG_anon);
  m.store(pw(copy, PG.MAPCOUNT), 1);
  m.store(dstIdx, pfn_pte(copy, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY));
  return 0;
}

/**
 * copy_present_pte() (v6.3/mm/memory.c:901-953) for a private anon VMA, under the parent's PT
 * lock: take a reference for the child; if page_try_dup_anon_rmap() refuses, copy the page
 * (early COW); otherwise write-protect the parent's entry (ptep_set_wrprotect) and give the child
 * the same read-only entry. The pin test comes before the write-protect, as in the tree: the
 * write_protect_seq count, odd since copy_page_range() began, is what stops a gup-fast that
 * read the writable entry from pinning in between (57efa1fe5957).
 */
export function copy_present_pte(src: MmStruct, dst: MmStruct, vpn: number, srcIdx: number, e: number, writable: boolean): number {
  const m = current.mem;
  const page = pte_pfn(e);
  get_page(page); // folio_get()
  if (page_try_dup_anon_rmap(src, page) !== 0) {
    put_page(page);
    return copy_present_page(dst, vpn, page, dst.pt.pte(vpn));
  }
  let pte = e;
  if (writable && pte_write(e)) {
    m.and(srcIdx, ~_PAGE_RW); // ptep_set_wrprotect()
    m.event('pte-wrprotect', srcIdx);
    pte = pte_wrprotect(e);
  }
  m.store(dst.pt.pte(vpn), pte);
  return 0;
}

/**
 * copy_page_range() (v6.3/mm/memory.c:1240-1305) for one private anon VMA: with the parent's
 * mmap_lock held for write, make write_protect_seq odd (raw_write_seqcount_begin, :1281), copy
 * each present entry, and end the write section (:1299). A migration entry is waited out (the
 * model's child gets no copy of the parent's non-present entries).
 */
export function copy_page_range(src: MmStruct, dst: MmStruct, vma: Vma): number {
  const m = current.mem;
  const seq = src.base + MM.WRITE_PROTECT_SEQ;
  mmu_notifier_invalidate_range_start(src, vma.start, vma.end, 'fork');
  m.add(seq, 1); // odd: gup-fast FOLL_PIN backs off to the slow path, which needs mmap_lock
  let ret = 0;
  try {
    for (let vpn = vma.start; vpn < vma.end && ret === 0; vpn++) {
      const idx = src.pt.pte(vpn);
      const ptl = src.pt.ptl(vpn);
      for (;;) {
        spin_lock(ptl);
        const e = m.load(idx);
        if (pte_none(e)) {
          spin_unlock(ptl);
          break;
        }
        if (!pte_present(e)) {
          spin_unlock(ptl);
          if (is_migration_entry(e)) m.wait(idx, e, 1); // migration_entry_wait(), then look again
          continue;
        }
        ret = copy_present_pte(src, dst, vpn, idx, e, (vma.flags & VM_WRITE) !== 0);
        spin_unlock(ptl);
        break;
      }
    }
  } finally {
    m.add(seq, 1); // raw_write_seqcount_end(): even again
    mmu_notifier_invalidate_range_end(src, vma.start, vma.end);
  }
  return ret;
}

/**
 * dup_mmap() (v6.3/kernel/fork.c:588-720): copy the parent's VMAs into `child` (an mm with no
 * VMAs) and their page tables, both mmap_locks held for write. Returns 0, -EBUSY (the child mm is
 * in use), -EOPNOTSUPP (a VMA kind the model does not fork: see the module comment) or -ENOMEM;
 * on failure the child is torn down again.
 */
export function dup_mmap(parent: MmStruct, child: MmStruct): number {
  if (parent.id === child.id) return -EBUSY;
  mmap_write_lock(parent);
  try {
    const list = vmas(parent);
    for (const v of list) {
      const anon = v.kind === VMA_KIND.ANON || v.kind === VMA_KIND.CMA;
      if (!(anon && v.order === 0) && v.kind !== VMA_KIND.FILE) return -EOPNOTSUPP;
    }
    mmap_write_lock(child);
    let ret = 0;
    try {
      if (vmas(child).length !== 0) return -EBUSY;
      for (const v of list) {
        vma_lock(child);
        const slot = insertVma(child, { start: v.start, end: v.end, kind: v.kind, flags: v.flags, file: v.file, pgoff: v.pgoff, order: v.order });
        vma_unlock(child);
        if (slot < 0) {
          ret = slot;
          break;
        }
        if (v.kind !== VMA_KIND.FILE) {
          ret = copy_page_range(parent, child, v);
          if (ret !== 0) break;
        }
      }
    } finally {
      mmap_write_unlock(child);
    }
    if (ret !== 0) exit_mmap(child);
    return ret;
  } finally {
    mmap_write_unlock(parent);
  }
}

/**
 * exit_mmap(): unmap every VMA of `mm` and remove it (the child's exit). Pins held on its pages
 * keep them alive; the pages go when the last reference does.
 */
export function exit_mmap(mm: MmStruct): void {
  mmap_write_lock(mm);
  try {
    const list = vmas(mm);
    mmu_notifier_invalidate_range_start(mm, 0, mm.vaPages, 'exit');
    for (const v of list) zap_page_range(mm, v.start, v.end, v.kind === VMA_KIND.FILE);
    mmu_notifier_invalidate_range_end(mm, 0, mm.vaPages);
    vma_lock(mm);
    try {
      for (let n = vmas(mm).length; n > 0; n--) removeVma(mm, n - 1);
    } finally {
      vma_unlock(mm);
    }
  } finally {
    mmap_write_unlock(mm);
  }
}
