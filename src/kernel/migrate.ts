/**
 * Page migration (kernel-notes §3.3): lock and isolate the page, replace each PTE with a
 * migration entry, check the refcount against the expected value (a pin can never pass it), copy
 * to a new frame, switch the page cache slot, and install the new page.
 *
 * Per era (EraSpec.migratePinCheck): from v6.3 try_to_migrate_one() asks page_maybe_dma_pinned()
 * of an exclusive anon page right after clearing its PTE and gives up (-EBUSY); v5.7 and the 2019
 * postings have no mm-side pin check, and a pin fails the refcount compare (-EAGAIN). In every
 * era an order-0 anon page's count is compared without a freeze (v5.7/mm/migrate.c:410-413,
 * v6.3/mm/migrate.c:419-422, v6.18/mm/migrate.c:572-590: nothing can find the page but through
 * its PTEs, now migration entries) and a page-cache page's is frozen under the xarray lock
 * (v5.7/mm/migrate.c:433, v6.3/mm/migrate.c:437, v6.18/mm/migrate.c:600), which also stops
 * lockless page-cache lookups.
 */
import { PG, PG_anon, PG_anon_exclusive, PG_dirty, PG_hugetlb, PG_private, PG_uptodate, PG_writeback, ZONE } from '../mem/layout.js';
import { EAGAIN, EBUSY, ENOMEM, EOPNOTSUPP } from './constants.js';
import { current } from './current.js';
import { VMSTAT } from './context.js';
import { alloc_pages } from './alloc.js';
import { page_data, pagecache_slot } from './filemap.js';
import { leaf_ptl } from './fault.js';
import { type MmStruct, mm_of } from './mm.js';
import { mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start } from './mmap.js';
import {
  PageCompound, compound_head, get_page, page_ref_add_unless_zero, page_ref_count, page_ref_freeze, page_ref_unfreeze, put_page,
  put_page_refs, pw, set_page_dirty, trylock_page, unlock_page,
} from './page.js';
import {
  _PAGE_DIRTY, _PAGE_HUGE, _PAGE_PRESENT, _PAGE_RW, is_migration_entry, make_migration_entry, pfn_pte, pte_dirty,
  pte_pfn, pte_present, pte_write, spin_lock, spin_unlock, walk,
} from './pgtable.js';
import { page_maybe_dma_pinned } from './pin.js';
import { anon_mm_id, rmap_walk } from './rmap.js';

interface MigrationPte {
  mm: MmStruct;
  vpn: number;
  entry: number; // the migration entry we installed
  write: boolean;
  dirty: boolean;
}

/**
 * try_to_migrate(): replace every PTE of `page` with a migration entry; false if a pin was seen.
 * Each replacement is bracketed by mmu_notifier_invalidate_range_start/end ('migrate'), so ODP
 * clients drop their device mappings before the page moves.
 */
function try_to_migrate(page: number, anon: boolean, out: MigrationPte[]): boolean {
  const m = current.mem;
  let ok = true;
  rmap_walk(page, (mm, vpn) => {
    mmu_notifier_invalidate_range_start(mm, vpn, vpn + 1, 'migrate');
    try {
      return try_to_migrate_one(mm, vpn);
    } finally {
      mmu_notifier_invalidate_range_end(mm, vpn, vpn + 1);
    }
  });
  return ok;

  function try_to_migrate_one(mm: MmStruct, vpn: number): boolean {
    const idx = mm.pt.pte(vpn);
    const ptl = mm.pt.ptl(vpn);
    spin_lock(ptl);
    try {
      const e = m.load(idx);
      if (!pte_present(e) || pte_pfn(e) !== page) return true;
      const entry = make_migration_entry(page, pte_write(e));
      const old = m.xchg(idx, entry); // (A1) clear the PTE ...
      m.event('pte-cleared', idx);
      // ... (A2) then check for pins: the mm half of the store-buffering pair (anon exclusive
      // pages; from v6.3, EraSpec.migratePinCheck — v5.7's try_to_unmap_one has no such check).
      if (anon && current.spec.migratePinCheck && page_maybe_dma_pinned(page)) {
        m.store(idx, old);
        ok = false;
        return false;
      }
      if (pte_dirty(old)) set_page_dirty(page);
      m.sub(pw(page, PG.MAPCOUNT), 1);
      out.push({ mm, vpn, entry, write: pte_write(old), dirty: pte_dirty(old) });
      return true;
    } finally {
      spin_unlock(ptl);
    }
  }
}

/** remove_migration_ptes(): point every migration entry we installed at `target`. */
function remove_migration_ptes(target: number, entries: MigrationPte[]): void {
  const m = current.mem;
  for (const e of entries) {
    const idx = e.mm.pt.pte(e.vpn);
    const ptl = e.mm.pt.ptl(e.vpn);
    spin_lock(ptl);
    if (m.load(idx) === e.entry && is_migration_entry(e.entry)) {
      get_page(target);
      m.add(pw(target, PG.MAPCOUNT), 1);
      m.store(idx, pfn_pte(target, _PAGE_PRESENT | (e.write ? _PAGE_RW : 0) | (e.dirty ? _PAGE_DIRTY : 0)));
    }
    spin_unlock(ptl);
    m.notify(idx); // wake faults waiting on the migration entry
  }
}

/**
 * migrate_page() of a hugetlb page (an anon PMD or PUD leaf): lock and isolate it, then the A1/A2
 * protocol on its leaf entry — under the leaf's lock, replace it with a (huge) migration entry,
 * then ask page_maybe_dma_pinned() (hugetlb_try_share_anon_rmap, from v6.3: EraSpec.migratePinCheck)
 * — and put the entry back. A pinned page is refused (-EBUSY). Without the era's pin check (v5.7,
 * rfc-2019) a pin is found by the refcount compare of migrate_page_move_mapping() instead
 * (v5.7/mm/migrate.c:412: the isolation reference and the leaf's own, -EAGAIN). Copying a hugetlb
 * page is not modelled: an unpinned one gets its entry back too (-EOPNOTSUPP).
 */
function migrate_huge_page(head: number): number {
  const m = current.mem;
  if (!trylock_page(head)) return -EAGAIN;
  const mapping = m.load(pw(head, PG.MAPPING));
  if (mapping >= 0 || !page_ref_add_unless_zero(head, 1)) {
    unlock_page(head);
    return mapping >= 0 ? -EBUSY : -EAGAIN;
  }
  const mm = mm_of(anon_mm_id(mapping));
  const base = m.load(pw(head, PG.INDEX));
  const w = walk(mm.pt, base, { idx: 0, entry: 0, order: 0 });
  let pinned = false;
  let refs = false;
  if (w.order !== 0 && pte_present(w.entry) && pte_pfn(w.entry) === head) {
    const end = base + (1 << w.order);
    mmu_notifier_invalidate_range_start(mm, base, end, 'migrate');
    const ptl = leaf_ptl(mm.pt, base, w.order);
    spin_lock(ptl);
    const e = m.load(w.idx);
    if (pte_present(e) && pte_pfn(e) === head) {
      const old = m.xchg(w.idx, make_migration_entry(head, pte_write(e)) | _PAGE_HUGE); // (A1)
      m.event('pte-cleared', w.idx);
      if (current.spec.migratePinCheck) pinned = page_maybe_dma_pinned(head); // (A2)
      else if (page_ref_count(head) !== 2) refs = true; // isolation + the leaf's reference
      m.store(w.idx, old); // the copy is not modelled: the old leaf comes back
    }
    spin_unlock(ptl);
    m.notify(w.idx); // wake faults waiting on the migration entry
    mmu_notifier_invalidate_range_end(mm, base, end);
  }
  unlock_page(head);
  put_page(head); // the isolation reference
  current.vmstatAdd(VMSTAT.pgmigrate_fail, 1);
  return pinned ? -EBUSY : refs ? -EAGAIN : -EOPNOTSUPP;
}

/**
 * migrate_page(): move an order-0 anon or page-cache page to a new ZONE_NORMAL frame.
 * Returns 0, -EAGAIN (extra references: a pin, a GUP reference, a racing user), -EBUSY (pinned
 * anon page seen at the PTE check, or a PTE-mapped large folio) or -ENOMEM. A hugetlb page goes
 * through migrate_huge_page() (-EBUSY when pinned, else -EOPNOTSUPP).
 */
export function migrate_page(page: number): number {
  const m = current.mem;
  if (PageCompound(page)) {
    const head = compound_head(page);
    return (m.load(pw(head, PG.FLAGS)) & PG_hugetlb) !== 0 ? migrate_huge_page(head) : -EBUSY;
  }
  if (!trylock_page(page)) return -EAGAIN;
  if ((m.load(pw(page, PG.FLAGS)) & PG_writeback) !== 0) {
    // MIGRATE_ASYNC does not wait for writeback (migrate_folio_unmap): the I/O still reads this frame.
    unlock_page(page);
    return -EBUSY;
  }
  if (!page_ref_add_unless_zero(page, 1)) {
    // already freed: nothing to migrate
    unlock_page(page);
    return -EAGAIN;
  }
  const mapping = m.load(pw(page, PG.MAPPING));
  const anon = mapping < 0;
  const file = mapping > 0;
  const entries: MigrationPte[] = [];
  const fail = (err: number): number => {
    remove_migration_ptes(page, entries);
    unlock_page(page);
    put_page(page); // the isolation reference
    current.vmstatAdd(VMSTAT.pgmigrate_fail, 1);
    return err;
  };
  if (!try_to_migrate(page, anon, entries)) return fail(-EBUSY);
  if (entries.length > 0) put_page_refs(page, entries.length); // the mappings' references
  const expected = 1 + (file ? 1 : 0); // isolation + page cache
  // folio_migrate_mapping(): an anon page without a mapping is compared, a page-cache page frozen.
  // The fault migrate-no-freeze compares the page-cache page too and copies on: a reference taken
  // meanwhile is missed.
  // Stryker disable next-line all: fault switch, covered by test/faults
  const noFreeze = current.fault('migrate-no-freeze');
  const frozen = file && !noFreeze;
  if (frozen) {
    if (!page_ref_freeze(page, expected)) return fail(-EAGAIN);
  } else if (page_ref_count(page) !== expected) {
    return fail(-EAGAIN);
  }
  const newpage = alloc_pages(ZONE.NORMAL, 0);
  if (newpage < 0) {
    if (frozen) page_ref_unfreeze(page, expected);
    return fail(-ENOMEM);
  }
  trylock_page(newpage);
  m.copyWords(page_data(newpage), page_data(page), current.layout.config.wordsPerPage);
  // PG_private: buffer_migrate_folio() moves the fs buffers to the new page.
  const flags = m.load(pw(page, PG.FLAGS)) & (PG_dirty | PG_anon | PG_anon_exclusive | PG_uptodate | PG_private);
  m.or(pw(newpage, PG.FLAGS), flags);
  m.store(pw(newpage, PG.MAPPING), mapping);
  m.store(pw(newpage, PG.INDEX), m.load(pw(page, PG.INDEX)));
  if (file) {
    m.add(pw(newpage, PG.REFCOUNT), 1); // the page cache's reference moves to the new page
    m.cas(pagecache_slot(mapping - 1, m.load(pw(page, PG.INDEX))), page + 1, newpage + 1);
  }
  m.and(pw(page, PG.FLAGS), ~PG_dirty);
  m.store(pw(page, PG.MAPPING), 0);
  if (frozen) page_ref_unfreeze(page, 1); // only the isolation reference is left
  else if (file) put_page(page);
  remove_migration_ptes(newpage, entries);
  unlock_page(newpage);
  unlock_page(page);
  put_page(newpage); // the new page's isolation reference
  put_page(page); // the old page's isolation reference: frees it
  current.vmstatAdd(VMSTAT.pgmigrate_success, 1);
  return 0;
}
