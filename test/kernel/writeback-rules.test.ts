/**
 * The writeback rules on the coordinator's side, on the test's own thread (issue 13: the mutation
 * run sees no mutant executed in a worker): page_mkclean() write-protects and cleans every PTE of
 * a page and asks page_maybe_dma_pinned() after it; clear_page_dirty_for_io() moves the PTE dirt
 * to the page and test-and-clears it; ->writepage refuses a page without buffers (cc5095747edf);
 * the I/O writes the page, or a snapshot, to the backing store unless the page was truncated.
 * And the coordinator's other jobs: rmap_walk() over anon, forked and file pages,
 * unmap_mapping_range() and truncate_inode_pages_range() (a pinned page survives as an orphan),
 * shrink_page() (d824ec2a1546 keeps a pinned page) and migrate_page() (per era: the pin check at
 * the PTE from v6.3, the reference count before).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, PG, PG_dirty, PG_private, ZONE } from '../../src/mem/layout.js';

const PAGE = 4096;

/** A booted machine (v6.18 unless told) with file 0 mapped shared at the returned address, its page 0 written. */
function dirtyFilePage(value: number, era: Era = 'v6.18'): { k: K.KernelContext; mm: K.MmStruct; addr: number; page: number } {
  const k = K.boot(
    { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 2, nrMms: 2, vaPages: 1 << 10, maxVmas: 4, nrFiles: 1, filePages: 4, nrCpus: 1 },
    { era, faults: [] },
  );
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'file', file: 0 });
  expect(addr).toBeGreaterThan(0);
  const pfn = new Int32Array(2);
  expect(K.put_user(mm, addr, 1, value, pfn)).toBe(0);
  return { k, mm, addr, page: pfn[0]! };
}

const pteAt = (mm: K.MmStruct, addr: number): number => K.walk(mm.pt, addr / PAGE, { idx: 0, entry: 0, order: 0 }).entry;
const flags = (k: K.KernelContext, page: number): number => k.mem.load(K.pw(page, PG.FLAGS));

describe('page_mkclean and clear_page_dirty_for_io', () => {
  it('a written shared file page: the PTE is write-protected and cleaned, the dirt moves to the page and is cleared once', () => {
    const { k, mm, addr, page } = dirtyFilePage(7);
    expect(K.pte_write(pteAt(mm, addr)) && K.pte_dirty(pteAt(mm, addr))).toBe(true);
    const pins: K.MkcleanPinCheck = { checked: false, pinned: false };
    expect(K.clear_page_dirty_for_io(page, pins)).toBe(true);
    const e = pteAt(mm, addr);
    expect(K.pte_present(e) && K.pte_pfn(e) === page).toBe(true);
    expect(K.pte_write(e) || K.pte_dirty(e)).toBe(false);
    expect(pins).toEqual({ checked: true, pinned: false });
    expect(flags(k, page) & PG_dirty).toBe(0);
    // Clean now: nothing to write, no PTE to change, the pin question not asked.
    const again: K.MkcleanPinCheck = { checked: false, pinned: false };
    expect(K.page_mkclean(page, again)).toBe(0);
    expect(K.clear_page_dirty_for_io(page, again)).toBe(false);
    expect(again.checked).toBe(false);
    K.redirty_page_for_writepage(page);
    expect(flags(k, page) & PG_dirty).toBe(PG_dirty);
    expect(K.clear_page_dirty_for_io(page)).toBe(true); // dirty page, clean PTE
  });

  it('a pinned page: page_mkclean reports the pin it finds after write-protecting the PTE', () => {
    const { mm, addr, page } = dirtyFilePage(1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    expect(pages[0]).toBe(page);
    const pins: K.MkcleanPinCheck = { checked: false, pinned: false };
    expect(K.page_mkclean(page, pins)).toBe(1);
    expect(pins).toEqual({ checked: true, pinned: true });
    K.unpin_user_page(page);
  });
});

describe('writepage, the I/O and end_page_writeback', () => {
  it('write_one_page writes the page to the backing store once, then finds it clean', () => {
    const { k, page } = dirtyFilePage(42);
    const backing = K.backing_word(0, 0);
    expect(k.mem.load(backing + 1)).toBe(0);
    expect(K.write_one_page(page)).toBe('written');
    expect(k.mem.load(backing + 1)).toBe(42);
    expect(K.readVmstat(k.mem).nr_written).toBe(1);
    expect(K.PageWriteback(page)).toBe(false);
    expect(K.write_one_page(page)).toBe('clean');
    expect(K.readVmstat(k.mem).nr_written).toBe(1);
  });

  it('->writepage sets PG_writeback once; the I/O can write a snapshot; end_page_writeback clears it', () => {
    const { k, page } = dirtyFilePage(5);
    expect(K.clear_page_dirty_for_io(page)).toBe(true);
    expect(K.writepage(page)).toBe('submitted');
    expect(K.PageWriteback(page)).toBe(true);
    expect(K.set_page_writeback(page)).toBe(false);
    expect(K.write_to_backing(page, [3, 9])).toBe('written');
    expect(k.mem.load(K.backing_word(0, 0))).toBe(3);
    expect(k.mem.load(K.backing_word(0, 0) + 1)).toBe(9);
    K.end_page_writeback(page);
    expect(K.PageWriteback(page)).toBe(false);
    expect(K.set_page_writeback(page)).toBe(true);
    K.end_page_writeback(page);
  });

  it('a page dirtied without buffers: ext4_writepage WARNs and drops it (cc5095747edf)', () => {
    const { k, page } = dirtyFilePage(8);
    expect(K.PagePrivate(page)).toBe(true);
    k.mem.and(K.pw(page, PG.FLAGS), ~PG_private); // reclaim stripped the buffers
    expect(K.PagePrivate(page)).toBe(false);
    expect(K.write_one_page(page)).toBe('fs-dropped');
    expect(K.readWarnings(k.mem).warn['ext4_writepage:!page_has_buffers']).toBe(1);
    expect(K.PageWriteback(page)).toBe(false);
    expect(flags(k, page) & PG_dirty).toBe(0);
    expect(k.mem.load(K.backing_word(0, 0) + 1)).toBe(0);
  });

  it('a page no longer in the page cache at its index is not written', () => {
    const { k, page } = dirtyFilePage(6);
    const slot = K.pagecache_slot(0, 0);
    k.mem.store(slot, 0); // another page (or none) now caches index 0
    expect(K.write_to_backing(page)).toBe('truncated');
    k.mem.store(slot, page + 1);
    const mapping = k.mem.load(K.pw(page, PG.MAPPING));
    k.mem.store(K.pw(page, PG.MAPPING), 0); // truncated: no mapping
    expect(K.write_to_backing(page)).toBe('truncated');
    k.mem.store(K.pw(page, PG.MAPPING), mapping);
    expect(K.readVmstat(k.mem).nr_written).toBe(0);
    expect(K.write_to_backing(page)).toBe('written');
  });
});

describe('rmap_walk', () => {
  it('a file page is found in every mm that maps it; an anon page in its own mm, a forked one in all; false stops the walk', () => {
    const { mm, addr, page } = dirtyFilePage(1);
    const mm1 = K.mm_of(1);
    const addr1 = K.do_mmap(mm1, { length: 2 * PAGE, kind: 'file', file: 0, addr: addr + 4 * PAGE });
    expect(addr1).toBe(addr + 4 * PAGE);
    const seen: string[] = [];
    K.rmap_walk(page, (m, vpn) => void seen.push(`${m.id}:${vpn}`));
    expect(seen).toEqual([`0:${addr / PAGE}`, `1:${addr1 / PAGE}`]);
    seen.length = 0;
    K.rmap_walk(page, (m, vpn) => {
      seen.push(`${m.id}:${vpn}`);
      return false;
    });
    expect(seen).toEqual([`0:${addr / PAGE}`]);
    // Anon: page->mapping = -(mm id + 1), page->index = the vpn.
    const a = K.do_mmap(mm1, { length: PAGE, kind: 'anon' });
    const pfn = new Int32Array(2);
    expect(K.put_user(mm1, a, 0, 3, pfn)).toBe(0);
    const anon = pfn[0]!;
    expect(K.anon_mm_id(K.current.mem.load(K.pw(anon, PG.MAPPING)))).toBe(1);
    seen.length = 0;
    K.rmap_walk(anon, (m, vpn) => void seen.push(`${m.id}:${vpn}`));
    expect(seen).toEqual([`1:${a / PAGE}`]);
    K.current.mem.sub(K.pw(anon, PG.MAPPING), K.ANON_FORKED); // shared with a child by fork
    seen.length = 0;
    K.rmap_walk(anon, (m, vpn) => void seen.push(`${m.id}:${vpn}`));
    expect(seen).toEqual([`1:${a / PAGE}`, `0:${a / PAGE}`]);
    expect(mm.id).toBe(0);
  });
  it('the file walk skips other kinds and files and VMAs whose window misses the index; a forked page of mm 0 is looked for in every mm; a free page in none', () => {
    const { k, mm, addr, page } = dirtyFilePage(1);
    const mm1 = K.mm_of(1);
    expect(K.do_mmap(mm1, { length: 2 * PAGE, kind: 'anon' })).toBeGreaterThan(0);
    const off = K.do_mmap(mm1, { length: 2 * PAGE, kind: 'file', file: 0, offset: 2 * PAGE }); // indices 2, 3
    expect(off).toBeGreaterThan(0);
    const at = K.do_mmap(mm1, { length: 2 * PAGE, kind: 'file', file: 0 }); // indices 0, 1
    const seen: string[] = [];
    K.rmap_walk(page, (m, vpn) => void seen.push(`${m.id}:${vpn}`));
    expect(seen).toEqual([`0:${addr / PAGE}`, `1:${at / PAGE}`]);
    // An anon page of mm 0, shared with a child by fork: its own mm first, then the others.
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const pfn = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 3, pfn)).toBe(0);
    k.mem.sub(K.pw(pfn[0]!, PG.MAPPING), K.ANON_FORKED);
    expect(K.anon_mm_id(k.mem.load(K.pw(pfn[0]!, PG.MAPPING)))).toBe(0);
    expect(K.anon_mm_id(-(1 + 1) - K.ANON_FORKED)).toBe(1);
    seen.length = 0;
    K.rmap_walk(pfn[0]!, (m, vpn) => void seen.push(`${m.id}:${vpn}`));
    expect(seen).toEqual([`0:${a / PAGE}`, `1:${a / PAGE}`]);
    seen.length = 0;
    K.rmap_walk(pfn[0]!, (m) => {
      seen.push(`${m.id}`);
      return false;
    });
    expect(seen).toEqual(['0']);
    const free = K.alloc_pages(ZONE.NORMAL, 0);
    K.put_page(free);
    seen.length = 0;
    K.rmap_walk(free, (m) => void seen.push(`${m.id}`));
    expect(seen).toEqual([]);
  });
});

describe('unmap_mapping_range and truncate_inode_pages_range', () => {
  it('zaps the PTEs of the range in every mm, moves the PTE dirt to the page, drops mapcount and reference', () => {
    const { k, mm, addr, page } = dirtyFilePage(4);
    const mm1 = K.mm_of(1);
    const addr1 = K.do_mmap(mm1, { length: 2 * PAGE, kind: 'file', file: 0 });
    expect(K.get_user(mm1, addr1, 1)).toBe(4);
    expect(k.mem.load(K.pw(page, PG.MAPCOUNT))).toBe(2);
    const ref = K.page_ref_count(page);
    k.mem.and(K.pw(page, PG.FLAGS), ~PG_dirty); // the dirt is in mm 0's PTE only
    expect(K.unmap_mapping_range(0, 1, 2)).toBe(0); // index 1 was never faulted in
    expect(K.unmap_mapping_range(0, 2, 4)).toBe(0); // beyond both VMAs
    expect(K.unmap_mapping_range(0, 0, 1)).toBe(2);
    expect(pteAt(mm, addr)).toBe(0);
    expect(pteAt(mm1, addr1)).toBe(0);
    expect(k.mem.load(K.pw(page, PG.MAPCOUNT))).toBe(0);
    expect(K.page_ref_count(page)).toBe(ref - 2);
    expect(flags(k, page) & PG_dirty).toBe(PG_dirty);
    expect(K.unmap_mapping_range(0, 0, 1)).toBe(0);
  });

  it('removes the cached pages, zeroes the blocks, frees an unpinned page; a pinned one survives as an orphan', () => {
    const { k, mm, addr, page } = dirtyFilePage(9);
    expect(K.write_one_page(page)).toBe('written');
    expect(K.put_user(mm, addr + PAGE, 0, 2, null)).toBe(0);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr + PAGE, 1, K.FOLL_WRITE, pages)).toBe(1);
    const pinned = pages[0]!;
    expect(() => K.truncate_inode_pages_range(1, 0, 1)).toThrow(RangeError);
    expect(K.truncate_inode_pages_range(0, 3, 3)).toBe(0);
    expect(K.truncate_inode_pages_range(0, -5, 99)).toBe(2);
    expect(k.mem.load(K.backing_word(0, 0) + 1)).toBe(0);
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(0);
    expect(k.mem.load(K.pagecache_slot(0, 1))).toBe(0);
    expect(pteAt(mm, addr)).toBe(0);
    expect(K.page_ref_count(page)).toBe(0);
    expect(K.page_ref_count(pinned)).toBe(K.GUP_PIN_COUNTING_BIAS);
    expect(k.mem.load(K.pw(pinned, PG.MAPPING))).toBe(0);
    expect(flags(k, pinned) & (PG_dirty | PG_private)).toBe(0);
    K.unpin_user_page(pinned);
    expect(K.page_ref_count(pinned)).toBe(0);
  });
});

describe('shrink_page', () => {
  it('refuses what it cannot reclaim, frees a clean cached page, keeps or strips a pinned one (d824ec2a1546)', () => {
    const { k, mm, addr, page } = dirtyFilePage(2);
    const keep: K.ShrinkControl = { keepPinnedPrivate: true };
    const strip: K.ShrinkControl = { keepPinnedPrivate: false };
    expect(K.shrink_page(page, keep)).toBe('dirty');
    expect(K.write_one_page(page)).toBe('written');
    expect(K.set_page_writeback(page)).toBe(true);
    expect(K.shrink_page(page, keep)).toBe('writeback');
    K.end_page_writeback(page);
    expect(K.trylock_page(page)).toBe(true);
    expect(K.shrink_page(page, keep)).toBe('locked');
    K.unlock_page(page);
    // Mapped clean, not pinned: the PTE goes, then the page.
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, 0, pages)).toBe(1);
    const ref = K.page_ref_count(page);
    expect(K.shrink_page(page, keep)).toBe('pinned');
    expect(pteAt(mm, addr)).toBe(0);
    expect(K.PagePrivate(page)).toBe(true);
    expect(K.page_ref_count(page)).toBe(ref - 1); // the mapping's reference only
    expect(K.shrink_page(page, strip)).toBe('busy'); // the 4.1 state: buffers gone, still cached
    expect(K.PagePrivate(page)).toBe(false);
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(page + 1);
    K.unpin_user_page(page);
    expect(K.shrink_page(page, keep)).toBe('freed');
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(0);
    expect(K.page_ref_count(page)).toBe(0);
    expect(K.shrink_page(page, keep)).toBe('not-cached');
    // A dirty PTE found by the unmap sends the page back to writeback.
    expect(K.put_user(mm, addr + PAGE, 0, 1, pages)).toBe(0);
    const second = pages[0]!;
    k.mem.and(K.pw(second, PG.FLAGS), ~PG_dirty);
    expect(K.shrink_page(second, keep)).toBe('dirty');
    expect(pteAt(mm, addr + PAGE)).toBe(0);
    expect(K.try_to_release_page(second)).toBe(true);
    expect(K.try_to_release_page(second)).toBe(false);
  });
});

describe('migrate_page', () => {
  it.each(['v5.7', 'v6.3'] as const)('%s: an anon page moves with its data and PTE; a pinned one is -EBUSY at the PTE check (v6.3) or -EAGAIN at the count (v5.7)', (era) => {
    const { k, mm } = dirtyFilePage(0, era);
    const a = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon' });
    const pfn = new Int32Array(2);
    expect(K.put_user(mm, a, 1, 77, pfn)).toBe(0);
    const old = pfn[0]!;
    expect(K.migrate_page(old)).toBe(0);
    const moved = K.pte_pfn(pteAt(mm, a));
    expect(moved).not.toBe(old);
    expect(K.pte_write(pteAt(mm, a))).toBe(true);
    expect(K.get_user(mm, a, 1)).toBe(77);
    expect(K.page_ref_count(old)).toBe(0);
    expect(K.page_ref_count(moved)).toBe(1);
    expect(k.mem.load(K.pw(moved, PG.MAPPING))).toBeLessThan(0);
    expect(K.readVmstat(k.mem).pgmigrate_success).toBe(1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, a, 1, K.FOLL_WRITE, pages)).toBe(1);
    expect(K.migrate_page(moved)).toBe(era === 'v6.3' ? -K.EBUSY : -K.EAGAIN);
    expect(K.pte_pfn(pteAt(mm, a))).toBe(moved); // the PTE is back
    expect(K.page_ref_count(moved)).toBe(1 + K.GUP_PIN_COUNTING_BIAS);
    expect(K.readVmstat(k.mem).pgmigrate_fail).toBe(1);
    K.unpin_user_page(moved);
  });

  it('a page-cache page moves its cache slot; a locked page is -EAGAIN, one under writeback -EBUSY', () => {
    const { k, mm, addr, page } = dirtyFilePage(13);
    expect(K.trylock_page(page)).toBe(true);
    expect(K.migrate_page(page)).toBe(-K.EAGAIN);
    K.unlock_page(page);
    expect(K.set_page_writeback(page)).toBe(true);
    expect(K.migrate_page(page)).toBe(-K.EBUSY);
    K.end_page_writeback(page);
    expect(K.migrate_page(page)).toBe(0);
    const moved = k.mem.load(K.pagecache_slot(0, 0)) - 1;
    expect(moved).not.toBe(page);
    expect(K.pte_pfn(pteAt(mm, addr))).toBe(moved);
    expect(K.page_ref_count(moved)).toBe(2); // the page cache and the mapping
    expect(flags(k, moved) & (PG_dirty | PG_private)).toBe(PG_dirty | PG_private);
    expect(K.page_ref_count(page)).toBe(0);
    expect(K.get_user(mm, addr, 1)).toBe(13);
  });
});

describe('the windows of unmap_mapping_range and truncate_inode_pages_range', () => {
  it('only the pages of the range, in every mapping of the file, whatever the VMA offset; other kinds, files and clean PTEs untouched', () => {
    const { k, mm, addr, page } = dirtyFilePage(1);
    const mm1 = K.mm_of(1);
    const anonAddr = K.do_mmap(mm1, { length: 2 * PAGE, kind: 'anon' });
    expect(K.put_user(mm1, anonAddr + PAGE, 0, 6, null)).toBe(0); // an anon page at "index 1" of no file
    const off = K.do_mmap(mm1, { length: 2 * PAGE, kind: 'file', file: 0, offset: PAGE }); // indices 1, 2
    expect(K.get_user(mm, addr + PAGE, 0)).toBe(0); // index 1 read-faulted in mm 0: a clean PTE
    expect(K.get_user(mm1, off, 0)).toBe(0); // index 1 in mm 1
    expect(K.put_user(mm1, off + PAGE, 0, 5, null)).toBe(0); // index 2 in mm 1, dirty
    const one = K.pte_pfn(pteAt(mm, addr + PAGE));
    expect(flags(k, one) & PG_dirty).toBe(0);
    // Index 1 only: two PTEs (mm 0 at addr+PAGE, mm 1 at off); index 0 and 2 stay mapped.
    expect(K.unmap_mapping_range(0, 1, 2)).toBe(2);
    expect(pteAt(mm, addr + PAGE)).toBe(0);
    expect(pteAt(mm1, off)).toBe(0);
    expect(K.pte_pfn(pteAt(mm, addr))).toBe(page);
    expect(K.pte_present(pteAt(mm1, off + PAGE))).toBe(true);
    expect(K.pte_present(pteAt(mm1, anonAddr + PAGE))).toBe(true);
    expect(flags(k, one) & PG_dirty).toBe(0); // a clean PTE leaves the page clean
    // Truncate [1, 2): index 1's page goes, its blocks are zeroed; index 0 and 2 and their blocks stay.
    for (let i = 0; i < 3; i++) k.mem.fillWords(K.backing_word(0, i), 2, 100 + i);
    expect(() => K.truncate_inode_pages_range(1, 0, 1)).toThrow('truncate: file 1 outside [0, 1)');
    expect(() => K.truncate_inode_pages_range(-1, 0, 1)).toThrow(RangeError);
    expect(K.truncate_inode_pages_range(0, 2, 1)).toBe(0);
    expect(K.truncate_inode_pages_range(0, 1, 2)).toBe(1);
    expect([0, 1, 2].flatMap((i) => [k.mem.load(K.backing_word(0, i)), k.mem.load(K.backing_word(0, i) + 1)])).toEqual([100, 100, 0, 0, 102, 102]);
    expect(k.mem.load(K.pagecache_slot(0, 1))).toBe(0);
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(page + 1);
    expect(k.mem.load(K.pagecache_slot(0, 2))).not.toBe(0);
    expect(K.page_ref_count(one)).toBe(0);
    expect(K.readWarnings(k.mem).warn['truncate_inode_pages_range:writeback timeout']).toBeUndefined();
  });

  it('a page still under writeback: the bounded wait times out with the WARN and the page is removed all the same', () => {
    const { k, page } = dirtyFilePage(3);
    k.stablePageWaitMs = 1;
    expect(K.set_page_writeback(page)).toBe(true);
    expect(K.truncate_inode_pages_range(0, 0, 1)).toBe(1);
    expect(K.readWarnings(k.mem).warn['truncate_inode_pages_range:writeback timeout']).toBe(1);
    expect(k.mem.load(K.pagecache_slot(0, 0))).toBe(0);
    K.end_page_writeback(page);
  });
});

describe('try_to_unmap and shrink_page on what is not theirs', () => {
  it('an anon page is not cached; a page the cache slot no longer names is not either; try_to_unmap leaves a place that maps another page', () => {
    const { k, mm, page } = dirtyFilePage(1);
    const keep: K.ShrinkControl = { keepPinnedPrivate: true };
    const a = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const pfn = new Int32Array(2);
    expect(K.put_user(mm, a, 0, 3, pfn)).toBe(0);
    const anon = pfn[0]!;
    k.mem.and(K.pw(anon, PG.FLAGS), ~PG_dirty);
    expect(K.shrink_page(anon, keep)).toBe('not-cached');
    expect(K.write_one_page(page)).toBe('written');
    k.mem.store(K.pagecache_slot(0, 0), anon + 1);
    expect(K.shrink_page(page, keep)).toBe('not-cached');
    k.mem.store(K.pagecache_slot(0, 0), page + 1);
    // The anon page "forked": mm 1 maps a page of its own at the same address (after a COW).
    const mm1 = K.mm_of(1);
    expect(K.do_mmap(mm1, { length: PAGE, kind: 'anon', addr: a })).toBe(a);
    expect(K.put_user(mm1, a, 0, 4, pfn)).toBe(0);
    const other = pfn[0]!;
    k.mem.sub(K.pw(anon, PG.MAPPING), K.ANON_FORKED);
    K.get_page(anon); // the caller's reference
    K.lock_page(anon);
    expect(K.try_to_unmap(anon)).toBe(1);
    K.unlock_page(anon);
    expect(pteAt(mm, a)).toBe(0);
    expect(K.pte_pfn(pteAt(mm1, a))).toBe(other);
    expect(K.page_ref_count(anon)).toBe(1);
    expect(K.page_ref_count(other)).toBe(1);
    K.put_page(anon);
  });
});

describe('migrate_page of compound pages', () => {
  it.each(['v5.7', 'v6.3'] as const)('%s: a mapped hugetlb page is not moved: -EOPNOTSUPP, or pinned -EBUSY (v6.3 PTE check) / -EAGAIN (v5.7 count); a PTE-mapped large folio is -EBUSY', (era) => {
    const k = K.boot(
      { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 1, huge1gPages: 0, wordsPerPage: 2, nrMms: 1, vaPages: 1 << 12, maxVmas: 4, nrFiles: 1, filePages: 4, nrCpus: 1, folioPools: [{ order: 2, count: 1 }] },
      { era, faults: [] },
    );
    const mm = K.mm_of(0);
    const h = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb', order: 9 });
    expect(h).toBeGreaterThan(0);
    expect(K.put_user(mm, h + 3 * PAGE, 0, 1, null)).toBe(0);
    const leaf = pteAt(mm, h);
    const head = K.compound_head(K.pte_pfn(leaf));
    const ref = K.page_ref_count(head);
    expect(K.migrate_page(head + 3)).toBe(-K.EOPNOTSUPP);
    expect(pteAt(mm, h)).toBe(leaf); // the leaf is back
    expect(K.page_ref_count(head)).toBe(ref);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, h, 1, K.FOLL_WRITE, pages)).toBe(1);
    expect(K.migrate_page(head)).toBe(era === 'v6.3' ? -K.EBUSY : -K.EAGAIN);
    expect(K.readVmstat(k.mem).pgmigrate_fail).toBe(2);
    K.unpin_user_page(pages[0]!);
    expect(K.trylock_page(head)).toBe(true);
    expect(K.migrate_page(head)).toBe(-K.EAGAIN);
    K.unlock_page(head);
    const f = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    expect(K.put_user(mm, f, 0, 1, null)).toBe(0);
    expect(K.migrate_page(K.pte_pfn(pteAt(mm, f)))).toBe(-K.EBUSY);
  });
});

describe('the page cache: filemap_read, generic_perform_write, wait_for_stable_page', () => {
  it('a read brings the page in from the backing store; a write dirties the cached page; a write under writeback waits, bounded, with the WARN', () => {
    const { k, page } = dirtyFilePage(1);
    k.mem.store(K.backing_word(0, 3) + 1, 55);
    const seen: number[] = [];
    expect(K.filemap_read(0, 3, 1, (pfn, v) => void seen.push(pfn, v))).toBe(55);
    const cached = k.mem.load(K.pagecache_slot(0, 3)) - 1;
    expect(seen).toEqual([cached, 55]);
    expect(K.page_ref_count(cached)).toBe(1); // the page cache's reference only
    expect(K.filemap_read(0, 0, 1)).toBe(1); // the cached page, not the backing store
    expect(K.generic_perform_write(0, 3, 0, 9)).toBe(cached);
    expect(k.mem.load(K.page_data(cached))).toBe(9);
    expect(flags(k, cached) & (PG_dirty | PG_private)).toBe(PG_dirty | PG_private);
    k.stablePageWaitMs = 1;
    expect(K.set_page_writeback(page)).toBe(true);
    expect(K.wait_on_page_writeback(page, 1)).toBe(false);
    expect(K.generic_perform_write(0, 0, 0, 4)).toBe(page);
    expect(K.readWarnings(k.mem).warn['wait_for_stable_page:timeout']).toBe(1);
    K.end_page_writeback(page);
    expect(K.wait_on_page_writeback(page, 1)).toBe(true);
    expect(K.PageWriteback(page)).toBe(false);
  });
});
