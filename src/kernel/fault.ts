/**
 * handle_mm_fault(): populate or upgrade the entry for one virtual page. The caller holds
 * mmap_lock for read; PTE changes are made under the page-table lock.
 */
import { PG, PG_anon, PG_anon_exclusive, PG_private, PMD_ORDER, PUD_ORDER, VMA_KIND, VM_WRITE, ZONE } from '../mem/layout.js';
import { EFAULT, ENOMEM } from './constants.js';
import { current } from './current.js';
import { VMSTAT } from './context.js';
import { alloc_pages, clear_page } from './alloc.js';
import { find_or_create_page, page_data, pagecache_slot, wait_for_stable_page } from './filemap.js';
import { type MmStruct, type Vma } from './mm.js';
import { get_page, lock_page, page_ref_count, put_page, pw, set_page_dirty, trylock_page, unlock_page } from './page.js';
import {
  _PAGE_DEVMAP, _PAGE_DIRTY, _PAGE_HUGE, _PAGE_PRESENT, _PAGE_RW, type PageTables, is_migration_entry, pfn_pte,
  pte_pfn, pte_present, pte_write, spin_lock, spin_unlock,
} from './pgtable.js';

/** The lock for a leaf of `order` at vpn: the PMD's split lock (a PUD leaf uses its first PMD's). */
export function leaf_ptl(pt: PageTables, vpn: number, order: number): number {
  return pt.ptl(order === PUD_ORDER ? vpn & ~((1 << PUD_ORDER) - 1) : vpn);
}

/** migration_entry_wait(): the entry is being migrated; wait until it changes, then retry. */
function migration_entry_wait(idx: number, entry: number): void {
  current.mem.wait(idx, entry, 1);
}

/**
 * ->page_mkwrite of the model's filesystem (block_page_mkwrite + ext4_page_mkwrite), called with
 * the page locked before a shared file page becomes writable: attach buffers (PG_private) if
 * reclaim stripped them, and wait until writeback of the page ends (wait_for_stable_page).
 */
function page_mkwrite(page: number): void {
  current.mem.or(pw(page, PG.FLAGS), PG_private);
  wait_for_stable_page(page);
}

/**
 * do_shared_write_fault() on a present read-only file PTE (write-protected by page_mkclean):
 * take a reference under the PT lock, drop the lock, lock the page and run ->page_mkwrite (which
 * may sleep on writeback), then retake the PT lock and make the PTE writable and dirty only if it
 * did not change meanwhile (finish_mkwrite_fault); the page is dirtied under the page lock
 * (fault_dirty_shared_page), so clear_page_dirty_for_io() never splits the two.
 */
function do_shared_write_fault(idx: number, ptl: number, e: number): void {
  const m = current.mem;
  const page = pte_pfn(e);
  get_page(page); // under the PT lock, with the PTE present: the mapping's reference keeps it
  spin_unlock(ptl);
  lock_page(page);
  page_mkwrite(page);
  spin_lock(ptl);
  if (m.load(idx) === e) {
    set_page_dirty(page);
    m.store(idx, e | _PAGE_RW | _PAGE_DIRTY);
  }
  spin_unlock(ptl);
  unlock_page(page);
  put_page(page);
}

/**
 * wp_page_copy(): the PT lock is held and `e` (present, read-only, anon) is the entry at idx.
 * Allocate a new exclusive anon page, copy, and replace the entry if it did not change
 * meanwhile; the old page loses this mapping. An unshare fault (FAULT_FLAG_UNSHARE) maps the
 * copy read-only: it only has to make the page exclusive (v6.3/mm/memory.c:3107-3120).
 * Releases the PT lock.
 */
function wp_page_copy(mm: MmStruct, vpn: number, idx: number, ptl: number, e: number, unshare: boolean): void {
  const m = current.mem;
  const old = pte_pfn(e);
  get_page(old); // keep it while the lock is dropped
  spin_unlock(ptl);
  const page = alloc_pages(ZONE.NORMAL, 0);
  if (page < 0) {
    put_page(old);
    return; // -ENOMEM is a retry here: the caller faults again
  }
  m.copyWords(page_data(page), page_data(old), current.layout.config.wordsPerPage);
  anon_rmap(page, mm, vpn);
  spin_lock(ptl);
  if (m.load(idx) !== e) {
    spin_unlock(ptl);
    m.store(pw(page, PG.MAPPING), 0);
    put_page(page);
    put_page(old);
    return;
  }
  m.store(pw(page, PG.MAPCOUNT), 1);
  m.store(idx, pfn_pte(page, _PAGE_PRESENT | (unshare ? 0 : _PAGE_RW | _PAGE_DIRTY)));
  m.sub(pw(old, PG.MAPCOUNT), 1); // page_remove_rmap()
  spin_unlock(ptl);
  put_page(old); // the mapping's reference
  put_page(old); // ours
}

/**
 * May this private anon page be written in place (do_wp_page's reuse test)? An exclusive page
 * always (EraSpec.anonExclusive, v6.3/mm/memory.c:3371); otherwise only if our mapping holds the
 * only reference, checked under the page lock, and the page becomes exclusive
 * (page_move_anon_rmap, :3389-3404; the page-count rule of 09854ba94c6a, ≈v5.9). The fault
 * cow-reuse-by-mapcount — native in rfc-2019 and v5.7, whose reuse_swap_page() reuses a page
 * mapped once (v5.7/mm/memory.c:2956) — does not ask who else holds a reference (CVE-2020-29374).
 */
function wp_can_reuse_anon_page(page: number): boolean {
  const m = current.mem;
  const exclusiveBit = current.spec.anonExclusive;
  if (exclusiveBit && (m.load(pw(page, PG.FLAGS)) & PG_anon_exclusive) !== 0) return true;
  if (current.fault('cow-reuse-by-mapcount')) return m.load(pw(page, PG.MAPCOUNT)) === 1;
  if (page_ref_count(page) > 1 || !trylock_page(page)) return false;
  const ok = page_ref_count(page) === 1;
  if (ok && exclusiveBit) m.or(pw(page, PG.FLAGS), PG_anon_exclusive);
  unlock_page(page);
  return ok;
}

/**
 * do_wp_page() on a present read-only private anon entry, with the PT lock held: reuse the page
 * (make the entry writable; an unshare fault changes nothing) or copy it. Releases the PT lock.
 */
function do_wp_page(mm: MmStruct, vpn: number, idx: number, ptl: number, e: number, unshare: boolean): void {
  const page = pte_pfn(e);
  if (page < current.layout.smallStart || !wp_can_reuse_anon_page(page)) {
    wp_page_copy(mm, vpn, idx, ptl, e, unshare);
    return;
  }
  if (!unshare) current.mem.store(idx, e | _PAGE_RW | _PAGE_DIRTY); // wp_page_reuse()
  spin_unlock(ptl);
}

/**
 * Resolve an existing entry: upgrade a read-only file/anon entry on a write fault (do_wp_page /
 * do_shared_write_fault, which dirties the page), unshare a non-exclusive anon page for a R/O
 * pin (FAULT_FLAG_UNSHARE), or wait out a migration entry. Returns true if handled (the caller
 * retries its lookup).
 */
function fault_existing(idx: number, ptl: number, write: boolean, file: boolean, mm?: MmStruct, vpn = 0, unshare = false): boolean {
  const m = current.mem;
  spin_lock(ptl);
  const e = m.load(idx);
  if (pte_present(e)) {
    if ((write || unshare) && !pte_write(e)) {
      if (file) {
        if (write) do_shared_write_fault(idx, ptl, e); // releases the PT lock
        else spin_unlock(ptl);
        return true;
      }
      if (mm !== undefined && (m.load(pw(pte_pfn(e), PG.FLAGS)) & PG_anon) !== 0) {
        do_wp_page(mm, vpn, idx, ptl, e, unshare && !write); // releases the PT lock
        return true;
      }
      if (write) m.store(idx, e | _PAGE_RW | _PAGE_DIRTY);
    }
    spin_unlock(ptl);
    return true;
  }
  spin_unlock(ptl);
  if (is_migration_entry(e)) {
    migration_entry_wait(idx, e);
    return true;
  }
  return false;
}

/** folio_add_new_anon_rmap(): a new anon page of `mm` at vpn; exclusive where the era has the bit. */
function anon_rmap(head: number, mm: MmStruct, vpn: number): void {
  const m = current.mem;
  m.store(pw(head, PG.MAPPING), -(mm.id + 1));
  m.store(pw(head, PG.INDEX), vpn);
  m.or(pw(head, PG.FLAGS), current.spec.anonExclusive ? PG_anon | PG_anon_exclusive : PG_anon);
}

function fault_hugetlb(mm: MmStruct, vma: Vma, vpn: number, write: boolean): number {
  const m = current.mem;
  const order = vma.order;
  const base = vpn & ~((1 << order) - 1);
  const idx = order === PUD_ORDER ? mm.pt.pud(base) : mm.pt.pmd(base);
  const ptl = leaf_ptl(mm.pt, base, order);
  if (fault_existing(idx, ptl, write, false)) return 0;
  const head = alloc_pages(order === PUD_ORDER ? ZONE.HUGE_1G : ZONE.HUGE_2M, order);
  if (head < 0) return -ENOMEM;
  clear_page(head, 1 << order);
  anon_rmap(head, mm, base);
  m.store(pw(head, PG.MAPCOUNT), 1);
  spin_lock(ptl);
  if (m.load(idx) !== 0) {
    spin_unlock(ptl);
    m.store(pw(head, PG.MAPCOUNT), 0);
    put_page(head);
    return 0;
  }
  const rw = (vma.flags & VM_WRITE) !== 0 ? _PAGE_RW | _PAGE_DIRTY : 0;
  m.store(idx, pfn_pte(head, _PAGE_PRESENT | _PAGE_HUGE | rw));
  spin_unlock(ptl);
  return 0;
}

function fault_anon(mm: MmStruct, vma: Vma, vpn: number, write: boolean, unshare = false): number {
  const m = current.mem;
  const idx = mm.pt.pte(vpn);
  const ptl = mm.pt.ptl(vpn);
  if (fault_existing(idx, ptl, write, false, mm, vpn, unshare)) return 0;
  let order = vma.order;
  let base = vpn & ~((1 << order) - 1);
  if (base < vma.start || base + (1 << order) > vma.end) {
    order = 0;
    base = vpn;
  }
  const zone = vma.kind === VMA_KIND.CMA ? ZONE.MOVABLE : ZONE.NORMAL;
  let head = alloc_pages(zone, order);
  if (head < 0 && order > 0) {
    order = 0;
    base = vpn;
    head = alloc_pages(zone, 0);
  }
  if (head < 0) return -ENOMEM;
  const nr = 1 << order;
  clear_page(head, nr);
  anon_rmap(head, mm, base);
  if (nr > 1 && current.spec.anonExclusive) for (let i = 1; i < nr; i++) m.or(pw(head + i, PG.FLAGS), PG_anon_exclusive);
  spin_lock(ptl);
  for (let i = 0; i < nr; i++) {
    if (m.load(mm.pt.pte(base + i)) !== 0) {
      spin_unlock(ptl);
      put_page(head); // raced with another fault (or a partly populated folio range): retry small
      // Retry *this* page small now: returning 0 would make the caller fault the same large
      // folio range again, and a partly populated range would never resolve (a livelock).
      if (nr > 1) return fault_anon(mm, { ...vma, order: 0 }, vpn, write);
      return 0;
    }
  }
  const rw = (vma.flags & VM_WRITE) !== 0 ? _PAGE_RW | _PAGE_DIRTY : 0;
  for (let i = 0; i < nr; i++) {
    m.store(pw(head + i, PG.MAPCOUNT), 1);
    m.store(mm.pt.pte(base + i), pfn_pte(head + i, _PAGE_PRESENT | rw));
  }
  if (nr > 1) m.add(pw(head, PG.REFCOUNT), nr - 1); // one reference per mapped subpage
  spin_unlock(ptl);
  return 0;
}

function fault_file(mm: MmStruct, vma: Vma, vpn: number, write: boolean): number {
  const m = current.mem;
  const idx = mm.pt.pte(vpn);
  const ptl = mm.pt.ptl(vpn);
  if (fault_existing(idx, ptl, write, true)) return 0;
  const index = vma.pgoff + (vpn - vma.start);
  const page = find_or_create_page(vma.file, index);
  if (page < 0) return page;
  // filemap_fault() returns the page locked; a page truncated (or migrated) from the cache meanwhile
  // is dropped and the fault retried. The lock orders PTE installation against page_mkclean().
  lock_page(page);
  if (m.load(pagecache_slot(vma.file, index)) !== page + 1) {
    unlock_page(page);
    put_page(page);
    return 0;
  }
  if (write) page_mkwrite(page);
  spin_lock(ptl);
  if (m.load(idx) !== 0) {
    spin_unlock(ptl);
    unlock_page(page);
    put_page(page);
    return 0;
  }
  m.add(pw(page, PG.MAPCOUNT), 1);
  if (write) set_page_dirty(page); // fault_dirty_shared_page()
  m.store(idx, pfn_pte(page, _PAGE_PRESENT | (write ? _PAGE_RW | _PAGE_DIRTY : 0)));
  spin_unlock(ptl);
  unlock_page(page);
  return 0;
}

function fault_dax(mm: MmStruct, vma: Vma, vpn: number, write: boolean): number {
  const m = current.mem;
  const l = current.layout;
  const idx = mm.pt.pte(vpn);
  const ptl = mm.pt.ptl(vpn);
  if (fault_existing(idx, ptl, write, false)) return 0;
  const daxFrames = l.config.daxFrames;
  if (daxFrames === 0) return -ENOMEM;
  const index = vma.pgoff + (vpn - vma.start);
  const pfn = l.zoneStart[ZONE.DAX]! + ((vma.file * l.config.filePages + index) % daxFrames);
  spin_lock(ptl);
  if (m.load(idx) !== 0) {
    spin_unlock(ptl);
    return 0;
  }
  get_page(pfn);
  m.add(pw(pfn, PG.MAPCOUNT), 1);
  m.store(idx, pfn_pte(pfn, _PAGE_PRESENT | _PAGE_DEVMAP | ((vma.flags & VM_WRITE) !== 0 ? _PAGE_RW | _PAGE_DIRTY : 0)));
  spin_unlock(ptl);
  return 0;
}

/**
 * handle_mm_fault(): 0 when the caller should retry its lookup, or -errno. `unshare`
 * (FAULT_FLAG_UNSHARE, from GUP's gup_must_unshare) makes a non-exclusive anon page exclusive
 * without making it writable.
 */
export function handle_mm_fault(mm: MmStruct, vma: Vma, vpn: number, write: boolean, unshare = false): number {
  if (write && (vma.flags & VM_WRITE) === 0) return -EFAULT;
  current.vmstatAdd(VMSTAT.pgfault, 1);
  switch (vma.kind) {
    case VMA_KIND.HUGETLB:
      return fault_hugetlb(mm, vma, vpn, write);
    case VMA_KIND.ANON:
    case VMA_KIND.CMA:
      return fault_anon(mm, vma, vpn, write, unshare);
    case VMA_KIND.FILE:
      return fault_file(mm, vma, vpn, write);
    case VMA_KIND.DAX:
      return fault_dax(mm, vma, vpn, write);
    default:
      return -EFAULT;
  }
}

