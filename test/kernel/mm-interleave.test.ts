/**
 * The coordinator's check-then-recheck pairs against another thread, simulated on the test's own
 * thread (issue 13): an access hook (test/kernel/hook-at.ts) runs the other actor's operation — a
 * fault, a second truncation, a reclaim, a write, the end of an I/O — just before the access where
 * the real interleaving would put it, so the re-check is exercised and visible to the mutation run.
 *
 *  - truncate_inode_pages_range (v6.3/mm/truncate.c truncate_inode_pages_range / truncate_cleanup_folio):
 *    the slot emptied between the quick look and the lookup; the page removed between the lookup
 *    and the lock; a fault mapping the page again after unmap_mapping_range (re-unmapped under the
 *    lock); the blocks zeroed before the unmap and again after a late I/O; a page at pfn 0.
 *  - unmap_mapping_range against a migration: the migration entry is zapped without a reference
 *    drop, and remove_migration_ptes() then leaves the cleared PTE alone.
 *  - shrink_page (v6.3/mm/vmscan.c shrink_folio_list, __remove_mapping): the page dirtied, put under
 *    writeback, truncated or freed between the first look and the lock, and dirtied before the
 *    freeze; the checks before the lock take no lock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { PG, PG_dirty, PG_private } from '../../src/mem/layout.js';
import { ACCESS, at, hookAt, notifierLog, onEvent } from './hook-at.js';

const PAGE = 4096;

function machine(): K.KernelContext {
  return K.boot(
    { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 2, vaPages: 1 << 10, maxVmas: 4, nrFiles: 2, filePages: 4, nrCpus: 1 },
    { era: 'v6.18', faults: [] },
  );
}

const pteAt = (mm: K.MmStruct, addr: number): number => K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 }).entry;
const cached = (k: K.KernelContext, file: number, index: number): number => k.mem.load(K.pagecache_slot(file, index)) - 1;
const flagsWord = (page: number): number => K.pw(page, PG.FLAGS);
const keep: K.ShrinkControl = { keepPinnedPrivate: true };

/** Count the shared accesses (and events by label) while `fn` runs. */
function countAccesses(k: K.KernelContext, fn: () => void): { all: number; events: string[] } {
  const out = { all: 0, events: [] as string[] };
  k.mem.hook = {
    before(kind, i, label) {
      out.all++;
      if (kind === ACCESS.EVENT) out.events.push(`${label}@${i}`);
    },
  };
  try {
    fn();
  } finally {
    k.mem.hook = null;
  }
  return out;
}

afterEach(() => {
  if (K.current !== undefined) K.current.mem.hook = null;
});

describe('unmap_mapping_range: the window and what it tells', () => {
  it('only the file asked for, only inside the VMA: a neighbouring anon VMA and another file at the same index stay mapped', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0, addr: 64 * PAGE });
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 65 * PAGE })).toBe(65 * PAGE); // abuts the file VMA
    const b = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 1 });
    expect(K.get_user(mm, a, 0)).toBe(0);
    expect(K.put_user(mm, 65 * PAGE, 0, 1)).toBe(0);
    expect(K.get_user(mm, b, 0)).toBe(0);
    const log = notifierLog(k);
    expect(K.unmap_mapping_range(0, 1, 4)).toBe(0); // the VMA holds index 0 only
    expect(log).toEqual([]);
    const seen = countAccesses(k, () => expect(K.unmap_mapping_range(0, 0, 4)).toBe(1));
    expect(log).toEqual(['start 0 64-65 unmap', 'end 0 64-65']);
    expect(seen.events).toEqual([`pte-cleared@${mm.pt.pte(64)}`]);
    expect(pteAt(mm, a)).toBe(0);
    expect(K.pte_present(pteAt(mm, 65 * PAGE))).toBe(true);
    expect(K.pte_present(pteAt(mm, b))).toBe(true);
    // A second pass finds nothing to clear: no event.
    expect(countAccesses(k, () => expect(K.unmap_mapping_range(0, 0, 4)).toBe(0)).events).toEqual([]);
  });

  it('an empty or reversed range touches no shared word', () => {
    const k = machine();
    expect(countAccesses(k, () => expect(K.truncate_inode_pages_range(0, 2, 2)).toBe(0)).all).toBe(0);
    expect(countAccesses(k, () => expect(K.truncate_inode_pages_range(0, 3, 1)).toBe(0)).all).toBe(0);
  });

  it('a truncation during a migration: the migration entry is zapped without a reference dropped, and the migration then leaves the PTE cleared', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm, a, 0)).toBe(0);
    const page = cached(k, 0, 0);
    const zapped: number[] = [];
    const h = hookAt(k.mem, at(K.pagecache_slot(0, 0), ACCESS.RMW), () => {
      // migrate_page has frozen the page and is switching the slot: unmap_mapping_range runs now.
      expect(K.is_migration_entry(pteAt(mm, a))).toBe(true);
      zapped.push(K.unmap_mapping_range(0, 0, 1));
    });
    expect(K.migrate_page(page)).toBe(0);
    expect(h.fired()).toBe(true);
    expect(zapped).toEqual([0]);
    expect(pteAt(mm, a)).toBe(0);
    const moved = cached(k, 0, 0);
    expect(moved).not.toBe(page);
    expect(K.page_ref_count(moved)).toBe(1); // the page cache's only: no mapping came back
    expect(k.mem.load(K.pw(moved, PG.MAPCOUNT))).toBe(0);
    expect(K.page_ref_count(page)).toBe(0);
  });
});

describe('truncate_inode_pages_range against another thread', () => {
  it('the blocks are a hole from before the unmap; a late I/O that writes them is zeroed again at the end', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: 2 * PAGE, kind: 'file', file: 0 });
    expect(K.put_user(mm, a, 1, 7)).toBe(0);
    expect(K.put_user(mm, a + PAGE, 1, 8)).toBe(0);
    const p0 = cached(k, 0, 0);
    const p1 = cached(k, 0, 1);
    expect(K.write_one_page(p0)).toBe('written');
    expect(K.write_one_page(p1)).toBe('written');
    const blocks = (): number[] => [...k.mem.readWords(K.backing_word(0, 0), 4)];
    expect(blocks()).toEqual([0, 7, 0, 8]);
    const atUnmap: number[][] = [];
    hookAt(k.mem, onEvent('pte-cleared'), () => {
      atUnmap.push(blocks()); // a fault on another cpu would read these in
      // ... and an I/O started before the truncation ends while p0 is still cached.
      hookAt(k.mem, at(flagsWord(p0), ACCESS.RMW), () => {
        expect(K.write_to_backing(p0, [5, 5])).toBe('written');
        expect(K.write_to_backing(p1, [6, 6])).toBe('written');
      });
    });
    expect(K.truncate_inode_pages_range(0, 0, 2)).toBe(2);
    expect(atUnmap).toEqual([[0, 0, 0, 0]]);
    expect(blocks()).toEqual([0, 0, 0, 0]);
  });

  it('a page at pfn 0 is truncated like any other', () => {
    const k = machine();
    expect(K.filemap_read(0, 0, 0)).toBe(0);
    expect(cached(k, 0, 0)).toBe(0);
    expect(K.truncate_inode_pages_range(0, 0, 1)).toBe(1);
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(0);
    expect(K.page_ref_count(0)).toBe(0);
  });

  it('the page is reclaimed between the quick look at the slot and the lookup: skipped', () => {
    const k = machine();
    expect(K.filemap_read(0, 1, 0)).toBe(0);
    const page = cached(k, 0, 1);
    const results: string[] = [];
    // The hook runs before the access: the 2nd load of the slot is find_get_page's, after the quick look.
    const h = hookAt(k.mem, at(K.pagecache_slot(0, 1), ACCESS.LOAD), () => void results.push(K.shrink_page(page, keep)), 2);
    expect(K.truncate_inode_pages_range(0, 1, 2)).toBe(0);
    expect(h.fired()).toBe(true);
    expect(results).toEqual(['freed']);
    expect(K.page_ref_count(page)).toBe(0);
  });

  it('a second truncation removes the page between our lookup and our lock: we drop our reference and count nothing', () => {
    const k = machine();
    expect(K.filemap_read(0, 2, 0)).toBe(0);
    const page = cached(k, 0, 2);
    const other: number[] = [];
    const h = hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => void other.push(K.truncate_inode_pages_range(0, 2, 3)));
    expect(K.truncate_inode_pages_range(0, 2, 3)).toBe(0);
    expect(h.fired()).toBe(true);
    expect(other).toEqual([1]);
    expect(K.page_ref_count(page)).toBe(0);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });

  it('a fault maps the page again after unmap_mapping_range: it is unmapped again under the lock (one more notifier bracket); without the fault, no second unmap', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm, a, 0)).toBe(0); // a clean PTE: the unmap does not touch the flags
    let page = cached(k, 0, 0);
    const log = notifierLog(k);
    const vpn = a / PAGE;
    const h = hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => void expect(K.get_user(mm, a, 0)).toBe(0));
    expect(K.truncate_inode_pages_range(0, 0, 1)).toBe(1);
    expect(h.fired()).toBe(true);
    expect(pteAt(mm, a)).toBe(0);
    expect(K.page_ref_count(page)).toBe(0);
    expect(log).toEqual([`start 0 ${vpn}-${vpn + 1} unmap`, `end 0 ${vpn}-${vpn + 1}`, `start 0 ${vpn}-${vpn + 1} unmap`, `end 0 ${vpn}-${vpn + 1}`]);
    // No fault in between: unmap_mapping_range's bracket only.
    expect(K.get_user(mm, a, 0)).toBe(0);
    page = cached(k, 0, 0);
    log.length = 0;
    expect(K.truncate_inode_pages_range(0, 0, 1)).toBe(1);
    expect(log).toEqual([`start 0 ${vpn}-${vpn + 1} unmap`, `end 0 ${vpn}-${vpn + 1}`]);
    expect(K.page_ref_count(page)).toBe(0);
  });
});

describe('shrink_page against another thread', () => {
  /** A clean page-cache page of file 0 at index 0, mapped read-only at the returned address. */
  function cleanMapped(k: K.KernelContext): { mm: K.MmStruct; a: number; page: number } {
    const mm = K.mm_of(0);
    const a = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm, a, 0)).toBe(0);
    return { mm, a, page: cached(k, 0, 0) };
  }

  it('dirtied, put under writeback or truncated between the first look and the lock: refused under the lock, the PTE still mapped, the references back', () => {
    const k = machine();
    const { mm, a, page } = cleanMapped(k);
    const pte = pteAt(mm, a);
    const ref = K.page_ref_count(page);
    hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => void K.set_page_dirty(page));
    expect(K.shrink_page(page, keep)).toBe('dirty');
    expect(pteAt(mm, a)).toBe(pte);
    k.mem.and(flagsWord(page), ~PG_dirty);
    hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => void K.set_page_writeback(page));
    expect(K.shrink_page(page, keep)).toBe('writeback');
    expect(pteAt(mm, a)).toBe(pte);
    K.end_page_writeback(page);
    expect(K.page_ref_count(page)).toBe(ref);
    hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => {
      k.mem.cas(K.pagecache_slot(0, 0), page + 1, 0); // a truncation on another cpu, kept alive by the mapping
      k.mem.store(K.pw(page, PG.MAPPING), 0);
      K.put_page(page);
    });
    expect(K.shrink_page(page, keep)).toBe('not-cached');
    expect(pteAt(mm, a)).toBe(pte);
    expect(K.page_ref_count(page)).toBe(ref - 1);
    expect(K.trylock_page(page)).toBe(true);
    K.unlock_page(page);
  });

  it('freed between the first look and the lock: not-cached, unlocked', () => {
    const k = machine();
    expect(K.filemap_read(0, 3, 0)).toBe(0);
    const page = cached(k, 0, 3);
    hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => {
      k.mem.cas(K.pagecache_slot(0, 3), page + 1, 0);
      k.mem.store(K.pw(page, PG.MAPPING), 0);
      K.put_page(page); // the last reference: freed
    });
    expect(K.shrink_page(page, keep)).toBe('not-cached');
    expect(K.page_ref_count(page)).toBe(0);
    expect(K.trylock_page(page)).toBe(true);
    K.unlock_page(page);
    expect(K.readWarnings(k.mem).bug).toEqual({});
  });

  it('dirtied after the buffers are released but before the freeze: the freeze is undone and the page kept, cached, with its data', () => {
    const k = machine();
    expect(K.filemap_read(0, 1, 0)).toBe(0);
    const page = cached(k, 0, 1);
    // The 1st RMW of the flags is the trylock, the 2nd the buffers' release.
    const h = hookAt(k.mem, at(flagsWord(page), ACCESS.RMW), () => void K.set_page_dirty(page), 2);
    expect(K.shrink_page(page, keep)).toBe('dirty');
    expect(h.fired()).toBe(true);
    expect(k.mem.load(K.pagecache_slot(0, 1))).toBe(page + 1);
    expect(K.page_ref_count(page)).toBe(1);
    expect(k.mem.load(flagsWord(page)) & PG_private).toBe(0);
  });

  it('the checks before the lock take no lock: a dirty, a writeback and an uncached page are refused without an RMW on their flags', () => {
    const k = machine();
    const { page } = cleanMapped(k);
    /** The RMWs on the page's flags word while shrink_page runs (a trylock is one). */
    const rmwOnFlags = (): { r: K.ShrinkResult; n: number } => {
      let n = 0;
      k.mem.hook = { before: (kind, i) => void (kind === ACCESS.RMW && i === flagsWord(page) && n++) };
      try {
        return { r: K.shrink_page(page, keep), n };
      } finally {
        k.mem.hook = null;
      }
    };
    K.set_page_dirty(page);
    expect(rmwOnFlags()).toEqual({ r: 'dirty', n: 0 });
    k.mem.and(flagsWord(page), ~PG_dirty);
    K.set_page_writeback(page);
    expect(rmwOnFlags()).toEqual({ r: 'writeback', n: 0 });
    K.end_page_writeback(page);
    k.mem.store(K.pagecache_slot(0, 0), 0);
    expect(rmwOnFlags()).toEqual({ r: 'not-cached', n: 0 });
  });

  it("try_to_unmap's notifier bracket is one page per mapping, reason 'unmap'", () => {
    const k = machine();
    const { mm, a, page } = cleanMapped(k);
    const mm1 = K.mm_of(1);
    const b = K.do_mmap(mm1, { length: PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm1, b, 0)).toBe(0);
    const log = notifierLog(k);
    expect(K.shrink_page(page, keep)).toBe('freed');
    expect(log).toEqual([`start 0 ${a / PAGE}-${a / PAGE + 1} unmap`, `end 0 ${a / PAGE}-${a / PAGE + 1}`, `start 1 ${b / PAGE}-${b / PAGE + 1} unmap`, `end 1 ${b / PAGE}-${b / PAGE + 1}`]);
    expect(pteAt(mm, a)).toBe(0);
    expect(pteAt(mm1, b)).toBe(0);
  });
});
