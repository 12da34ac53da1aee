/**
 * Writeback of page-cache pages (mm/page-writeback.c, mm/rmap.c's folio_mkclean, and the model
 * filesystem's ->writepage), kernel-notes §3.2 and §4.1.
 *
 *   lock_page(page)
 *   clear_page_dirty_for_io(page)   page_mkclean(): write-protect and clean every PTE (rmap walk,
 *                                   under the PT lock, mmu notifiers 'protection' around), moving
 *                                   PTE dirty bits to the page; then test-and-clear PG_dirty
 *   [a pinned-page policy asks page_maybe_dma_pinned() here: after the PTEs changed]
 *   writepage(page)                 no PG_private: WARN, leave the dirty bit clear, write nothing
 *                                   (ext4 after cc5095747edf); else set_page_writeback()
 *   unlock_page(page)
 *   ... I/O: write_to_backing(page, data) ...
 *   end_page_writeback(page)        clear PG_writeback, wake waiters (wait_for_stable_page)
 *
 * Mainline consults no pins on this path (kernel-notes §3.2; policy `mainline`): the research
 * policies that do are the coordinator's (src/coordinator/policies/).
 */
import { PG, PG_dirty, PG_private, PG_writeback } from '../mem/layout.js';
import { current } from './current.js';
import { VMSTAT } from './context.js';
import { backing_word, page_data, pagecache_slot } from './filemap.js';
import { mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start } from './mmap.js';
import { pw, set_page_dirty } from './page.js';
import { page_maybe_dma_pinned } from './pin.js';
import { pte_dirty, pte_mkclean, pte_pfn, pte_present, pte_write, pte_wrprotect, spin_lock, spin_unlock } from './pgtable.js';
import { rmap_walk } from './rmap.js';

/** PagePrivate(): the filesystem's buffers are attached. */
export function PagePrivate(page: number): boolean {
  return (current.mem.load(pw(page, PG.FLAGS)) & PG_private) !== 0;
}

/** PageWriteback(): the page is under writeback I/O. */
export function PageWriteback(page: number): boolean {
  return (current.mem.load(pw(page, PG.FLAGS)) & PG_writeback) !== 0;
}

/**
 * What a writeback that consults pins learns from page_mkclean(): whether it asked
 * page_maybe_dma_pinned() (it does after each PTE it changes) and whether any answer was true.
 */
export interface MkcleanPinCheck {
  checked: boolean;
  pinned: boolean;
}

/**
 * page_mkclean() (folio_mkclean / page_mkclean_one): walk the rmap of an order-0 page-cache page
 * and, for every PTE that maps it writable or dirty, under the PT lock replace it (one atomic
 * exchange) with a write-protected clean entry, emitting the 'pte-cleared' scheduling event. Each
 * candidate place is bracketed by mmu_notifier_invalidate_range_start(..., 'protection') / _end,
 * so ODP device mappings are torn down too. A later write must fault (->page_mkwrite) and a
 * gup-fast FOLL_WRITE sees the PTE change at its re-check. Returns the number of PTEs cleaned
 * (the caller moves that "maybe dirty" to the page: clear_page_dirty_for_io).
 *
 * With `pins` (a writeback whose policy consults pins), page_maybe_dma_pinned() is asked right
 * after each PTE change, still under the PT lock — (A1) change the PTE, (A2) check pins, the mm
 * half of the store-buffering pair with nothing between them (kernel-notes §3.1). Mainline's
 * folio_mkclean() asks nothing (pins = null).
 *
 * Fault plain-pte-clear (088b8aa537c2): the write-protect is a plain store, and the pin check's
 * read a plain load (pin.ts): no barrier orders them, so the store may still sit in the store
 * buffer when the check reads a refcount from before a gup-fast's grab — whose re-check then
 * reads the old, writable PTE. Both sides miss.
 * Caller holds the page lock.
 */
export function page_mkclean(page: number, pins: MkcleanPinCheck | null = null): number {
  const m = current.mem;
  // Stryker disable next-line all: fault switch, covered by test/faults
  const plain = current.fault('plain-pte-clear');
  // The store-buffering contract oracle (contract oracles only, lab Atomics, no scheduling point).
  const sb = pins !== null ? current.sbContract : null;
  let cleaned = 0;
  rmap_walk(page, (mm, vpn) => {
    mmu_notifier_invalidate_range_start(mm, vpn, vpn + 1, 'protection');
    const idx = mm.pt.pte(vpn);
    const ptl = mm.pt.ptl(vpn);
    spin_lock(ptl);
    const e = m.load(idx);
    let changedAt = 0;
    let notPinnedAt = 0;
    if (pte_present(e) && pte_pfn(e) === page && (pte_write(e) || pte_dirty(e))) {
      // ptep_clear_flush + set_pte_at(pte_mkclean(pte_wrprotect())) (v6.3/mm/rmap.c:965-966)
      const clean = pte_mkclean(pte_wrprotect(e));
      if (plain) m.plainStore(idx, clean, 'plain-pte-clear');
      else m.xchg(idx, clean);
      if (sb !== null && clean !== e) changedAt = sb.stamp();
      m.event('pte-cleared', idx);
      cleaned++;
      if (pins !== null) {
        pins.checked = true;
        if (page_maybe_dma_pinned(page)) pins.pinned = true;
        else if (changedAt !== 0) notPinnedAt = sb!.stamp();
      }
    }
    spin_unlock(ptl);
    // A plain store is visible once this thread's next Atomics access (the unlock) drained it.
    if (notPinnedAt !== 0) sb!.mmNotPinned(page, idx, e, notPinnedAt, plain ? sb!.stamp() : changedAt);
    mmu_notifier_invalidate_range_end(mm, vpn, vpn + 1);
  });
  return cleaned;
}

/**
 * clear_page_dirty_for_io(): before writing a locked page out, page_mkclean() it (with `pins`:
 * asking page_maybe_dma_pinned() after each PTE change, see page_mkclean) (a PTE that was
 * writable or dirty marks the page dirty), then test-and-clear PG_dirty. Returns true if the page
 * was dirty, i.e. the caller now owes it a write (or a redirty).
 */
export function clear_page_dirty_for_io(page: number, pins: MkcleanPinCheck | null = null): boolean {
  if (page_mkclean(page, pins) > 0) set_page_dirty(page);
  return (current.mem.and(pw(page, PG.FLAGS), ~PG_dirty) & PG_dirty) !== 0;
}

/** redirty_page_for_writepage(): give the dirty bit back to a page that was not written. */
export function redirty_page_for_writepage(page: number): void {
  set_page_dirty(page);
}

/** set_page_writeback(): mark the page under I/O. Returns true if it was not already. */
export function set_page_writeback(page: number): boolean {
  return (current.mem.or(pw(page, PG.FLAGS), PG_writeback) & PG_writeback) === 0;
}

/** end_page_writeback(): the I/O is done; clear PG_writeback and wake its waiters. */
export function end_page_writeback(page: number): void {
  const idx = pw(page, PG.FLAGS);
  current.mem.and(idx, ~PG_writeback);
  current.mem.notify(idx);
}

export type WritepageResult = 'submitted' | 'fs-dropped';

/**
 * writepage(): the model filesystem's ->writepage (ext4_writepage), called with the page locked
 * and its dirty bit just cleared by clear_page_dirty_for_io(). A page without buffers
 * (PG_private) was dirtied behind the filesystem's back (kernel-notes 4.1: a pin holder's
 * set_page_dirty_lock() after reclaim stripped the buffers): since cc5095747edf ext4 WARNs and
 * leaves the dirty bit clear without writing — the data is dropped ('fs-dropped'). Otherwise the
 * page is set under writeback ('submitted'); the caller performs the I/O (write_to_backing) and
 * ends it (end_page_writeback).
 */
export function writepage(page: number): WritepageResult {
  if (current.WARN_ON_ONCE(!PagePrivate(page), 'ext4_writepage:!page_has_buffers')) return 'fs-dropped';
  set_page_writeback(page);
  return 'submitted';
}

/**
 * The I/O of a writeback: copy `data` (a snapshot taken at I/O start, when the policy bounces) or
 * else the page's current words to the backing store of the file page it caches. A page no
 * longer in the page cache at its (file, index) — truncated meanwhile — is not written
 * ('truncated'). Counts nr_written.
 */
export function write_to_backing(page: number, data: ArrayLike<number> | null = null): 'written' | 'truncated' {
  const m = current.mem;
  const mapping = m.load(pw(page, PG.MAPPING));
  if (mapping <= 0) return 'truncated';
  const file = mapping - 1;
  const index = m.load(pw(page, PG.INDEX));
  if (m.load(pagecache_slot(file, index)) !== page + 1) return 'truncated';
  const wpp = current.layout.config.wordsPerPage;
  const dst = backing_word(file, index);
  if (data !== null) for (let k = 0; k < wpp; k++) m.store(dst + k, data[k]!);
  else m.copyWords(dst, page_data(page), wpp);
  current.vmstatAdd(VMSTAT.nr_written, 1);
  return 'written';
}

export type WriteOneResult = 'written' | 'clean' | 'fs-dropped' | 'truncated';

/**
 * write_one_page(): synchronous writeback of one locked page-cache page, with no pin policy (as
 * mainline): clear_page_dirty_for_io, ->writepage, the I/O, end_page_writeback. The caller holds
 * the page lock and a reference, and the page is not under writeback.
 */
export function write_one_page(page: number): WriteOneResult {
  if (!clear_page_dirty_for_io(page)) return 'clean';
  if (writepage(page) === 'fs-dropped') return 'fs-dropped';
  const r = write_to_backing(page);
  end_page_writeback(page);
  return r;
}
