/**
 * The frame allocator: one bit per frame (1 = allocated) in the SAB, claimed with compareExchange,
 * so any thread can allocate and free. Small pages come from ZONE_NORMAL, ZONE_MOVABLE (CMA) or
 * the DAX device; PTE-mapped large folios (order 1..5) from their pool; hugetlb pages (2 MB, 1 GB)
 * from theirs. Folio geometry is fixed at boot (layout.ts), so pool folios stay compound when free.
 *
 * A free frame's refcount is exactly 0, and allocation raises it with an RMW (never a store), so a
 * speculative add-unless-zero racing with the allocator cannot be overwritten.
 */
import {
  HDR, NR_ZONES, PG, PG_head, PG_hugetlb, PG_tail, PMD_ORDER, PUD_ORDER, STRUCT_PAGE_WORDS, ZONE, type ZoneId,
  folioOrder,
} from '../mem/layout.js';
import { type Mem } from '../mem/mem.js';
import { current } from './current.js';
import { VMSTAT } from './context.js';
import { page_zonenum } from './page.js';

/** Largest order of a PTE-mapped large folio: it must fit one 32-bit bitmap word. */
export const MAX_FOLIO_ORDER = 5;

const cursors = new WeakMap<object, Map<number, number>>(); // per-thread search hints, not shared state

function pageIdx(pfn: number, field: number): number {
  return current.layout.pageOff + pfn * STRUCT_PAGE_WORDS + field;
}

function cursorsOf(): Map<number, number> {
  let c = cursors.get(current.mem);
  if (c === undefined) {
    c = new Map();
    cursors.set(current.mem, c);
  }
  return c;
}

/** Claim an aligned block of 2^order frames (order <= 5) in [zs, ze), one bitmap word at a time. */
function claimBlock(zs: number, ze: number, order: number, key: number): number {
  const m = current.mem;
  const l = current.layout;
  const n = 1 << order;
  if (ze - zs < n) return -1;
  const firstWord = zs >>> 5;
  const words = ((ze - 1) >>> 5) - firstWord + 1;
  const hints = cursorsOf();
  const start = hints.get(key) ?? firstWord;
  for (let k = 0; k < words; k++) {
    const w = firstWord + ((start - firstWord + k) % words);
    const idx = l.buddyOff + w;
    let v = m.load(idx);
    if (v === -1) continue;
    for (let bit = 0; bit < 32; bit += n) {
      const pfn = w * 32 + bit;
      if (pfn < zs || pfn + n > ze || ((pfn - zs) & (n - 1)) !== 0) continue;
      const mask = n === 32 ? -1 : ((1 << n) - 1) << bit;
      while ((v & mask) === 0) {
        const seen = m.cas(idx, v, v | mask);
        if (seen === v) {
          hints.set(key, w);
          return pfn;
        }
        v = seen;
      }
    }
  }
  return -1;
}

function claimHuge(order: number): number {
  const m = current.mem;
  const l = current.layout;
  const zone = order === PUD_ORDER ? ZONE.HUGE_1G : ZONE.HUGE_2M;
  const zs = l.zoneStart[zone]!;
  const count = (l.zoneStart[zone + 1]! - zs) >>> order;
  for (let i = 0; i < count; i++) {
    const head = zs + (i << order);
    const idx = l.buddyOff + (head >>> 5);
    const bit = 1 << (head & 31);
    if ((m.or(idx, bit) & bit) === 0) return head;
  }
  return -1;
}

/**
 * alloc_pages(): a frame (order 0) from `zone`, a PTE-mapped large folio (order 1..5) from its
 * pool, or a hugetlb page (order 9 or 18) from its pool. Returns the head pfn with refcount 1 and
 * a new allocation generation, or -1 when nothing is free.
 */
export function alloc_pages(zone: ZoneId, order = 0): number {
  const m = current.mem;
  const l = current.layout;
  let head = -1;
  if (order === PMD_ORDER || order === PUD_ORDER) {
    head = claimHuge(order);
  } else if (order === 0) {
    head = claimBlock(l.zoneStart[zone]!, l.zoneStart[zone + 1]!, 0, zone);
  } else {
    if (order < 0 || order > MAX_FOLIO_ORDER) throw new RangeError(`alloc_pages: order ${order} unsupported`);
    for (const p of l.pools) {
      if (p.order !== order) continue;
      head = claimBlock(p.start, p.end, order, NR_ZONES + p.start);
      if (head >= 0) break;
    }
  }
  if (head < 0) return -1;
  m.store(pageIdx(head, PG.MAPPING), 0);
  m.store(pageIdx(head, PG.INDEX), 0);
  m.add(pageIdx(head, PG.GEN), 1);
  m.add(l.headerOff + HDR.ALLOC_GEN, 1);
  m.add(pageIdx(head, PG.REFCOUNT), 1); // set_page_refcounted, as an RMW from 0
  current.vmstatAdd(VMSTAT.nr_page_alloc, 1);
  return head;
}

/** Zero a page's contents (every subpage of a compound page). */
export function clear_page(head: number, nr = 1): void {
  const wpp = current.layout.config.wordsPerPage;
  current.mem.fillWords(current.layout.dataOff + head * wpp, nr * wpp, 0);
}

/**
 * free_unref_page(): the last reference is gone. bad_page() checks (a non-zero pincount or
 * mapcount) are BUGs; the frame goes back to its bitmap; pool folios stay compound.
 */
export function free_unref_page(head: number): void {
  const m = current.mem;
  const l = current.layout;
  const zone = page_zonenum(head);
  if (zone === ZONE.DAX) {
    // ZONE_DEVICE pages are owned by their driver: back to the idle reference, never to a free list.
    m.add(pageIdx(head, PG.REFCOUNT), 1);
    return;
  }
  const order = folioOrder(l, head);
  if (order > 0) {
    for (const slot of [pageIdx(head + 1, PG.PINCOUNT), order > 1 ? pageIdx(head + 2, PG.PINCOUNT) : -1]) {
      if (slot >= 0 && m.load(slot) !== 0) current.BUG('free_pages:nonzero pincount', `pfn ${head} pincount ${m.load(slot)}`);
    }
  }
  const nr = 1 << order;
  for (let i = 0; i < nr; i += order > MAX_FOLIO_ORDER ? nr : 1) {
    const mc = m.load(pageIdx(head + i, PG.MAPCOUNT));
    if (mc !== 0) current.BUG('free_pages:refcount', `pfn ${head + i} freed while mapped (mapcount ${mc})`);
  }
  m.and(pageIdx(head, PG.FLAGS), PG_head | PG_tail | PG_hugetlb);
  m.store(pageIdx(head, PG.MAPPING), 0);
  const idx = l.buddyOff + (head >>> 5);
  const mask = order > MAX_FOLIO_ORDER ? 1 << (head & 31) : nr === 32 ? -1 : ((1 << nr) - 1) << (head & 31);
  const old = m.and(idx, ~mask);
  if ((old & mask) !== mask) current.BUG('free_pages:double free', `pfn ${head} order ${order}`);
  current.vmstatAdd(VMSTAT.nr_page_free, 1);
}

/** Boot-time setup: pools become compound pages; DAX frames get their driver reference. */
export function setup_machine(mem: Mem): void {
  const l = mem.layout;
  const idx = (pfn: number, f: number): number => l.pageOff + pfn * STRUCT_PAGE_WORDS + f;
  const prep = (head: number, order: number, extra: number): void => {
    mem.store(idx(head, PG.COMPOUND_ORDER), order);
    mem.store(idx(head, PG.FLAGS), PG_head | extra);
    for (let i = 1; i < 1 << order; i++) {
      mem.store(idx(head + i, PG.COMPOUND_HEAD), head + 1);
      mem.store(idx(head + i, PG.FLAGS), PG_tail | extra);
    }
  };
  for (const [zone, order] of [[ZONE.HUGE_1G, PUD_ORDER], [ZONE.HUGE_2M, PMD_ORDER]] as const) {
    for (let head = l.zoneStart[zone]!; head < l.zoneStart[zone + 1]!; head += 1 << order) prep(head, order, PG_hugetlb);
  }
  for (const p of l.pools) for (let head = p.start; head < p.end; head += 1 << p.order) prep(head, p.order, 0);
  for (let pfn = l.zoneStart[ZONE.DAX]!; pfn < l.zoneStart[ZONE.DAX + 1]!; pfn++) mem.store(idx(pfn, PG.REFCOUNT), 1);
}

/** Folios currently allocated in a zone (for conservation checks and reports). */
export function nr_allocated(mem: Mem, zone: ZoneId): number {
  const l = mem.layout;
  let n = 0;
  const zs = l.zoneStart[zone]!;
  const ze = l.zoneStart[zone + 1]!;
  for (let pfn = zs; pfn < ze; ) {
    const order = folioOrder(l, pfn);
    if ((mem.load(l.buddyOff + (pfn >>> 5)) >>> (pfn & 31)) & 1) n++;
    pfn += 1 << order;
  }
  return n;
}
