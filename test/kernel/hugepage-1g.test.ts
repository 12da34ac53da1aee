/**
 * The seed document's 1 GB arithmetic (pin_user_pages.rst, "TODO: for 1GB and larger huge pages,
 * this is cutting it close"): a 1 GB page has 2^18 4 KB subpages; pinning all of them as PAGE_SIZE
 * pieces under the pure bias adds 2^18 * 2^10 = 2^28 to the head refcount, and the signed count
 * has 31 - 10 = 21 bits for pins, so "about 8 references" fit.
 *
 * What the 2019 code does at that limit (kernel-src/README.md; kernel-notes §2, corrected): the
 * compare in page_dma_pinned() is unsigned, so the wrapped count still reads pinned — no false
 * negative — and the refusal in try_get_compound_head()/try_grab_page() is what stops a 9th pin.
 * v5.7 and later keep an exact count for the 1 GB page and are never refused.
 *
 * Method: one 1 GB hugetlb page (order 18) is mapped and faulted in (refcount 1: the mapping).
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
  it('rfc-2019: 8 full pins drive the head negative and it still reads pinned; pin 2,097,153 is refused with a WARN', () => {
    // The postings' compare is unsigned (GUP_PIN_COUNTING_BIAS is 1UL << 10), and
    // try_get_compound_head()/try_grab_page() WARN and refuse once the count is negative
    // (kernel-src/README.md, "What those postings do"). The slow path pins a hugetlb page subpage
    // by subpage (+1024 each): pin_user_pages, 512 subpages per call, under mmap_lock.
    const k = machine('rfc-2019');
    const { mm, addr, head } = map1g();
    const base = K.page_ref_count(head); // 1: the mapping
    const chunk = new Int32Array(512);
    const pinChunk = (off: number, n: number): number => {
      K.mmap_read_lock(mm);
      try {
        return K.pin_user_pages(mm, addr + off * PAGE, n, K.FOLL_WRITE, chunk);
      } finally {
        K.mmap_read_unlock(mm);
      }
    };
    // The last accepted pin p satisfies base + 1024 (p - 1) > 0 as int: p = 2^21, the last
    // subpage of the 8th full pin; it makes the count 1 + 2^31, negative as int.
    const refusalStartsAt = 8 * SUBPAGES + 1;
    expect(refusalStartsAt).toBe(2_097_153);
    let pins = 0;
    for (let full = 1; full <= 8; full++) {
      for (let off = 0; off < SUBPAGES; off += 512) {
        expect(pinChunk(off, 512)).toBe(512);
        pins += 512;
        // No false negative at any point: signed-positive or wrapped, the count reads pinned.
        if (off % (64 * 512) === 0) expect(K.page_dma_pinned(head + off)).toBe(true);
      }
      expect(K.page_ref_count(head)).toBe((base + BIAS * pins) | 0);
      expect(K.page_dma_pinned(head)).toBe(true);
    }
    expect(pins).toBe(8 * SUBPAGES);
    expect(K.page_ref_count(head)).toBe(-(2 ** 31) + 1); // 1 + 8 * 2^28, negative as int
    expect(K.page_dma_pinned(head)).toBe(true); // unsigned compare: still pinned
    expect(K.page_maybe_dma_pinned(head + 12345)).toBe(true);
    expect(K.readWarnings(k.mem).warn).toEqual({});

    // Pin 2,097,153: refused with one WARN, the call returns fewer pages (here none: -ENOMEM).
    expect(pinChunk(0, 1)).toBe(-K.ENOMEM);
    expect(K.readWarnings(k.mem).warn['try_get_page:refcount<=0']).toBe(1);
    // gup-fast refuses it too, at try_get_compound_head's WARN, then its slow fallback at its own.
    const one = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr + 7 * PAGE, 1, K.FOLL_WRITE, one)).toBe(-K.ENOMEM);
    const w = K.readWarnings(k.mem).warn;
    expect(w['try_get_compound_head:refcount<0']).toBe(1);
    expect(w['try_get_page:refcount<=0']).toBe(2);
    expect(K.page_ref_count(head)).toBe(-(2 ** 31) + 1); // unchanged by the refusals
    // A call that had taken some pages before the refusal returns the short count.
    expect(K.readVmstat(k.mem).nr_foll_pin_acquired).toBe(8 * SUBPAGES);

    // Unpin everything: the count comes back through the wrap to the mapping's reference.
    const all = new Int32Array(SUBPAGES);
    for (let i = 0; i < SUBPAGES; i++) all[i] = head + i;
    for (let full = 0; full < 8; full++) K.unpin_user_pages(all, SUBPAGES);
    expect(K.page_ref_count(head)).toBe(1);
    expect(K.page_dma_pinned(head)).toBe(false);
    const s = K.readVmstat(k.mem);
    expect(s.nr_foll_pin_released).toBe(8 * SUBPAGES);
    expect(K.readWarnings(k.mem).bug).toEqual({});
    expect(K.do_munmap(mm, addr, SUBPAGES * PAGE)).toBe(0);
    expect(K.page_ref_count(head)).toBe(0); // freed back to the pool
  });

  it('rfc-2019: a partial pin whose last subpages would overflow returns the short count', () => {
    const k = machine('rfc-2019');
    const { mm, addr, head } = map1g();
    // 7 full pins and all but 2 subpages of the 8th: the next call of 4 takes 2, the 2nd making
    // the count negative, and the 3rd is refused.
    const pages = new Int32Array(SUBPAGES);
    K.mmap_read_lock(mm);
    try {
      for (let full = 0; full < 7; full++) expect(K.pin_user_pages(mm, addr, SUBPAGES, K.FOLL_WRITE, pages)).toBe(SUBPAGES);
      expect(K.pin_user_pages(mm, addr, SUBPAGES - 2, K.FOLL_WRITE, pages)).toBe(SUBPAGES - 2);
      const four = new Int32Array(4);
      expect(K.pin_user_pages(mm, addr, 4, K.FOLL_WRITE, four)).toBe(2);
    } finally {
      K.mmap_read_unlock(mm);
    }
    expect(K.page_ref_count(head)).toBe(-(2 ** 31) + 1);
    expect(K.page_dma_pinned(head)).toBe(true);
    expect(K.readWarnings(k.mem).warn['try_get_page:refcount<=0']).toBe(1);
  });

  it('rfc-2019: gup-fast takes one bias for a run of huge subpages (native huge-run-one-bias)', () => {
    // gup_huge_pud(): try_grab_compound_head(head, refs, FOLL_PIN) adds GUP_PIN_COUNTING_BIAS once
    // for the run; each subpage is released with its own put_user_page(): the second unpin underflows.
    const k = machine('rfc-2019');
    const { mm, addr, head } = map1g();
    const pages = new Int32Array(4);
    expect(K.pin_user_pages_fast(mm, addr, 4, K.FOLL_WRITE, pages)).toBe(4);
    expect(K.page_ref_count(head)).toBe(1 + BIAS); // not 1 + 4 * BIAS
    K.unpin_user_page(pages[0]!);
    expect(K.page_ref_count(head)).toBe(1);
    expect(K.page_dma_pinned(head)).toBe(false); // three pins still held: the bug's false negative
    expect(() => K.unpin_user_page(pages[1]!)).toThrow(K.KernelBug);
    expect(K.readWarnings(k.mem).bug['put_page:underflow']).toBe(1);
  });

  it.each(['v5.7', 'v6.3', 'v6.18'] as const)('%s: 16 full pins keep an exact count, never read unpinned, never refused', (era) => {
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
