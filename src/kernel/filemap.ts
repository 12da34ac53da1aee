/**
 * The page cache and the backing store (the "disk"). A page-cache slot holds pfn+1; the cache
 * holds one reference on each page it contains, as in the kernel.
 */
import { PG, PG_private, PG_uptodate, PG_writeback, ZONE } from '../mem/layout.js';
import { current } from './current.js';
import { alloc_pages } from './alloc.js';
import { page_ref_add_unless_zero, put_page, pw } from './page.js';

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
