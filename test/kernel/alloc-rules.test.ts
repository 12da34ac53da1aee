/**
 * The frame allocator's rules (src/kernel/alloc.ts, issue 13), on one thread: which zone or pool
 * a frame comes from, what allocation sets (refcount 1 by an RMW, a new generation, mapping and
 * index cleared, the counters), zones that do not start or end on a bitmap word, the search
 * wrapping past its hint, pools exhausted, and free_unref_page()'s bad_page() BUGs, the DAX
 * driver reference and the flags a free frame keeps. Boot-time compound set-up and nr_allocated().
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ACCESS } from '../../src/mem/mem.js';
import { HDR, PG, PG_dirty, PG_head, PG_hugetlb, PG_locked, PG_tail, STRUCT_PAGE_WORDS, ZONE, type MachineConfig } from '../../src/mem/layout.js';

function machine(config: Partial<MachineConfig> = {}): K.KernelContext {
  return K.boot(
    {
      normalFrames: 40, movableFrames: 40, daxFrames: 3, huge2mPages: 2, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 1, vaPages: 1 << 12, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 1,
      folioPools: [{ order: 1, count: 3 }, { order: 2, count: 2 }, { order: 2, count: 1 }, { order: 5, count: 1 }],
      ...config,
    },
    { era: 'v6.3' },
  );
}

const pg = (k: K.KernelContext, pfn: number, f: number): number => k.mem.load(k.layout.pageOff + pfn * STRUCT_PAGE_WORDS + f);
const setPg = (k: K.KernelContext, pfn: number, f: number, v: number): void => k.mem.store(k.layout.pageOff + pfn * STRUCT_PAGE_WORDS + f, v);
const vm = (k: K.KernelContext) => K.readVmstat(k.mem);
const bugs = (k: K.KernelContext) => K.readWarnings(k.mem).bug;

/** Every frame alloc_pages gives before it returns -1. */
function drain(zone: Parameters<typeof K.alloc_pages>[0], order = 0): number[] {
  const out: number[] = [];
  for (let p = K.alloc_pages(zone, order); p >= 0; p = K.alloc_pages(zone, order)) out.push(p);
  return out;
}

describe('alloc_pages', () => {
  it('an order-0 frame from its zone: refcount 1, a new generation, mapping and index cleared, counted', () => {
    const k = machine();
    const zs = k.layout.zoneStart;
    const first = zs[ZONE.NORMAL]!;
    setPg(k, first, PG.MAPPING, 7);
    setPg(k, first, PG.INDEX, 9);
    setPg(k, first, PG.GEN, 41);
    const gen = k.mem.load(k.layout.headerOff + HDR.ALLOC_GEN);
    const before = vm(k).nr_page_alloc;
    const p = K.alloc_pages(ZONE.NORMAL);
    expect(p).toBe(first);
    expect([pg(k, p, PG.REFCOUNT), pg(k, p, PG.MAPPING), pg(k, p, PG.INDEX), pg(k, p, PG.GEN)]).toEqual([1, 0, 0, 42]);
    expect(k.mem.load(k.layout.headerOff + HDR.ALLOC_GEN)).toBe(gen + 1);
    expect(vm(k).nr_page_alloc).toBe(before + 1);
    expect(K.nr_allocated(k.mem, ZONE.NORMAL)).toBe(1);
    // A movable frame comes from ZONE_MOVABLE, which starts mid-word (normal has 40 frames).
    const mv = K.alloc_pages(ZONE.MOVABLE, 0);
    expect(mv).toBe(zs[ZONE.MOVABLE]!);
    expect(K.page_zonenum(mv)).toBe(ZONE.MOVABLE);
  });

  it('a zone is used up to its last frame, no frame outside it, each once; then -1', () => {
    const k = machine();
    const zs = k.layout.zoneStart;
    // ZONE_MOVABLE first, while ZONE_NORMAL (which shares its first bitmap word) is all free.
    for (const zone of [ZONE.MOVABLE, ZONE.NORMAL] as const) {
      if (zone === ZONE.MOVABLE) expect(zs[zone]! % 32).not.toBe(0);
      const got = drain(zone);
      const want = Array.from({ length: zs[zone + 1]! - zs[zone]! }, (_, i) => zs[zone]! + i);
      expect([...got].sort((a, b) => a - b)).toEqual(want);
      expect(K.nr_allocated(k.mem, zone)).toBe(want.length);
      if (zone === ZONE.MOVABLE) expect(K.nr_allocated(k.mem, ZONE.NORMAL)).toBe(0);
    }
    expect(vm(k).nr_page_alloc).toBe(80);
    // The frames beyond the zones (DAX) were never handed out.
    expect(pg(k, zs[ZONE.DAX]!, PG.REFCOUNT)).toBe(1);
  });

  it('the search wraps past its hint: a frame freed below the last one found is found again', () => {
    // A ZONE_NORMAL of three bitmap words, starting at word 36 and at word 1.
    for (const config of [{ normalFrames: 80 }, { normalFrames: 80, huge2mPages: 0, folioPools: [{ order: 1, count: 1 }] }]) {
      const k = machine(config);
      const zs = k.layout.zoneStart;
      const got = drain(ZONE.NORMAL);
      const [low, mid, high] = [got[3]!, got[40]!, got[got.length - 1]!];
      for (const p of [low, mid, high]) K.put_page(p);
      // The hint is the word of the last frame found (the third word): that free frame comes
      // first, then the search wraps round to the first word, then the second.
      expect([K.alloc_pages(ZONE.NORMAL), K.alloc_pages(ZONE.NORMAL), K.alloc_pages(ZONE.NORMAL)]).toEqual([high, low, mid]);
      expect(K.alloc_pages(ZONE.NORMAL)).toBe(-1);
      expect([low, mid, high]).toEqual([zs[ZONE.NORMAL]! + 3, zs[ZONE.NORMAL]! + 40, zs[ZONE.NORMAL]! + 79]);
    }
  });

  it('one compareExchange claims a free frame; a frame another cpu claims between the load and the exchange is skipped', () => {
    const k = machine();
    const first = k.layout.zoneStart[ZONE.NORMAL]!;
    const word = k.layout.buddyOff + (first >>> 5);
    let rmws = 0;
    let steal = false;
    k.mem.hook = {
      before(kind, index): void {
        if (index !== word || kind !== ACCESS.RMW) return;
        rmws++;
        if (steal) {
          steal = false;
          Atomics.or(k.mem.i32, word, 1 << (first & 31)); // the other cpu's allocation of `first`
        }
      },
    };
    try {
      const a = K.alloc_pages(ZONE.NORMAL);
      expect([a, rmws]).toEqual([first, 1]);
      K.put_page(a);
      rmws = 0;
      steal = true;
      expect(K.alloc_pages(ZONE.NORMAL)).toBe(first + 1);
      expect(rmws).toBe(2); // the failed exchange, then the one that claimed the next frame
    } finally {
      k.mem.hook = null;
    }
    expect(K.nr_allocated(k.mem, ZONE.NORMAL)).toBe(2);
    expect(pg(k, first, PG.REFCOUNT)).toBe(0); // the stolen frame was not initialised by us
  });

  it('a large folio from the first pool of its order with room, aligned; the next pool when it is full; none past the last', () => {
    const k = machine();
    const pools = k.layout.pools;
    expect(pools.map((p) => p.order)).toEqual([1, 2, 2, 5]);
    const o1 = drain(ZONE.NORMAL, 1);
    expect(o1).toEqual([pools[0]!.start, pools[0]!.start + 2, pools[0]!.start + 4]);
    const o2 = drain(ZONE.NORMAL, 2);
    expect(o2).toEqual([pools[1]!.start, pools[1]!.start + 4, pools[2]!.start]);
    const o5 = drain(ZONE.NORMAL, 5);
    expect(o5).toEqual([pools[3]!.start]);
    for (const head of [...o1, ...o2, ...o5]) {
      expect(pg(k, head, PG.REFCOUNT)).toBe(1);
      expect(pg(k, head + 1, PG.REFCOUNT)).toBe(0); // only the head's count is raised
    }
    expect(K.nr_allocated(k.mem, ZONE.FOLIO)).toBe(7);
    expect(K.alloc_pages(ZONE.NORMAL, 3)).toBe(-1); // no order-3 pool
    expect(() => K.alloc_pages(ZONE.NORMAL, 6)).toThrow('alloc_pages: order 6 unsupported');
    expect(() => K.alloc_pages(ZONE.NORMAL, -1)).toThrow('alloc_pages: order -1 unsupported');
    // A freed folio of the first pool is found again before -1, and an order-5 folio (a whole
    // bitmap word) is whole again after its free.
    K.put_page(o2[1]!);
    expect(K.alloc_pages(ZONE.NORMAL, 2)).toBe(o2[1]);
    K.put_page(o5[0]!);
    expect(K.nr_allocated(k.mem, ZONE.FOLIO)).toBe(6);
    expect(K.alloc_pages(ZONE.NORMAL, 5)).toBe(o5[0]);
  });

  it('a folio at pfn 0 (no hugetlb pools before it) is a folio like any other', () => {
    const k = machine({ huge2mPages: 0, folioPools: [{ order: 2, count: 1 }, { order: 2, count: 1 }] });
    expect(k.layout.pools.map((p) => p.start)).toEqual([0, 32]);
    expect(K.alloc_pages(ZONE.NORMAL, 2)).toBe(0);
    expect(K.nr_allocated(k.mem, ZONE.FOLIO)).toBe(1);
    expect(K.alloc_pages(ZONE.NORMAL, 2)).toBe(32);
    expect(K.alloc_pages(ZONE.NORMAL, 2)).toBe(-1);
  });

  it('an empty zone gives -1; a zone of one frame gives it, once', () => {
    const k = machine({ movableFrames: 1 });
    const one = k.layout.zoneStart[ZONE.MOVABLE]!;
    expect(drain(ZONE.MOVABLE)).toEqual([one]);
    machine({ movableFrames: 0 });
    expect(K.alloc_pages(ZONE.MOVABLE)).toBe(-1);
  });

  it('hugetlb pages: order 9 from the 2 MB pool, order 18 from the 1 GB pool, each head once', () => {
    const k = machine({ huge1gPages: 1 });
    const zs = k.layout.zoneStart;
    expect(drain(ZONE.NORMAL, 9)).toEqual([zs[ZONE.HUGE_2M]!, zs[ZONE.HUGE_2M]! + 512]);
    expect(drain(ZONE.NORMAL, 18)).toEqual([zs[ZONE.HUGE_1G]!]);
    expect(K.nr_allocated(k.mem, ZONE.HUGE_2M)).toBe(2);
    expect(K.nr_allocated(k.mem, ZONE.HUGE_1G)).toBe(1);
    expect(pg(k, zs[ZONE.HUGE_2M]!, PG.REFCOUNT)).toBe(1);
    K.put_page(zs[ZONE.HUGE_2M]! + 512);
    expect(K.nr_allocated(k.mem, ZONE.HUGE_2M)).toBe(1);
    expect(K.alloc_pages(ZONE.NORMAL, 9)).toBe(zs[ZONE.HUGE_2M]! + 512);
  });
});

describe('free_unref_page', () => {
  it('clears every flag but the compound ones and the mapping, frees the bitmap bits, counts the free', () => {
    const k = machine();
    const p = K.alloc_pages(ZONE.NORMAL);
    k.mem.or(k.layout.pageOff + p * STRUCT_PAGE_WORDS + PG.FLAGS, PG_dirty | PG_locked);
    setPg(k, p, PG.MAPPING, 3);
    const freed = vm(k).nr_page_free;
    K.put_page(p);
    expect([pg(k, p, PG.FLAGS), pg(k, p, PG.MAPPING), pg(k, p, PG.REFCOUNT)]).toEqual([0, 0, 0]);
    expect(vm(k).nr_page_free).toBe(freed + 1);
    expect(K.nr_allocated(k.mem, ZONE.NORMAL)).toBe(0);
    const head = K.alloc_pages(ZONE.NORMAL, 2);
    k.mem.or(k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.FLAGS, PG_dirty);
    K.put_page(head);
    expect(pg(k, head, PG.FLAGS)).toBe(PG_head);
    expect(pg(k, head + 1, PG.FLAGS)).toBe(PG_tail);
    const huge = K.alloc_pages(ZONE.NORMAL, 9);
    K.put_page(huge);
    expect(pg(k, huge, PG.FLAGS)).toBe(PG_head | PG_hugetlb);
    expect(K.nr_allocated(k.mem, ZONE.HUGE_2M)).toBe(0);
    expect(vm(k).nr_page_free).toBe(freed + 3);
  });

  it('a DAX page goes back to its driver\'s idle reference, never to the bitmap, not counted as freed', () => {
    const k = machine();
    const dax = k.layout.zoneStart[ZONE.DAX]!;
    const word = k.mem.load(k.layout.buddyOff + (dax >>> 5));
    const freed = vm(k).nr_page_free;
    K.get_page(dax);
    K.put_page(dax); // 2 → 1: not the last
    k.mem.sub(k.layout.pageOff + dax * STRUCT_PAGE_WORDS + PG.REFCOUNT, 1);
    K.free_unref_page(dax);
    expect(pg(k, dax, PG.REFCOUNT)).toBe(1);
    expect(k.mem.load(k.layout.buddyOff + (dax >>> 5))).toBe(word);
    expect(vm(k).nr_page_free).toBe(freed);
    expect(bugs(k)).toEqual({});
  });

  it('bad_page(): a pincount left on page[1] or page[2], a mapped subpage, a double free are BUGs', () => {
    const k = machine();
    const o2 = K.alloc_pages(ZONE.NORMAL, 2);
    setPg(k, o2, PG.REFCOUNT, 0);
    setPg(k, o2 + 2, PG.PINCOUNT, 1);
    expect(() => K.free_unref_page(o2)).toThrow('kernel BUG at free_pages:nonzero pincount: pfn ' + o2 + ' pincount 1');
    setPg(k, o2 + 2, PG.PINCOUNT, 0);
    setPg(k, o2 + 1, PG.PINCOUNT, 2);
    expect(() => K.free_unref_page(o2)).toThrow('pincount 2');
    setPg(k, o2 + 1, PG.PINCOUNT, 0);
    // An order-1 folio has no page[2]: its neighbour's word (the next folio's head) is not looked at.
    const o1 = K.alloc_pages(ZONE.NORMAL, 1);
    setPg(k, o1 + 2, PG.PINCOUNT, 5);
    setPg(k, o1, PG.REFCOUNT, 0);
    K.free_unref_page(o1);
    setPg(k, o1 + 2, PG.PINCOUNT, 0);
    expect(bugs(k)['free_pages:nonzero pincount']).toBe(2);
    // Any subpage of a PTE-mapped folio still mapped; only the head of a hugetlb page is looked at.
    setPg(k, o2 + 3, PG.MAPCOUNT, 1);
    expect(() => K.free_unref_page(o2)).toThrow(`pfn ${o2 + 3} freed while mapped (mapcount 1)`);
    setPg(k, o2 + 3, PG.MAPCOUNT, 0);
    const big = K.alloc_pages(ZONE.NORMAL, 5); // the largest PTE-mapped folio: every subpage too
    setPg(k, big + 31, PG.MAPCOUNT, 2);
    setPg(k, big, PG.REFCOUNT, 0);
    expect(() => K.free_unref_page(big)).toThrow(`pfn ${big + 31} freed while mapped (mapcount 2)`);
    setPg(k, big + 31, PG.MAPCOUNT, 0);
    K.free_unref_page(big);
    const huge = K.alloc_pages(ZONE.NORMAL, 9);
    setPg(k, huge + 1, PG.MAPCOUNT, 1); // a tail's word: not a hugetlb mapcount
    setPg(k, huge, PG.REFCOUNT, 0);
    K.free_unref_page(huge);
    setPg(k, huge, PG.MAPCOUNT, 1);
    expect(() => K.free_unref_page(huge)).toThrow(`pfn ${huge} freed while mapped`);
    setPg(k, huge, PG.MAPCOUNT, 0);
    expect(bugs(k)['free_pages:refcount']).toBe(3);
    // The folio freed once is freed; a second free finds its bits clear.
    K.free_unref_page(o2);
    expect(() => K.free_unref_page(o2)).toThrow(`kernel BUG at free_pages:double free: pfn ${o2} order 2`);
    const o5 = K.alloc_pages(ZONE.NORMAL, 5); // the whole bitmap word
    expect(o5).toBe(big);
    K.put_page(o5);
    expect(() => K.free_unref_page(o5)).toThrow('double free');
    expect(() => K.free_unref_page(huge)).toThrow('double free');
    const small = K.alloc_pages(ZONE.NORMAL);
    K.put_page(small);
    expect(() => K.free_unref_page(small)).toThrow('double free');
    expect(bugs(k)['free_pages:double free']).toBe(4);
    // Freeing one frame clears its bit only, not its neighbour's.
    const a = K.alloc_pages(ZONE.NORMAL);
    const b = K.alloc_pages(ZONE.NORMAL);
    expect(b).toBe(a + 1);
    K.put_page(a);
    expect(K.nr_allocated(k.mem, ZONE.NORMAL)).toBe(1);
  });
});

describe('setup_machine and clear_page', () => {
  it('pools and hugetlb pages are compound at boot (head order and flags, tails point at head + 1); DAX frames hold one reference', () => {
    const k = machine();
    const zs = k.layout.zoneStart;
    const h = zs[ZONE.HUGE_2M]!;
    for (const head of [h, h + 512]) {
      expect([pg(k, head, PG.COMPOUND_ORDER), pg(k, head, PG.FLAGS), pg(k, head, PG.COMPOUND_HEAD)]).toEqual([9, PG_head | PG_hugetlb, 0]);
      for (const t of [1, 255, 511]) expect([pg(k, head + t, PG.COMPOUND_HEAD), pg(k, head + t, PG.FLAGS)]).toEqual([head + 1, PG_tail | PG_hugetlb]);
    }
    for (const p of k.layout.pools) {
      for (let head = p.start; head < p.end; head += 1 << p.order) {
        expect([pg(k, head, PG.COMPOUND_ORDER), pg(k, head, PG.FLAGS)]).toEqual([p.order, PG_head]);
        for (let t = 1; t < 1 << p.order; t++) expect([pg(k, head + t, PG.COMPOUND_HEAD), pg(k, head + t, PG.FLAGS)]).toEqual([head + 1, PG_tail]);
      }
      expect(pg(k, p.end, PG.COMPOUND_HEAD)).toBe(0); // the padding after a pool is no tail
    }
    for (let pfn = zs[ZONE.DAX]!; pfn < zs[ZONE.DAX + 1]!; pfn++) expect(pg(k, pfn, PG.REFCOUNT)).toBe(1);
    expect([pg(k, zs[ZONE.NORMAL]!, PG.REFCOUNT), pg(k, zs[ZONE.NORMAL]!, PG.FLAGS), pg(k, zs[ZONE.DAX]! - 1, PG.REFCOUNT)]).toEqual([0, 0, 0]);
    expect(K.nr_allocated(k.mem, ZONE.DAX)).toBe(0);
  });

  it('clear_page zeroes every word of the nr pages from head, and nothing after them', () => {
    const k = machine();
    const wpp = k.layout.config.wordsPerPage;
    const head = K.alloc_pages(ZONE.NORMAL, 2);
    const data = k.layout.dataOff + head * wpp;
    for (let i = 0; i < 5 * wpp; i++) k.mem.store(data + i, i + 1);
    K.clear_page(head, 4);
    expect(Array.from({ length: 5 * wpp }, (_, i) => k.mem.load(data + i))).toEqual([...new Array(4 * wpp).fill(0), ...Array.from({ length: wpp }, (_, i) => 4 * wpp + i + 1)]);
    K.clear_page(head + 4);
    expect(k.mem.load(data + 4 * wpp)).toBe(0);
  });
});
