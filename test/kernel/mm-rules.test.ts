/**
 * The address-space rules on the test's own thread (issue 13): mm.ts — the MmStruct handle and its
 * cache, the mmap_lock (readers counted in the word, a writer is -1, a waiting writer stops new
 * readers, the last reader and the writer wake the waiters; unbalanced unlocks BUG, an unheld lock
 * WARNs in mmap_assert_locked), the VMA table (insert, remove, find, the generation count), do_mmap's
 * argument checks, rounding, flags and first-fit placement with guard pages — and mmap.ts —
 * do_munmap's checks and its shrink/split/remove of VMAs, zap_page_range over huge leaves,
 * what a zapped entry drops, the mmu notifiers, and vma_merge. The other thread the lock waits for is
 * the `Mem.wait` the kernel sleeps in, answered by the test.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ACCESS, notifierLog } from './hook-at.js';
import { MM, PG, PG_dirty, PUD_ORDER, VM_READ, VM_SHARED, VM_WRITE, VMA_KIND } from '../../src/mem/layout.js';

const PAGE = 4096;
/** The address space in pages: the configured 2048 rounded up to a whole PUD. */
const VA = 1 << 18;

function machine(extra: Partial<Parameters<typeof K.boot>[0]> = {}): K.KernelContext {
  return K.boot(
    { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 1, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 2, vaPages: 1 << 11, maxVmas: 4, nrFiles: 1, filePages: 8, nrCpus: 1, ...extra },
    { era: 'v6.3', faults: [] },
  );
}

/** Answer the kernel's sleeps with `onWait` and record them; record the wake-ups. */
function patchSleep(k: K.KernelContext, onWait: (i: number, v: number) => void): { waits: string[]; wakes: number[] } {
  const out = { waits: [] as string[], wakes: [] as number[] };
  k.mem.wait = (i: number, v: number, ms: number): 'ok' | 'not-equal' | 'timed-out' => {
    out.waits.push(`${i} ${v} ${ms}`);
    onWait(i, v);
    return 'ok';
  };
  k.mem.notify = (i: number): number => {
    out.wakes.push(i);
    return 0;
  };
  return out;
}

const vmaOf = (mm: K.MmStruct, addr: number): Omit<K.Vma, 'slot'> | null => {
  const v = K.find_vma(mm, addr / PAGE);
  if (v === null) return null;
  const { slot: _slot, ...rest } = v;
  return rest;
};

describe('MmStruct and mm_of', () => {
  it('an id outside [0, nrMms) or not an integer is a RangeError; the handle names its words; mm_of caches per machine', () => {
    const k = machine();
    expect(() => new K.MmStruct(-1)).toThrow('mm -1 outside [0, 2)');
    expect(() => new K.MmStruct(2)).toThrow(RangeError);
    expect(() => new K.MmStruct(0.5)).toThrow(RangeError);
    const mm = K.mm_of(1);
    expect(mm.base).toBe(k.layout.mmOff + k.layout.mmWords);
    expect(mm.lockWord).toBe(mm.base + MM.MMAP_LOCK);
    expect(mm.vaPages).toBe(k.layout.vaPages); // rounded up to whole PUDs
    expect(mm.vaPages).toBe(1 << 18);
    expect(K.mm_of(1)).toBe(mm);
    expect(K.mm_of(0)).not.toBe(mm);
    machine();
    expect(K.mm_of(1)).not.toBe(mm);
  });
});

describe('the mmap_lock', () => {
  it('readers are counted in the word; only the last reader wakes; a writer is -1 and wakes on unlock; assert_locked sees both', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const s = patchSleep(k, () => {});
    expect(K.mmap_assert_locked(mm)).toBe(false);
    expect(K.readWarnings(k.mem).warn.mmap_assert_locked).toBe(1);
    K.mmap_read_lock(mm);
    expect(K.mmap_read_trylock(mm)).toBe(true);
    expect(k.mem.load(mm.lockWord)).toBe(2);
    expect(K.mmap_assert_locked(mm)).toBe(true);
    K.mmap_read_unlock(mm);
    expect(s.wakes).toEqual([]);
    expect(K.mmap_assert_locked(mm)).toBe(true);
    K.mmap_read_unlock(mm);
    expect(s.wakes).toEqual([mm.lockWord]);
    expect(k.mem.load(mm.lockWord)).toBe(0);
    expect(K.mmap_assert_locked(mm)).toBe(false);
    K.mmap_write_lock(mm);
    expect(k.mem.load(mm.lockWord)).toBe(-1);
    expect(K.mmap_read_trylock(mm)).toBe(false);
    expect(K.mmap_assert_locked(mm)).toBe(true);
    K.mmap_write_unlock(mm);
    expect(s.wakes).toEqual([mm.lockWord, mm.lockWord]);
    expect(k.mem.load(mm.lockWord)).toBe(0);
    expect(s.waits).toEqual([]);
  });

  it('unbalanced unlocks are BUGs; the read unlock of another thread\'s count is refused before the word changes', () => {
    const k = machine();
    const mm = K.mm_of(0);
    expect(() => K.mmap_read_unlock(mm)).toThrow(K.KernelBug);
    expect(() => K.mmap_write_unlock(mm)).toThrow('mmap_lock:unbalanced unlock');
    expect(K.readWarnings(k.mem).bug['mmap_lock:unbalanced unlock']).toBe(2);
    expect(k.mem.load(mm.lockWord)).toBe(0);
  });

  it('a waiting writer stops new readers (no writer starvation): the reader sleeps until the writer has come and gone', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const ww = mm.base + MM.MMAP_LOCK_WAITERS;
    k.mem.store(ww, 1); // a writer on another thread waits for the lock
    expect(K.mmap_read_trylock(mm)).toBe(false);
    const s = patchSleep(k, () => k.mem.store(ww, 0)); // ... gets it, and releases it
    K.mmap_read_lock(mm);
    expect(s.waits).toEqual([`${mm.lockWord} 0 2`]);
    expect(k.mem.load(mm.lockWord)).toBe(1);
    K.mmap_read_unlock(mm);
  });

  it('a writer announces itself, sleeps while readers hold the lock, and takes it when the last one leaves', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const ww = mm.base + MM.MMAP_LOCK_WAITERS;
    k.mem.store(mm.lockWord, 2); // two readers on other threads
    const seen: number[] = [];
    const s = patchSleep(k, () => {
      seen.push(k.mem.load(ww));
      k.mem.sub(mm.lockWord, 1);
    });
    K.mmap_write_lock(mm);
    expect(s.waits).toEqual([`${mm.lockWord} 2 2`, `${mm.lockWord} 1 2`]);
    expect(seen).toEqual([1, 1]);
    expect(k.mem.load(ww)).toBe(0);
    expect(k.mem.load(mm.lockWord)).toBe(-1);
    K.mmap_write_unlock(mm);
  });

  it('a read trylock fails against a writer, a waiting writer, or a word changed under its compare', () => {
    const k = machine();
    const mm = K.mm_of(0);
    k.mem.store(mm.lockWord, -1);
    expect(K.mmap_read_trylock(mm)).toBe(false);
    k.mem.store(mm.lockWord, 0);
    k.mem.hook = {
      before(kind, i) {
        if (kind === ACCESS.RMW && i === mm.lockWord) {
          k.mem.hook = null;
          k.mem.add(mm.lockWord, 1); // another reader came in between the load and the compare
        }
      },
    };
    expect(K.mmap_read_trylock(mm)).toBe(false);
    expect(k.mem.load(mm.lockWord)).toBe(1);
    expect(K.mmap_assert_locked(mm)).toBe(false);
  });
});

describe('the VMA table', () => {
  it('insert appends until maxVmas (-ENOMEM), remove moves the last into the hole, find_vma covers [start, end), every change bumps the generation', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const gen = (): number => k.mem.load(mm.base + MM.VMA_GEN);
    const v = (start: number): Omit<K.Vma, 'slot'> => ({ start, end: start + 2, kind: VMA_KIND.ANON, flags: 3, file: 0, pgoff: 0, order: 0 });
    const g0 = gen();
    expect([10, 20, 30, 40].map((s) => K.insertVma(mm, v(s)))).toEqual([0, 1, 2, 3]);
    expect(gen()).toBe(g0 + 4);
    expect(K.insertVma(mm, v(50))).toBe(-K.ENOMEM);
    expect(gen()).toBe(g0 + 4);
    expect(K.find_vma(mm, 20)?.slot).toBe(1);
    expect(K.find_vma(mm, 21)?.slot).toBe(1);
    expect(K.find_vma(mm, 22)).toBeNull();
    expect(K.find_vma(mm, 9)).toBeNull();
    K.removeVma(mm, 1);
    expect(gen()).toBe(g0 + 6); // the move and the removal
    expect(K.vmas(mm).map((x) => x.start)).toEqual([10, 40, 30]);
    K.removeVma(mm, 2); // the last: nothing moves
    expect(gen()).toBe(g0 + 7);
    expect(K.vmas(mm).map((x) => x.start)).toEqual([10, 40]);
  });
});

describe('do_mmap', () => {
  it('refuses bad arguments with -EINVAL, a full address space or table with -ENOMEM', () => {
    machine();
    const mm = K.mm_of(0);
    const bad: K.MmapRequest[] = [
      { length: PAGE, kind: 'bogus' as K.MapKind },
      { length: PAGE, kind: 'hugetlb', order: 0 },
      { length: PAGE, kind: 'anon', order: -1 },
      { length: PAGE, kind: 'anon', order: K.MAX_FOLIO_ORDER + 1 },
      { length: PAGE, kind: 'file' },
      { length: PAGE, kind: 'file', file: -1 },
      { length: PAGE, kind: 'dax', file: 1 },
      { length: 0, kind: 'anon' },
      { length: -PAGE, kind: 'anon' },
      { length: Number.NaN, kind: 'anon' },
      { length: PAGE, kind: 'file', file: 0, offset: 100 },
      { length: 2 * PAGE, kind: 'file', file: 0, offset: 7 * PAGE },
      { length: 4 * PAGE, kind: 'anon', order: 2, addr: 2 * PAGE },
      { length: PAGE, kind: 'anon', addr: 100 },
      { length: 2 * PAGE, kind: 'anon', addr: (VA - 1) * PAGE },
    ];
    for (const req of bad) expect([req, K.do_mmap(mm, req)]).toEqual([req, -K.EINVAL]);
    expect(K.vmas(mm)).toEqual([]);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0, offset: 7 * PAGE })).toBeGreaterThan(0); // the last file page fits
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: (VA - 1) * PAGE })).toBe((VA - 1) * PAGE); // the last page fits
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: (VA - 1) * PAGE })).toBe(-K.EINVAL); // overlaps
    expect(K.do_mmap(mm, { length: (VA - 19) * PAGE, kind: 'anon' })).toBe(-K.ENOMEM); // 18 .. VA-2 would touch the VMA at VA-1
    expect(K.do_mmap(mm, { length: (VA - 18) * PAGE, kind: 'anon' })).toBe(-K.ENOMEM);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon' })).toBeGreaterThan(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon' })).toBeGreaterThan(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon' })).toBe(-K.ENOMEM); // maxVmas
  });

  it('rounds up to the page (or folio), sets VM_READ, VM_WRITE unless told, VM_SHARED for file and DAX, the file and offset; places first fit above 16 pages with a guard page between VMAs', () => {
    machine({ daxFrames: 2 });
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 1, kind: 'anon' });
    expect(a).toBe(16 * PAGE);
    expect(vmaOf(mm, a)).toEqual({ start: 16, end: 17, kind: VMA_KIND.ANON, flags: VM_READ | VM_WRITE, file: 0, pgoff: 0, order: 0 });
    const f = K.do_mmap(mm, { length: PAGE + 1, kind: 'file', file: 0, offset: 3 * PAGE, write: false });
    expect(f).toBe(18 * PAGE); // 17 is the guard page
    expect(vmaOf(mm, f)).toEqual({ start: 18, end: 20, kind: VMA_KIND.FILE, flags: VM_READ | VM_SHARED, file: 0, pgoff: 3, order: 0 });
    const l = K.do_mmap(mm, { length: PAGE, kind: 'anon', order: 2 });
    expect(l).toBe(24 * PAGE); // 21 aligned up to the folio
    expect(vmaOf(mm, l)).toEqual({ start: 24, end: 28, kind: VMA_KIND.ANON, flags: VM_READ | VM_WRITE, file: 0, pgoff: 0, order: 2 });
    const d = K.do_mmap(mm, { length: PAGE, kind: 'dax', file: 0 });
    expect(vmaOf(mm, d)?.flags).toBe(VM_READ | VM_WRITE | VM_SHARED);
    expect(d).toBe(21 * PAGE); // the gap 21-22 before the folio VMA, guard page 23
  });

  it('first fit: a gap that leaves a guard page on both sides is used; one that would touch the next VMA is not; hugetlb is aligned to 512 pages', () => {
    machine();
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 20 * PAGE })).toBe(20 * PAGE);
    expect(K.do_mmap(mm, { length: 3 * PAGE, kind: 'anon' })).toBe(16 * PAGE); // 16..18, guard 19
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon' })).toBe(22 * PAGE); // 19 would touch the VMA at 20... 21 is its guard
    expect(K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb' })).toBe(512 * PAGE);
  });
});

describe('do_munmap and zap_page_range', () => {
  it('refuses a misaligned address, an empty length, a range past the end, a hugetlb range not on huge-page bounds (nothing changed); a range that hits nothing is 0 with no notifier', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const h = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb' });
    expect(K.put_user(mm, h, 0, 1)).toBe(0);
    const log = notifierLog(k);
    expect(K.do_munmap(mm, 100, PAGE)).toBe(-K.EINVAL);
    expect(K.do_munmap(mm, h, 0)).toBe(-K.EINVAL);
    expect(K.do_munmap(mm, h, Number.NaN)).toBe(-K.EINVAL);
    expect(K.do_munmap(mm, (VA - 1) * PAGE, 2 * PAGE)).toBe(-K.EINVAL);
    expect(K.do_munmap(mm, h + PAGE, 511 * PAGE)).toBe(-K.EINVAL);
    expect(K.do_munmap(mm, h, 511 * PAGE)).toBe(-K.EINVAL);
    expect(K.do_munmap(mm, h - PAGE, 512 * PAGE)).toBe(-K.EINVAL); // ends mid-page
    expect(K.vmas(mm).length).toBe(1);
    expect(log).toEqual([]);
    expect(K.do_munmap(mm, (VA - 1) * PAGE, PAGE)).toBe(0); // the last page, nothing there
    expect(log).toEqual([]);
    // The whole huge page: one leaf cleared, one event, one notifier bracket of the request.
    const events: string[] = [];
    k.mem.hook = { before: (kind, i, label) => void (kind === ACCESS.EVENT && events.push(`${label}@${i}`)) };
    expect(K.do_munmap(mm, h - 2 * PAGE, 514 * PAGE)).toBe(0);
    k.mem.hook = null;
    expect(events).toEqual([`pte-cleared@${mm.pt.pmd(h / PAGE)}`]);
    expect(log).toEqual([`start 0 ${h / PAGE - 2}-${h / PAGE + 512} unmap`, `end 0 ${h / PAGE - 2}-${h / PAGE + 512}`]);
    expect(K.vmas(mm)).toEqual([]);
  });

  it('shrinks the head, the tail, splits the middle (the tail keeps its file offset) or removes the VMA; rounds the length up', () => {
    machine();
    const mm = K.mm_of(0);
    const f = K.do_mmap(mm, { length: 8 * PAGE, kind: 'file', file: 0 }) / PAGE;
    expect(K.do_munmap(mm, (f + 3) * PAGE, 1)).toBe(0); // one page, split
    expect(K.vmas(mm).map((v) => [v.start, v.end, v.pgoff])).toEqual([[f, f + 3, 0], [f + 4, f + 8, 4]]);
    expect(K.do_munmap(mm, f * PAGE, PAGE)).toBe(0); // the head of the first
    expect(K.vmas(mm).map((v) => [v.start, v.end, v.pgoff])).toEqual([[f + 1, f + 3, 1], [f + 4, f + 8, 4]]);
    expect(K.do_munmap(mm, (f + 7) * PAGE, PAGE)).toBe(0); // the tail of the second
    expect(K.vmas(mm).map((v) => [v.start, v.end, v.pgoff])).toEqual([[f + 1, f + 3, 1], [f + 4, f + 7, 4]]);
    expect(K.do_munmap(mm, (f + 2) * PAGE, 3 * PAGE)).toBe(0); // the tail of one, the head of the other
    expect(K.vmas(mm).map((v) => [v.start, v.end, v.pgoff])).toEqual([[f + 1, f + 2, 1], [f + 5, f + 7, 5]]);
    expect(K.do_munmap(mm, f * PAGE, 8 * PAGE)).toBe(0);
    expect(K.vmas(mm)).toEqual([]);
  });

  it('a zapped file PTE that is dirty dirties the page; an anon one does not; a migration entry drops nothing', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const f = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    const a = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon' });
    expect(K.put_user(mm, f, 0, 1)).toBe(0);
    const out = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 1, out)).toBe(0);
    const anonPage = out[0]!;
    const filePage = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    k.mem.and(K.pw(filePage, PG.FLAGS), ~PG_dirty);
    K.get_page(anonPage); // keep it to look at
    const migrating = K.alloc_pages(3, 0);
    k.mem.store(mm.pt.pte(a / PAGE + 1), K.make_migration_entry(migrating, true));
    expect(K.do_munmap(mm, f, PAGE)).toBe(0);
    expect(K.do_munmap(mm, a, 2 * PAGE)).toBe(0);
    expect(K.PageDirty(filePage)).toBe(true);
    expect(K.page_ref_count(filePage)).toBe(1);
    expect(k.mem.load(K.pw(filePage, PG.MAPCOUNT))).toBe(0);
    expect(K.PageDirty(anonPage)).toBe(false);
    expect(K.page_ref_count(anonPage)).toBe(1);
    expect(k.mem.load(K.pw(anonPage, PG.MAPCOUNT))).toBe(0);
    expect(K.page_ref_count(migrating)).toBe(1);
    K.put_page(anonPage);
  });

  it('every registered notifier sees start and end', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const seen: string[] = [];
    for (const n of ['a', 'b']) k.mmu_notifiers.push({ invalidate_range_start: () => void seen.push(`${n}+`), invalidate_range_end: () => void seen.push(`${n}-`) });
    K.mmu_notifier_invalidate_range_start(mm, 1, 2, 'x');
    K.mmu_notifier_invalidate_range_end(mm, 1, 2);
    expect(seen).toEqual(['a+', 'b+', 'a-', 'b-']);
  });
});

describe('vma_merge', () => {
  it('joins abutting VMAs of the same kind, flags, order and file with contiguous offsets, within the window only', () => {
    machine({ maxVmas: 6 });
    const mm = K.mm_of(0);
    const at = (p: number, req: Omit<K.MmapRequest, 'addr' | 'length'> & { pages?: number }): void => {
      expect(K.do_mmap(mm, { length: (req.pages ?? 1) * PAGE, addr: p * PAGE, ...req })).toBe(p * PAGE);
    };
    at(32, { kind: 'anon' });
    at(33, { kind: 'anon' });
    at(34, { kind: 'anon' });
    at(35, { kind: 'anon', write: false }); // other flags
    at(40, { kind: 'file', file: 0, offset: 0 });
    at(41, { kind: 'file', file: 0, offset: 2 * PAGE }); // not contiguous in the file
    expect(K.vma_merge(mm, 33, 64)).toBe(1); // 32 is outside the window
    expect(K.vmas(mm).map((v) => [v.start, v.end]).sort((x, y) => x[0]! - y[0]!)).toEqual([[32, 33], [33, 35], [35, 36], [40, 41], [41, 42]]);
    expect(K.vma_merge(mm, 0, 64)).toBe(1);
    expect(K.vmas(mm).map((v) => [v.start, v.end]).sort((x, y) => x[0]! - y[0]!)).toEqual([[32, 35], [35, 36], [40, 41], [41, 42]]);
    expect(K.do_munmap(mm, 41 * PAGE, PAGE)).toBe(0);
    at(41, { kind: 'file', file: 0, offset: PAGE });
    expect(K.vma_merge(mm, 0, 64)).toBe(1);
    expect(vmaOf(mm, 41 * PAGE)).toMatchObject({ start: 40, end: 42, pgoff: 0 });
    expect(K.vma_merge(mm, 0, 64)).toBe(0);
  });
});

describe('do_munmap: exactly the range', () => {
  it('a VMA that only touches the range is not rewritten: one generation bump for the VMA that is cut', () => {
    const k = machine({ maxVmas: 6 });
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 30 * PAGE })).toBe(30 * PAGE);
    expect(K.do_mmap(mm, { length: 3 * PAGE, kind: 'anon', addr: 31 * PAGE })).toBe(31 * PAGE);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 34 * PAGE })).toBe(34 * PAGE);
    const gen = (): number => k.mem.load(mm.base + MM.VMA_GEN);
    let g = gen();
    expect(K.do_munmap(mm, 31 * PAGE, PAGE)).toBe(0); // the head of [31, 34); [30, 31) ends where the range starts
    expect(gen()).toBe(g + 1);
    g = gen();
    expect(K.do_munmap(mm, 33 * PAGE, PAGE)).toBe(0); // the tail of [32, 34); [34, 35) starts where it ends
    expect(gen()).toBe(g + 1);
    expect(K.vmas(mm).map((v) => [v.start, v.end]).sort((x, y) => x[0]! - y[0]!)).toEqual([[30, 31], [32, 33], [34, 35]]);
  });

  it('a range that only touches VMAs (ends where one starts, starts where one ends) changes nothing: no notifier, no generation bump; a hugetlb VMA above an empty range is not asked about its alignment', () => {
    const k = machine({ maxVmas: 6 });
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 32 * PAGE })).toBe(32 * PAGE);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 34 * PAGE })).toBe(34 * PAGE);
    expect(K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb', addr: 512 * PAGE })).toBe(512 * PAGE);
    const log = notifierLog(k);
    const gen = (): number => k.mem.load(mm.base + MM.VMA_GEN);
    const g = gen();
    const before = K.vmas(mm);
    expect(K.do_munmap(mm, 33 * PAGE, PAGE)).toBe(0); // between the two: touches both
    expect(K.do_munmap(mm, 100 * PAGE, PAGE)).toBe(0); // below the hugetlb VMA
    expect(log).toEqual([]);
    expect(gen()).toBe(g);
    expect(K.vmas(mm)).toEqual(before);
  });

  it('the middle page of three mapped pages: only it is zapped (one event), the VMA split around it; a large-folio VMA can be cut anywhere', () => {
    const k = machine({ folioPools: [{ order: 2, count: 1 }] });
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 3 * PAGE, kind: 'anon' });
    for (let i = 0; i < 3; i++) expect(K.put_user(mm, a + i * PAGE, 0, i + 1)).toBe(0);
    const events: string[] = [];
    k.mem.hook = { before: (kind, i, label) => void (kind === ACCESS.EVENT && events.push(`${label}@${i}`)) };
    expect(K.do_munmap(mm, a + PAGE, PAGE)).toBe(0);
    k.mem.hook = null;
    expect(events).toEqual([`pte-cleared@${mm.pt.pte(a / PAGE + 1)}`]);
    expect(K.get_user(mm, a, 0)).toBe(1);
    expect(K.get_user(mm, a + 2 * PAGE, 0)).toBe(3);
    expect(K.vmas(mm).map((v) => [v.start, v.end])).toEqual([[a / PAGE, a / PAGE + 1], [a / PAGE + 2, a / PAGE + 3]]);
    const f = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(K.put_user(mm, f, 0, 1)).toBe(0);
    expect(K.do_munmap(mm, f + PAGE, PAGE)).toBe(0);
    expect(K.get_user(mm, f, 0)).toBe(1);
  });

  it('two VMAs removed whose slots are not in address order, a third kept: the kept one is the one left', () => {
    machine({ maxVmas: 6 });
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 40 * PAGE })).toBe(40 * PAGE); // slot 0, removed
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 60 * PAGE })).toBe(60 * PAGE); // slot 1, kept
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 41 * PAGE })).toBe(41 * PAGE); // slot 2 (the last), removed
    expect(K.do_munmap(mm, 40 * PAGE, 2 * PAGE)).toBe(0);
    expect(K.vmas(mm).map((v) => v.start)).toEqual([60]);
  });

  it('a huge leaf is cleared with one exchange, not one per subpage', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const h = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb' });
    expect(K.put_user(mm, h, 0, 1)).toBe(0);
    const leaf = mm.pt.pmd(h / PAGE);
    let onLeaf = 0;
    let all = 0;
    k.mem.hook = {
      before(kind, i) {
        if (kind === ACCESS.RMW) all++;
        if (kind === ACCESS.RMW && i === leaf) onLeaf++;
      },
    };
    expect(K.do_munmap(mm, h, 512 * PAGE)).toBe(0);
    k.mem.hook = null;
    expect(onLeaf).toBe(1);
    expect(all).toBeLessThan(100); // a walk per subpage would take the PT lock 512 times
  });
});

describe('vma_merge: what does not merge', () => {
  it('a gap, another kind, another folio order, another file, a DAX offset that is not contiguous, or a VMA reaching past the window', () => {
    machine({ maxVmas: 10, nrFiles: 2, daxFrames: 4 });
    const mm = K.mm_of(0);
    const at = (p: number, req: Omit<K.MmapRequest, 'addr' | 'length'> & { pages?: number }): void => {
      expect(K.do_mmap(mm, { length: (req.pages ?? 1) * PAGE, addr: p * PAGE, ...req })).toBe(p * PAGE);
    };
    at(32, { kind: 'anon' });
    at(34, { kind: 'anon' }); // a gap at 33
    at(35, { kind: 'cma' }); // another kind
    at(36, { kind: 'anon', order: 2, pages: 4 }); // 36-39, another order
    at(40, { kind: 'anon' }); // anon order 0 after anon order 2
    at(44, { kind: 'file', file: 0, offset: 0 });
    at(45, { kind: 'file', file: 1, offset: PAGE }); // another file, the offset contiguous
    at(48, { kind: 'dax', file: 0, offset: 0 });
    at(49, { kind: 'dax', file: 0, offset: 3 * PAGE }); // not contiguous
    expect(K.vma_merge(mm, 0, 64)).toBe(0);
    expect(K.vmas(mm).length).toBe(9);
  });

  it('only VMAs wholly inside [lo, hi) merge', () => {
    machine({ maxVmas: 6 });
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 32 * PAGE })).toBe(32 * PAGE);
    expect(K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon', addr: 33 * PAGE })).toBe(33 * PAGE);
    expect(K.vma_merge(mm, 32, 34)).toBe(0); // the second ends at 35
    expect(K.vma_merge(mm, 32, 35)).toBe(1);
  });
});

describe('do_mmap and find_vma at the edges', () => {
  it('a removed last VMA is not found; MAP_FIXED right below a VMA fits; the largest folio order and a PUD hugetlb order are accepted; a DAX range past the file is -EINVAL; first fit may end at the last page', () => {
    machine({ maxVmas: 6 });
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 40 * PAGE })).toBe(40 * PAGE);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 39 * PAGE })).toBe(39 * PAGE); // ends where the other starts
    K.mmap_write_lock(mm);
    K.removeVma(mm, 1);
    K.mmap_write_unlock(mm);
    expect(K.find_vma(mm, 39)).toBeNull(); // the stale slot past NR_VMAS is not read
    expect(K.find_vma(mm, 40)?.start).toBe(40);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', order: K.MAX_FOLIO_ORDER })).toBeGreaterThan(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'hugetlb', order: PUD_ORDER })).toBe(-K.ENOMEM); // a valid order, no 1 GB-aligned room
    expect(K.do_mmap(mm, { length: 2 * PAGE, kind: 'dax', file: 0, offset: 7 * PAGE })).toBe(-K.EINVAL);
    machine();
    const fresh = K.mm_of(0);
    expect(K.do_mmap(fresh, { length: (VA - 16) * PAGE, kind: 'anon' })).toBe(16 * PAGE);
  });
});
