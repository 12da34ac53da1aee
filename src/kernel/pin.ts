/**
 * Pin accounting, as each era's tree does it (src/kernel/era/, DESIGN.md §3, kernel-notes §2):
 *
 *  - rfc-2019 (the 2019 postings): every pinned subpage adds GUP_PIN_COUNTING_BIAS to the head's
 *    refcount, compound pages included. page_dma_pinned() compares the count with the bias
 *    *unsigned* (GUP_PIN_COUNTING_BIAS is `1UL << 10`): an overflowed count still reads pinned,
 *    and try_get_compound_head() refuses further pins with a WARN once the count is negative.
 *  - v5.7: compound pages of order >= 2 keep an exact hpage_pinned_refcount in page[2] (+1 on the
 *    refcount per pin); smaller pages keep the bias (v5.7/mm/gup.c:82-122).
 *  - v6.3, v6.18: every large folio keeps folio->_pincount (page[1]); a small page's pin is
 *    try_get_folio(+1) then folio_ref_add(+1023) (v6.3/mm/gup.c:124-176).
 */
import * as layoutMod from '../mem/layout.js';
import * as constantsMod from './constants.js';
import { current } from './current.js';
import { type KernelContext, VMSTAT } from './context.js';
import * as pageMod from './page.js';
import { compound_head, compound_order, page_ref_count, pw } from './page.js';

// What the gup-fast and unpin paths use, as this module's own bindings (see gup.ts).
const { PG, STRUCT_PAGE_WORDS, folioHead } = layoutMod;
const { FOLL_PIN, GUP_PIN_COUNTING_BIAS } = constantsMod;
const { __put_page_refs, put_page_refs_last } = pageMod;
const NR_FOLL_PIN_ACQUIRED = VMSTAT.nr_foll_pin_acquired;
const NR_FOLL_PIN_RELEASED = VMSTAT.nr_foll_pin_released;

/**
 * Smallest order with an exact pin count in force: the era's, or none under the faults that
 * carry the 2019 accounting into a later era — bias-hugepage-overflow (the bias on the head of
 * every compound page) and huge-run-one-bias (the 2019 huge-page gup-fast paths, which only
 * exist with that accounting).
 */
function pincount_min_order(k: KernelContext): number {
  // Stryker disable next-line all: fault switch, covered by test/faults
  if (k.fault('bias-hugepage-overflow')) return Infinity;
  return k.fault('huge-run-one-bias') ? Infinity : k.spec.pincountMinOrder;
}

/** hpage_pincount_available() / folio_has_pincount(): does this head keep an exact pin count? */
export function hpage_pincount_available(head: number): boolean {
  const order = compound_order(head);
  return order !== 0 && order >= pincount_min_order(current);
}

/** The word holding the exact pin count of `head` in this era (page[2] in v5.7, page[1] later). */
export function compound_pincount_ptr(head: number): number {
  return pw(head + current.spec.pincountPage, PG.PINCOUNT);
}

export function compound_pincount(head: number): number {
  return current.mem.load(compound_pincount_ptr(head));
}

/**
 * try_get_compound_head(): add `refs` to the head's refcount unless the page is free or frozen
 * (count 0), refusing with a WARN once the signed count is negative (the CVE-2019-11487 check).
 * The check is made on the value the compareExchange replaces, so it costs no extra access; the
 * loop starts from `guess` (see page_ref_add_unless_zero). Returns the head or -1.
 */
export function try_get_compound_head(page: number, refs: number, guess = 1): number {
  const k = current;
  const head = folioHead(k.layout, page);
  return __try_get_compound_head(k, head, refs, guess) ? head : -1;
}

/**
 * try_get_compound_head() on a head, with the thread's context passed in: the hot paths read
 * `current` once per call instead of once per page. True if the references were taken.
 */
export function __try_get_compound_head(k: KernelContext, head: number, refs: number, guess = 1): boolean {
  const m = k.mem;
  const idx = k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.REFCOUNT;
  // Stryker disable next-line all: fault switch, covered by test/faults
  if (k.fault('plain-refcount')) return plain_get(k, idx, refs);
  let v = guess;
  for (;;) {
    if (v <= 0) return v === 0 ? false : refuse_overflowed(k);
    const seen = m.cas(idx, v, (v + refs) | 0);
    if (seen === v) return true;
    v = seen;
  }
}

// Stryker disable all: fault plain-refcount only (a plain load and store), covered by test/faults
/**
 * Fault plain-refcount: the grab as a plain load and a plain store instead of one atomic RMW — an
 * RMW of another thread landing between the two is lost (DESIGN.md §2).
 */
function plain_get(k: KernelContext, idx: number, refs: number): boolean {
  const v = k.mem.plainLoad(idx, 'plain-refcount');
  if (v <= 0) return v === 0 ? false : refuse_overflowed(k);
  k.mem.plainStore(idx, (v + refs) | 0, 'plain-refcount');
  return true;
}

/** Fault plain-refcount: the unpin's put as a plain load and a plain store (see plain_get). */
function plain_put(k: KernelContext, head: number, refs: number): void {
  const idx = k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.REFCOUNT;
  const old = k.mem.plainLoad(idx, 'plain-refcount');
  k.mem.plainStore(idx, (old - refs) | 0, 'plain-refcount');
  if (old <= refs) put_page_refs_last(k, head, refs, old);
}
// Stryker restore all

/** try_get_compound_head() found a negative count: WARN and refuse (kept out of line). */
function refuse_overflowed(k: KernelContext): false {
  k.WARN_ON_ONCE(true, 'try_get_compound_head:refcount<0');
  k.vmstatAdd(VMSTAT.pin_refused_overflow, 1);
  return false;
}

/**
 * try_grab_compound_head(): take `refs` references of the kind `flags` asks for — a plain get
 * (FOLL_GET, or neither flag as in the seed's gup-fast), or a pin (FOLL_PIN) counted as this era
 * counts it. The refcount is raised first, then the pincount ("other page users see the elevated
 * refcount first", 8ea2979c1444), then nr_foll_pin_acquired. Returns the head or -1.
 */
export function try_grab_compound_head(page: number, refs: number, flags: number): number {
  return __try_grab_compound_head(current, page, refs, flags);
}

/** try_grab_compound_head() with the thread's context passed in (gup-fast hoists `current`). */
export function __try_grab_compound_head(k: KernelContext, page: number, refs: number, flags: number): number {
  // A small page (order 0) is its own head and is counted with the bias in every era.
  if (page >= k.layout.smallStart) {
    if ((flags & FOLL_PIN) === 0) return __try_get_compound_head(k, page, refs) ? page : -1;
    if (k.spec.twoStepSmallPin) {
      // try_get_folio(page, refs), then folio_ref_add(folio, refs * (GUP_PIN_COUNTING_BIAS - 1))
      // (v6.3/mm/gup.c:144-164): between the two RMWs the page holds a plain reference only.
      if (!__try_get_compound_head(k, page, refs)) return -1;
      k.mem.add(k.layout.pageOff + page * STRUCT_PAGE_WORDS + PG.REFCOUNT, refs * (GUP_PIN_COUNTING_BIAS - 1));
    } else if (!__try_get_compound_head(k, page, refs * GUP_PIN_COUNTING_BIAS)) {
      return -1;
    }
    k.vmstatAdd(NR_FOLL_PIN_ACQUIRED, refs);
    return page;
  }
  return try_grab_folio(k, folioHead(k.layout, page), refs, flags);
}

/** try_grab_compound_head() on the head of a large folio (kept out of the small-page path). */
function try_grab_folio(k: KernelContext, head: number, refs: number, flags: number): number {
  if ((flags & FOLL_PIN) === 0) return __try_get_compound_head(k, head, refs) ? head : -1;
  if (hpage_pincount_available(head)) {
    if (!__try_get_compound_head(k, head, refs)) return -1;
    k.mem.add(compound_pincount_ptr(head), refs);
  } else {
    // Native in rfc-2019 (fault huge-run-one-bias): the huge-page gup-fast paths take one bias
    // for the whole run of `refs` subpages, each of which is later released with its own unpin.
    const bias = k.fault('huge-run-one-bias') ? GUP_PIN_COUNTING_BIAS : refs * GUP_PIN_COUNTING_BIAS;
    if (!__try_get_compound_head(k, head, bias)) return -1;
  }
  k.vmstatAdd(NR_FOLL_PIN_ACQUIRED, refs);
  return head;
}

/**
 * try_grab_page(): the slow path's grab, under the page-table lock with the PTE present (so the
 * mapping's reference keeps the page alive): refuse a non-positive count, then add.
 */
export function try_grab_page(page: number, flags: number): boolean {
  const head = compound_head(page);
  if (current.WARN_ON_ONCE(page_ref_count(head) <= 0, 'try_get_page:refcount<=0')) return false;
  if ((flags & FOLL_PIN) === 0) {
    current.mem.add(pw(head, PG.REFCOUNT), 1);
    return true;
  }
  if (hpage_pincount_available(head)) {
    current.mem.add(pw(head, PG.REFCOUNT), 1);
    current.mem.add(compound_pincount_ptr(head), 1);
  } else {
    current.mem.add(pw(head, PG.REFCOUNT), GUP_PIN_COUNTING_BIAS);
  }
  current.vmstatAdd(NR_FOLL_PIN_ACQUIRED, 1);
  return true;
}

/**
 * put_compound_head() / gup_put_folio(): release `refs` references taken with `flags`. All pin
 * bookkeeping (stat, pincount) happens before the final put (kernel-notes 4.12).
 */
export function put_compound_head(head: number, refs: number, flags: number): void {
  __put_compound_head(current, head, refs, flags);
}

/** put_compound_head() with the thread's context passed in (the unpin loops hoist `current`). */
export function __put_compound_head(k: KernelContext, head: number, refs: number, flags: number): void {
  if ((flags & FOLL_PIN) === 0) {
    __put_page_refs(k, head, refs);
    return;
  }
  // Fault stats-after-put (4509b42c3896): the statistics are updated after the put, touching the
  // struct page (page_pgdat) when the final put may already have freed it.
  const statsAfterPut = k.fault('stats-after-put');
  const gen = statsAfterPut && k.kasan ? k.mem.load(k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.GEN) : 0;
  if (!statsAfterPut) k.vmstatAdd(NR_FOLL_PIN_RELEASED, refs);
  // Stryker disable next-line all: fault switch, covered by test/faults
  const put = k.fault('plain-refcount') ? plain_put : __put_page_refs;
  // A small page (order 0) keeps the bias in every era.
  if (head >= k.layout.smallStart || !hpage_pincount_available(head)) {
    put(k, head, refs * GUP_PIN_COUNTING_BIAS);
  } else {
    put_pincount(head, refs);
    put(k, head, refs);
  }
  if (statsAfterPut) {
    page_pgdat_after_put(k, head, gen);
    k.vmstatAdd(NR_FOLL_PIN_RELEASED, refs);
  }
}

/**
 * page_pgdat(page) after the put (fault stats-after-put, native in rfc-2019 and v5.7), under the
 * model's KASAN when k.kasan: reading the struct page of a frame that is free in the allocator
 * (its bitmap bit clear) or was reallocated since the put began (its allocation generation moved
 * on from `gen`, read before the put) is a use-after-free, counted at the WARN site
 * 'kasan: use-after-free' (the end-of-run O2 check reports it).
 */
export function page_pgdat_after_put(k: KernelContext, head: number, gen: number): void {
  const m = k.mem;
  const l = k.layout;
  m.load(l.pageOff + head * STRUCT_PAGE_WORDS + PG.ZONE); // page_pgdat(): the node/zone of the page
  if (!k.kasan) return;
  const free = ((m.load(l.buddyOff + (head >>> 5)) >>> (head & 31)) & 1) === 0;
  if (free || m.load(l.pageOff + head * STRUCT_PAGE_WORDS + PG.GEN) !== gen) k.WARN_ON_ONCE(true, 'kasan: use-after-free');
}

/** Drop `pins` from the exact pin count of `head`; an underflow is a BUG (the count is restored). */
function put_pincount(head: number, pins: number): void {
  const m = current.mem;
  const ptr = compound_pincount_ptr(head);
  const old = m.sub(ptr, pins);
  if (old < pins) {
    m.add(ptr, pins);
    current.BUG('gup_put:pincount underflow', `pfn ${head} pincount ${old} - ${pins}`);
  }
}

/**
 * page_dma_pinned() — the 2019 postings' predicate: `page_ref_count(compound_head(page)) >=
 * GUP_PIN_COUNTING_BIAS`, where the bias is `1UL << 10`, so C compares *unsigned* and an overflowed
 * (negative) count still reads as pinned. From v5.7 it is the old name of page_maybe_dma_pinned().
 */
export function page_dma_pinned(page: number): boolean {
  return page_maybe_dma_pinned(page);
}

/**
 * page_maybe_dma_pinned() (v5.7+; page_dma_pinned() in rfc-2019): exact for folios with a
 * pincount; otherwise the head's refcount compared *unsigned* with the bias, so an overflowed
 * count still reads as pinned (v5.7/include/linux/mm.h, the comment on the unsigned compare).
 * False positives (>= 1024 plain references) are accepted; false negatives are not. When
 * current.pinCheck is set (the O1 oracle) the evaluation goes through it.
 */
export function page_maybe_dma_pinned(page: number): boolean {
  const check = current.pinCheck;
  if (check !== null) return check(page, () => __page_maybe_dma_pinned(page));
  return __page_maybe_dma_pinned(page);
}

/**
 * The predicate itself, without the O1 hook (see KernelContext.pinCheck). Under the fault
 * plain-pte-clear its read is a plain load: with the PTE change before it a plain store, nothing
 * orders the two (088b8aa537c2's missing smp_mb()).
 */
export function __page_maybe_dma_pinned(page: number): boolean {
  const k = current;
  const head = compound_head(page);
  // Stryker disable next-line all: fault switch, covered by test/faults
  const plain = k.fault('plain-pte-clear');
  // Stryker disable next-line all: fault switch, covered by test/faults
  const read = (idx: number): number => (plain ? k.mem.plainLoad(idx, 'plain-pte-clear') : k.mem.load(idx));
  if (hpage_pincount_available(head)) return read(compound_pincount_ptr(head)) > 0;
  return read(pw(head, PG.REFCOUNT)) >>> 0 >= GUP_PIN_COUNTING_BIAS;
}
