/**
 * fork()'s rules on the test's own thread (issue 13): which VMA kinds dup_mmap() forks (order-0
 * anon and CMA, shared file; not large folios, hugetlb or DAX), the child it refuses, what
 * copy_page_range() does per entry (a hole, a migration entry waited out, a write-protected
 * parent PTE with the 'pte-wrprotect' event only where it was writable), page_try_dup_anon_rmap()
 * (MMF_HAS_PINNED first, PageAnonExclusive where the era has it: v6.3/include/linux/rmap.h:243-270;
 * the v5.9-v5.18 shape without it, 70e806e4e645), the early-COW copy (v6.3/mm/memory.c:864-893)
 * and its -ENOMEM rollback, the forked-mapping mark, the notifier reasons ('fork', 'exit'), and
 * exit_mmap() (every VMA gone, a dirty shared PTE's dirt kept, the VMA lock released).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, MM, MMF_HAS_PINNED, PG, PG_anon, PG_anon_exclusive, PG_dirty, ZONE } from '../../src/mem/layout.js';
import { ACCESS, notifierLog } from './hook-at.js';

const PAGE = 4096;

function machine(era: Era = 'v6.3', nativeBugs = true, extra: Partial<Parameters<typeof K.boot>[0]> = {}): K.KernelContext {
  return K.boot(
    { normalFrames: 32, movableFrames: 8, daxFrames: 4, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 3, vaPages: 1 << 12, maxVmas: 4, nrFiles: 1, filePages: 4, nrCpus: 1, ...extra },
    { era, nativeBugs },
  );
}

const pteAt = (mm: K.MmStruct, addr: number): number => K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 }).entry;
const word = (k: K.KernelContext, page: number, f: number): number => k.mem.load(K.pw(page, f));

/** An anon VMA of `pages` pages in `mm`, page i written with 10+i where `written` says. */
function anon(mm: K.MmStruct, pages: number, written: boolean[] = Array(pages).fill(true)): { addr: number; pfn: number[] } {
  const addr = K.do_mmap(mm, { length: pages * PAGE, kind: 'anon' });
  expect(addr).toBeGreaterThan(0);
  const pfn: number[] = [];
  const out = new Int32Array(2);
  for (let i = 0; i < pages; i++) {
    if (!written[i]) continue;
    expect(K.put_user(mm, addr + i * PAGE, 0, 10 + i, out)).toBe(0);
    pfn[i] = out[0]!;
  }
  return { addr, pfn };
}

describe('what dup_mmap forks', () => {
  it('order-0 anon, CMA and file VMAs fork; a large-folio VMA, hugetlb or DAX is -EOPNOTSUPP with nothing copied; a busy child or the parent itself is -EBUSY', () => {
    machine('v6.3', true, { folioPools: [{ order: 2, count: 1 }], huge2mPages: 1 });
    const p = K.mm_of(0);
    const c = K.mm_of(1);
    const cma = K.do_mmap(p, { length: PAGE, kind: 'cma' });
    expect(K.put_user(p, cma, 0, 3)).toBe(0);
    expect(K.do_mmap(p, { length: PAGE, kind: 'file', file: 0 })).toBeGreaterThan(0);
    expect(K.dup_mmap(p, c)).toBe(0);
    expect(K.vmas(c).length).toBe(2);
    expect(K.get_user(c, cma, 0)).toBe(3);
    K.exit_mmap(c);
    expect(K.dup_mmap(p, p)).toBe(-K.EBUSY);
    expect(K.do_mmap(c, { length: PAGE, kind: 'anon' })).toBeGreaterThan(0);
    expect(K.dup_mmap(p, c)).toBe(-K.EBUSY);
    expect(K.vmas(c).length).toBe(1); // the busy child is not torn down
    K.exit_mmap(c);
    for (const req of [{ kind: 'anon', order: 2 }, { kind: 'hugetlb', order: 9 }, { kind: 'dax', file: 0 }] as const) {
      const mm = K.mm_of(2);
      const a = K.do_mmap(mm, { length: (req.kind === 'hugetlb' ? 512 : 4) * PAGE, ...req });
      expect(a).toBeGreaterThan(0);
      expect(K.dup_mmap(mm, c)).toBe(-K.EOPNOTSUPP);
      expect(K.vmas(c).length).toBe(0);
      K.exit_mmap(mm);
    }
  });

  it("a shared file VMA is not copied: the child has the VMA and faults the page in itself; the notifiers say 'fork' for the anon VMA and 'exit' for the teardown", () => {
    const k = machine();
    const p = K.mm_of(0);
    const c = K.mm_of(1);
    const f = K.do_mmap(p, { length: PAGE, kind: 'file', file: 0 });
    expect(K.put_user(p, f, 0, 4)).toBe(0);
    const { addr } = anon(p, 1);
    const log = notifierLog(k);
    expect(K.dup_mmap(p, c)).toBe(0);
    expect(pteAt(c, f)).toBe(0);
    expect(K.get_user(c, f, 0)).toBe(4);
    const a = addr / PAGE;
    expect(log).toEqual([`start 0 ${a}-${a + 1} fork`, `end 0 ${a}-${a + 1}`]);
    log.length = 0;
    K.exit_mmap(c);
    expect(log).toEqual([`start 1 0-${c.vaPages} exit`, `end 1 0-${c.vaPages}`]);
  });
});

describe('copy_page_range, entry by entry', () => {
  it('a hole stays a hole; a writable PTE is write-protected in the parent (one pte-wrprotect event each), a read-only one is not touched again', () => {
    const k = machine();
    const p = K.mm_of(0);
    const c = K.mm_of(1);
    const { addr, pfn } = anon(p, 3, [true, false, true]);
    const events: string[] = [];
    k.mem.hook = { before: (kind, i, label) => void (kind === ACCESS.EVENT && label === 'pte-wrprotect' && events.push(`${i}`)) };
    expect(K.dup_mmap(p, c)).toBe(0);
    k.mem.hook = null;
    expect(events).toEqual([`${p.pt.pte(addr / PAGE)}`, `${p.pt.pte(addr / PAGE + 2)}`]);
    expect(pteAt(c, addr + PAGE)).toBe(0);
    expect(pteAt(p, addr + PAGE)).toBe(0);
    for (const i of [0, 2]) {
      // pte_wrprotect() for the child: the dirty bit stays (only VM_SHARED is cleaned, v6.3/mm/memory.c:939-950).
      expect(pteAt(c, addr + i * PAGE)).toBe(K.pfn_pte(pfn[i]!, K._PAGE_PRESENT | K._PAGE_DIRTY));
      expect(pteAt(p, addr + i * PAGE)).toBe(K.pfn_pte(pfn[i]!, K._PAGE_PRESENT | K._PAGE_DIRTY)); // ptep_set_wrprotect clears RW only
      expect(word(k, pfn[i]!, PG.MAPCOUNT)).toBe(2);
      expect(K.page_ref_count(pfn[i]!)).toBe(2);
    }
    // Fork again into another child: the parent's PTEs are read-only now, so no event.
    events.length = 0;
    k.mem.hook = { before: (kind, i, label) => void (kind === ACCESS.EVENT && label === 'pte-wrprotect' && events.push(`${i}`)) };
    expect(K.dup_mmap(p, K.mm_of(2))).toBe(0);
    k.mem.hook = null;
    expect(events).toEqual([]);
    expect(word(k, pfn[0]!, PG.MAPCOUNT)).toBe(3);
  });

  it('a read-only VMA: the PTEs are shared as they are, no event', () => {
    const k = machine();
    const p = K.mm_of(0);
    const a = K.do_mmap(p, { length: PAGE, kind: 'anon', write: false });
    expect(K.get_user(p, a, 0)).toBe(0);
    const e = pteAt(p, a);
    expect(K.pte_write(e)).toBe(false);
    let events = 0;
    k.mem.hook = { before: (kind, _i, label) => void (kind === ACCESS.EVENT && label === 'pte-wrprotect' && events++) };
    expect(K.dup_mmap(p, K.mm_of(1))).toBe(0);
    k.mem.hook = null;
    expect(events).toBe(0);
    expect(pteAt(K.mm_of(1), a)).toBe(e);
    expect(pteAt(p, a)).toBe(e);
  });

  it('a migration entry in the parent is waited out (1 ms on the PTE), then the page it became is shared', () => {
    const k = machine();
    const p = K.mm_of(0);
    const { addr, pfn } = anon(p, 1);
    const idx = p.pt.pte(addr / PAGE);
    const present = k.mem.load(idx);
    const entry = K.make_migration_entry(pfn[0]!, true);
    k.mem.store(idx, entry); // a migration of the page is under way on another cpu
    const waits: string[] = [];
    k.mem.wait = (i: number, v: number, ms: number): 'ok' | 'not-equal' | 'timed-out' => {
      waits.push(`${i} ${v} ${ms}`);
      k.mem.store(idx, present); // ... and ends (remove_migration_ptes), here back to the same page
      return 'ok';
    };
    expect(K.dup_mmap(p, K.mm_of(1))).toBe(0);
    expect(waits).toEqual([`${idx} ${entry} 1`]);
    expect(K.pte_pfn(pteAt(K.mm_of(1), addr))).toBe(pfn[0]);
    expect(word(k, pfn[0]!, PG.MAPCOUNT)).toBe(2);
  });

  it('the copy stops at the VMA end: an abutting anon VMA is copied once, by its own VMA', () => {
    const k = machine();
    const p = K.mm_of(0);
    expect(K.do_mmap(p, { length: PAGE, kind: 'anon', addr: 64 * PAGE })).toBe(64 * PAGE);
    expect(K.do_mmap(p, { length: PAGE, kind: 'anon', addr: 65 * PAGE })).toBe(65 * PAGE);
    const out = new Int32Array(2);
    expect(K.put_user(p, 64 * PAGE, 0, 1)).toBe(0);
    expect(K.put_user(p, 65 * PAGE, 0, 2, out)).toBe(0);
    expect(K.dup_mmap(p, K.mm_of(1))).toBe(0);
    expect(word(k, out[0]!, PG.MAPCOUNT)).toBe(2);
    expect(K.page_ref_count(out[0]!)).toBe(2);
  });
});

describe('page_try_dup_anon_rmap and page_needs_cow_for_dma', () => {
  it('v6.3: an exclusive pinned page is refused (-EBUSY) and copied; an exclusive unpinned one loses the bit and is shared; MMF_HAS_PINNED is asked first', () => {
    const k = machine('v6.3');
    const p = K.mm_of(0);
    const { addr, pfn } = anon(p, 2);
    // 1024 references that are not a pin: page_maybe_dma_pinned says yes, but the mm never pinned.
    k.mem.add(K.pw(pfn[1]!, PG.REFCOUNT), K.GUP_PIN_COUNTING_BIAS);
    expect(K.page_maybe_dma_pinned(pfn[1]!)).toBe(true);
    expect(K.page_needs_cow_for_dma(p, pfn[1]!)).toBe(false);
    expect(K.page_try_dup_anon_rmap(p, pfn[1]!)).toBe(0);
    expect(word(k, pfn[1]!, PG.FLAGS) & PG_anon_exclusive).toBe(0);
    expect(word(k, pfn[1]!, PG.MAPCOUNT)).toBe(2);
    expect(word(k, pfn[1]!, PG.MAPPING)).toBe(-1 - K.ANON_FORKED);
    k.mem.sub(K.pw(pfn[1]!, PG.MAPCOUNT), 1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(p, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    expect(k.mem.load(p.base + MM.FLAGS) & MMF_HAS_PINNED).toBe(MMF_HAS_PINNED);
    expect(K.page_needs_cow_for_dma(p, pfn[0]!)).toBe(true);
    expect(K.page_try_dup_anon_rmap(p, pfn[0]!)).toBe(-K.EBUSY);
    expect(word(k, pfn[0]!, PG.FLAGS) & PG_anon_exclusive).toBe(PG_anon_exclusive);
    expect(word(k, pfn[0]!, PG.MAPCOUNT)).toBe(1);
    expect(word(k, pfn[0]!, PG.MAPPING)).toBe(-1);
    // Now MMF_HAS_PINNED is set: a non-exclusive page with the 1024 references is shared all the same (no exclusive bit to test).
    expect(K.page_try_dup_anon_rmap(p, pfn[1]!)).toBe(0);
    expect(word(k, pfn[1]!, PG.MAPPING)).toBe(-1 - K.ANON_FORKED); // marked once, not twice
    K.unpin_user_page(pages[0]!);
  });

  it('v5.7 without its native bugs (the v5.9-v5.18 shape, no PageAnonExclusive): the pin test alone decides, -EBUSY', () => {
    const k = machine('v5.7', false);
    const p = K.mm_of(0);
    const { addr, pfn } = anon(p, 1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(p, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    expect(K.page_try_dup_anon_rmap(p, pfn[0]!)).toBe(-K.EBUSY);
    expect(word(k, pfn[0]!, PG.MAPCOUNT)).toBe(1);
    K.unpin_user_page(pages[0]!);
    expect(K.page_try_dup_anon_rmap(p, pfn[0]!)).toBe(0);
    expect(word(k, pfn[0]!, PG.MAPCOUNT)).toBe(2);
  });

  it("a page of mm 1 forked is marked with its own mm: -(1 + 1) - ANON_FORKED", () => {
    const k = machine();
    const p = K.mm_of(1);
    const { pfn } = anon(p, 1);
    expect(K.dup_mmap(p, K.mm_of(2))).toBe(0);
    expect(word(k, pfn[0]!, PG.MAPPING)).toBe(-2 - K.ANON_FORKED);
    expect(K.anon_mm_id(word(k, pfn[0]!, PG.MAPPING))).toBe(1);
  });
});

describe('early COW: copy_present_page', () => {
  it('v6.3: the child gets a private writable exclusive copy at pfn 0 (the first free frame), the parent keeps its pinned page writable', () => {
    const k = machine('v6.3');
    const p = K.mm_of(0);
    const c = K.mm_of(1);
    const hold = K.alloc_pages(ZONE.NORMAL, 0);
    expect(hold).toBe(0);
    const { addr, pfn } = anon(p, 1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(p, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    K.put_page(hold); // pfn 0 is free again: the copy takes it
    const parentPte = pteAt(p, addr);
    expect(K.dup_mmap(p, c)).toBe(0);
    expect(pteAt(p, addr)).toBe(parentPte);
    expect(pteAt(c, addr)).toBe(K.pfn_pte(0, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
    expect(word(k, 0, PG.MAPPING)).toBe(-2);
    expect(word(k, 0, PG.INDEX)).toBe(addr / PAGE);
    expect(word(k, 0, PG.FLAGS) & (PG_anon | PG_anon_exclusive)).toBe(PG_anon | PG_anon_exclusive);
    expect(word(k, 0, PG.MAPCOUNT)).toBe(1);
    expect(K.get_user(c, addr, 0)).toBe(10);
    expect(K.page_ref_count(pfn[0]!)).toBe(1 + K.GUP_PIN_COUNTING_BIAS);
    expect(word(k, pfn[0]!, PG.MAPCOUNT)).toBe(1);
    K.unpin_user_page(pages[0]!);
  });

  it('no frame for the copy: -ENOMEM, the copy stops there, the child is torn down and the parent is as before', () => {
    const k = machine('v6.3');
    const p = K.mm_of(0);
    const c = K.mm_of(1);
    const { addr, pfn } = anon(p, 2);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(p, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    const second = pteAt(p, addr + PAGE);
    expect(K.dup_mmap(p, c)).toBe(-K.ENOMEM);
    expect(K.vmas(c)).toEqual([]);
    expect(pteAt(c, addr)).toBe(0);
    expect(pteAt(p, addr + PAGE)).toBe(second); // not reached: still writable
    expect(K.page_ref_count(pfn[0]!)).toBe(1 + K.GUP_PIN_COUNTING_BIAS);
    expect(K.page_ref_count(pfn[1]!)).toBe(1);
    expect(word(k, pfn[1]!, PG.MAPCOUNT)).toBe(1);
    K.unpin_user_page(pages[0]!);
  });
});

describe('a failed copy stops dup_mmap', () => {
  it('-ENOMEM in the first anon VMA: the next VMA is not copied (its parent PTE stays writable)', () => {
    machine('v6.3');
    const p = K.mm_of(0);
    const first = anon(p, 1);
    const second = anon(p, 1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(p, first.addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    const e = pteAt(p, second.addr);
    expect(K.pte_write(e)).toBe(true);
    expect(K.dup_mmap(p, K.mm_of(1))).toBe(-K.ENOMEM);
    expect(pteAt(p, second.addr)).toBe(e);
    expect(K.page_ref_count(second.pfn[0]!)).toBe(1);
    K.unpin_user_page(pages[0]!);
  });
});

describe('exit_mmap', () => {
  it("removes every VMA and releases the VMA lock; a child's dirty shared PTE dirties the file page; an anon page's dirty PTE does not mark it", () => {
    const k = machine('v6.3');
    const p = K.mm_of(0);
    const c = K.mm_of(1);
    const f = K.do_mmap(p, { length: PAGE, kind: 'file', file: 0 });
    const { addr } = anon(p, 1);
    expect(K.do_mmap(p, { length: PAGE, kind: 'anon' })).toBeGreaterThan(0);
    expect(K.dup_mmap(p, c)).toBe(0);
    expect(K.vmas(c).length).toBe(3);
    expect(K.put_user(c, f, 0, 9)).toBe(0);
    expect(K.put_user(c, addr, 0, 8)).toBe(0); // COW: the child's own anon page, dirty PTE
    const filePage = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    k.mem.and(K.pw(filePage, PG.FLAGS), ~PG_dirty); // written back meanwhile; the dirt is in the child's PTE
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(c, addr, 1, K.FOLL_WRITE, pages)).toBe(1); // keeps the child's page alive
    const childAnon = pages[0]!;
    k.mem.and(K.pw(childAnon, PG.FLAGS), ~PG_dirty);
    K.exit_mmap(c);
    expect(K.vmas(c)).toEqual([]);
    expect(k.mem.load(c.base + MM.VMA_LOCK)).toBe(0);
    expect(K.PageDirty(filePage)).toBe(true);
    expect(K.PageDirty(childAnon)).toBe(false);
    expect(K.page_ref_count(childAnon)).toBe(K.GUP_PIN_COUNTING_BIAS);
    K.unpin_user_page(childAnon);
    expect(K.do_mmap(c, { length: PAGE, kind: 'anon' })).toBeGreaterThan(0); // the VMA lock can be taken
  });
});
