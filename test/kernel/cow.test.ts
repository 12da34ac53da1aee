/**
 * The anonymous cases of the kernel's COW selftest (tools/testing/selftests/mm/cow.c) that the
 * model can express, on every era, each with the outcome that era's tree gives (kernel-notes §3.4,
 * 4.3-4.4). Single-threaded: the model runs the test's steps in program order.
 *
 *   case (cow.c name)                                          rfc-2019  v5.7   v6.3   v6.18
 *   Basic COW after fork() (test_cow_in_parent)                 pass      pass   pass   pass
 *   vmsplice() + unmap in child (test_vmsplice_in_child)        FAIL      pass   pass   pass
 *   vmsplice() before fork(), unmap in parent after fork()      FAIL      FAIL   pass   pass
 *   R/W longterm pin before fork(): DMA lands in the parent     FAIL      FAIL   pass   pass
 *   R/O longterm pin on shared page (test_ro_pin_on_shared)     FAIL      pass   pass   pass
 *   R/O longterm pin on previously shared page                  pass      pass   pass   pass
 *   R/O longterm pin on exclusive page                          pass      pass   pass   pass
 *
 * Why, per tree: rfc-2019 reuses an anon page in do_wp_page when it is mapped once (the
 * CVE-2020-29374 rule) and shares pinned pages at fork; v5.7 (5.7.14) has 17839856fd58 (GUP breaks
 * COW, v5.7/mm/gup.c:398, 1097, 2795-2804), so a GUP in the child or a R/O pin gets its own copy,
 * but still reuses by mapcount (v5.7/mm/memory.c:2956) and shares pinned pages
 * (v5.7/mm/memory.c:779); v6.3 and v6.18 have early COW (v6.3/mm/memory.c:925-932),
 * PageAnonExclusive with refcount-based reuse (v6.3/mm/memory.c:3366-3412) and gup_must_unshare
 * (v6.3/mm/internal.h:902, gup.c:596, 2425). cow.c's own expectation is the v6.3/v6.18 column:
 * every case passes (v6.3/tools/testing/selftests/mm/cow.c:291-401, 707-735).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ERAS, type Era, MM } from '../../src/mem/layout.js';

const PAGE = 4096;
const W = 0; // the data word the tests write

function machine(era: Era, nativeBugs = true): void {
  K.boot(
    { normalFrames: 256, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 2,
      nrMms: 2, vaPages: 1 << 18, maxVmas: 8, nrFiles: 0, filePages: 0, nrCpus: 1 },
    { era, nativeBugs },
  );
}

interface Proc {
  parent: K.MmStruct;
  child: K.MmStruct;
  addr: number;
}

/** One anon page, written with `value` by the parent (so it is populated and exclusive). */
function setup(value: number): Proc {
  const parent = K.mm_of(0);
  const child = K.mm_of(1);
  const addr = K.do_mmap(parent, { length: PAGE, kind: 'anon' });
  expect(addr).toBeGreaterThan(0);
  expect(K.put_user(parent, addr, W, value)).toBe(0);
  return { parent, child, addr };
}

const fork = (p: Proc): void => expect(K.dup_mmap(p.parent, p.child)).toBe(0);
const pfnOf = (mm: K.MmStruct, addr: number): number => {
  const out = new Int32Array(2);
  K.get_user(mm, addr, W, out);
  return out[0]!;
};
const data = (pfn: number): number => K.current.mem.load(K.page_data(pfn) + W);

/** Each case returns true when it passes (cow.c's ksft_test_result(true)). */
const CASES: Record<string, (fast: boolean) => boolean> = {
  'basic COW after fork()': () => {
    const p = setup(1);
    fork(p);
    K.put_user(p.child, p.addr, W, 2); // "Modify page content in the child"
    const parentSees = K.get_user(p.parent, p.addr, W);
    K.put_user(p.parent, p.addr, W, 3);
    const childSees = K.get_user(p.child, p.addr, W);
    K.exit_mmap(p.child);
    return parentSees === 1 && childSees === 2;
  },
  'vmsplice() + unmap in child': (fast) => {
    const p = setup(1);
    fork(p);
    const pages = new Int32Array(1);
    // vmsplice(): a read-only FOLL_GET reference of the child's page (iov_iter_get_pages).
    K.mmap_read_lock(p.child);
    const n = fast ? -1 : K.get_user_pages(p.child, p.addr, 1, 0, pages);
    K.mmap_read_unlock(p.child);
    if (fast) expect(K.get_user_pages_fast(p.child, p.addr, 1, 0, pages)).toBe(1);
    else expect(n).toBe(1);
    expect(K.do_munmap(p.child, p.addr, PAGE)).toBe(0);
    K.put_user(p.parent, p.addr, W, 2); // the parent's new (secret) data
    const ok = data(pages[0]!) === 1; // "read the pipe": the old values
    K.put_page(pages[0]!);
    K.exit_mmap(p.child);
    return ok;
  },
  'vmsplice() before fork(), unmap in parent after fork()': (fast) => {
    const p = setup(1);
    const pages = new Int32Array(1);
    if (fast) {
      expect(K.get_user_pages_fast(p.parent, p.addr, 1, 0, pages)).toBe(1);
    } else {
      K.mmap_read_lock(p.parent);
      expect(K.get_user_pages(p.parent, p.addr, 1, 0, pages)).toBe(1);
      K.mmap_read_unlock(p.parent);
    }
    fork(p);
    expect(K.do_munmap(p.parent, p.addr, PAGE)).toBe(0);
    K.put_user(p.child, p.addr, W, 2); // the child modifies its page
    const ok = data(pages[0]!) === 1; // "No leak from child into parent"
    K.put_page(pages[0]!);
    K.exit_mmap(p.child);
    return ok;
  },
  'R/W longterm pin before fork(): DMA lands in the parent': (fast) => {
    const p = setup(1);
    const pages = new Int32Array(1);
    const flags = K.FOLL_WRITE;
    if (fast) {
      expect(K.pin_longterm_pages_fast(p.parent, p.addr, 1, flags, pages)).toBe(1);
    } else {
      K.mmap_read_lock(p.parent);
      expect(K.pin_longterm_pages(p.parent, p.addr, 1, flags, pages)).toBe(1);
      K.mmap_read_unlock(p.parent);
    }
    fork(p);
    K.put_user(p.parent, p.addr, W, 2);
    K.current.mem.store(K.page_data(pages[0]!) + W, 3); // the device writes through the pin
    const parentSees = K.get_user(p.parent, p.addr, W);
    const childSees = K.get_user(p.child, p.addr, W);
    K.unpin_user_pages_dirty_lock(pages, 1, true);
    K.exit_mmap(p.child);
    return parentSees === 3 && childSees === 1;
  },
  'R/O longterm pin on shared page': (fast) => roPin(fast, 'shared'),
  'R/O longterm pin on previously shared page': (fast) => roPin(fast, 'previously shared'),
  'R/O longterm pin on exclusive page': (fast) => roPin(fast, 'exclusive'),
};

/** do_test_ro_pin(): take a R/O longterm pin, modify the page in the parent, read through the pin. */
function roPin(fast: boolean, state: 'shared' | 'previously shared' | 'exclusive'): boolean {
  const p = setup(1);
  if (state !== 'exclusive') fork(p);
  if (state === 'previously shared') K.exit_mmap(p.child);
  const pages = new Int32Array(1);
  if (fast) {
    expect(K.pin_longterm_pages_fast(p.parent, p.addr, 1, 0, pages)).toBe(1);
  } else {
    K.mmap_read_lock(p.parent);
    expect(K.pin_longterm_pages(p.parent, p.addr, 1, 0, pages)).toBe(1);
    K.mmap_read_unlock(p.parent);
  }
  K.put_user(p.parent, p.addr, W, 2); // "Modify the page"
  const ok = data(pages[0]!) === 2 && pfnOf(p.parent, p.addr) === pages[0]; // "Longterm R/O pin is reliable"
  K.unpin_user_page(pages[0]!);
  if (state === 'shared') K.exit_mmap(p.child);
  return ok;
}

/** Expected outcome per era (the table above). */
const EXPECT: Record<string, Record<Era, boolean>> = {
  'basic COW after fork()': { 'rfc-2019': true, 'v5.7': true, 'v6.3': true, 'v6.18': true },
  'vmsplice() + unmap in child': { 'rfc-2019': false, 'v5.7': true, 'v6.3': true, 'v6.18': true },
  'vmsplice() before fork(), unmap in parent after fork()': { 'rfc-2019': false, 'v5.7': false, 'v6.3': true, 'v6.18': true },
  'R/W longterm pin before fork(): DMA lands in the parent': { 'rfc-2019': false, 'v5.7': false, 'v6.3': true, 'v6.18': true },
  'R/O longterm pin on shared page': { 'rfc-2019': false, 'v5.7': true, 'v6.3': true, 'v6.18': true },
  'R/O longterm pin on previously shared page': { 'rfc-2019': true, 'v5.7': true, 'v6.3': true, 'v6.18': true },
  'R/O longterm pin on exclusive page': { 'rfc-2019': true, 'v5.7': true, 'v6.3': true, 'v6.18': true },
};

/** After every case, nothing is left: no frame leaked, pins balanced. */
function expectClean(): void {
  const v = K.readVmstat(K.current.mem);
  expect(v.nr_foll_pin_acquired).toBe(v.nr_foll_pin_released);
  expect(v.nr_page_alloc - v.nr_page_free).toBe(1); // the parent's one mapped page
  expect(K.readWarnings(K.current.mem).bug).toEqual({});
}

describe('cow.c anonymous cases, per era', () => {
  for (const era of ERAS) {
    for (const [name, run] of Object.entries(CASES)) {
      for (const fast of [false, true]) {
        const want = EXPECT[name]![era];
        it(`${era}: ${name} (${fast ? 'gup-fast' : 'slow GUP'}): ${want ? 'pass' : 'FAIL, as that tree does'}`, () => {
          machine(era);
          expect(run(fast)).toBe(want);
          if (!name.startsWith('vmsplice() before') && !name.startsWith('vmsplice() + unmap')) expectClean();
        });
      }
    }
  }
});

describe('the era with its native bugs off (a what-if)', () => {
  it('v5.7 with early COW and write_protect_seq (nativeBugs: false): the pinned page stays the parent\'s', () => {
    machine('v5.7', false);
    expect(CASES['R/W longterm pin before fork(): DMA lands in the parent']!(true)).toBe(true);
  });
  it('v6.3 with the fault fork-no-early-cow: the parent COWs away from its pin', () => {
    K.boot({ normalFrames: 64, movableFrames: 0, daxFrames: 0, huge2mPages: 0, folioPools: [], nrMms: 2, nrFiles: 0, filePages: 0, nrCpus: 1 },
      { era: 'v6.3', faults: ['fork-no-early-cow'] });
    expect(CASES['R/W longterm pin before fork(): DMA lands in the parent']!(false)).toBe(false);
  });
});

describe('fork() in the model', () => {
  it('early COW copies a pinned page for the child and leaves the parent\'s entry writable; others are shared read-only', () => {
    machine('v6.3');
    const p = setup(7);
    const q = K.do_mmap(p.parent, { length: PAGE, kind: 'anon' });
    K.put_user(p.parent, q, W, 8);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(p.parent, p.addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    const seq0 = K.current.mem.load(p.parent.base + MM.WRITE_PROTECT_SEQ);
    fork(p);
    expect(K.current.mem.load(p.parent.base + MM.WRITE_PROTECT_SEQ)).toBe(seq0 + 4); // write_protect_seq: begin and end, per VMA
    const pte = (mm: K.MmStruct, a: number): number => K.current.mem.load(mm.pt.pte(a / PAGE));
    expect(K.pte_write(pte(p.parent, p.addr))).toBe(true);
    expect(K.pte_pfn(pte(p.child, p.addr))).not.toBe(pages[0]);
    expect(K.get_user(p.child, p.addr, W)).toBe(7);
    expect(K.pte_write(pte(p.parent, q))).toBe(false);
    expect(K.pte_pfn(pte(p.child, q))).toBe(K.pte_pfn(pte(p.parent, q)));
    expect(K.page_mapcount(K.pte_pfn(pte(p.parent, q)))).toBe(2);
    K.unpin_user_page(pages[0]!);
    K.exit_mmap(p.child);
  });
  it('refuses what it does not model: a hugetlb VMA is -EOPNOTSUPP, a child mm in use is -EBUSY', () => {
    K.boot({ normalFrames: 64, huge2mPages: 1, nrMms: 2, nrCpus: 1 }, { era: 'v6.18' });
    const parent = K.mm_of(0);
    const child = K.mm_of(1);
    expect(K.do_mmap(parent, { length: 2 << 20, kind: 'hugetlb' })).toBeGreaterThan(0);
    expect(K.dup_mmap(parent, child)).toBe(-K.EOPNOTSUPP);
    expect(K.dup_mmap(parent, parent)).toBe(-K.EBUSY);
    expect(K.vmas(child)).toEqual([]);
  });
});
