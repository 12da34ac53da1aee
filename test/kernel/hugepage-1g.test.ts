/**
 * The seed document's 1 GB arithmetic (pin_user_pages.rst, "TODO: for 1GB and larger huge pages,
 * this is cutting it close"): a 1 GB page has 2^18 4 KB subpages; pinning all of them as PAGE_SIZE
 * pieces under the pure bias adds 2^18 * 2^10 = 2^28 to the head refcount, and the signed count
 * has 31 - 10 = 21 bits for pins, so "about 8 references" fit.
 *
 * Method: one 1 GB hugetlb page (order 18) is mapped and faulted in (refcount 1: the mapping),
 * then pinned whole, as 262144 4 KB pieces, by pin_user_pages_fast(nr_pages = 262144) — one
 * gup-fast call per full pin. The 8th full pin of the seed era is made in chunks of 512 pages
 * (the last chunk split 511 + 1) so the exact subpage pin at which the predicate breaks is seen.
 * wordsPerPage is 1 so faulting the 1 GB page in (zeroing it) is cheap.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era } from '../../src/mem/layout.js';

const PAGE = 4096;
const SUBPAGES = 1 << 18; // 262144 4 KB pieces in 1 GB
const BIAS = K.GUP_PIN_COUNTING_BIAS;

function machine(era: Era): K.KernelContext {
  return K.boot(
    {
      huge1gPages: 1, vaPages: 1 << 19, normalFrames: 64, movableFrames: 0, daxFrames: 0, huge2mPages: 0,
      wordsPerPage: 1, nrMms: 1, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 1,
    },
    { era },
  );
}

/** Map the 1 GB page and fault it in; returns its address and head pfn. */
function map1g(): { mm: K.MmStruct; addr: number; head: number } {
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, { length: SUBPAGES * PAGE, kind: 'hugetlb', order: 18 });
  expect(addr).toBeGreaterThan(0);
  expect(addr % (SUBPAGES * PAGE)).toBe(0);
  K.mmap_read_lock(mm);
  expect(K.get_user_pages(mm, addr, 1, K.FOLL_WRITE, null)).toBe(1); // touch it
  K.mmap_read_unlock(mm);
  const w = K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 });
  expect(w.order).toBe(18);
  const head = K.pte_pfn(w.entry);
  expect(K.compound_order(head)).toBe(18);
  expect(K.page_ref_count(head)).toBe(1);
  return { mm, addr, head };
}

/** Pin `nr` subpages from `off` with one pin_user_pages_fast call; returns the count it gave. */
function pinRange(mm: K.MmStruct, addr: number, off: number, nr: number, pages: Int32Array): number {
  return K.pin_user_pages_fast(mm, addr + off * PAGE, nr, K.FOLL_WRITE, pages);
}

describe('1 GB hugetlb page pinned as 4 KB pieces', () => {
  it('seed-2019: 7 full pins hold; the 8th overflows the signed refcount into a false negative', () => {
    const k = machine('seed-2019');
    const { mm, addr, head } = map1g();
    const pages = new Int32Array(SUBPAGES);
    const base = K.page_ref_count(head); // 1: the mapping
    let pins = 0; // subpage pins outstanding

    for (let full = 1; full <= 7; full++) {
      expect(pinRange(mm, addr, 0, SUBPAGES, pages)).toBe(SUBPAGES);
      pins += SUBPAGES;
      expect(K.page_ref_count(head)).toBe(base + BIAS * pins);
      expect(K.page_dma_pinned(head)).toBe(true);
      expect(K.page_dma_pinned(head + SUBPAGES - 1)).toBe(true);
    }
    expect(pages[0]).toBe(head);
    expect(pages[SUBPAGES - 1]).toBe(head + SUBPAGES - 1);
    expect(K.page_ref_count(head)).toBe(1879048193); // 1 + 7 * 2^28

    // The predicate breaks at the first subpage pin k with base + 1024 k >= 2^31.
    const breakAt = Math.ceil((2 ** 31 - base) / BIAS);
    expect(breakAt).toBe(2_097_152);
    expect(breakAt).toBe(8 * SUBPAGES); // the very last subpage of the 8th full pin

    // The 8th full pin, in chunks of 512 (the last one as 511 + 1).
    const chunk = new Int32Array(512);
    let firstBroken = -1;
    for (let off = 0; off < SUBPAGES; ) {
      const n = off === SUBPAGES - 512 ? 511 : off === SUBPAGES - 1 ? 1 : 512;
      expect(pinRange(mm, addr, off, n, chunk)).toBe(n);
      off += n;
      pins += n;
      const ok = K.page_dma_pinned(head);
      if (!ok && firstBroken < 0) firstBroken = pins;
      if (firstBroken < 0) expect(K.page_ref_count(head)).toBeGreaterThan(0);
    }
    expect(firstBroken).toBe(breakAt);
    expect(pins).toBe(8 * SUBPAGES);
    // 1 + 2^31 wrapped: the signed count is negative, the pins are all still there.
    expect(K.page_ref_count(head)).toBe(-(2 ** 31) + 1);
    expect(K.page_dma_pinned(head)).toBe(false); // a false negative
    expect(K.page_dma_pinned(head + 12345)).toBe(false);
    expect(K.page_maybe_dma_pinned(head)).toBe(false); // the seed era has only the signed predicate
    expect(K.readVmstat(k.mem).nr_foll_pin_acquired).toBe(8 * SUBPAGES);

    // Once negative, further pins are refused (CVE-2019-11487 check), fast and slow.
    const w0 = K.readWarnings(k.mem).warn;
    expect(w0['try_get_compound_head:refcount<0'] ?? 0).toBe(0);
    const one = new Int32Array(1);
    const ret = pinRange(mm, addr, 7, 1, one);
    expect(ret).toBeLessThanOrEqual(0);
    expect(ret).toBe(-K.ENOMEM);
    const w1 = K.readWarnings(k.mem).warn;
    expect(w1['try_get_compound_head:refcount<0']).toBe(1); // gup-fast's grab refused
    expect(w1['try_get_page:refcount<=0']).toBe(1); // and the slow path's
    expect(K.readVmstat(k.mem).pin_refused_overflow).toBe(1);
    expect(K.page_ref_count(head)).toBe(-(2 ** 31) + 1); // unchanged
    expect(K.readVmstat(k.mem).nr_foll_pin_acquired).toBe(8 * SUBPAGES);

    // Unpin everything: the count comes back through the wrap to the mapping's reference.
    for (let full = 0; full < 7; full++) K.unpin_user_pages(pages, SUBPAGES);
    for (let i = 0; i < SUBPAGES; i++) pages[i] = head + i; // the 8th pin's pages, chunk by chunk
    K.unpin_user_pages(pages, SUBPAGES);
    expect(K.page_ref_count(head)).toBe(1);
    expect(K.page_dma_pinned(head)).toBe(false);
    const s = K.readVmstat(k.mem);
    expect(s.nr_foll_pin_acquired).toBe(8 * SUBPAGES);
    expect(s.nr_foll_pin_released).toBe(8 * SUBPAGES);
    expect(K.readWarnings(k.mem).bug).toEqual({});
    expect(K.do_munmap(mm, addr, SUBPAGES * PAGE)).toBe(0);
    expect(K.page_ref_count(head)).toBe(0); // freed back to the pool
  });

  it.each(['v5.7', 'v6.3'] as const)('%s: 16 full pins keep an exact count and never read unpinned', (era) => {
    const k = machine(era);
    const { mm, addr, head } = map1g();
    const pages = new Int32Array(SUBPAGES);
    expect(K.hpage_pincount_available(head)).toBe(true);
    for (let full = 1; full <= 16; full++) {
      expect(pinRange(mm, addr, 0, SUBPAGES, pages)).toBe(SUBPAGES);
      expect(K.compound_pincount(head)).toBe(full * SUBPAGES);
      expect(K.page_ref_count(head)).toBe(1 + full * SUBPAGES);
      expect(K.page_maybe_dma_pinned(head)).toBe(true);
      expect(K.page_maybe_dma_pinned(head + SUBPAGES - 1)).toBe(true);
      expect(K.page_dma_pinned(head)).toBe(true);
    }
    expect(K.compound_pincount(head)).toBe(16 * SUBPAGES);
    expect(K.compound_pincount(head)).toBe(4_194_304);
    expect(K.readVmstat(k.mem).nr_foll_pin_acquired).toBe(16 * SUBPAGES);

    for (let full = 16; full >= 1; full--) {
      K.unpin_user_pages(pages, SUBPAGES);
      expect(K.page_maybe_dma_pinned(head)).toBe(full > 1);
    }
    expect(K.compound_pincount(head)).toBe(0);
    expect(K.page_ref_count(head)).toBe(1);
    const s = K.readVmstat(k.mem);
    expect(s.nr_foll_pin_acquired).toBe(16 * SUBPAGES);
    expect(s.nr_foll_pin_released).toBe(16 * SUBPAGES);
    expect(K.readWarnings(k.mem)).toEqual({ warn: {}, bug: {} });
    expect(K.do_munmap(mm, addr, SUBPAGES * PAGE)).toBe(0);
    expect(K.page_ref_count(head)).toBe(0);
  });
});
