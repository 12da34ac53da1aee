/**
 * The page cache's rules on the test's own thread (issue 13): where a (file, index) lives in the
 * page cache and the backing store; find_get_page()'s re-check of the slot after the speculative
 * reference (folio_try_get + xas_reload, v6.3/mm/filemap.c:2385-2388) and its sleep past a frozen
 * page; find_or_create_page() at pfn 0 and without a frame (-ENOMEM); the bounded
 * wait_on_page_writeback(); generic_perform_write()'s re-check after lock_page (a page truncated
 * meanwhile is dropped and looked up again, v6.3/mm/filemap.c:3926). The other thread (truncation,
 * migration, the end of the I/O) is run by an access hook (test/kernel/hook-at.ts) or by the
 * `Mem.wait` the kernel code sleeps in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { PG, PG_writeback, ZONE } from '../../src/mem/layout.js';
import { ACCESS, at, hookAt } from './hook-at.js';

/** A machine with two files of four pages, eight small frames and nothing else (pfn 0 is the first frame). */
function machine(): K.KernelContext {
  return K.boot(
    { normalFrames: 8, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 2, nrMms: 1, vaPages: 1 << 10, maxVmas: 4, nrFiles: 2, filePages: 4, nrCpus: 1 },
    { era: 'v6.18', faults: [] },
  );
}

/** The calls the kernel made to `k.mem.wait`, which `onWait` answers instead of sleeping. */
function patchWait(k: K.KernelContext, onWait: (n: number, i: number, v: number, ms: number) => void): { i: number; v: number; ms: number }[] {
  const calls: { i: number; v: number; ms: number }[] = [];
  k.mem.wait = (i: number, v: number, ms: number): 'ok' | 'not-equal' | 'timed-out' => {
    calls.push({ i, v, ms });
    onWait(calls.length, i, v, ms);
    return 'timed-out';
  };
  return calls;
}

const ref = (page: number): number => K.page_ref_count(page);
const slotOf = (k: K.KernelContext, file: number, index: number): number => k.mem.load(K.pagecache_slot(file, index));

afterEach(() => {
  if (K.current !== undefined) K.current.mem.hook = null;
});

describe('where a file page lives', () => {
  it('the page-cache slot and the backing block of (file, index) follow the layout: file-major, filePages per file, wordsPerPage per block', () => {
    const k = machine();
    const l = k.layout;
    expect(K.pagecache_slot(1, 2)).toBe(l.pageCacheOff + 1 * 4 + 2);
    expect(K.pagecache_slot(0, 3)).toBe(l.pageCacheOff + 3);
    expect(K.backing_word(1, 2)).toBe(l.backingOff + (1 * 4 + 2) * 2);
    expect(K.backing_word(0, 1)).toBe(l.backingOff + 2);
    expect(K.page_data(3)).toBe(l.dataOff + 3 * 2);
    // A read of file 1 page 2 word 1 comes from that block and lands in that slot.
    k.mem.store(l.backingOff + 6 * 2 + 1, 41);
    expect(K.filemap_read(1, 2, 1)).toBe(41);
    expect(k.mem.load(l.pageCacheOff + 6)).toBeGreaterThan(0);
    expect(slotOf(k, 0, 2)).toBe(0);
    expect(slotOf(k, 1, 1)).toBe(0);
  });

  it('a cached page at pfn 0 is found (slot value 1); a write lands in the word asked for', () => {
    const k = machine();
    expect(K.filemap_read(0, 0, 0)).toBe(0);
    expect(slotOf(k, 0, 0)).toBe(1); // pfn 0 + 1
    expect(ref(0)).toBe(1);
    expect(K.find_or_create_page(0, 0)).toBe(0);
    expect(ref(0)).toBe(2);
    K.put_page(0);
    expect(K.generic_perform_write(0, 0, 1, 17)).toBe(0);
    expect(k.mem.load(K.page_data(0) + 1)).toBe(17);
    expect(k.mem.load(K.page_data(0))).toBe(0);
    expect(K.filemap_read(0, 0, 1)).toBe(17);
  });

  it('without a free frame a read or a write of an uncached page is -ENOMEM, nothing inserted, the callback not called', () => {
    const k = machine();
    while (K.alloc_pages(ZONE.NORMAL, 0) >= 0);
    const seen: number[] = [];
    expect(K.filemap_read(0, 1, 0, (p, v) => void seen.push(p, v))).toBe(-K.ENOMEM);
    expect(K.find_or_create_page(0, 1)).toBe(-K.ENOMEM);
    expect(K.generic_perform_write(0, 1, 0, 5)).toBe(-K.ENOMEM);
    expect(seen).toEqual([]);
    expect(slotOf(k, 0, 1)).toBe(0);
  });
});

describe('find_get_page against another thread', () => {
  it('the page is truncated between the speculative reference and the re-check: the reference is dropped, -1', () => {
    const k = machine();
    K.filemap_read(0, 0, 0);
    const page = slotOf(k, 0, 0) - 1;
    const h = hookAt(k.mem, at(K.pw(page, PG.REFCOUNT), ACCESS.RMW), () => {
      k.mem.cas(K.pagecache_slot(0, 0), page + 1, 0); // truncation deletes it from the cache
    });
    expect(K.find_get_page(0, 0)).toBe(-1);
    expect(h.fired()).toBe(true);
    expect(ref(page)).toBe(1); // the cache's reference only: ours was put back
  });

  it('the page is migrated between the reference and the re-check: the new page is looked up and returned', () => {
    const k = machine();
    K.filemap_read(0, 0, 0);
    const page = slotOf(k, 0, 0) - 1;
    const other = K.alloc_pages(ZONE.NORMAL, 0);
    hookAt(k.mem, at(K.pw(page, PG.REFCOUNT), ACCESS.RMW), () => {
      k.mem.store(K.pagecache_slot(0, 0), other + 1); // the slot now names the new page
    });
    expect(K.find_get_page(0, 0)).toBe(other);
    expect(ref(other)).toBe(2);
    expect(ref(page)).toBe(1);
  });

  it('a frozen page: 65 tries spin, then each try sleeps on the slot (1 ms) until the freeze ends', () => {
    const k = machine();
    K.filemap_read(0, 0, 0);
    const page = slotOf(k, 0, 0) - 1;
    const slot = K.pagecache_slot(0, 0);
    expect(K.page_ref_freeze(page, 1)).toBe(true);
    let loads = 0;
    let unfrozen = false;
    const unfreeze = (): void => {
      if (!unfrozen) K.page_ref_unfreeze(page, 1);
      unfrozen = true;
    };
    k.mem.hook = {
      before(kind, i) {
        if (kind === ACCESS.LOAD && i === slot && ++loads === 1000) unfreeze(); // a bound, should the sleep never come
      },
    };
    const firstSleepAfter: number[] = [];
    const calls = patchWait(k, (n) => {
      firstSleepAfter.push(loads);
      if (n === 3) unfreeze();
    });
    expect(K.find_get_page(0, 0)).toBe(page);
    k.mem.hook = null;
    expect(calls).toEqual([1, 2, 3].map(() => ({ i: slot, v: page + 1, ms: 1 })));
    expect(firstSleepAfter).toEqual([66, 67, 68]);
    expect(ref(page)).toBe(2);
  });
});

describe('wait_on_page_writeback and wait_for_stable_page', () => {
  it('no writeback: true at once, no sleep; writeback that ends on the second sleep: true, each sleep at most 5 ms on the flags word', () => {
    const k = machine();
    K.filemap_read(0, 0, 0);
    const page = slotOf(k, 0, 0) - 1;
    const calls = patchWait(k, (n) => {
      if (n === 2) K.end_page_writeback(page); // the I/O completes on another cpu
    });
    expect(K.wait_on_page_writeback(page, 1000)).toBe(true);
    expect(calls).toEqual([]);
    expect(K.set_page_writeback(page)).toBe(true);
    const flags = k.mem.load(K.pw(page, PG.FLAGS));
    expect(K.wait_on_page_writeback(page, 1000)).toBe(true);
    expect(calls.length).toBe(2);
    expect(calls[0]!.i).toBe(K.pw(page, PG.FLAGS));
    expect(calls[0]!.v).toBe(flags);
    for (const c of calls) expect(c.ms > 0 && c.ms <= 5).toBe(true);
    expect(K.PageWriteback(page)).toBe(false);
  });

  it('writeback that never ends: false after the timeout; wait_for_stable_page WARNs once and goes on', () => {
    const k = machine();
    K.filemap_read(0, 0, 0);
    const page = slotOf(k, 0, 0) - 1;
    const calls = patchWait(k, () => {});
    expect(K.set_page_writeback(page)).toBe(true);
    expect(K.wait_on_page_writeback(page, 2)).toBe(false);
    expect(calls.length).toBeGreaterThan(0);
    expect(k.mem.load(K.pw(page, PG.FLAGS)) & PG_writeback).toBe(PG_writeback);
    k.stablePageWaitMs = 2;
    K.wait_for_stable_page(page);
    expect(K.readWarnings(k.mem).warn['wait_for_stable_page:timeout']).toBe(1);
    K.end_page_writeback(page);
    K.wait_for_stable_page(page);
    expect(K.readWarnings(k.mem).warn['wait_for_stable_page:timeout']).toBe(1);
  });
});

describe('generic_perform_write against truncation', () => {
  it('the page is truncated before write_begin locks it: it is dropped and a fresh page is read in and written', () => {
    // (Another reference, a pin's, keeps the old frame, so the fresh page is another frame.)
    const k = machine();
    k.mem.store(K.backing_word(0, 0), 3);
    K.filemap_read(0, 0, 0);
    const page = slotOf(k, 0, 0) - 1;
    const h = hookAt(k.mem, at(K.pw(page, PG.FLAGS), ACCESS.RMW), () => {
      // truncate_inode_pages_range on another thread: out of the cache, the cache's reference put.
      k.mem.cas(K.pagecache_slot(0, 0), page + 1, 0);
      k.mem.store(K.pw(page, PG.MAPPING), 0);
      K.get_page(page); // the pin's
      K.put_page(page);
    });
    const wrote = K.generic_perform_write(0, 0, 1, 8);
    expect(h.fired()).toBe(true);
    expect(wrote).not.toBe(page);
    expect(slotOf(k, 0, 0)).toBe(wrote + 1);
    expect(k.mem.load(K.page_data(wrote))).toBe(3);
    expect(k.mem.load(K.page_data(wrote) + 1)).toBe(8);
    expect(K.PageDirty(wrote)).toBe(true);
    expect(ref(page)).toBe(1); // the pin's reference: ours was put
    expect(K.PageDirty(page)).toBe(false);
    expect(k.mem.load(K.page_data(page) + 1)).toBe(0);
    expect(K.trylock_page(page)).toBe(true); // left unlocked
  });
});
