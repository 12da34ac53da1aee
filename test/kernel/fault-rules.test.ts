/**
 * handle_mm_fault()'s rules on the test's own thread (issue 13), with the other thread (a second
 * fault, a truncation, the end of a migration) run by an access hook (test/kernel/hook-at.ts) or by
 * the `Mem.wait` the fault sleeps in: the write fault on a read-only VMA (-EFAULT, not counted),
 * the anon fault (large folio fallbacks, CMA's zone, -ENOMEM, the race with another fault), the COW
 * break (do_wp_page: reuse by exclusivity or by the only reference under the page lock, the copy,
 * a copy that loses the race, an unshare fault), the file fault (a page truncated before the lock,
 * a PTE populated meanwhile, ->page_mkwrite), the shared write fault's re-check
 * (finish_mkwrite_fault), hugetlb and DAX faults, and the migration-entry wait.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, PG, PG_anon_exclusive, PG_dirty, PG_private, PUD_ORDER, VMA_KIND, ZONE } from '../../src/mem/layout.js';
import { ACCESS, at, hookAt } from './hook-at.js';

const PAGE = 4096;

function machine(era: Era = 'v6.3', extra: Partial<Parameters<typeof K.boot>[0]> = {}): K.KernelContext {
  return K.boot(
    { normalFrames: 32, movableFrames: 4, daxFrames: 4, huge2mPages: 2, huge1gPages: 0, folioPools: [{ order: 2, count: 2 }], wordsPerPage: 2, nrMms: 2, vaPages: 1 << 12, maxVmas: 6, nrFiles: 2, filePages: 4, nrCpus: 1, ...extra },
    { era, faults: [] },
  );
}

const pteAt = (mm: K.MmStruct, addr: number): number => K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 }).entry;
const word = (k: K.KernelContext, page: number, f: number): number => k.mem.load(K.pw(page, f));
/** handle_mm_fault at `addr`, as GUP calls it (the mmap lock for read). */
/** A machine with file 0's page 0 in the page cache (read once) and one file VMA over it in mm 0, not yet faulted. */
function cachedFilePage(): { k: K.KernelContext; mm: K.MmStruct; a: number; page: number } {
  const k = machine();
  const mm = K.mm_of(0);
  const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
  expect(K.filemap_read(0, 0, 0)).toBe(0);
  return { k, mm, a, page: k.mem.load(K.pagecache_slot(0, 0)) - 1 };
}

/** A v6.3 machine with one anon page written in mm 0 (`out` holds its pfn), then mm 0 forked into mm 1: the page is shared. */
function forkedAnonPage(): { k: K.KernelContext; mm: K.MmStruct; a: number; out: Int32Array } {
  const k = machine('v6.3');
  const mm = K.mm_of(0);
  const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
  const out = new Int32Array(2);
  expect(K.put_user(mm, a, 0, 5, out)).toBe(0);
  expect(K.dup_mmap(mm, K.mm_of(1))).toBe(0);
  return { k, mm, a, out };
}

function fault(mm: K.MmStruct, addr: number, write: boolean, unshare = false): number {
  K.mmap_read_lock(mm);
  try {
    const vma = K.find_vma(mm, addr / PAGE);
    expect(vma).not.toBeNull();
    return K.handle_mm_fault(mm, vma!, addr / PAGE, write, unshare);
  } finally {
    K.mmap_read_unlock(mm);
  }
}

afterEach(() => {
  if (K.current !== undefined) K.current.mem.hook = null;
});

describe('handle_mm_fault: the entry check and the counter', () => {
  it('a write fault on a read-only VMA is -EFAULT and not counted; a read fault is counted once and maps the page read-only', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon', write: false });
    expect(fault(mm, a, true)).toBe(-K.EFAULT);
    expect(K.readVmstat(k.mem).pgfault).toBe(0);
    expect(fault(mm, a, false)).toBe(0);
    expect(K.readVmstat(k.mem).pgfault).toBe(1);
    expect(K.pte_present(pteAt(mm, a)) && !K.pte_write(pteAt(mm, a))).toBe(true);
  });

  it('an unknown VMA kind is -EFAULT', () => {
    machine();
    const mm = K.mm_of(0);
    const vma: K.Vma = { slot: 0, start: 16, end: 17, kind: 9 as K.Vma['kind'], flags: 0, file: 0, pgoff: 0, order: 0 };
    expect(K.handle_mm_fault(mm, vma, 16, false)).toBe(-K.EFAULT);
  });

  it('leaf_ptl: a PUD leaf uses the lock of its first PMD, any other order the lock of its own address', () => {
    machine();
    const pt = K.mm_of(0).pt;
    const base = 3 << PUD_ORDER;
    expect(K.leaf_ptl(pt, base + 1234, PUD_ORDER)).toBe(pt.ptl(base));
    expect(K.leaf_ptl(pt, base + 1234, 9)).toBe(pt.ptl(base + 1234));
    expect(K.leaf_ptl(pt, base + 1234, 0)).toBe(pt.ptl(base + 1234));
  });
});

describe('fault_anon', () => {
  it('a large-folio VMA: the folio when it fits (one reference per subpage, every subpage exclusive), order 0 at a VMA edge it does not fit, order 0 when the pool is empty', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, a + PAGE, true)).toBe(0);
    const head = K.pte_pfn(pteAt(mm, a));
    expect(K.compound_head(head)).toBe(head);
    for (let i = 0; i < 4; i++) {
      expect(pteAt(mm, a + i * PAGE)).toBe(K.pfn_pte(head + i, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
      expect(word(k, head + i, PG.MAPCOUNT)).toBe(1);
      expect(word(k, head + i, PG.FLAGS) & PG_anon_exclusive).toBe(PG_anon_exclusive);
    }
    expect(K.page_ref_count(head)).toBe(4);
    // The second pool folio is taken by another VMA; a third folio-sized range gets small pages.
    const b = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, b, true)).toBe(0);
    const c = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, c + 2 * PAGE, true)).toBe(0);
    expect(K.page_zonenum(K.pte_pfn(pteAt(mm, c + 2 * PAGE)))).toBe(ZONE.NORMAL);
    expect(pteAt(mm, c)).toBe(0);
    expect(pteAt(mm, c + 3 * PAGE)).toBe(0);
  });

  it('a VMA shorter than its folio order: order 0 at the edge; a CMA VMA takes ZONE_MOVABLE; no frame at all is -ENOMEM', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    // A 4-page MAP_FIXED VMA that starts mid-folio: vpn 66's folio [64, 68) starts before it.
    const v: K.Vma = { slot: 0, start: 66, end: 70, kind: VMA_KIND.ANON, flags: 3, file: 0, pgoff: 0, order: 2 };
    expect(K.handle_mm_fault(mm, v, 66, true)).toBe(0);
    const p = K.pte_pfn(k.mem.load(mm.pt.pte(66)));
    expect(K.page_zonenum(p)).toBe(ZONE.NORMAL);
    expect(k.mem.load(mm.pt.pte(64))).toBe(0);
    expect(k.mem.load(mm.pt.pte(67))).toBe(0);
    const cma = K.do_mmap(mm, { length: PAGE, kind: 'cma' });
    expect(fault(mm, cma, true)).toBe(0);
    expect(K.page_zonenum(K.pte_pfn(pteAt(mm, cma)))).toBe(ZONE.MOVABLE);
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    const n = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    expect(fault(mm, n, true)).toBe(-K.ENOMEM);
    expect(pteAt(mm, n)).toBe(0);
  });

  it('another fault populates one page of the folio range first: ours frees its folio and faults this page small', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    const small = K.alloc_pages(ZONE.NORMAL, 0);
    // The other fault installs its page at a+3 after our folio is allocated, before we take the PT lock.
    const h = hookAt(k.mem, (kind, i) => kind === ACCESS.STORE && i >= k.layout.dataOff, () => {
      k.mem.store(mm.pt.pte(a / PAGE + 3), K.pfn_pte(small, K._PAGE_PRESENT | K._PAGE_RW));
    });
    expect(fault(mm, a + PAGE, true)).toBe(0);
    expect(h.fired()).toBe(true);
    const got = K.pte_pfn(pteAt(mm, a + PAGE));
    expect(K.page_zonenum(got)).toBe(ZONE.NORMAL);
    expect(pteAt(mm, a)).toBe(0);
    expect(word(k, got, PG.MAPCOUNT)).toBe(1);
    // The folio went back to its pool: the next folio fault of another VMA gets one.
    const b = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, b, true)).toBe(0);
    expect(K.page_zonenum(K.pte_pfn(pteAt(mm, b)))).toBe(ZONE.FOLIO);
    const c = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, c, true)).toBe(0);
    expect(K.page_zonenum(K.pte_pfn(pteAt(mm, c)))).toBe(ZONE.FOLIO);
  });
});

describe('the COW break: do_wp_page', () => {
  /** An anon page shared read-only by mm 0 and mm 1 after a fork; the child then exits. */
  function sharedThenAlone(era: Era): { k: K.KernelContext; mm: K.MmStruct; a: number; page: number } {
    const k = machine(era);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const out = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 5, out)).toBe(0);
    expect(K.dup_mmap(mm, K.mm_of(1))).toBe(0);
    K.exit_mmap(K.mm_of(1));
    return { k, mm, a, page: out[0]! };
  }

  it('v6.3: a non-exclusive page with only our reference is reused in place and becomes exclusive; a locked one is copied', () => {
    const { k, mm, a, page } = sharedThenAlone('v6.3');
    expect(word(k, page, PG.FLAGS) & PG_anon_exclusive).toBe(0);
    expect(K.page_ref_count(page)).toBe(1);
    expect(fault(mm, a, true)).toBe(0);
    expect(pteAt(mm, a)).toBe(K.pfn_pte(page, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
    expect(word(k, page, PG.FLAGS) & PG_anon_exclusive).toBe(PG_anon_exclusive);
    expect(K.trylock_page(page)).toBe(true);
    K.unlock_page(page);
    // Again, but the page is locked by someone else: no reuse, a copy.
    const again = sharedThenAlone('v6.3');
    expect(K.trylock_page(again.page)).toBe(true);
    expect(fault(again.mm, again.a, true)).toBe(0);
    const copy = K.pte_pfn(pteAt(again.mm, again.a));
    expect(copy).not.toBe(again.page);
    expect(K.page_ref_count(again.page)).toBe(0);
    K.unlock_page(again.page);
  });

  it('v5.7 without PageAnonExclusive: the same reuse test, the page not marked; an extra reference forces a copy', () => {
    const k = K.boot(
      { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 2, vaPages: 1 << 12, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 1 },
      { era: 'v5.7', nativeBugs: false },
    );
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const out = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 5, out)).toBe(0);
    const page = out[0]!;
    expect(K.dup_mmap(mm, K.mm_of(1))).toBe(0);
    K.get_page(page); // a GUP reference
    K.exit_mmap(K.mm_of(1));
    // The reference count is looked at before the page lock: a page with another reference is
    // copied without its lock being taken (no RMW on its flags).
    let flagRmws = 0;
    k.mem.hook = { before: (kind, i) => void (kind === ACCESS.RMW && i === K.pw(page, PG.FLAGS) && flagRmws++) };
    expect(fault(mm, a, true)).toBe(0);
    k.mem.hook = null;
    expect(flagRmws).toBe(0);
    const copy = K.pte_pfn(pteAt(mm, a));
    expect(copy).not.toBe(page);
    expect(word(k, copy, PG.FLAGS) & PG_anon_exclusive).toBe(0);
    K.put_page(page);
    expect(K.dup_mmap(mm, K.mm_of(1))).toBe(0);
    K.exit_mmap(K.mm_of(1));
    expect(fault(mm, a, true)).toBe(0);
    expect(K.pte_pfn(pteAt(mm, a))).toBe(copy); // only our reference: reused
    expect(word(k, copy, PG.FLAGS) & PG_anon_exclusive).toBe(0);
  });

  it('an unshare fault copies a shared page but maps the copy read-only; on an exclusive page it changes nothing', () => {
    const { k, mm, a, out } = forkedAnonPage();
    expect(fault(mm, a, false, true)).toBe(0);
    const copy = K.pte_pfn(pteAt(mm, a));
    expect(copy).not.toBe(out[0]);
    expect(pteAt(mm, a)).toBe(K.pfn_pte(copy, K._PAGE_PRESENT));
    expect(word(k, copy, PG.FLAGS) & PG_anon_exclusive).toBe(PG_anon_exclusive);
    const before = pteAt(mm, a);
    expect(fault(mm, a, false, true)).toBe(0);
    expect(pteAt(mm, a)).toBe(before);
  });

  it('the copy loses the race: another fault replaced the entry while the PT lock was dropped; ours is freed, the old page loses only our reference', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const out = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 5, out)).toBe(0);
    const old = out[0]!;
    expect(K.dup_mmap(mm, K.mm_of(1))).toBe(0);
    const ref = K.page_ref_count(old);
    const theirs: number[] = [];
    // Our copy reads the old page's data: the other thread's write fault runs just before.
    hookAt(k.mem, at(K.page_data(old), ACCESS.LOAD), () => {
      expect(K.put_user(mm, a, 1, 6, out)).toBe(0);
      theirs.push(out[0]!);
    });
    expect(fault(mm, a, true)).toBe(0);
    expect(K.pte_pfn(pteAt(mm, a))).toBe(theirs[0]);
    expect(K.page_ref_count(old)).toBe(ref - 1); // the other fault's copy dropped our mm's mapping
    expect(word(k, old, PG.MAPCOUNT)).toBe(1);
    expect(K.page_ref_count(theirs[0]!)).toBe(1);
    expect(K.get_user(mm, a, 1)).toBe(6);
    // Our copy went back: the frames in use are the old page, theirs, and nothing else of ours.
    let free = 0;
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0) free++;
    expect(free).toBe(32 - 2);
  });

  it('no frame for the copy: the fault returns 0 to be retried, the entry and the old page as they were', () => {
    const { k, mm, a, out } = forkedAnonPage();
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    const e = pteAt(mm, a);
    const ref = K.page_ref_count(out[0]!);
    expect(fault(mm, a, true)).toBe(0);
    expect(pteAt(mm, a)).toBe(e);
    expect(K.page_ref_count(out[0]!)).toBe(ref);
    expect(word(k, out[0]!, PG.MAPCOUNT)).toBe(2);
  });
});

describe('fault_file and the shared write fault', () => {
  it('a read fault maps the page clean and read-only; a write fault runs ->page_mkwrite (buffers back) and dirties the page', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 2 * PAGE, kind: 'file', file: 1, offset: PAGE });
    expect(fault(mm, a, false)).toBe(0);
    const page = k.mem.load(K.pagecache_slot(1, 1)) - 1;
    expect(pteAt(mm, a)).toBe(K.pfn_pte(page, K._PAGE_PRESENT));
    expect(K.PageDirty(page)).toBe(false);
    expect(word(k, page, PG.MAPCOUNT)).toBe(1);
    k.mem.and(K.pw(page, PG.FLAGS), ~PG_private); // reclaim stripped the buffers
    expect(fault(mm, a, true)).toBe(0); // the shared write fault on the read-only PTE
    expect(pteAt(mm, a)).toBe(K.pfn_pte(page, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
    expect(word(k, page, PG.FLAGS) & (PG_dirty | PG_private)).toBe(PG_dirty | PG_private);
    expect(K.page_ref_count(page)).toBe(2);
    expect(fault(mm, a + PAGE, true)).toBe(0); // a write fault on no PTE: mkwrite, dirty, writable
    const p2 = k.mem.load(K.pagecache_slot(1, 2)) - 1;
    expect(pteAt(mm, a + PAGE)).toBe(K.pfn_pte(p2, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
    expect(K.PageDirty(p2)).toBe(true);
  });

  it('the PTE is zapped while ->page_mkwrite runs: the shared write fault does not make it writable or dirty the page', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(fault(mm, a, false)).toBe(0);
    const page = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    const ref = K.page_ref_count(page);
    // lock_page is the page's first flags RMW in the fault: unmap_mapping_range runs just before.
    hookAt(k.mem, at(K.pw(page, PG.FLAGS), ACCESS.RMW), () => void expect(K.unmap_mapping_range(0, 0, 1)).toBe(1));
    expect(fault(mm, a, true)).toBe(0);
    expect(pteAt(mm, a)).toBe(0);
    expect(K.PageDirty(page)).toBe(false);
    expect(K.page_ref_count(page)).toBe(ref - 1);
    expect(K.trylock_page(page)).toBe(true);
    K.unlock_page(page);
  });

  it('the page is truncated between the lookup and the lock: not mapped, our reference dropped; the retry maps the new page', () => {
    const { k, mm, a, page } = cachedFilePage();
    K.get_page(page); // a pin-like holder keeps the frame for the check
    hookAt(k.mem, at(K.pw(page, PG.FLAGS), ACCESS.RMW), () => void expect(K.truncate_inode_pages_range(0, 0, 1)).toBe(1));
    expect(fault(mm, a, false)).toBe(0);
    expect(pteAt(mm, a)).toBe(0);
    expect(K.page_ref_count(page)).toBe(1);
    expect(word(k, page, PG.MAPCOUNT)).toBe(0);
    expect(fault(mm, a, false)).toBe(0);
    const fresh = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    expect(K.pte_pfn(pteAt(mm, a))).toBe(fresh);
    expect(fresh).not.toBe(page);
    K.put_page(page);
  });

  it('another fault maps the page first (while we waited for the page lock): ours unlocks and drops its reference', () => {
    const { k, mm, a, page } = cachedFilePage();
    const e = K.pfn_pte(page, K._PAGE_PRESENT);
    hookAt(k.mem, at(K.pw(page, PG.FLAGS), ACCESS.RMW), () => {
      // The other fault (same mm, same address) installs the PTE.
      K.get_page(page);
      k.mem.add(K.pw(page, PG.MAPCOUNT), 1);
      k.mem.store(mm.pt.pte(a / PAGE), e);
    });
    expect(fault(mm, a, false)).toBe(0);
    expect(pteAt(mm, a)).toBe(e);
    expect(word(k, page, PG.MAPCOUNT)).toBe(1);
    expect(K.page_ref_count(page)).toBe(2);
    expect(K.trylock_page(page)).toBe(true);
    K.unlock_page(page);
  });
});

describe('hugetlb and DAX faults', () => {
  it('hugetlb: the leaf is writable only in a writable VMA; a fault that loses the race frees its page; an exhausted pool is -ENOMEM', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const h = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb', order: 9, write: false });
    expect(fault(mm, h + 7 * PAGE, false)).toBe(0);
    const leaf = k.mem.load(mm.pt.pmd(h / PAGE));
    const head = K.pte_pfn(leaf);
    expect(leaf).toBe(K.pfn_pte(head, K._PAGE_PRESENT | K._PAGE_HUGE));
    expect(word(k, head, PG.MAPCOUNT)).toBe(1);
    expect(word(k, head, PG.MAPPING)).toBe(-1);
    expect(word(k, head, PG.INDEX)).toBe(h / PAGE);
    const w = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb', order: 9 });
    // Another fault installs the leaf after our page is cleared, before our PT lock.
    const other = K.pfn_pte(head, K._PAGE_PRESENT | K._PAGE_HUGE | K._PAGE_RW);
    const raced = hookAt(k.mem, (kind, i) => kind === ACCESS.STORE && i >= k.layout.dataOff, () => k.mem.store(mm.pt.pmd(w / PAGE), other));
    expect(fault(mm, w, true)).toBe(0);
    expect(raced.fired()).toBe(true);
    expect(k.mem.load(mm.pt.pmd(w / PAGE))).toBe(other);
    // The pool has one page left (ours went back): one more VMA faults, the next is -ENOMEM.
    k.mem.store(mm.pt.pmd(w / PAGE), 0);
    expect(fault(mm, w, true)).toBe(0);
    const second = K.pte_pfn(k.mem.load(mm.pt.pmd(w / PAGE)));
    expect(k.mem.load(mm.pt.pmd(w / PAGE))).toBe(K.pfn_pte(second, K._PAGE_PRESENT | K._PAGE_HUGE | K._PAGE_RW | K._PAGE_DIRTY));
    expect(word(k, second, PG.MAPCOUNT)).toBe(1);
    const x = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb', order: 9 });
    expect(fault(mm, x, true)).toBe(-K.ENOMEM);
  });

  it('DAX: the frame is the file offset modulo the device, with a reference and a mapcount, writable per the VMA; no device is -ENOMEM', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const d = K.do_mmap(mm, { length: 2 * PAGE, kind: 'dax', file: 1, offset: 2 * PAGE });
    expect(fault(mm, d + PAGE, true)).toBe(0);
    const pfn = k.layout.zoneStart[ZONE.DAX]! + ((1 * 4 + 3) % 4);
    expect(pteAt(mm, d + PAGE)).toBe(K.pfn_pte(pfn, K._PAGE_PRESENT | K._PAGE_DEVMAP | K._PAGE_RW | K._PAGE_DIRTY));
    expect(word(k, pfn, PG.MAPCOUNT)).toBe(1);
    const ro = K.do_mmap(mm, { length: PAGE, kind: 'dax', file: 0, write: false });
    expect(fault(mm, ro, false)).toBe(0);
    const p0 = k.layout.zoneStart[ZONE.DAX]!;
    expect(pteAt(mm, ro)).toBe(K.pfn_pte(p0, K._PAGE_PRESENT | K._PAGE_DEVMAP));
    expect(K.page_ref_count(p0)).toBe(2); // the device's own and the mapping's
    K.boot({ normalFrames: 8, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 1, vaPages: 1 << 10, maxVmas: 4, nrFiles: 1, filePages: 4, nrCpus: 1 }, { era: 'v6.3' });
    const mm0 = K.mm_of(0);
    const n = K.do_mmap(mm0, { length: PAGE, kind: 'dax', file: 0 });
    expect(fault(mm0, n, false)).toBe(-K.ENOMEM);
  });

  it('a migration entry is waited out (1 ms on the entry), then the fault is retried by the caller', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const out = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 5, out)).toBe(0);
    const idx = mm.pt.pte(a / PAGE);
    const present = k.mem.load(idx);
    const entry = K.make_migration_entry(out[0]!, true);
    k.mem.store(idx, entry);
    const waits: string[] = [];
    k.mem.wait = (i: number, v: number, ms: number): 'ok' | 'not-equal' | 'timed-out' => {
      waits.push(`${i} ${v} ${ms}`);
      k.mem.store(idx, present);
      return 'ok';
    };
    expect(fault(mm, a, true)).toBe(0);
    expect(waits).toEqual([`${idx} ${entry} 1`]);
    expect(K.get_user(mm, a, 0)).toBe(5);
  });
});

describe('the corners of each fault', () => {
  it('a read fault (no unshare asked) on a read-only anon PTE after fork changes nothing: no reuse, no copy', () => {
    const { k, mm, a, out } = forkedAnonPage();
    K.exit_mmap(K.mm_of(1)); // alone again: a write fault would reuse it
    const e = pteAt(mm, a);
    K.mmap_read_lock(mm);
    expect(K.handle_mm_fault(mm, K.find_vma(mm, a / PAGE)!, a / PAGE, false)).toBe(0);
    K.mmap_read_unlock(mm);
    expect(pteAt(mm, a)).toBe(e);
    expect(K.get_user(mm, a, 0)).toBe(5);
    expect(pteAt(mm, a)).toBe(e);
    expect(word(k, out[0]!, PG.FLAGS) & PG_anon_exclusive).toBe(0);
  });

  it('a file fault without a frame is -ENOMEM; a read fault leaves stripped buffers stripped, a write fault attaches them', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 2 * PAGE, kind: 'file', file: 0 });
    expect(K.filemap_read(0, 0, 0)).toBe(0);
    expect(K.filemap_read(0, 1, 0)).toBe(0);
    const p0 = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    const p1 = k.mem.load(K.pagecache_slot(0, 1)) - 1;
    for (const p of [p0, p1]) k.mem.and(K.pw(p, PG.FLAGS), ~PG_private);
    expect(fault(mm, a, false)).toBe(0);
    expect(word(k, p0, PG.FLAGS) & PG_private).toBe(0);
    expect(fault(mm, a + PAGE, true)).toBe(0);
    expect(word(k, p1, PG.FLAGS) & (PG_private | PG_dirty)).toBe(PG_private | PG_dirty);
    const b = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0, offset: 3 * PAGE });
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    expect(fault(mm, b, false)).toBe(-K.ENOMEM);
    expect(pteAt(mm, b)).toBe(0);
  });

  it('a large folio at pfn 0 (the pool is the first zone) is a folio like any other', () => {
    const k = K.boot(
      { normalFrames: 8, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [{ order: 2, count: 1 }], wordsPerPage: 2, nrMms: 1, vaPages: 1 << 10, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 1 },
      { era: 'v6.3' },
    );
    expect(k.layout.zoneStart[ZONE.FOLIO]).toBe(0);
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, a, true)).toBe(0);
    expect(pteAt(mm, a)).toBe(K.pfn_pte(0, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
    expect(K.pte_pfn(pteAt(mm, a + 3 * PAGE))).toBe(3);
    expect(K.page_ref_count(0)).toBe(4);
  });

  it('the folio range ends at the folio: a populated page right after it does not stop the folio', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 8 * PAGE, kind: 'anon', order: 2 });
    expect(fault(mm, a + 4 * PAGE, true)).toBe(0); // the second folio range first
    expect(fault(mm, a, true)).toBe(0);
    expect(K.page_zonenum(K.pte_pfn(pteAt(mm, a)))).toBe(ZONE.FOLIO);
    expect(K.pte_pfn(pteAt(mm, a + 3 * PAGE))).toBe(K.pte_pfn(pteAt(mm, a)) + 3);
    expect(word(k, K.pte_pfn(pteAt(mm, a)), PG.MAPCOUNT)).toBe(1);
  });

  it('DAX: the file index counts from the VMA start (an odd start), and a fault that finds the PTE populated under the lock takes nothing', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const d = K.do_mmap(mm, { length: 2 * PAGE, kind: 'dax', file: 0, offset: PAGE, addr: 65 * PAGE });
    expect(d).toBe(65 * PAGE);
    expect(fault(mm, d + PAGE, false)).toBe(0);
    const dax = k.layout.zoneStart[ZONE.DAX]!;
    expect(K.pte_pfn(pteAt(mm, d + PAGE))).toBe(dax + 2);
    const ref = K.page_ref_count(dax + 1);
    const theirs = K.pfn_pte(dax + 1, K._PAGE_PRESENT | K._PAGE_DEVMAP);
    const h = hookAt(k.mem, at(mm.pt.ptl(65), ACCESS.RMW), () => k.mem.store(mm.pt.pte(65), theirs), 2); // the 2nd: after the first look
    expect(fault(mm, d, false)).toBe(0);
    expect(h.fired()).toBe(true);
    expect(pteAt(mm, d)).toBe(theirs);
    expect(K.page_ref_count(dax + 1)).toBe(ref);
    expect(word(k, dax + 1, PG.MAPCOUNT)).toBe(0);
  });
});
