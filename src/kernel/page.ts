/**
 * struct page references: get_page/put_page, try_get_page, page_ref_freeze/unfreeze and
 * compound head resolution. A page is named by its pfn.
 */
import * as layoutMod from '../mem/layout.js';
import { PG_dirty, PG_head, PG_locked, PG_tail, ZONE, type ZoneId, folioOrder } from '../mem/layout.js';
import { current } from './current.js';
import { type KernelContext, VMSTAT } from './context.js';
import { free_unref_page } from './alloc.js';

// What the gup-fast and unpin paths use, as this module's own bindings (see gup.ts).
const { PG, STRUCT_PAGE_WORDS, folioHead } = layoutMod;

/** Index of a struct page field in the SAB. */
export function pw(pfn: number, field: number): number {
  return current.layout.pageOff + pfn * STRUCT_PAGE_WORDS + field;
}

/** compound_head(): derived from the pfn — the boot-time folio geometry never changes. */
export function compound_head(page: number): number {
  return folioHead(current.layout, page);
}

export function PageHead(page: number): boolean {
  return (current.mem.load(pw(page, PG.FLAGS)) & PG_head) !== 0;
}
export function PageTail(page: number): boolean {
  return (current.mem.load(pw(page, PG.FLAGS)) & PG_tail) !== 0;
}
export function PageCompound(page: number): boolean {
  return (current.mem.load(pw(page, PG.FLAGS)) & (PG_head | PG_tail)) !== 0;
}
/** Order of the folio `page` belongs to (0 for a small page). */
export function compound_order(page: number): number {
  return folioOrder(current.layout, page);
}
export function compound_nr(head: number): number {
  return 1 << compound_order(head);
}

export function page_ref_count(page: number): number {
  return current.mem.load(pw(page, PG.REFCOUNT));
}
/** page_count(): the head's refcount. */
export function page_count(page: number): number {
  return page_ref_count(compound_head(page));
}
export function page_mapcount(page: number): number {
  return current.mem.load(pw(page, PG.MAPCOUNT));
}

/** Zone of a frame, from its pfn (the kernel keeps it in page->flags). */
export function page_zonenum(page: number): ZoneId {
  const zs = current.layout.zoneStart;
  for (let z = ZONE.DAX; z > 0; z--) if (page >= zs[z]!) return z as ZoneId;
  return ZONE.HUGE_1G;
}

/** page_ref_zero_or_close_to_overflow(): (unsigned)count + 127u <= 127u. */
export function page_ref_zero_or_close_to_overflow(count: number): boolean {
  return ((count + 127) >>> 0) <= 127;
}

/** get_page(): take a plain reference on a page the caller already holds a reference to. */
export function get_page(page: number): void {
  const head = compound_head(page);
  const old = current.mem.add(pw(head, PG.REFCOUNT), 1);
  // VM_BUG_ON_PAGE(page_ref_zero_or_close_to_overflow(page)): the count *before* the increment.
  if (page_ref_zero_or_close_to_overflow(old)) {
    current.mem.sub(pw(head, PG.REFCOUNT), 1);
    current.BUG('get_page:refcount<=0', `pfn ${head} refcount ${old}`);
  }
}

/**
 * try_get_page(): the CVE-2019-11487 helper. Refuses (WARN, false) when the refcount is not
 * positive — a free page, or one whose count has already overflowed into the sign bit.
 */
export function try_get_page(page: number): boolean {
  const head = compound_head(page);
  if (current.WARN_ON_ONCE(page_ref_count(head) <= 0, 'try_get_page:refcount<=0')) return false;
  current.mem.add(pw(head, PG.REFCOUNT), 1);
  return true;
}

/**
 * page_ref_add_unless(page, nr, 0): the speculative reference of gup-fast — a compareExchange
 * loop that fails on a free or frozen page (refcount 0) instead of resurrecting it. The loop
 * starts from a guess of the current count instead of a load: when the guess is right (a page
 * mapped once has count `guess`) the reference costs exactly one atomic RMW.
 */
export function page_ref_add_unless_zero(head: number, nr: number, guess = 1): boolean {
  const m = current.mem;
  const idx = pw(head, PG.REFCOUNT);
  let v = guess;
  for (;;) {
    if (v === 0) return false;
    const seen = m.cas(idx, v, (v + nr) | 0);
    if (seen === v) return true;
    v = seen;
  }
}

/**
 * folio_put_refs(): drop `refs` references with one atomic RMW; the last one frees the page.
 * An underflow is a BUG, reported with the state found — the count is restored, never wrapped.
 */
export function put_page_refs(head: number, refs: number): void {
  __put_page_refs(current, head, refs);
}

/** put_page_refs() with the thread's context passed in (the unpin loops hoist `current`). */
export function __put_page_refs(k: KernelContext, head: number, refs: number): void {
  const old = k.mem.sub(k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.REFCOUNT, refs);
  if (old <= refs) put_page_refs_last(k, head, refs, old);
}

/**
 * The rest of put_page_refs() once the count `old` found by the sub was <= refs: the final put
 * frees the page; an underflow is a BUG (kept out of line, off the hot paths).
 */
export function put_page_refs_last(k: KernelContext, head: number, refs: number, old: number): void {
  if (old === refs) {
    free_unref_page(head);
  } else if (old > -0x40000000) {
    // old < refs with a small old value: more puts than gets (a large negative old is an
    // overflowed biased count, which the seed-era tests exercise on purpose).
    k.mem.add(k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.REFCOUNT, refs);
    k.BUG('put_page:underflow', `pfn ${head} refcount ${old} - ${refs}`);
  }
}

/** put_page(): drop one reference; the last one frees the page. */
export function put_page(page: number): void {
  put_page_refs(compound_head(page), 1);
}

/** page_ref_freeze(): succeed only if the refcount is exactly `count`, leaving it 0. */
export function page_ref_freeze(page: number, count: number): boolean {
  return current.mem.cas(pw(page, PG.REFCOUNT), count, 0) === count;
}

/** page_ref_unfreeze(): restore a frozen count. */
export function page_ref_unfreeze(page: number, count: number): void {
  const old = current.mem.xchg(pw(page, PG.REFCOUNT), count);
  current.WARN_ON_ONCE(old !== 0, 'page_ref_unfreeze:nonzero');
}

export function PageDirty(page: number): boolean {
  return (current.mem.load(pw(compound_head(page), PG.FLAGS)) & PG_dirty) !== 0;
}

/** trylock_page(): PG_locked as a bit lock. */
export function trylock_page(page: number): boolean {
  const locked = (current.mem.or(pw(page, PG.FLAGS), PG_locked) & PG_locked) === 0;
  if (locked) current.lockdep?.acquired(pw(page, PG.FLAGS));
  return locked;
}
export function lock_page(page: number): void {
  for (let spins = 0; !trylock_page(page); spins++) {
    if (spins > 64) current.mem.wait(pw(page, PG.FLAGS), current.mem.load(pw(page, PG.FLAGS)), 1);
  }
}
export function unlock_page(page: number): void {
  current.lockdep?.released(pw(page, PG.FLAGS));
  current.mem.and(pw(page, PG.FLAGS), ~PG_locked);
  current.mem.notify(pw(page, PG.FLAGS));
}

/** set_page_dirty(): mark the head dirty; counts a dirtying when the bit was clear. */
export function set_page_dirty(page: number): boolean {
  const head = compound_head(page);
  const old = current.mem.or(pw(head, PG.FLAGS), PG_dirty);
  const dirtied = (old & PG_dirty) === 0;
  if (dirtied) current.vmstatAdd(VMSTAT.nr_dirtied, 1);
  return dirtied;
}

/** set_page_dirty_lock(): lock_page, set_page_dirty, unlock_page. */
export function set_page_dirty_lock(page: number): boolean {
  const head = compound_head(page);
  lock_page(head);
  try {
    return set_page_dirty(head);
  } finally {
    unlock_page(head);
  }
}
