/**
 * migrate_page()'s rules on the test's own thread (issue 13), per era where the era matters
 * (EraSpec.migratePinCheck: the PTE-side pin check of an exclusive anon page from v6.3, the
 * reference count before): what moves (data, flags, the PTE bits, the page-cache slot, every
 * mapping), what each refusal leaves behind (the PTEs back exactly, counts and mapcounts as they
 * were, both pages unlocked, pgmigrate_fail), the -ENOMEM rollback with the page-cache freeze
 * undone, a place that maps another page left alone, the mmu notifiers ('migrate', one page each,
 * the whole leaf for hugetlb) and migrate_huge_page()'s refusals. The fault migrate-no-freeze is
 * switched on once to show the page cache's reference moves without the freeze.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ACCESS, at, hookAt, notifierLog } from './hook-at.js';
import { type Era, PG, PG_anon, PG_anon_exclusive, PG_dirty, PG_locked, PG_private, PG_uptodate, ZONE } from '../../src/mem/layout.js';

const PAGE = 4096;

function machine(era: Era = 'v6.3', faults: string[] = [], huge = 0): K.KernelContext {
  return K.boot(
    { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: huge, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 2, vaPages: 1 << 12, maxVmas: 4, nrFiles: 1, filePages: 4, nrCpus: 1 },
    { era, faults },
  );
}

const pteAt = (mm: K.MmStruct, addr: number): number => K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 }).entry;
const flags = (k: K.KernelContext, page: number): number => k.mem.load(K.pw(page, PG.FLAGS));
const mapcount = (k: K.KernelContext, page: number): number => k.mem.load(K.pw(page, PG.MAPCOUNT));

/** An anon page of mm 0 written with `value`; returns its address and pfn. */
function anonPage(value: number): { mm: K.MmStruct; addr: number; page: number } {
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon' });
  const pfn = new Int32Array(2);
  expect(K.put_user(mm, addr, 1, value, pfn)).toBe(0);
  return { mm, addr, page: pfn[0]! };
}

/** Both pages unlocked (the lock can be taken), then left unlocked again. */
function expectUnlocked(...pages: number[]): void {
  for (const p of pages) {
    expect(K.trylock_page(p)).toBe(true);
    K.unlock_page(p);
  }
}

describe('what a successful migration moves', () => {
  it.each(['v5.7', 'v6.3'] as const)('%s: an anon page: data, flags, the PTE bits, mapping and index; the new page unlocked; one notifier bracket of one page', (era) => {
    const k = machine(era);
    const { mm, addr, page } = anonPage(31);
    const log = notifierLog(k);
    k.mem.and(K.pw(page, PG.FLAGS), ~PG_dirty); // the dirt is in the PTE only
    const before = pteAt(mm, addr);
    expect(K.pte_dirty(before) && K.pte_write(before)).toBe(true);
    const index = k.mem.load(K.pw(page, PG.INDEX));
    expect(K.migrate_page(page)).toBe(0);
    const e = pteAt(mm, addr);
    const moved = K.pte_pfn(e);
    expect(moved).not.toBe(page);
    expect(e).toBe(K.pfn_pte(moved, K._PAGE_PRESENT | K._PAGE_RW | K._PAGE_DIRTY));
    const want = PG_anon | PG_dirty | (era === 'v6.3' ? PG_anon_exclusive : 0);
    expect(flags(k, moved) & (want | PG_locked | PG_private)).toBe(want); // the PTE dirt moved to the page
    expect(k.mem.load(K.pw(moved, PG.MAPPING))).toBe(-1);
    expect(k.mem.load(K.pw(moved, PG.INDEX))).toBe(index);
    expect(k.mem.load(K.page_data(moved) + 1)).toBe(31);
    expect(mapcount(k, moved)).toBe(1);
    expect(K.page_ref_count(moved)).toBe(1);
    expect(K.page_ref_count(page)).toBe(0);
    expect(log).toEqual([`start 0 ${addr / PAGE}-${addr / PAGE + 1} migrate`, `end 0 ${addr / PAGE}-${addr / PAGE + 1}`]);
    expectUnlocked(moved);
    expect(K.readVmstat(k.mem).pgmigrate_success).toBe(1);
    expect(K.readVmstat(k.mem).pgmigrate_fail).toBe(0);
  });

  it('a clean read-only file page mapped in two mms, and one mm whose VMA has no PTE: both PTEs move, read-only and clean; the slot moves', () => {
    const k = machine();
    const mm0 = K.mm_of(0);
    const mm1 = K.mm_of(1);
    const a0 = K.do_mmap(mm0, { length: PAGE, kind: 'file', file: 0 });
    const a1 = K.do_mmap(mm1, { length: PAGE, kind: 'file', file: 0 });
    k.mem.store(K.backing_word(0, 0) + 1, 12);
    expect(K.get_user(mm0, a0, 1)).toBe(12);
    const page = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    expect(K.migrate_page(page)).toBe(0); // mm 1 has the VMA, not the PTE
    const moved = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    expect(pteAt(mm0, a0)).toBe(K.pfn_pte(moved, K._PAGE_PRESENT));
    expect(pteAt(mm1, a1)).toBe(0);
    expect(K.get_user(mm1, a1, 1)).toBe(12);
    expect(K.page_ref_count(moved)).toBe(3);
    expect(mapcount(k, moved)).toBe(2);
    expect(flags(k, moved) & (PG_dirty | PG_uptodate | PG_private)).toBe(PG_uptodate | PG_private);
    expect(K.migrate_page(moved)).toBe(0);
    const again = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    expect(K.pte_pfn(pteAt(mm0, a0))).toBe(again);
    expect(K.pte_pfn(pteAt(mm1, a1))).toBe(again);
    expect(K.page_ref_count(again)).toBe(3);
    expect(K.page_ref_count(moved)).toBe(0);
    expect(K.readVmstat(k.mem).pgmigrate_success).toBe(2);
  });

  it('an unmapped page-cache page: the slot and the cache reference move, the old frame is freed', () => {
    const k = machine();
    expect(K.filemap_read(0, 2, 0)).toBe(0);
    const page = k.mem.load(K.pagecache_slot(0, 2)) - 1;
    expect(K.migrate_page(page)).toBe(0);
    const moved = k.mem.load(K.pagecache_slot(0, 2)) - 1;
    expect(moved).not.toBe(page);
    expect(K.page_ref_count(moved)).toBe(1);
    expect(k.mem.load(K.pw(moved, PG.MAPPING))).toBe(1);
    expect(k.mem.load(K.pw(moved, PG.INDEX))).toBe(2);
    expect(K.page_ref_count(page)).toBe(0);
  });

  it('a forked anon page whose child has its own copy at the address: only the parent PTE moves, the child keeps its page', () => {
    const k = machine();
    const { mm, addr, page } = anonPage(5);
    const child = K.mm_of(1);
    expect(K.dup_mmap(mm, child)).toBe(0);
    expect(K.put_user(child, addr, 1, 6)).toBe(0); // COW: the child's own page
    const childPte = pteAt(child, addr);
    expect(K.pte_pfn(childPte)).not.toBe(page);
    expect(K.migrate_page(page)).toBe(0);
    expect(pteAt(child, addr)).toBe(childPte);
    const moved = K.pte_pfn(pteAt(mm, addr));
    expect(moved).not.toBe(page);
    expect(K.get_user(mm, addr, 1)).toBe(5);
    expect(K.get_user(child, addr, 1)).toBe(6);
    expect(mapcount(k, moved)).toBe(1);
    expect(K.page_ref_count(K.pte_pfn(childPte))).toBe(1);
  });
});

describe('what a refusal leaves behind', () => {
  it.each(['v5.7', 'v6.3'] as const)('%s: an extra (GUP) reference on an anon page: -EAGAIN, the PTE back bit for bit, counts as before, unlocked', (era) => {
    const k = machine(era);
    const { mm, addr, page } = anonPage(2);
    const pages = new Int32Array(1);
    expect(K.get_user_pages_fast(mm, addr, 1, 0, pages)).toBe(1);
    const before = pteAt(mm, addr);
    expect(K.migrate_page(page)).toBe(-K.EAGAIN);
    expect(pteAt(mm, addr)).toBe(before);
    expect(K.page_ref_count(page)).toBe(2);
    expect(mapcount(k, page)).toBe(1);
    expectUnlocked(page);
    expect(K.readVmstat(k.mem).pgmigrate_fail).toBe(1);
    K.put_page(page);
  });

  it('v6.3: a pinned page-cache page is not asked about at the PTE (anon only): the freeze fails, -EAGAIN, the slot and the counts unchanged', () => {
    const k = machine('v6.3');
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, a, 1, K.FOLL_WRITE, pages)).toBe(1);
    const page = pages[0]!;
    const ref = K.page_ref_count(page);
    const before = pteAt(mm, a);
    expect(K.migrate_page(page)).toBe(-K.EAGAIN);
    expect(pteAt(mm, a)).toBe(before);
    expect(K.page_ref_count(page)).toBe(ref);
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(page + 1);
    expectUnlocked(page);
    K.unpin_user_page(page);
  });

  it('no free frame: -ENOMEM; an anon page keeps its PTE, a page-cache page is unfrozen to its count and is found again', () => {
    const k = machine();
    const { mm, addr, page } = anonPage(4);
    const fa = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm, fa, 0)).toBe(0);
    const file = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    const anonPte = pteAt(mm, addr);
    expect(K.migrate_page(page)).toBe(-K.ENOMEM);
    expect(pteAt(mm, addr)).toBe(anonPte);
    expect(K.page_ref_count(page)).toBe(1);
    expect(mapcount(k, page)).toBe(1);
    const filePte = pteAt(mm, fa);
    expect(K.migrate_page(file)).toBe(-K.ENOMEM);
    expect(pteAt(mm, fa)).toBe(filePte);
    expect(K.page_ref_count(file)).toBe(2); // the cache's and the mapping's
    expect(K.find_get_page(0, 0)).toBe(file);
    K.put_page(file);
    expectUnlocked(page, file);
    expect(K.readVmstat(k.mem).pgmigrate_fail).toBe(2);
  });

  it('a free page: -EAGAIN and left unlocked', () => {
    machine();
    const free = K.alloc_pages(ZONE.NORMAL, 0);
    K.put_page(free);
    expect(K.migrate_page(free)).toBe(-K.EAGAIN);
    expectUnlocked(free);
    expect(K.page_ref_count(free)).toBe(0);
  });
});

describe('the fault migrate-no-freeze', () => {
  it('the page-cache page is compared, not frozen, and its cache reference still moves: the old frame is freed', () => {
    const k = machine('v6.3', ['migrate-no-freeze']);
    expect(K.filemap_read(0, 1, 0)).toBe(0);
    const page = k.mem.load(K.pagecache_slot(0, 1)) - 1;
    expect(K.migrate_page(page)).toBe(0);
    const moved = k.mem.load(K.pagecache_slot(0, 1)) - 1;
    expect(K.page_ref_count(moved)).toBe(1);
    expect(K.page_ref_count(page)).toBe(0);
  });
});

describe('migrate_huge_page', () => {
  it.each(['v5.7', 'v6.3'] as const)('%s: the notifier covers the whole leaf; an extra reference is -EAGAIN only where the count is compared (v5.7); unmapped, unowned or frozen pages', (era) => {
    const k = machine(era, [], 1);
    const mm = K.mm_of(0);
    const h = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb', order: 9 });
    expect(K.put_user(mm, h, 0, 1, null)).toBe(0);
    const leaf = pteAt(mm, h);
    const head = K.pte_pfn(leaf);
    const log = notifierLog(k);
    expect(K.migrate_page(head)).toBe(-K.EOPNOTSUPP);
    const base = h / PAGE;
    expect(log).toEqual([`start 0 ${base}-${base + 512} migrate`, `end 0 ${base}-${base + 512}`]);
    K.get_page(head); // a GUP reference, not a pin
    expect(K.migrate_page(head)).toBe(era === 'v5.7' ? -K.EAGAIN : -K.EOPNOTSUPP);
    K.put_page(head);
    expect(pteAt(mm, h)).toBe(leaf);
    expect(K.page_ref_count(head)).toBe(1);
    expectUnlocked(head);
    // A page whose leaf is gone (unmapped, a pin keeps it): nothing to replace, no notifier.
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, h, 1, 0, pages)).toBe(1);
    expect(K.do_munmap(mm, h, 512 * PAGE)).toBe(0);
    log.length = 0;
    expect(K.migrate_page(head)).toBe(-K.EOPNOTSUPP);
    expect(log).toEqual([]);
    expectUnlocked(head);
    K.unpin_user_page(pages[0]!);
    // A hugetlb page that no mm owns (mapping 0): -EBUSY; a frozen one: -EAGAIN. Both left unlocked.
    const fresh = K.alloc_pages(ZONE.HUGE_2M, 9);
    expect(fresh).toBe(head);
    expect(k.mem.load(K.pw(fresh, PG.MAPPING))).toBe(0);
    expect(K.migrate_page(fresh)).toBe(-K.EBUSY);
    expectUnlocked(fresh);
    k.mem.store(K.pw(fresh, PG.MAPPING), -1);
    expect(K.page_ref_freeze(fresh, 1)).toBe(true);
    expect(K.migrate_page(fresh + 5)).toBe(-K.EAGAIN);
    expectUnlocked(fresh);
    expect(K.page_ref_count(fresh)).toBe(0);
  });
});

describe('what another thread sees during a migration', () => {
  it('a page-cache page is frozen while it is copied: a lockless lookup cannot take a reference; afterwards the new page can', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm, a, 0)).toBe(0);
    const page = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    const during: (number | boolean)[] = [];
    const h = hookAt(k.mem, at(K.page_data(page), ACCESS.LOAD), () => {
      during.push(K.page_ref_count(page), K.page_ref_add_unless_zero(page, 1)); // folio_try_get on another cpu
    });
    expect(K.migrate_page(page)).toBe(0);
    expect(h.fired()).toBe(true);
    expect(during).toEqual([0, false]);
    const moved = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    expect(K.page_ref_count(moved)).toBe(2);
    expect(K.page_ref_count(page)).toBe(0);
  });

  it('a truncated page (no mapping) held by another reference is compared, not frozen: -EAGAIN', () => {
    const k = machine();
    expect(K.filemap_read(0, 1, 0)).toBe(0);
    const page = k.mem.load(K.pagecache_slot(0, 1)) - 1;
    K.get_page(page); // someone's reference keeps it past the truncation
    expect(K.truncate_inode_pages_range(0, 1, 2)).toBe(1);
    expect(k.mem.load(K.pw(page, PG.MAPPING))).toBe(0);
    expect(K.migrate_page(page)).toBe(-K.EAGAIN);
    expect(K.page_ref_count(page)).toBe(1);
    K.put_page(page);
  });

  it('a forked page the parent has replaced by its own copy: the walk goes on past the parent to the child, which is migrated', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const child = K.mm_of(1);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const out = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 5, out)).toBe(0);
    const page = out[0]!;
    expect(K.dup_mmap(mm, child)).toBe(0);
    expect(K.put_user(mm, a, 0, 6)).toBe(0); // the parent's COW: its own copy
    expect(K.pte_pfn(pteAt(child, a))).toBe(page);
    expect(K.migrate_page(page)).toBe(0);
    const moved = K.pte_pfn(pteAt(child, a));
    expect(moved).not.toBe(page);
    expect(K.get_user(child, a, 0)).toBe(5);
    expect(K.get_user(mm, a, 0)).toBe(6);
    expect(k.mem.load(K.pw(moved, PG.MAPCOUNT))).toBe(1);
  });
});
