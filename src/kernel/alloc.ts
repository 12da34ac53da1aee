/**
 * The frame allocator: one bit per frame (1 = allocated) in the SAB, claimed with compareExchange,
 * so any thread can allocate and free. Small pages come from ZONE_NORMAL, ZONE_MOVABLE (CMA) or
 * the DAX device; large folios of order 1..5 are naturally aligned blocks inside one bitmap word;
 * hugetlb pages (2 MB, 1 GB) come from pools of compound pages prepared at boot.
 */
import {
  PG, PG_head, PG_hugetlb, PG_tail, PMD_ORDER, PUD_ORDER, STRUCT_PAGE_WORDS, ZONE, type ZoneId,
} from '../mem/layout.js';
import { type Mem } from '../mem/mem.js';
import { HDR } from '../mem/layout.js';
import { current } from './current.js';
import { VMSTAT } from './context.js';
import { page_zonenum } from './page.js';

/** Largest order of a non-hugetlb folio: it must fit one 32-bit bitmap word. */
export const MAX_FOLIO_ORDER = 5;

const cursors = new Map<ZoneId, number>(); // per-thread search hint, not shared state

function pageIdx(pfn: number, field: number): number {
  return current.layout.pageOff + pfn * STRUCT_PAGE_WORDS + field;
}

function claimBlock(zone: ZoneId, order: number): number {
  const m = current.mem;
  const l = current.layout;
  const zs = l.zoneStart[zone]!;
  const ze = l.zoneStart[zone + 1]!;
  if (ze - zs < 1 << order) return -1;
  const n = 1 << order;
  const firstWord = zs >>> 5;
  const lastWord = (ze - 1) >>> 5;
  const words = lastWord - firstWord + 1;
  const start = cursors.get(zone) ?? firstWord;
  for (let k = 0; k < words; k++) {
    const w = firstWord + ((start - firstWord + k) % words);
    const idx = l.buddyOff + w;
    let v = m.load(idx);
    if (v === -1) continue;
    for (let bit = 0; bit < 32; bit += n) {
      const pfn = w * 32 + bit;
      if (pfn < zs || pfn + n > ze) continue;
      const mask = n === 32 ? -1 : ((1 << n) - 1) << bit;
      while ((v & mask) === 0) {
        const seen = m.cas(idx, v, v | mask);
        if (seen === v) {
          cursors.set(zone, w);
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

function prepCompound(head: number, order: number, extraFlags: number): void {
  const m = current.mem;
  m.store(pageIdx(head, PG.COMPOUND_ORDER), order);
  m.or(pageIdx(head, PG.FLAGS), PG_head | extraFlags);
  for (let i = 1; i < 1 << order; i++) {
    m.store(pageIdx(head + i, PG.COMPOUND_HEAD), head + 1);
    m.or(pageIdx(head + i, PG.FLAGS), PG_tail | extraFlags);
  }
}

/**
 * alloc_pages(): a frame (order 0) or an aligned large folio (order 1..5) from `zone`, or a
 * hugetlb page (order 9 or 18) from its pool. Returns the head pfn with refcount 1 and a new
 * allocation generation, or -1 when the zone is exhausted.
 */
export function alloc_pages(zone: ZoneId, order = 0): number {
  const m = current.mem;
  let head: number;
  if (order === PMD_ORDER || order === PUD_ORDER) {
    head = claimHuge(order);
  } else {
    if (order < 0 || order > MAX_FOLIO_ORDER) throw new RangeError(`alloc_pages: order ${order} unsupported`);
    head = claimBlock(zone, order);
    if (head >= 0 && order > 0) prepCompound(head, order, 0);
  }
  if (head < 0) return -1;
  m.store(pageIdx(head, PG.MAPPING), 0);
  m.store(pageIdx(head, PG.INDEX), 0);
  m.add(pageIdx(head, PG.GEN), 1);
  m.add(current.layout.headerOff + HDR.ALLOC_GEN, 1);
  m.store(pageIdx(head, PG.REFCOUNT), 1);
  current.vmstatAdd(VMSTAT.nr_page_alloc, 1);
  return head;
}

/** Zero a page's contents (every subpage of a compound page). */
export function clear_page(head: number, nr = 1): void {
  const wpp = current.layout.config.wordsPerPage;
  current.mem.fillWords(current.layout.dataOff + head * wpp, nr * wpp, 0);
}

/** The pincount word of a large folio, wherever the era keeps it (page[1] or page[2]). */
function pincountSlots(head: number): number[] {
  return [pageIdx(head + 1, PG.PINCOUNT), pageIdx(head + 2, PG.PINCOUNT)];
}

/**
 * free_unref_page(): the last reference is gone. bad_page() checks (a non-zero pincount or
 * mapcount) are BUGs; the frame goes back to its bitmap — hugetlb pages stay compound.
 */
export function free_unref_page(head: number): void {
  const m = current.mem;
  const zone = page_zonenum(head);
  const order = (m.load(pageIdx(head, PG.FLAGS)) & PG_head) !== 0 ? m.load(pageIdx(head, PG.COMPOUND_ORDER)) : 0;
  if (zone === ZONE.DAX) {
    // ZONE_DEVICE pages are owned by their driver: back to the idle reference, never to a free list.
    m.store(pageIdx(head, PG.REFCOUNT), 1);
    return;
  }
  if (order > 0) {
    for (const slot of pincountSlots(head)) {
      if (m.load(slot) !== 0) current.BUG('free_pages:nonzero pincount', `pfn ${head} pincount ${m.load(slot)}`);
    }
  }
  const mc = m.load(pageIdx(head, PG.MAPCOUNT));
  if (mc !== 0) current.BUG('free_pages:refcount', `pfn ${head} freed while mapped (mapcount ${mc})`);
  const hugetlb = order === PMD_ORDER || order === PUD_ORDER;
  const keep = hugetlb ? PG_head | PG_hugetlb : 0;
  m.and(pageIdx(head, PG.FLAGS), keep);
  m.store(pageIdx(head, PG.MAPPING), 0);
  if (!hugetlb && order > 0) {
    for (let i = 1; i < 1 << order; i++) {
      m.store(pageIdx(head + i, PG.COMPOUND_HEAD), 0);
      m.and(pageIdx(head + i, PG.FLAGS), 0);
      m.store(pageIdx(head + i, PG.MAPCOUNT), 0);
    }
    m.store(pageIdx(head, PG.COMPOUND_ORDER), 0);
  }
  const l = current.layout;
  const idx = l.buddyOff + (head >>> 5);
  const mask = hugetlb ? 1 << (head & 31) : (1 << order === 32 ? -1 : ((1 << (1 << order)) - 1) << (head & 31));
  const old = m.and(idx, ~mask);
  if ((old & mask) !== mask) current.BUG('free_pages:double free', `pfn ${head} order ${order}`);
  current.vmstatAdd(VMSTAT.nr_page_free, 1);
}

/** Boot-time setup: hugetlb pools become compound pages; DAX frames get their driver reference. */
export function setup_machine(mem: Mem): void {
  const l = mem.layout;
  const idx = (pfn: number, f: number): number => l.pageOff + pfn * STRUCT_PAGE_WORDS + f;
  for (const [zone, order] of [[ZONE.HUGE_1G, PUD_ORDER], [ZONE.HUGE_2M, PMD_ORDER]] as const) {
    for (let head = l.zoneStart[zone]!; head < l.zoneStart[zone + 1]!; head += 1 << order) {
      mem.store(idx(head, PG.COMPOUND_ORDER), order);
      mem.store(idx(head, PG.FLAGS), PG_head | PG_hugetlb);
      for (let i = 1; i < 1 << order; i++) {
        mem.store(idx(head + i, PG.COMPOUND_HEAD), head + 1);
        mem.store(idx(head + i, PG.FLAGS), PG_tail | PG_hugetlb);
      }
    }
  }
  for (let pfn = l.zoneStart[ZONE.DAX]!; pfn < l.zoneStart[ZONE.DAX + 1]!; pfn++) mem.store(idx(pfn, PG.REFCOUNT), 1);
}

/** Frames currently allocated in a zone (for conservation checks and reports). */
export function nr_allocated(mem: Mem, zone: ZoneId): number {
  const l = mem.layout;
  let n = 0;
  const zs = l.zoneStart[zone]!;
  const ze = l.zoneStart[zone + 1]!;
  const hugeOrder = zone === ZONE.HUGE_1G ? PUD_ORDER : zone === ZONE.HUGE_2M ? PMD_ORDER : 0;
  for (let pfn = zs; pfn < ze; pfn += 1 << hugeOrder) {
    if ((mem.load(l.buddyOff + (pfn >>> 5)) >>> (pfn & 31)) & 1) n++;
  }
  return n;
}
