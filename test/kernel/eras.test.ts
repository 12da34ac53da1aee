/**
 * page_dma_pinned() / page_maybe_dma_pinned() exact to each pin-accounting era (DESIGN.md §3,
 * kernel-notes §2):
 *   seed-2019  every pin adds GUP_PIN_COUNTING_BIAS to the head refcount, compound pages included;
 *              the predicate compares the *signed* head refcount.
 *   v5.7       hpage_pinned_refcount in page[2] for compound order >= 2 (+1 refcount per pin);
 *              the bias otherwise; the predicate compares the refcount *unsigned*.
 *   v6.3       folio->_pincount in page[1] for every large folio (order >= 1); the bias otherwise.
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
  if (era === 'seed-2019') return false;
  return era === 'v5.7' ? order >= 2 : order >= 1;
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

    it(`a refcount forced negative reads ${era === 'seed-2019' ? 'NOT pinned (signed compare)' : 'pinned (unsigned compare)'}`, () => {
      machine(era);
      const { pfns: [p] } = mapped({ length: PAGE, kind: 'anon' });
      for (const bad of [-5, -1, 0x80000000 | 0, -BIAS]) {
        K.current.mem.store(K.pw(p!, PG.REFCOUNT), bad);
        if (era === 'seed-2019') {
          expect(K.page_dma_pinned(p!)).toBe(false);
          expect(K.page_maybe_dma_pinned(p!)).toBe(false); // the seed had only page_dma_pinned
        } else {
          expect(K.page_dma_pinned(p!)).toBe(true);
          expect(K.page_maybe_dma_pinned(p!)).toBe(true);
        }
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

  it(`a 2 MB hugetlb page (order 9) is counted ${era === 'seed-2019' ? 'with the bias' : 'exactly'}`, () => {
    machine(era);
    const { addr, pfns } = mapped({ length: 512 * PAGE, kind: 'hugetlb' });
    const head = pfns[0]!;
    expect(K.compound_order(head)).toBe(9);
    const pages = pin(addr, 512);
    if (era === 'seed-2019') {
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
