/**
 * The FOLL_LONGTERM loop and gup-fast's CMA test, per era, as each tree has them:
 *  - v6.3/v6.18 (check_and_migrate_movable_pages, v6.3/mm/gup.c:1908-2064): unpin, migrate, re-pin;
 *    the first migration failure unpins everything and returns -ENOMEM.
 *  - v5.7 (check_and_migrate_cma_pages, v5.7/mm/gup.c:1657-1744) and the 2019 postings on top of the
 *    same function (v5.6/mm/gup.c:1391-1470): the pins are dropped with put_page() (a small page keeps
 *    1023 references, so its migration then fails) and a failed migration re-pins without migrating
 *    (migrate_allow = false): the longterm pin holds in CMA.
 *  - gup-fast: v5.7 refuses FOLL_LONGTERM of a CMA page (v5.7/mm/gup.c:92-96), v6.3 of any
 *    unpinnable page (v6.3/mm/gup.c:139-141); the postings have no such test.
 *  - v6.18 refuses a writable longterm pin of a file mapping (v6.18/mm/gup.c:1182-1197, 2738).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, ZONE } from '../../src/mem/layout.js';

const PAGE = 4096;
const BIAS = K.GUP_PIN_COUNTING_BIAS;

function machine(era: Era): K.KernelContext {
  return K.boot(
    {
      normalFrames: 256, movableFrames: 64, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 1, vaPages: 1 << 18, maxVmas: 8, nrFiles: 1, filePages: 16, nrCpus: 1,
    },
    { era },
  );
}

function cmaPages(n: number): { mm: K.MmStruct; addr: number; pfns: number[] } {
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, { length: n * PAGE, kind: 'cma' });
  K.mmap_read_lock(mm);
  expect(K.get_user_pages(mm, addr, n, K.FOLL_WRITE, null)).toBe(n); // the application touched them
  K.mmap_read_unlock(mm);
  const pfns = Array.from({ length: n }, (_, i) => K.pte_pfn(K.current.mem.load(mm.pt.pte(addr / PAGE + i))));
  for (const p of pfns) expect(K.page_zonenum(p)).toBe(ZONE.MOVABLE);
  return { mm, addr, pfns };
}

function pinLongterm(mm: K.MmStruct, addr: number, n: number, pages: Int32Array): number {
  K.mmap_read_lock(mm);
  try {
    return K.pin_longterm_pages(mm, addr, n, K.FOLL_WRITE, pages);
  } finally {
    K.mmap_read_unlock(mm);
  }
}

describe('the longterm loop when a CMA page cannot migrate (another reference holds it)', () => {
  it.each(['v6.3', 'v6.18'] as const)('%s: -ENOMEM, every pin released, the page where it was', (era) => {
    const k = machine(era);
    const { mm, addr, pfns } = cmaPages(1);
    K.get_page(pfns[0]!); // a plain reference that migration's freeze cannot pass
    const pages = new Int32Array(1);
    expect(pinLongterm(mm, addr, 1, pages)).toBe(-K.ENOMEM);
    expect(K.page_ref_count(pfns[0]!)).toBe(2); // the mapping and the get: no pin left behind
    const vm = K.readVmstat(k.mem);
    expect(vm.nr_foll_pin_acquired).toBe(vm.nr_foll_pin_released);
    expect(vm.pgmigrate_fail).toBeGreaterThan(0);
  });

  it.each(['rfc-2019', 'v5.7'] as const)('%s: the pin holds in CMA, and put_page() left 1023 references behind', (era) => {
    const k = machine(era);
    const { mm, addr, pfns } = cmaPages(1);
    K.get_page(pfns[0]!);
    const pages = new Int32Array(1);
    expect(pinLongterm(mm, addr, 1, pages)).toBe(1);
    expect(pages[0]).toBe(pfns[0]);
    expect(K.page_zonenum(pages[0]!)).toBe(ZONE.MOVABLE); // migrate_allow = false: re-pinned in place
    // mapping 1 + get 1 + the first pin's leftover 1023 + the second pin 1024
    expect(K.page_ref_count(pfns[0]!)).toBe(2 + (BIAS - 1) + BIAS);
    K.unpin_user_pages(pages, 1);
    K.put_page(pfns[0]!);
    expect(K.page_ref_count(pfns[0]!)).toBe(1 + BIAS - 1); // the leak stays: the page reads pinned forever
    expect(K.page_maybe_dma_pinned(pfns[0]!)).toBe(true); // 1 + 1023 = the bias: no pin, yet "pinned"
    const vm = K.readVmstat(k.mem);
    expect(vm.nr_foll_pin_acquired - vm.nr_foll_pin_released).toBe(1); // put_page() never counted a release
  });

  it.each(['rfc-2019', 'v5.7'] as const)('%s: even with nothing else holding it, the leaked references make migration fail: the pin stays in CMA', (era) => {
    machine(era);
    const { mm, addr, pfns } = cmaPages(2);
    const pages = new Int32Array(2);
    expect(pinLongterm(mm, addr, 2, pages)).toBe(2);
    for (const p of pages) expect(K.page_zonenum(p)).toBe(ZONE.MOVABLE);
    expect(Array.from(pages)).toEqual(pfns);
  });

  it.each(['v6.3', 'v6.18'] as const)('%s: with nothing else holding it, the page is migrated out and pinned once', (era) => {
    const k = machine(era);
    const { mm, addr, pfns } = cmaPages(2);
    const pages = new Int32Array(2);
    expect(pinLongterm(mm, addr, 2, pages)).toBe(2);
    for (const p of pages) {
      expect(K.page_zonenum(p)).toBe(ZONE.NORMAL);
      expect(K.page_ref_count(p)).toBe(1 + BIAS);
    }
    for (const p of pfns) expect(K.page_ref_count(p)).toBe(0);
    K.unpin_user_pages(pages, 2);
    const vm = K.readVmstat(k.mem);
    expect(vm.nr_foll_pin_acquired).toBe(vm.nr_foll_pin_released);
  });
});

describe("gup-fast's longterm CMA test", () => {
  it('rfc-2019: a longterm gup-fast pin of a mapped CMA page is taken where it is', () => {
    machine('rfc-2019');
    const { mm, addr, pfns } = cmaPages(2);
    const pages = new Int32Array(2);
    expect(K.pin_longterm_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    expect(Array.from(pages)).toEqual(pfns);
    for (const p of pages) expect(K.page_zonenum(p)).toBe(ZONE.MOVABLE);
    expect(K.readVmstat(K.current.mem).gup_fast_fallback).toBe(0); // the fast path took both
  });

  it.each(['v5.7', 'v6.3', 'v6.18'] as const)('%s: gup-fast leaves the CMA page to the slow path and its longterm loop', (era) => {
    machine(era);
    const { mm, addr } = cmaPages(2);
    const pages = new Int32Array(2);
    expect(K.pin_longterm_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    expect(K.readVmstat(K.current.mem).gup_fast_fallback).toBe(1);
    // v5.7's slow path then runs its own loop (put_page, re-pin in place); v6.3+ migrate out.
    for (const p of pages) expect(K.page_zonenum(p)).toBe(era === 'v5.7' ? ZONE.MOVABLE : ZONE.NORMAL);
  });
});

describe('v6.18: writable longterm pins of dirty-tracked file mappings are refused', () => {
  function filePages(): { mm: K.MmStruct; addr: number } {
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'file', file: 0 });
    K.mmap_read_lock(mm);
    expect(K.get_user_pages(mm, addr, 2, K.FOLL_WRITE, null)).toBe(2);
    K.mmap_read_unlock(mm);
    return { mm, addr };
  }

  it('v6.18: -EFAULT, fast and slow; a read-only longterm pin and a short-term write pin still work', () => {
    const k = machine('v6.18');
    expect(k.refuseLongtermFile).toBe(true); // from the era, no policy involved
    const { mm, addr } = filePages();
    const pages = new Int32Array(2);
    expect(K.pin_longterm_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(pinLongterm(mm, addr, 2, pages)).toBe(-K.EFAULT);
    expect(K.pin_longterm_pages_fast(mm, addr, 2, 0, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
  });

  it.each(['rfc-2019', 'v5.7', 'v6.3'] as const)('%s: a writable longterm pin of a file page is taken', (era) => {
    const k = machine(era);
    expect(k.refuseLongtermFile).toBe(false);
    const { mm, addr } = filePages();
    const pages = new Int32Array(2);
    expect(K.pin_longterm_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
  });
});
