/**
 * The writeback rules on the coordinator's side, on the test's own thread (issue 13: the mutation
 * run sees no mutant executed in a worker): page_mkclean() write-protects and cleans every PTE of
 * a page and asks page_maybe_dma_pinned() after it; clear_page_dirty_for_io() moves the PTE dirt
 * to the page and test-and-clears it; ->writepage refuses a page without buffers (cc5095747edf);
 * the I/O writes the page, or a snapshot, to the backing store unless the page was truncated.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { PG, PG_dirty, PG_private } from '../../src/mem/layout.js';

const PAGE = 4096;

/** A booted v6.18 machine with file 0 mapped shared at the returned address, its page 0 written. */
function dirtyFilePage(value: number): { k: K.KernelContext; mm: K.MmStruct; addr: number; page: number } {
  const k = K.boot(
    { normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 2, nrMms: 2, vaPages: 1 << 10, maxVmas: 4, nrFiles: 1, filePages: 4, nrCpus: 1 },
    { era: 'v6.18', faults: [] },
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
