/**
 * The pin and unpin rules the mutation run (issue 13) found unpinned by any single-threaded test:
 * the last reference dropped by a batch unpin, underflows as BUGs, a write pin of a read-only PTE,
 * ranges beyond the address space, gup-fast taking huge pages and large folios itself, a call that
 * spans two huge pages, gup-fast meeting a frozen or negative count, a fault failing in the slow
 * path, MMF_HAS_PINNED, the NULL entries of the unpin loops and set_page_dirty()'s return. Each test
 * boots its own small machine on the test's thread, per era where the era matters; where gup-fast
 * and the slow path give the same pages, the vmstat counters say which path ran.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, MM, MMF_HAS_PINNED, PG, PG_anon_exclusive, PG_dirty, PG_locked } from '../../src/mem/layout.js';

const PAGE = 4096;
const HPAGE_2M = 512 * PAGE;
const BIAS = K.GUP_PIN_COUNTING_BIAS;
const ERAS: readonly Era[] = ['rfc-2019', 'v5.7', 'v6.3', 'v6.18'];

function machine(era: Era, faults: string[] = []): K.KernelContext {
  return K.boot(
    {
      normalFrames: 128, movableFrames: 16, daxFrames: 0, huge2mPages: 2, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 2, vaPages: 1 << 12, maxVmas: 8, nrFiles: 1, filePages: 8, nrCpus: 1,
      folioPools: [{ order: 1, count: 4 }, { order: 2, count: 4 }],
    },
    { era, faults },
  );
}

const vmstat = (k: K.KernelContext) => K.readVmstat(k.mem);
const warn = (k: K.KernelContext, site: K.WarnSite): number => K.readWarnings(k.mem).warn[site] ?? 0;
const bug = (k: K.KernelContext, site: K.BugSite): number => K.readWarnings(k.mem).bug[site] ?? 0;
const sentinel = (n: number): Int32Array => new Int32Array(n).fill(-1);

function mapAnon(mm: K.MmStruct, nr: number, order = 0): number {
  const addr = K.do_mmap(mm, { length: nr * PAGE, kind: 'anon', order });
  expect(addr).toBeGreaterThan(0);
  return addr;
}

/** Fault `nr` pages in, writable, without taking references. */
function populate(mm: K.MmStruct, addr: number, nr: number, write = true): void {
  K.mmap_read_lock(mm);
  try {
    expect(K.get_user_pages(mm, addr, nr, write ? K.FOLL_WRITE : 0, null)).toBe(nr);
  } finally {
    K.mmap_read_unlock(mm);
  }
}

function pinSlow(mm: K.MmStruct, addr: number, nr: number, flags: number, pages: K.PageArray): number {
  K.mmap_read_lock(mm);
  try {
    return K.pin_user_pages(mm, addr, nr, flags, pages);
  } finally {
    K.mmap_read_unlock(mm);
  }
}

function pfnAt(mm: K.MmStruct, addr: number): number {
  const vpn = addr / PAGE;
  const w = K.walk(mm.pt, vpn, { idx: 0, entry: 0, order: 0 });
  return K.pte_present(w.entry) ? K.pte_pfn(w.entry) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0) : -1;
}

function pteAt(mm: K.MmStruct, addr: number): number {
  return K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 }).entry;
}

/** Which path a call took: the counter deltas around it. */
function paths(k: K.KernelContext, fn: () => void): { fallback: number; slow: number; faults: number } {
  const a = vmstat(k);
  fn();
  const b = vmstat(k);
  return { fallback: b.gup_fast_fallback - a.gup_fast_fallback, slow: b.gup_slow_calls - a.gup_slow_calls, faults: b.pgfault - a.pgfault };
}

/** The pin accounting of a large folio of `order` in an era: exact count, or the bias on the head. */
function exactCount(era: Era, order: number): boolean {
  return K.eraSpec(era).pincountMinOrder <= order;
}

// ---- the last reference and underflows ---------------------------------------------------

describe('a batch unpin drops the last reference and frees the page', () => {
  it.each(ERAS)('%s: small pages pinned, then unmapped, are freed by unpin_user_pages', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 3);
    const pages = sentinel(3);
    expect(K.pin_user_pages_fast(mm, addr, 3, K.FOLL_WRITE, pages)).toBe(3);
    expect(K.do_munmap(mm, addr, 3 * PAGE)).toBe(0);
    for (const p of pages) expect(K.page_ref_count(p)).toBe(BIAS); // only the pins hold them now
    const freed0 = vmstat(k).nr_page_free;
    K.unpin_user_pages(pages, 3);
    for (const p of pages) expect(K.page_ref_count(p)).toBe(0);
    const s = vmstat(k);
    expect(s.nr_page_free - freed0).toBe(3);
    expect([s.nr_foll_pin_acquired, s.nr_foll_pin_released]).toEqual([3, 3]);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });

  it.each(ERAS)('%s: a large folio pinned, then unmapped, is freed by its last unpin', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 4, 2);
    const pages = sentinel(4);
    expect(pinSlow(mm, addr, 4, K.FOLL_WRITE, pages)).toBe(4);
    const head = K.compound_head(pages[0]!);
    expect(K.compound_order(head)).toBe(2);
    expect(K.do_munmap(mm, addr, 4 * PAGE)).toBe(0);
    const freed0 = vmstat(k).nr_page_free;
    K.unpin_user_pages(pages, 3);
    expect(vmstat(k).nr_page_free).toBe(freed0);
    expect(K.page_maybe_dma_pinned(head)).toBe(true);
    K.unpin_user_pages(pages.subarray(3), 1);
    expect(vmstat(k).nr_page_free - freed0).toBe(1);
    expect(K.page_ref_count(head)).toBe(0);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });
});

describe('an extra unpin is a BUG and leaves the counts as they were', () => {
  it.each(ERAS)('%s: a small page unpinned twice', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 1);
    const pages = sentinel(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    K.unpin_user_pages(pages, 1);
    expect(K.page_ref_count(pages[0]!)).toBe(1);
    expect(() => K.unpin_user_pages(pages, 1)).toThrow(K.KernelBug);
    expect(bug(k, 'put_page:underflow')).toBe(1);
    expect(K.page_ref_count(pages[0]!)).toBe(1); // restored, not wrapped
    expect(() => K.unpin_user_page(pages[0]!)).toThrow(/put_page:underflow/);
    expect(bug(k, 'put_page:underflow')).toBe(2);
    expect(K.page_ref_count(pages[0]!)).toBe(1);
  });

  it.each(ERAS)('%s: a large folio (order 2) unpinned once too often', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 4, 2);
    populate(mm, addr, 4);
    const pages = sentinel(2);
    expect(pinSlow(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    const head = K.compound_head(pages[0]!);
    const exact = exactCount(era, 2);
    expect(K.page_ref_count(head)).toBe(exact ? 4 + 2 : 4 + 2 * BIAS); // one reference per mapped PTE
    if (exact) expect(K.compound_pincount(head)).toBe(2);
    K.unpin_user_pages(pages, 2);
    expect(K.page_ref_count(head)).toBe(4);
    expect(K.page_maybe_dma_pinned(head)).toBe(false);
    expect(() => K.unpin_user_page(pages[1]!)).toThrow(K.KernelBug);
    const site: K.BugSite = exact ? 'gup_put:pincount underflow' : 'put_page:underflow';
    expect(K.readWarnings(k.mem).bug).toEqual({ [site]: 1 });
    expect(K.page_ref_count(head)).toBe(4);
    if (exact) expect(K.compound_pincount(head)).toBe(0);
  });

  it('put_page on a page with no reference left is a BUG; get_page on a free page too', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 1);
    populate(mm, addr, 1);
    const p = pfnAt(mm, addr);
    expect(K.page_ref_freeze(p, 1)).toBe(true);
    expect(() => K.get_page(p)).toThrow(/get_page:refcount<=0/);
    expect(K.page_ref_count(p)).toBe(0); // the increment is undone
    expect(bug(k, 'get_page:refcount<=0')).toBe(1);
    K.page_ref_unfreeze(p, 1);
    expect(warn(k, 'page_ref_unfreeze:nonzero')).toBe(0);
    K.get_page(p);
    expect(K.page_ref_count(p)).toBe(2);
    K.put_page(p);
    expect(K.page_ref_count(p)).toBe(1);
  });
});

// ---- the slow path: write fault, failing fault, ranges --------------------------------------

describe('a write pin of a read-only PTE takes the write fault', () => {
  it.each(ERAS)('%s: gup-fast refuses the read-only entry; the slow path faults it writable', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 1);
    populate(mm, addr, 1, true);
    // Write-protect the entry (as fork or page_mkclean would).
    const w = K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 });
    k.mem.store(w.idx, K.pte_wrprotect(w.entry));
    expect(K.pte_write(pteAt(mm, addr))).toBe(false);
    const pages = sentinel(1);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1));
    expect(d).toEqual({ fallback: 1, slow: 1, faults: 1 });
    expect(K.pte_write(pteAt(mm, addr))).toBe(true);
    expect(pages[0]).toBe(pfnAt(mm, addr));
    expect(K.page_ref_count(pages[0]!)).toBe(1 + BIAS);
    K.unpin_user_pages(pages, 1);
  });

  it.each(ERAS)('%s: a read pin of a writable PTE takes it in gup-fast, no fault', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 2);
    populate(mm, addr, 2, true);
    const pages = sentinel(2);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 2, 0, pages)).toBe(2));
    expect(d).toEqual({ fallback: 0, slow: 0, faults: 0 });
    K.unpin_user_pages(pages, 2);
  });
});

describe('a fault that fails in the slow path', () => {
  it.each(ERAS)('%s: no huge page left: -ENOMEM, or the pages taken before it', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 3 * HPAGE_2M, kind: 'hugetlb' });
    expect(a).toBeGreaterThan(0);
    const pages = sentinel(3 * 512);
    // Two pages in the pool: the first two fault in, the third cannot.
    expect(pinSlow(mm, a, 3 * 512, K.FOLL_WRITE, pages)).toBe(1024);
    expect(pages[1023]).not.toBe(-1);
    expect(pages[1024]).toBe(-1);
    const rest = sentinel(4);
    expect(pinSlow(mm, a + 2 * HPAGE_2M, 4, K.FOLL_WRITE, rest)).toBe(-K.ENOMEM);
    expect(K.pin_user_pages_fast(mm, a + 2 * HPAGE_2M, 4, K.FOLL_WRITE, rest)).toBe(-K.ENOMEM);
    expect(Array.from(rest)).toEqual([-1, -1, -1, -1]);
    // gup-fast took the two mapped huge pages itself, then the slow remainder failed: it returns
    // what it took, which the caller must release.
    const h0 = K.compound_head(pages[0]!);
    const ref0 = K.page_ref_count(h0);
    const more = sentinel(1030);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, a, 1030, K.FOLL_WRITE, more)).toBe(1024));
    expect(d.fallback).toBe(1);
    expect(Array.from(more.subarray(0, 1024))).toEqual(Array.from(pages.subarray(0, 1024)));
    // rfc-2019's gup-fast takes one bias for a run of subpages (huge-run-one-bias, native there):
    // releasing them one by one would underflow, so only the later eras release them here.
    expect(K.page_ref_count(h0) - ref0).toBe(era === 'rfc-2019' ? BIAS : 512);
    if (era !== 'rfc-2019') K.unpin_user_pages(more, 1024);
    K.unpin_user_pages(pages, 1024);
    if (era !== 'rfc-2019') {
      const s = vmstat(k);
      expect(s.nr_foll_pin_acquired).toBe(s.nr_foll_pin_released);
      expect(K.page_ref_count(h0)).toBe(1);
    }
  });

  it.each(ERAS)('%s: a write pin of a read-only mapping is -EFAULT, and nothing is taken', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon', write: false });
    populate(mm, addr, 2, false);
    const pages = sentinel(2);
    expect(pinSlow(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(Array.from(pages)).toEqual([-1, -1]);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
  });
});

describe('a range beyond the address space is -EFAULT', () => {
  it.each(ERAS)('%s: the last pages of the address space pin; one more is -EFAULT, nothing taken', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const top = k.layout.vaPages * PAGE;
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon', addr: top - 2 * PAGE });
    expect(addr).toBe(top - 2 * PAGE);
    populate(mm, addr, 2);
    const pages = sentinel(3);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    expect(pinSlow(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    pages.fill(-1);
    const pinned0 = vmstat(k).nr_foll_pin_acquired;
    expect(K.pin_user_pages_fast(mm, addr, 3, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(pinSlow(mm, addr, 3, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(K.pin_user_pages_fast(mm, addr + PAGE, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(Array.from(pages)).toEqual([-1, -1, -1]);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(pinned0);
    for (const p of [pfnAt(mm, addr), pfnAt(mm, addr + PAGE)]) expect(K.page_ref_count(p)).toBe(1);
  });

  it('negative addresses and addresses above 4 GB are -EFAULT on both paths', () => {
    machine('v6.3');
    const mm = K.mm_of(0);
    const pages = sentinel(1);
    for (const start of [-PAGE, -1, 2 ** 32, 2 ** 40]) {
      expect(K.pin_user_pages_fast(mm, start, 1, 0, pages), String(start)).toBe(-K.EFAULT);
      expect(pinSlow(mm, start, 1, 0, pages), String(start)).toBe(-K.EFAULT);
      K.mmap_read_lock(mm);
      expect(K.get_user_pages(mm, start, 1, 0, null), String(start)).toBe(-K.EFAULT);
      K.mmap_read_unlock(mm);
    }
    expect(pages[0]).toBe(-1);
  });
});

// ---- gup-fast takes huge pages and large folios itself ----------------------------------------

describe('gup-fast pins huge pages and large folios itself (no fallback)', () => {
  it.each(ERAS)('%s: a mapped 2 MB hugetlb page', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    populate(mm, a, 1);
    const head = K.compound_head(pfnAt(mm, a));
    const pages = sentinel(8);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, a + 10 * PAGE, 8, K.FOLL_WRITE, pages)).toBe(8));
    expect(d).toEqual({ fallback: 0, slow: 0, faults: 0 });
    expect(Array.from(pages)).toEqual(Array.from({ length: 8 }, (_, j) => head + 10 + j));
    // rfc-2019 takes one bias for the run (huge-run-one-bias, native there); v5.7+ an exact count.
    if (era === 'rfc-2019') expect(K.page_ref_count(head)).toBe(1 + BIAS);
    else {
      expect(K.page_ref_count(head)).toBe(1 + 8);
      expect(K.compound_pincount(head)).toBe(8);
    }
    expect(vmstat(k).nr_foll_pin_acquired).toBe(8);
    expect(K.page_maybe_dma_pinned(head + 500)).toBe(true);
    // A plain FOLL_GET of the huge page in gup-fast: references, no pin.
    const got = sentinel(2);
    const d2 = paths(k, () => expect(K.get_user_pages_fast(mm, a, 2, 0, got)).toBe(2));
    expect(d2.fallback).toBe(0);
    for (let j = 0; j < 2; j++) K.put_page(got[j]!);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(8);
  });

  it.each(ERAS)('%s: a PTE-mapped large folio (order 1 and order 2)', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    for (const order of [1, 2]) {
      const nr = 1 << order;
      const a = mapAnon(mm, nr, order);
      populate(mm, a, nr);
      const head = K.compound_head(pfnAt(mm, a));
      expect(K.compound_order(head)).toBe(order);
      const ref0 = K.page_ref_count(head);
      const pages = sentinel(nr);
      const acq0 = vmstat(k).nr_foll_pin_acquired;
      const d = paths(k, () => expect(K.pin_user_pages_fast(mm, a, nr, K.FOLL_WRITE, pages)).toBe(nr));
      expect(d, `order ${order}`).toEqual({ fallback: 0, slow: 0, faults: 0 });
      expect(Array.from(pages)).toEqual(Array.from({ length: nr }, (_, j) => head + j));
      const exact = exactCount(era, order);
      expect(K.page_ref_count(head), `order ${order}`).toBe(ref0 + (exact ? nr : nr * BIAS));
      expect(K.hpage_pincount_available(head)).toBe(exact);
      if (exact) expect(K.compound_pincount(head)).toBe(nr);
      expect(vmstat(k).nr_foll_pin_acquired - acq0).toBe(nr);
      expect(K.page_maybe_dma_pinned(head + nr - 1)).toBe(true);
      // v6.3+ releases a folio run with one put (gup_folio_next); earlier eras page by page: the same counts.
      K.unpin_user_pages(pages, nr);
      expect(K.page_ref_count(head)).toBe(ref0);
      expect(K.page_maybe_dma_pinned(head)).toBe(false);
      if (exact) expect(K.compound_pincount(head)).toBe(0);
    }
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });

  it.each(ERAS)('%s: gup-fast and the slow path span two huge pages: each head counts its own subpages', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 2 * HPAGE_2M, kind: 'hugetlb' });
    populate(mm, a, 1024);
    const h0 = K.compound_head(pfnAt(mm, a));
    const h1 = K.compound_head(pfnAt(mm, a + HPAGE_2M));
    expect(h1).not.toBe(h0);
    const start = a + 500 * PAGE; // 12 subpages of the first, 20 of the second
    for (const fast of [true, false]) {
      const before = [K.page_ref_count(h0), K.page_ref_count(h1)];
      const pages = sentinel(32);
      const d = paths(k, () => expect(fast ? K.pin_user_pages_fast(mm, start, 32, K.FOLL_WRITE, pages) : pinSlow(mm, start, 32, K.FOLL_WRITE, pages)).toBe(32));
      expect(d.fallback).toBe(0);
      expect(d.slow).toBe(fast ? 0 : 1);
      expect(Array.from(pages)).toEqual([...Array.from({ length: 12 }, (_, j) => h0 + 500 + j), ...Array.from({ length: 20 }, (_, j) => h1 + j)]);
      if (era === 'rfc-2019') {
        // The slow path adds the bias per subpage; gup-fast one bias per run (huge-run-one-bias).
        expect([K.page_ref_count(h0) - before[0]!, K.page_ref_count(h1) - before[1]!]).toEqual(fast ? [BIAS, BIAS] : [12 * BIAS, 20 * BIAS]);
      } else {
        expect([K.compound_pincount(h0), K.compound_pincount(h1)]).toEqual([12, 20]);
        expect([K.page_ref_count(h0), K.page_ref_count(h1)]).toEqual([1 + 12, 1 + 20]);
      }
      if (era !== 'rfc-2019' || !fast) {
        K.unpin_user_pages(pages, 32);
        expect([K.page_ref_count(h0), K.page_ref_count(h1)]).toEqual(before);
      }
    }
  });
});

// ---- gup-fast meets a count it must not raise ------------------------------------------------

describe('gup-fast given a frozen or negative count takes nothing', () => {
  it.each(ERAS)('%s: a frozen small page (refcount 0): fast path refuses, the slow path WARNs -ENOMEM', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 1);
    populate(mm, addr, 1);
    const p = pfnAt(mm, addr);
    expect(K.page_ref_freeze(p, 1)).toBe(true);
    const pages = sentinel(1);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(-K.ENOMEM));
    expect(d.fallback).toBe(1);
    expect(K.page_ref_count(p)).toBe(0); // not resurrected
    expect(warn(k, 'try_get_page:refcount<=0')).toBe(1);
    expect(warn(k, 'try_get_compound_head:refcount<0')).toBe(0);
    expect(pages[0]).toBe(-1);
    expect(K.try_get_page(p)).toBe(false);
    expect(K.page_ref_add_unless_zero(p, 1)).toBe(false);
    expect(K.try_get_compound_head(p, 1)).toBe(-1);
    K.page_ref_unfreeze(p, 1);
    expect(K.page_ref_freeze(p, 2)).toBe(false); // the count is 1, not 2
    expect(K.page_ref_count(p)).toBe(1);
    expect(K.try_get_page(p)).toBe(true);
    expect(K.page_ref_count(p)).toBe(2);
    expect(K.page_ref_add_unless_zero(p, 3)).toBe(true);
    expect(K.page_ref_count(p)).toBe(5);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
  });

  it.each(ERAS)('%s: a frozen huge page and a frozen large folio are left to the slow path', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    const f = mapAnon(mm, 4, 2);
    populate(mm, a, 1);
    populate(mm, f, 4);
    for (const [addr, head] of [[a, K.compound_head(pfnAt(mm, a))], [f, K.compound_head(pfnAt(mm, f))]] as const) {
      const count = K.page_ref_count(head);
      expect(K.page_ref_freeze(head, count)).toBe(true);
      const pages = sentinel(2);
      const d = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(-K.ENOMEM));
      expect(d.fallback).toBe(1);
      expect(K.page_ref_count(head)).toBe(0);
      expect(Array.from(pages)).toEqual([-1, -1]);
      K.page_ref_unfreeze(head, count);
    }
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });

  it.each(ERAS)('%s: a negative (overflowed) count is refused with a WARN and pin_refused_overflow, still reads pinned', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 1);
    populate(mm, addr, 1);
    const p = pfnAt(mm, addr);
    const idx = K.pw(p, PG.REFCOUNT);
    k.mem.store(idx, -5);
    const pages = sentinel(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(-K.ENOMEM);
    expect(k.mem.load(idx)).toBe(-5);
    expect(warn(k, 'try_get_compound_head:refcount<0')).toBe(1);
    expect(warn(k, 'try_get_page:refcount<=0')).toBe(1);
    expect(vmstat(k).pin_refused_overflow).toBe(1);
    // page_maybe_dma_pinned compares unsigned: an overflowed count reads pinned (no false negative).
    expect(K.page_maybe_dma_pinned(p)).toBe(true);
    expect(K.page_dma_pinned(p)).toBe(true);
    k.mem.store(idx, BIAS - 1);
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    k.mem.store(idx, BIAS);
    expect(K.page_maybe_dma_pinned(p)).toBe(true);
    k.mem.store(idx, 1);
  });
});

describe('page_ref_zero_or_close_to_overflow', () => {
  it('is true for 0 and the last 127 values before the wrap, false elsewhere', () => {
    for (const c of [0, -1, -127, 0x80000000 | 0]) expect(K.page_ref_zero_or_close_to_overflow(c), String(c)).toBe(c >= -127 && c <= 0);
    for (const c of [1, 127, 128, -128, 0x7fffffff]) expect(K.page_ref_zero_or_close_to_overflow(c), String(c)).toBe(false);
  });
});

// ---- MMF_HAS_PINNED --------------------------------------------------------------------------

describe('MMF_HAS_PINNED', () => {
  it.each(ERAS)('%s: set by the first pin, fast or slow, never by a get; fork reads it', (era) => {
    const k = machine(era);
    const flags = (mm: K.MmStruct): number => k.mem.load(mm.base + MM.FLAGS) & MMF_HAS_PINNED;
    for (const fast of [true, false]) {
      const mm = K.mm_of(fast ? 0 : 1);
      const addr = mapAnon(mm, 2);
      populate(mm, addr, 2);
      const got = sentinel(2);
      expect(K.get_user_pages_fast(mm, addr, 2, 0, got)).toBe(2);
      for (const p of got) K.put_page(p);
      expect(flags(mm)).toBe(0);
      expect(K.page_needs_cow_for_dma(mm, pfnAt(mm, addr))).toBe(false);
      const pages = sentinel(1);
      expect(fast ? K.pin_user_pages_fast(mm, addr, 1, 0, pages) : pinSlow(mm, addr, 1, 0, pages)).toBe(1);
      expect(flags(mm)).toBe(MMF_HAS_PINNED);
      // The pinned page needs a copy at fork (the early-COW test; fork-no-early-cow eras never
      // ask); the one never pinned does not.
      expect(K.page_needs_cow_for_dma(mm, pages[0]!)).toBe(true);
      expect(K.page_needs_cow_for_dma(mm, pfnAt(mm, addr + PAGE))).toBe(false);
      K.unpin_user_pages(pages, 1);
      expect(flags(mm)).toBe(MMF_HAS_PINNED); // never cleared
      expect(K.page_needs_cow_for_dma(mm, pages[0]!)).toBe(false);
    }
  });
});

// ---- the unpin loops' edge cases and set_page_dirty ----------------------------------------

describe('unpin edge cases', () => {
  it.each(ERAS)('%s: NULL entries are skipped, 0 pages is a no-op, a -errno count WARNs', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 2);
    const f = mapAnon(mm, 4, 2);
    const pages = sentinel(6);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    expect(K.pin_user_pages_fast(mm, f, 4, K.FOLL_WRITE, pages.subarray(2))).toBe(4);
    const head = K.compound_head(pages[2]!);
    const ref = K.page_ref_count(head);
    const refs = [K.page_ref_count(pages[0]!), K.page_ref_count(pages[1]!)];
    K.unpin_user_pages(pages, 0);
    K.unpin_user_pages_dirty_lock(pages, 0, true);
    K.unpin_user_pages(pages, -K.EFAULT);
    K.unpin_user_pages_dirty_lock(pages, -K.EFAULT, true);
    expect(warn(k, 'unpin_user_pages:IS_ERR_VALUE')).toBe(2);
    expect([K.page_ref_count(pages[0]!), K.page_ref_count(pages[1]!), K.page_ref_count(head)]).toEqual([...refs, ref]);
    expect(vmstat(k).nr_foll_pin_released).toBe(0);
    // NULLs between small pages and inside the folio run.
    const mixed = Int32Array.from([-1, pages[0]!, -1, pages[2]!, -1, pages[3]!, pages[4]!, -1, pages[5]!, pages[1]!, -1]);
    K.unpin_user_pages(mixed, mixed.length);
    expect([K.page_ref_count(pages[0]!), K.page_ref_count(pages[1]!)]).toEqual([1, 1]);
    expect(K.page_maybe_dma_pinned(head)).toBe(false);
    expect(vmstat(k).nr_foll_pin_released).toBe(6);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });

  it.each(ERAS)('%s: unpin_user_pages_dirty_lock dirties each page once, skips NULLs, unpins all', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const f = mapAnon(mm, 4, 2);
    const addr = mapAnon(mm, 2);
    const pages = sentinel(6);
    expect(K.pin_user_pages_fast(mm, f, 4, K.FOLL_WRITE, pages)).toBe(4);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages.subarray(4))).toBe(2);
    const head = K.compound_head(pages[0]!);
    for (const p of [head, pages[4]!, pages[5]!]) k.mem.and(K.pw(p, PG.FLAGS), ~PG_dirty);
    // set_page_dirty() says whether it dirtied the page; only a clean page counts in nr_dirtied.
    const n0 = vmstat(k).nr_dirtied;
    expect(K.set_page_dirty(pages[5]!)).toBe(true);
    expect(K.set_page_dirty(pages[5]!)).toBe(false);
    expect(K.set_page_dirty_lock(pages[5]!)).toBe(false);
    expect(k.mem.load(K.pw(pages[5]!, PG.FLAGS)) & PG_locked).toBe(0);
    expect(vmstat(k).nr_dirtied - n0).toBe(1);
    const d0 = vmstat(k).nr_dirtied;
    const list = Int32Array.from([pages[0]!, pages[1]!, -1, pages[2]!, pages[3]!, pages[4]!, -1, pages[5]!]);
    K.unpin_user_pages_dirty_lock(list, list.length, true);
    for (const p of [head, pages[4]!, pages[5]!]) expect(K.PageDirty(p)).toBe(true);
    expect(vmstat(k).nr_dirtied - d0).toBe(2); // the folio once, pages[4]; pages[5] was dirty
    expect(K.page_maybe_dma_pinned(head)).toBe(false);
    expect([K.page_ref_count(pages[4]!), K.page_ref_count(pages[5]!)]).toEqual([1, 1]);
    const s = vmstat(k);
    expect([s.nr_foll_pin_acquired, s.nr_foll_pin_released]).toEqual([6, 6]);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });
});

// ---- struct page helpers -------------------------------------------------------------------

describe('struct page flags and counts', () => {
  it('PageHead / PageTail / PageCompound / compound_nr on a small page, a folio head and its tail', () => {
    machine('v6.3');
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 1);
    const f = mapAnon(mm, 4, 2);
    populate(mm, a, 1);
    populate(mm, f, 4);
    const small = pfnAt(mm, a);
    const head = K.compound_head(pfnAt(mm, f));
    expect([K.PageHead(small), K.PageTail(small), K.PageCompound(small), K.compound_nr(small)]).toEqual([false, false, false, 1]);
    expect([K.PageHead(head), K.PageTail(head), K.PageCompound(head), K.compound_nr(head)]).toEqual([true, false, true, 4]);
    expect([K.PageHead(head + 3), K.PageTail(head + 3), K.PageCompound(head + 3)]).toEqual([false, true, true]);
    expect(K.page_count(head + 3)).toBe(K.page_ref_count(head));
  });

  it('an underflow BUG names the page and the counts; a wrapped (overflowed) count is put without a BUG', () => {
    const k = machine('rfc-2019');
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 1);
    populate(mm, a, 1);
    const p = pfnAt(mm, a);
    expect(() => K.put_page_refs(p, 3)).toThrow(`kernel BUG at put_page:underflow: pfn ${p} refcount 1 - 3`);
    expect(K.page_ref_count(p)).toBe(1);
    // The 2019 bias on a 1 GB page wraps the signed count (hugepage-1g.test.ts): puts of such a
    // count find a large negative value, which is not an underflow.
    const idx = K.pw(p, PG.REFCOUNT);
    k.mem.store(idx, -0x50000000);
    K.put_page_refs(p, BIAS);
    expect(k.mem.load(idx)).toBe(-0x50000000 - BIAS);
    k.mem.store(idx, -0x40000000 + 1);
    expect(() => K.put_page_refs(p, 1)).toThrow(K.KernelBug);
    expect(k.mem.load(idx)).toBe(-0x40000000 + 1);
    expect(bug(k, 'put_page:underflow')).toBe(2);
  });
});

// ---- which path gup-fast leaves to the slow one, per era --------------------------------------

describe('write_protect_seq and the read-only entries: which path ran', () => {
  it.each(ERAS)('%s: an odd write_protect_seq (fork in progress) sends a pin to the slow path from v6.3 on', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 2);
    populate(mm, addr, 2);
    k.mem.store(mm.base + MM.WRITE_PROTECT_SEQ, 1);
    const pages = sentinel(2);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2));
    // 57efa1fe5957 (≈v5.11): rfc-2019 and v5.7 read no write_protect_seq (gup-fast-no-wp-seq).
    const seqRead = !K.eraSpec(era).native.includes('gup-fast-no-wp-seq');
    expect(d).toEqual({ fallback: seqRead ? 1 : 0, slow: seqRead ? 1 : 0, faults: 0 });
    K.unpin_user_pages(pages, 2);
    // A get does not read it in any era.
    const got = sentinel(2);
    expect(paths(k, () => expect(K.get_user_pages_fast(mm, addr, 2, 0, got)).toBe(2)).fallback).toBe(0);
    for (const p of got) K.put_page(p);
    k.mem.store(mm.base + MM.WRITE_PROTECT_SEQ, 2);
    expect(paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2)).fallback).toBe(0);
    K.unpin_user_pages(pages, 2);
  });

  it.each(ERAS)('%s: a read pin of a read-only anon PTE: v5.7 breaks COW in the slow path; v6.3+ unshares only a shared page', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 1);
    populate(mm, addr, 1);
    const w = K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 });
    k.mem.store(w.idx, K.pte_wrprotect(w.entry));
    const p = pfnAt(mm, addr);
    const pages = sentinel(1);
    const d = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 1, 0, pages)).toBe(1));
    const spec = K.eraSpec(era);
    // v5.7 (17839856fd58): the fast walk asks for writable entries and the slow path faults as a write.
    expect(d).toEqual(spec.gupBreaksCow ? { fallback: 1, slow: 1, faults: 1 } : { fallback: 0, slow: 0, faults: 0 });
    expect(K.pte_write(pteAt(mm, addr))).toBe(spec.gupBreaksCow);
    expect(pages[0]).toBe(p); // mapped once: the fault reuses the page
    K.unpin_user_pages(pages, 1);
    if (!spec.anonExclusive) return;
    // v6.3+: the same pin of a page that is not PageAnonExclusive must unshare it first (gup_must_unshare).
    k.mem.and(K.pw(p, PG.FLAGS), ~PG_anon_exclusive);
    const d2 = paths(k, () => expect(K.pin_user_pages_fast(mm, addr, 1, 0, pages)).toBe(1));
    expect(d2).toEqual({ fallback: 1, slow: 1, faults: 1 });
    expect(k.mem.load(K.pw(pages[0]!, PG.FLAGS)) & PG_anon_exclusive).toBe(PG_anon_exclusive);
    expect(K.pte_write(pteAt(mm, addr))).toBe(false); // unshared, not made writable
    K.unpin_user_pages(pages, 1);
    // A get (no FOLL_PIN) never unshares.
    k.mem.and(K.pw(pages[0]!, PG.FLAGS), ~PG_anon_exclusive);
    const got = sentinel(1);
    expect(paths(k, () => expect(K.get_user_pages_fast(mm, addr, 1, 0, got)).toBe(1)).fallback).toBe(0);
    K.put_page(got[0]!);
  });
});

// ---- stats-after-put and the model's KASAN -------------------------------------------------

/** The words `fn` touches through Mem (the explore hook), in order. */
function touched(k: K.KernelContext, fn: () => void): number[] {
  const seen: number[] = [];
  k.mem.hook = { before: (_kind: number, index: number) => void seen.push(index) };
  try {
    fn();
  } finally {
    k.mem.hook = null;
  }
  return seen;
}

describe('stats-after-put (native in rfc-2019 and v5.7): page_pgdat() after the final put', () => {
  it.each(ERAS)('%s: the final unpin of an unmapped page is a KASAN use-after-free exactly where the tree reads the page late', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = mapAnon(mm, 3);
    const pages = sentinel(3);
    expect(K.pin_user_pages_fast(mm, addr, 3, K.FOLL_WRITE, pages)).toBe(3);
    expect(K.do_munmap(mm, addr, 3 * PAGE)).toBe(0);
    const late = K.eraSpec(era).native.includes('stats-after-put');
    K.unpin_user_page(pages[0]!); // the general put
    expect(warn(k, 'kasan: use-after-free')).toBe(late ? 1 : 0);
    K.unpin_user_pages(pages.subarray(1), 2); // the small-page loop
    expect(warn(k, 'kasan: use-after-free')).toBe(late ? 3 : 0);
    expect(vmstat(k).nr_foll_pin_released).toBe(3);
  });

  it.each(ERAS)('%s: a put that is not the last reads no freed page; without KASAN the late read is a bare zone load', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const f = mapAnon(mm, 4, 2);
    const pages = sentinel(1);
    expect(pinSlow(mm, f, 1, K.FOLL_WRITE, pages)).toBe(1);
    const head = K.compound_head(pages[0]!);
    const late = K.eraSpec(era).native.includes('stats-after-put');
    const words = touched(k, () => K.unpin_user_page(pages[0]!));
    expect(warn(k, 'kasan: use-after-free')).toBe(0);
    expect(words.includes(K.pw(head, PG.GEN)), 'generation read').toBe(late);
    expect(words.includes(K.pw(head, PG.ZONE)), 'zone read').toBe(late);
    if (late) expect(words.indexOf(K.pw(head, PG.ZONE))).toBeGreaterThan(words.indexOf(K.pw(head, PG.REFCOUNT)));
    expect(pinSlow(mm, f, 1, K.FOLL_WRITE, pages)).toBe(1);
    k.kasan = false;
    const bare = touched(k, () => K.unpin_user_page(pages[0]!));
    expect(bare.includes(K.pw(head, PG.GEN))).toBe(false);
    expect(bare.includes(K.pw(head, PG.ZONE))).toBe(late);
    // Unmapped and unpinned without KASAN: freed, and nothing reported.
    expect(pinSlow(mm, f, 4, K.FOLL_WRITE, sentinel(4))).toBe(4);
    expect(K.do_munmap(mm, f, 4 * PAGE)).toBe(0);
    for (let i = 0; i < 4; i++) K.unpin_user_page(head + i);
    expect(K.page_ref_count(head)).toBe(0);
    expect(warn(k, 'kasan: use-after-free')).toBe(0);
  });
});

describe('the accounting switches of the catalogue, on one thread', () => {
  it('v6.3 with huge-run-one-bias: the 2019 bias on a hugetlb head instead of the pincount', () => {
    const k = machine('v6.3', ['huge-run-one-bias']);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    populate(mm, a, 1);
    const head = K.compound_head(pfnAt(mm, a));
    expect(K.hpage_pincount_available(head)).toBe(false);
    expect(K.pin_user_pages_fast(mm, a, 4, K.FOLL_WRITE, sentinel(4))).toBe(4);
    expect(K.page_ref_count(head)).toBe(1 + BIAS); // one bias for the run of 4
    expect(K.compound_pincount(head)).toBe(0);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(4);
  });

  it.each(ERAS)('%s: put_compound_head of plain references (FOLL_GET) drops exactly refs, no pin statistic', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    const got = sentinel(3);
    expect(K.get_user_pages_fast(mm, a, 3, 0, got)).toBe(3);
    const head = K.compound_head(got[0]!);
    expect(K.page_ref_count(head)).toBe(1 + 3);
    K.put_compound_head(head, 2, 0);
    expect(K.page_ref_count(head)).toBe(2);
    K.put_compound_head(head, 1, K.FOLL_GET);
    expect(K.page_ref_count(head)).toBe(1);
    expect(vmstat(k).nr_foll_pin_released).toBe(0);
    // A get of a frozen huge page: gup-fast refuses, the slow path WARNs.
    expect(K.page_ref_freeze(head, 1)).toBe(true);
    expect(K.get_user_pages_fast(mm, a, 1, 0, got)).toBe(-K.ENOMEM);
    expect(K.try_grab_compound_head(head, 1, 0)).toBe(-1);
    expect(K.page_ref_count(head)).toBe(0);
    K.page_ref_unfreeze(head, 1);
  });

  it('a pincount underflow BUG names the page and the counts', () => {
    machine('v6.3');
    const mm = K.mm_of(0);
    const f = mapAnon(mm, 4, 2);
    populate(mm, f, 4);
    const head = K.compound_head(pfnAt(mm, f));
    expect(() => K.put_compound_head(head, 2, K.FOLL_PIN)).toThrow(`kernel BUG at gup_put:pincount underflow: pfn ${head} pincount 0 - 2`);
    expect(K.compound_pincount(head)).toBe(0);
    expect(K.page_ref_count(head)).toBe(4);
  });
});

describe('PG_locked as a bit lock', () => {
  it('trylock_page takes a free lock once; lock_page / unlock_page pair; lockdep sees both', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 1);
    populate(mm, a, 1);
    const p = pfnAt(mm, a);
    const events: string[] = [];
    k.lockdep = { acquired: (w) => void events.push(`+${w}`), released: (w) => void events.push(`-${w}`) };
    const flags = K.pw(p, PG.FLAGS);
    expect(K.trylock_page(p)).toBe(true);
    expect(K.trylock_page(p)).toBe(false); // held: refused, and lockdep not told
    expect(k.mem.load(flags) & PG_locked).toBe(PG_locked);
    K.unlock_page(p);
    expect(k.mem.load(flags) & PG_locked).toBe(0);
    K.lock_page(p);
    expect(k.mem.load(flags) & PG_locked).toBe(PG_locked);
    K.unlock_page(p);
    expect(events).toEqual([`+${flags}`, `-${flags}`, `+${flags}`, `-${flags}`]);
    k.lockdep = null;
  });

  it('get_page on a frozen page names it in the BUG; a count of exactly -2^30 is still an underflow', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 1);
    populate(mm, a, 1);
    const p = pfnAt(mm, a);
    expect(K.page_ref_freeze(p, 1)).toBe(true);
    expect(() => K.get_page(p)).toThrow(`kernel BUG at get_page:refcount<=0: pfn ${p} refcount 0`);
    const idx = K.pw(p, PG.REFCOUNT);
    k.mem.store(idx, -0x40000000);
    K.put_page_refs(p, 1); // old = -2^30: the overflowed-bias range, no BUG
    expect(k.mem.load(idx)).toBe(-0x40000000 - 1);
    k.mem.store(idx, -0x40000000 + 1);
    expect(() => K.put_page_refs(p, 1)).toThrow(/underflow/);
  });
});

describe('the slow path\'s argument corners', () => {
  it('rfc-2019: FOLL_PIN without a pages array is the VM_BUG_ON, named; zero pages is 0 on every path', () => {
    const k = machine('rfc-2019');
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 1);
    K.mmap_read_lock(mm);
    try {
      expect(() => K.pin_user_pages(mm, a, 1, 0, null)).toThrow('kernel BUG at __get_user_pages:FOLL_PIN without pages: VM_BUG_ON(!!pages != !!(gup_flags & (FOLL_GET | FOLL_PIN)))');
      expect(K.pin_user_pages(mm, a, 0, 0, sentinel(1))).toBe(0);
      expect(K.get_user_pages(mm, a, -1, 0, null)).toBe(0);
    } finally {
      K.mmap_read_unlock(mm);
    }
    expect(K.pin_user_pages_fast(mm, a, 0, 0, sentinel(1))).toBe(0);
    expect(vmstat(k).gup_slow_calls).toBe(0); // a zero-page call never reaches __get_user_pages' walk
  });
});

describe('the slow walk across VMAs and the fast/slow split', () => {
  it.each(ERAS)('%s: a range that runs into a hole stops at the VMA end, and faults nothing in the hole', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 3);
    expect(K.do_munmap(mm, a + PAGE, PAGE)).toBe(0);
    const pages = sentinel(3);
    const p = paths(k, () => expect(pinSlow(mm, a, 3, K.FOLL_WRITE, pages)).toBe(1));
    expect(p.faults).toBe(1);
    expect(pfnAt(mm, a + PAGE)).toBe(-1);
    expect(pfnAt(mm, a + 2 * PAGE)).toBe(-1);
    expect(Array.from(pages.subarray(1))).toEqual([-1, -1]);
    expect(pinSlow(mm, a + PAGE, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    K.unpin_user_page(pages[0]!);
  });

  it.each(ERAS)('%s: a write pin from a writable VMA into a read-only one takes only the writable pages', (era) => {
    machine(era);
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 2);
    const b = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon', write: false, addr: a + 2 * PAGE });
    expect(b).toBe(a + 2 * PAGE); // adjacent, not merged (different flags)
    const pages = sentinel(4);
    expect(pinSlow(mm, a, 4, K.FOLL_WRITE, pages)).toBe(2);
    expect(pfnAt(mm, b)).toBe(-1);
    expect(pages[2]).toBe(-1);
    // A read pin of the same range walks both VMAs.
    expect(pinSlow(mm, a, 4, 0, sentinel(4))).toBe(4);
  });

  it.each(ERAS)('%s: gup-fast takes the faulted-in head of a range and the slow path exactly the rest', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 4);
    populate(mm, a, 1);
    const pages = sentinel(4);
    const p = paths(k, () => expect(K.pin_user_pages_fast(mm, a, 2, K.FOLL_WRITE, pages)).toBe(2));
    expect(p).toEqual({ fallback: 1, slow: 1, faults: 1 });
    expect(pfnAt(mm, a + 2 * PAGE)).toBe(-1); // the slow remainder is one page, not nr_pages
    expect(pages[2]).toBe(-1);
    expect(K.page_maybe_dma_pinned(pages[0]!) && K.page_maybe_dma_pinned(pages[1]!)).toBe(true);
  });

  it.each(ERAS)('%s: zero pages is 0 before the address is checked (v5.7/mm/gup.c:2789 end <= start)', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    expect(K.pin_user_pages_fast(mm, -PAGE, 0, 0, sentinel(1))).toBe(0);
    expect(K.pin_user_pages_fast(mm, 2 ** 33, 0, 0, sentinel(1))).toBe(0);
    K.mmap_read_lock(mm);
    try {
      expect(K.pin_user_pages(mm, -PAGE, 0, 0, sentinel(1))).toBe(0);
      expect(K.get_user_pages(mm, 2 ** 33, 0, 0, null)).toBe(0);
    } finally {
      K.mmap_read_unlock(mm);
    }
    expect(vmstat(k).gup_slow_calls).toBe(0);
  });
});

describe('gup-fast against a fork and the longterm file test, on one thread', () => {
  it.each(ERAS)('%s: a fork completing during gup-fast (write_protect_seq moved on) undoes the fast pins from v6.3 on', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 2);
    populate(mm, a, 2);
    const pteIdx = K.walk(mm.pt, a / PAGE, { idx: 0, entry: 0, order: 0 }).idx;
    const seqIdx = mm.base + MM.WRITE_PROTECT_SEQ;
    let forked = false;
    // The hook stands in for another thread: a whole fork (seq +2) right after the first PTE read.
    k.mem.hook = {
      before: (_kind: number, index: number) => {
        if (index === pteIdx && !forked) {
          forked = true;
          Atomics.add(k.mem.i32, seqIdx, 2);
        }
      },
    };
    const pages = sentinel(2);
    let p: ReturnType<typeof paths>;
    try {
      p = paths(k, () => expect(K.pin_user_pages_fast(mm, a, 2, K.FOLL_WRITE, pages)).toBe(2));
    } finally {
      k.mem.hook = null;
    }
    expect(forked).toBe(true);
    const reads = K.eraSpec(era).native.includes('gup-fast-no-wp-seq') === false;
    expect(p.fallback, 'fell back to the slow path').toBe(reads ? 1 : 0);
    // Either way each page holds exactly one pin: the undone fast pins were released.
    for (const pg of pages) expect(K.page_ref_count(pg)).toBe(1 + BIAS);
    expect(vmstat(k).nr_foll_pin_acquired - vmstat(k).nr_foll_pin_released).toBe(2);
  });

  it.each(['v6.3', 'v6.18'] as const)('%s: a writable longterm pin of an anon page stays in gup-fast; of a shared file page it is refused from v6.5 on', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = mapAnon(mm, 1);
    populate(mm, a, 1);
    const pages = sentinel(1);
    const p = paths(k, () => expect(K.pin_longterm_pages_fast(mm, a, 1, K.FOLL_WRITE, pages)).toBe(1));
    expect(p.fallback).toBe(0);
    K.unpin_user_page(pages[0]!);
    const f = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(f).toBeGreaterThan(0);
    populate(mm, f, 1);
    const q = paths(k, () => expect(K.pin_longterm_pages_fast(mm, f, 1, K.FOLL_WRITE, pages)).toBe(era === 'v6.18' ? -K.EFAULT : 1));
    expect(q.fallback).toBe(era === 'v6.18' ? 1 : 0);
  });
});
