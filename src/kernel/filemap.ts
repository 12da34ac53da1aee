/**
 * The page cache and the backing store (the "disk"). A page-cache slot holds pfn+1; the cache
 * holds one reference on each page it contains, as in the kernel.
 */
import { PG, PG_private, PG_uptodate, PG_writeback, ZONE } from '../mem/layout.js';
import { current } from './current.js';
import { alloc_pages } from './alloc.js';
import { lock_page, page_ref_add_unless_zero, put_page, pw, set_page_dirty, unlock_page } from './page.js';

export function pagecache_slot(file: number, index: number): number {
  const l = current.layout;
  return l.pageCacheOff + file * l.config.filePages + index;
}

export function backing_word(file: number, index: number): number {
  const l = current.layout;
  return l.backingOff + (file * l.config.filePages + index) * l.config.wordsPerPage;
}

export function page_data(pfn: number): number {
  return current.layout.dataOff + pfn * current.layout.config.wordsPerPage;
}

/** find_get_page(): the cached page with a new reference, or -1. Spins past a frozen page. */
export function find_get_page(file: number, index: number): number {
  const m = current.mem;
  const slot = pagecache_slot(file, index);
  for (let spins = 0; ; spins++) {
    const v = m.load(slot);
    if (v === 0) return -1;
    const pfn = v - 1;
    if (page_ref_add_unless_zero(pfn, 1)) {
      if (m.load(slot) === v) return pfn;
      put_page(pfn);
    } else if (spins > 64) {
      m.wait(slot, v, 1); // frozen by migration or being freed: the slot changes soon
    }
  }
}

/**
 * find_or_create_page(): the cached page, or a new one read from the backing store and inserted.
 * A page read in gets the filesystem's buffers attached (PG_private, as block_read_full_page()
 * does), which writeback needs (kernel-notes 4.1). Returns the pfn with a reference for the
 * caller, or -ENOMEM as a negative number.
 */
export function find_or_create_page(file: number, index: number): number {
  const m = current.mem;
  const wpp = current.layout.config.wordsPerPage;
  for (;;) {
    const found = find_get_page(file, index);
    if (found >= 0) return found;
    const pfn = alloc_pages(ZONE.NORMAL, 0);
    if (pfn < 0) return -12;
    m.copyWords(page_data(pfn), backing_word(file, index), wpp);
    m.store(pw(pfn, PG.MAPPING), file + 1);
    m.store(pw(pfn, PG.INDEX), index);
    m.or(pw(pfn, PG.FLAGS), PG_uptodate | PG_private);
    m.add(pw(pfn, PG.REFCOUNT), 1); // 1 for the page cache, 1 for the caller
    if (m.cas(pagecache_slot(file, index), 0, pfn + 1) === 0) return pfn;
    m.store(pw(pfn, PG.MAPPING), 0);
    m.sub(pw(pfn, PG.REFCOUNT), 1);
    put_page(pfn); // lost the race: free ours and use theirs
  }
}

/**
 * wait_on_page_writeback() (folio_wait_writeback): sleep until PG_writeback of `page` is clear,
 * with Atomics.wait on its flags word (end_page_writeback() notifies it). The kernel sleeps
 * unbounded; the model gives up after `timeoutMs`. Returns true if writeback is not running
 * (or ended), false on timeout. The caller holds a reference (and usually the page lock).
 */
export function wait_on_page_writeback(page: number, timeoutMs: number = current.stablePageWaitMs): boolean {
  const m = current.mem;
  const idx = pw(page, PG.FLAGS);
  let f = m.load(idx);
  if ((f & PG_writeback) === 0) return true;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    m.wait(idx, f, Math.min(left, 5)); // the flags word also changes on lock/unlock: re-check
    f = m.load(idx);
    if ((f & PG_writeback) === 0) return true;
  }
}

/**
 * wait_for_stable_page() (folio_wait_stable): a write fault on a page under writeback waits until
 * the I/O is done, so the page does not change while the device reads it (stable pages; the
 * model's backing device always asks for them). Called from ->page_mkwrite with the page locked.
 * A bounded wait that times out WARNs at 'wait_for_stable_page:timeout' and lets the write go on.
 */
export function wait_for_stable_page(page: number): void {
  if (!wait_on_page_writeback(page)) current.WARN_ON_ONCE(true, 'wait_for_stable_page:timeout');
}

/**
 * filemap_read() of one data word of one file page (read(2) through the page cache), as
 * filemap_get_read_batch() looks pages up: without the page lock — folio_try_get() on the
 * slot's page, then re-check that the slot still holds it (folio_try_get_rcu + xas_reload:
 * v6.3/mm/filemap.c:2385-2388, v6.18/mm/filemap.c:2398-2430; find_get_page() here) — and copy out with only that reference held. A page
 * not cached is read in (page_cache_sync_readahead → find_or_create_page). The reference is what
 * keeps migration and reclaim away: their page_ref_freeze() fails while it is held, and a frozen
 * page makes the lookup wait (the fault migrate-no-freeze breaks exactly this). `copied`, when
 * given, is called with the frame and the value while the reference is still held (an oracle's
 * hook: copy_page_to_iter's view). Returns the value, or -ENOMEM as a negative number with
 * `copied` not called.
 */
export function filemap_read(file: number, index: number, word: number, copied?: (pfn: number, value: number) => void): number {
  const page = find_or_create_page(file, index);
  if (page < 0) return page;
  const value = current.mem.load(page_data(page) + word);
  if (copied !== undefined) copied(page, value);
  put_page(page);
  return value;
}

/**
 * generic_perform_write() of one data word of one file page (write(2)): ->write_begin finds or
 * creates the page and locks it, re-checking that it is still the page cache's (a page truncated
 * or migrated meanwhile is dropped and looked up again), waits for writeback to end (stable
 * pages), copies in, and ->write_end dirties and unlocks it (v6.3/mm/filemap.c:3889-3960:
 * write_begin :3926, copy_page_from_iter_atomic, write_end :3937). Returns the pfn written, or -ENOMEM.
 */
export function generic_perform_write(file: number, index: number, word: number, value: number): number {
  const m = current.mem;
  for (;;) {
    const page = find_or_create_page(file, index);
    if (page < 0) return page;
    lock_page(page);
    if (m.load(pagecache_slot(file, index)) !== page + 1) {
      unlock_page(page);
      put_page(page);
      continue;
    }
    m.or(pw(page, PG.FLAGS), PG_private); // block_write_begin attaches buffers
    wait_for_stable_page(page);
    m.store(page_data(page) + word, value);
    set_page_dirty(page);
    unlock_page(page);
    put_page(page);
    return page;
  }
}
