/**
 * page_dma_pinned() / page_maybe_dma_pinned() exact to each pin-accounting era (DESIGN.md §3,
 * kernel-notes §2):
 *   rfc-2019   every pin adds GUP_PIN_COUNTING_BIAS to the head refcount, compound pages included;
 *              the predicate compares the head refcount *unsigned* (the bias is 1UL << 10).
 *   v5.7       hpage_pinned_refcount in page[2] for compound order >= 2 (+1 refcount per pin);
 *              the bias otherwise (v5.7/mm/gup.c:82-122).
 *   v6.3, v6.18  folio->_pincount in page[1] for every large folio (order >= 1); the bias otherwise
 *              (v6.3/mm/gup.c:124-176).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ERAS, type Era, PG } from '../../src/mem/layout.js';

const PAGE = 4096;
const BIAS = 1024;

function machine(era: Era): K.KernelContext {
  return K.boot(
    {
      normalFrames: 256, movableFrames: 0, daxFrames: 0, huge2mPages: 1, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 1, vaPages: 1 << 18, maxVmas: 8, nrFiles: 0, filePages: 0, nrCpus: 1,
    },
    { era },
  );
}

/** Map `nr` pages of a kind, fault them in, and return the pfn of every page. */
function mapped(req: K.MmapRequest): { addr: number; pfns: number[] } {
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, req);
  expect(addr).toBeGreaterThan(0);
  const nr = Math.ceil(req.length / PAGE);
  K.mmap_read_lock(mm);
  expect(K.get_user_pages(mm, addr, nr, K.FOLL_WRITE, null)).toBe(nr);
  K.mmap_read_unlock(mm);
  const pfns: number[] = [];
  for (let i = 0; i < nr; i++) {
    const vpn = addr / PAGE + i;
    const w = K.walk(mm.pt, vpn, { idx: 0, entry: 0, order: 0 });
    expect(K.pte_present(w.entry)).toBe(true);
    pfns.push(K.pte_pfn(w.entry) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0));
  }
  return { addr, pfns };
}

function pin(addr: number, nr: number): Int32Array {
  const pages = new Int32Array(nr);
  expect(K.pin_user_pages_fast(K.mm_of(0), addr, nr, K.FOLL_WRITE, pages)).toBe(nr);
  return pages;
}

const pinned = (p: number): [boolean, boolean] => [K.page_dma_pinned(p), K.page_maybe_dma_pinned(p)];
const rawPincount = (pfn: number): number => K.current.mem.load(K.pw(pfn, PG.PINCOUNT));

/** Does this era keep an exact pin count for a folio of this order? */
function exact(era: Era, order: number): boolean {
  return order >= K.ERA_SPECS[era].pincountMinOrder;
}

describe.each(ERAS)('era %s', (era) => {
  describe('small page: the bias', () => {
    it('one pin adds 1024 to the refcount and reads pinned; unpin undoes it', () => {
      const k = machine(era);
      const { addr, pfns: [p] } = mapped({ length: PAGE, kind: 'anon' });
      expect(K.page_ref_count(p!)).toBe(1);
      expect(pinned(p!)).toEqual([false, false]);
      const pages = pin(addr, 1);
      expect(pages[0]).toBe(p);
      expect(K.page_ref_count(p!)).toBe(1 + BIAS);
      expect(pinned(p!)).toEqual([true, true]);
      pin(addr, 1);
      expect(K.page_ref_count(p!)).toBe(1 + 2 * BIAS);
      K.unpin_user_page(p!);
      expect(pinned(p!)).toEqual([true, true]);
      K.unpin_user_page(p!);
      expect(K.page_ref_count(p!)).toBe(1);
      expect(pinned(p!)).toEqual([false, false]);
      expect(K.readWarnings(k.mem)).toEqual({ warn: {}, bug: {} });
    });

    it('1024 plain references read as pinned: the documented false positive', () => {
      const k = machine(era);
      const { pfns: [p] } = mapped({ length: PAGE, kind: 'anon' });
      // The mapping holds the first reference; get_page() adds the rest.
      for (let i = 0; i < 1022; i++) K.get_page(p!);
      expect(K.page_ref_count(p!)).toBe(1023);
      expect(pinned(p!)).toEqual([false, false]);
      K.get_page(p!); // the 1024th reference
      expect(K.page_ref_count(p!)).toBe(BIAS);
      expect(pinned(p!)).toEqual([true, true]); // no pin at all, yet "pinned"
      K.get_page(p!);
      expect(pinned(p!)).toEqual([true, true]);
      for (let i = 0; i < 1024; i++) K.put_page(p!);
      expect(K.page_ref_count(p!)).toBe(1);
      expect(pinned(p!)).toEqual([false, false]);
      expect(K.readVmstat(k.mem).nr_foll_pin_acquired).toBe(0);
    });

    it('a refcount forced negative reads pinned: the compare is unsigned in every era', () => {
      // rfc-2019: `page_ref_count(head) >= GUP_PIN_COUNTING_BIAS` with the bias `1UL << 10`
      // (kernel-src/README.md); v5.7+: the explicit (unsigned) cast of page_maybe_dma_pinned().
      machine(era);
      const { pfns: [p] } = mapped({ length: PAGE, kind: 'anon' });
      for (const bad of [-5, -1, 0x80000000 | 0, -BIAS]) {
        K.current.mem.store(K.pw(p!, PG.REFCOUNT), bad);
        expect(K.page_dma_pinned(p!)).toBe(true);
        expect(K.page_maybe_dma_pinned(p!)).toBe(true);
      }
      K.current.mem.store(K.pw(p!, PG.REFCOUNT), 1);
      expect(pinned(p!)).toEqual([false, false]);
    });
  });

  describe.each([1, 2])('anon large folio of order %i', (order) => {
    const nr = 1 << order;
    const isExact = exact(era, order);

    it(`a pin is counted ${isExact ? `exactly in page[${era === 'v5.7' ? 2 : 1}]` : 'with the bias on the head'}`, () => {
      const k = machine(era);
      const { addr, pfns } = mapped({ length: nr * PAGE, kind: 'anon', order });
      const head = pfns[0]!;
      expect(pfns).toEqual(Array.from({ length: nr }, (_, i) => head + i));
      expect(K.compound_order(head)).toBe(order);
      for (const p of pfns) expect(K.compound_head(p)).toBe(head);
      expect(K.hpage_pincount_available(head)).toBe(isExact);
      expect(K.page_ref_count(head)).toBe(nr); // one reference per mapped subpage

      // Pin the last subpage: the accounting lands on the folio.
      const pages = pin(addr + (nr - 1) * PAGE, 1);
      expect(pages[0]).toBe(head + nr - 1);
      if (isExact) {
        expect(K.page_ref_count(head)).toBe(nr + 1);
        const slot = era === 'v5.7' ? head + 2 : head + 1;
        expect(rawPincount(slot)).toBe(1);
        expect(K.compound_pincount_ptr(head)).toBe(K.pw(slot, PG.PINCOUNT));
        expect(K.compound_pincount(head)).toBe(1);
      } else {
        expect(K.page_ref_count(head)).toBe(nr + BIAS);
        for (let i = 0; i < nr; i++) expect(rawPincount(head + i)).toBe(0);
      }
      for (const p of pfns) expect(pinned(p)).toEqual([true, true]);
      // The tail's own refcount is never touched.
      for (const p of pfns.slice(1)) expect(K.page_ref_count(p)).toBe(0);

      K.unpin_user_pages(pages, 1);
      expect(K.page_ref_count(head)).toBe(nr);
      expect(K.compound_pincount(head)).toBe(0);
      for (const p of pfns) expect(pinned(p)).toEqual([false, false]);
      const s = K.readVmstat(k.mem);
      expect([s.nr_foll_pin_acquired, s.nr_foll_pin_released]).toEqual([1, 1]);
    });

    it(`1024 get_page on the head ${isExact ? 'is no false positive (exact count)' : 'reads pinned (bias false positive)'}`, () => {
      machine(era);
      const { addr, pfns } = mapped({ length: nr * PAGE, kind: 'anon', order });
      const head = pfns[0]!;
      for (let i = 0; i < 1024; i++) K.get_page(head);
      expect(K.page_ref_count(head)).toBe(nr + 1024);
      for (const p of pfns) expect(pinned(p)).toEqual([!isExact, !isExact]);
      // A real pin on top is seen either way, and its release goes back to the same answer.
      const pages = pin(addr, 1);
      for (const p of pfns) expect(pinned(p)).toEqual([true, true]);
      K.unpin_user_pages(pages, 1);
      for (const p of pfns) expect(pinned(p)).toEqual([!isExact, !isExact]);
      for (let i = 0; i < 1024; i++) K.put_page(head);
      expect(K.page_ref_count(head)).toBe(nr);
      for (const p of pfns) expect(pinned(p)).toEqual([false, false]);
    });
  });

  it(`a 2 MB hugetlb page (order 9) is counted ${era === 'rfc-2019' ? 'with the bias per subpage (slow path)' : 'exactly'}`, () => {
    machine(era);
    const { addr, pfns } = mapped({ length: 512 * PAGE, kind: 'hugetlb' });
    const head = pfns[0]!;
    expect(K.compound_order(head)).toBe(9);
    // rfc-2019's gup-fast takes one bias for the run (native huge-run-one-bias, hugepage-1g.test.ts);
    // its slow path, try_grab_page() per subpage, adds the bias for each.
    const pages = new Int32Array(512);
    const mm = K.mm_of(0);
    K.mmap_read_lock(mm);
    expect(K.pin_user_pages(mm, addr, 512, K.FOLL_WRITE, pages)).toBe(512);
    K.mmap_read_unlock(mm);
    if (era === 'rfc-2019') {
      expect(K.page_ref_count(head)).toBe(1 + 512 * BIAS);
      expect(K.compound_pincount(head)).toBe(0);
    } else {
      expect(K.page_ref_count(head)).toBe(1 + 512);
      expect(K.compound_pincount(head)).toBe(512);
      expect(rawPincount(era === 'v5.7' ? head + 2 : head + 1)).toBe(512);
    }
    expect(pinned(head + 511)).toEqual([true, true]);
    K.unpin_user_pages(pages, 512);
    expect(K.page_ref_count(head)).toBe(1);
    expect(pinned(head)).toEqual([false, false]);
  });
});

/** Record every shared access the model makes (the explore hook), as "kind word" pairs. */
function trace(fn: () => void): Array<[number, number]> {
  const seen: Array<[number, number]> = [];
  K.current.mem.hook = { before: (kind: number, index: number) => void seen.push([kind, index]) };
  try {
    fn();
  } finally {
    K.current.mem.hook = null;
  }
  return seen;
}

describe('orderings, per era, as the trees have them', () => {
  it.each(ERAS)('%s: gup-fast of a small page: the PTE and refcount accesses in tree order', (era) => {
    machine(era);
    const { addr, pfns: [p] } = mapped({ length: PAGE, kind: 'anon' });
    const mm = K.mm_of(0);
    const pte = mm.pt.pte(addr / PAGE);
    const pmd = mm.pt.pmd(addr / PAGE);
    const ref = K.pw(p!, PG.REFCOUNT);
    const pages = new Int32Array(1);
    const seen = trace(() => expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1));
    const onWords = seen.filter(([, i]) => i === pte || i === ref || i === pmd).map(([kind, i]) => `${kind === 2 ? 'rmw' : 'load'} ${i === pte ? 'pte' : i === pmd ? 'pmd' : 'ref'}`);
    if (K.ERA_SPECS[era].twoStepSmallPin) {
      // v6.3/mm/gup.c:2395-2421: read the PTE, try_get_folio (+1), folio_ref_add (+1023), then re-check the PMD and the PTE.
      expect(onWords).toEqual(['load pmd', 'load pte', 'rmw ref', 'rmw ref', 'load pmd', 'load pte']);
    } else {
      // v5.7/mm/gup.c:2187-2230: read the PTE, one RMW of the whole bias, re-read the PTE.
      expect(onWords).toEqual(['load pte', 'rmw ref', 'load pte']);
    }
    expect(K.page_ref_count(p!)).toBe(1 + BIAS);
  });

  it.each(ERAS)('%s: unpin_user_page updates nr_foll_pin_released %s the final put', (era) => {
    // rfc-2019 and v5.7 (v5.7/mm/gup.c:244-248): after page_ref_sub_and_test(); v6.3 gup_put_folio
    // (v6.3/mm/gup.c:180-192): before. The model's vmstat is per-cpu, so the order shows in
    // whether the final put is followed by a read of the struct page (page_pgdat).
    const k = machine(era);
    const { addr, pfns: [p] } = mapped({ length: PAGE, kind: 'anon' });
    const pages = pin(addr, 1);
    expect(K.do_munmap(K.mm_of(0), addr, PAGE)).toBe(0); // the pin is the last reference
    const ref = K.pw(p!, PG.REFCOUNT);
    const zone = K.pw(p!, PG.ZONE);
    const seen = trace(() => K.unpin_user_page(pages[0]!));
    const put = seen.findIndex(([, i]) => i === ref);
    expect(put).toBeGreaterThanOrEqual(0);
    const readAfter = seen.slice(put + 1).some(([, i]) => i === zone);
    expect(readAfter).toBe(K.ERA_SPECS[era].native.includes('stats-after-put'));
    expect(K.readVmstat(k.mem).nr_foll_pin_released).toBe(1);
  });

  it.each(ERAS)('%s: unpinning a run of subpages of one huge page is %s', (era) => {
    // v6.3+: gup_folio_next() groups the run, one gup_put_folio(folio, nr) (v6.3/mm/gup.c:276-336);
    // rfc-2019 and v5.7: one unpin_user_page() per entry (v5.7/mm/gup.c unpin_user_pages).
    machine(era);
    const { addr, pfns } = mapped({ length: 512 * PAGE, kind: 'hugetlb' });
    const head = pfns[0]!;
    const mm = K.mm_of(0);
    const pages = new Int32Array(64);
    K.mmap_read_lock(mm);
    expect(K.pin_user_pages(mm, addr, 64, K.FOLL_WRITE, pages)).toBe(64); // the slow path: per subpage in every era
    K.mmap_read_unlock(mm);
    const ref = K.pw(head, PG.REFCOUNT);
    const puts = trace(() => K.unpin_user_pages_dirty_lock(pages, 64, true)).filter(([kind, i]) => kind === 2 && i === ref).length;
    expect(puts).toBe(K.ERA_SPECS[era].unpinPerFolio ? 1 : 64);
    expect(K.page_ref_count(head)).toBe(1);
    expect(K.readVmstat(K.current.mem).nr_foll_pin_released).toBe(64);
  });
});
