/**
 * The end-of-run oracles' own tests (issue 13): O2 conservation (checkConservation, checkNoLeaks)
 * and O3 lost writes (checkLostWrites) each fire on a hand-built violating state and stay silent on
 * the nearest legal one. One small machine per test, on the test's thread.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { PAGE, pfnAt, populate } from './mm-helpers.js';
import { type ActorSpec } from '../../src/clients/types.js';
import { PG, ZONE } from '../../src/mem/layout.js';
import { bugSiteName, checkConservation, checkLostWrites, checkNoLeaks, expectedRefcounts, zoneName } from '../../src/oracle/final.js';
import { GHOST_PIN, Lab, ORACLE, VIOLATION_KIND } from '../../src/oracle/lab.js';


function machine(): K.KernelContext {
  return K.boot(
    {
      normalFrames: 64, movableFrames: 0, daxFrames: 4, huge2mPages: 1, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 1, vaPages: 1 << 12, maxVmas: 8, nrFiles: 1, filePages: 4, nrCpus: 1, folioPools: [{ order: 2, count: 2 }],
    },
    { era: 'v6.3' },
  );
}

function lab(k: K.KernelContext): Lab {
  return Lab.create({
    nrActors: 2, ledgerSlots: 4, ringEntries: 4, totalFrames: k.layout.totalFrames, nrFiles: 1, filePages: 4, odpPages: 1, nrMms: 1, vaPages: 1 << 12,
  });
}



/** A machine with an anon page, a large folio, a hugetlb page, a file page and a DAX page mapped. */
function world() {
  const k = machine();
  const mm = K.mm_of(0);
  const anon = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon' });
  const folio = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
  const huge = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb' });
  const file = K.do_mmap(mm, { length: 2 * PAGE, kind: 'file', file: 0 });
  const dax = K.do_mmap(mm, { length: PAGE, kind: 'dax', file: 0 });
  populate(mm, anon, 1); // the second anon page stays unmapped
  populate(mm, folio, 4);
  populate(mm, huge, 512);
  populate(mm, file, 1);
  populate(mm, dax, 1);
  return { k, mm, l: lab(k), anon: pfnAt(mm, anon), folio: K.compound_head(pfnAt(mm, folio)), huge: K.compound_head(pfnAt(mm, huge)), file: pfnAt(mm, file), dax: pfnAt(mm, dax) };
}

const found = (l: Lab) => l.violations().map((v) => ({ oracle: v.oracle, kind: v.kind, page: v.page, b: v.b, c: v.c }));
const spec = (over: Partial<ActorSpec>): ActorSpec => ({ actor: 0, mapping: 'anon', file: 0, offset: 0, pages: 1, dataWord: 0, ...over }) as ActorSpec;

describe('O2 expectedRefcounts', () => {
  it('counts one reference per PTE, one per huge mapping, one per page-cache slot, none for DAX', () => {
    const w = world();
    const e = expectedRefcounts([w.mm]);
    expect(e.get(w.anon)).toBe(1);
    expect(e.get(w.folio)).toBe(4);
    expect(e.get(w.huge)).toBe(1);
    expect(e.get(w.file)).toBe(2); // the mapping and the page cache
    expect(e.has(w.dax)).toBe(false);
    expect(e.size).toBe(4);
    for (const [head, n] of e) expect(K.page_ref_count(head), `pfn ${head}`).toBe(n);
  });
});

describe('O2 checkConservation', () => {
  it('is silent on a balanced machine and says it can be torn down', () => {
    const w = world();
    expect(checkConservation(w.l, [w.mm], [spec({ actor: 0 })])).toBe(true);
    expect(w.l.violations()).toEqual([]);
  });

  it('a refcount off by one: REFCOUNT, and the machine is not trusted', () => {
    const w = world();
    K.get_page(w.folio + 1);
    expect(checkConservation(w.l, [w.mm], [])).toBe(false);
    expect(found(w.l)).toEqual([{ oracle: ORACLE.O2, kind: VIOLATION_KIND.REFCOUNT, page: w.folio, b: 5, c: 4 }]);
  });

  it('a ghost pin left over: REFCOUNT, but the refcounts can still be trusted', () => {
    const w = world();
    w.l.add(w.l.ghostIndex(w.anon), GHOST_PIN);
    expect(checkConservation(w.l, [w.mm], [])).toBe(true);
    const v = w.l.violations();
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ oracle: ORACLE.O2, kind: VIOLATION_KIND.REFCOUNT, page: w.anon, b: 1, c: 1, d: 1 });
  });

  it('a ledger entry of a live actor left: LEAK naming the actor and slot', () => {
    const w = world();
    w.l.store(w.l.ledgerIndex(1, 3), w.anon + 1);
    expect(checkConservation(w.l, [w.mm], [spec({ actor: 0 })])).toBe(true);
    expect(w.l.violations()).toEqual([]); // actor 1 is not live: not checked
    expect(checkConservation(w.l, [w.mm], [spec({ actor: 1 })])).toBe(true);
    expect(w.l.violations()[0]).toMatchObject({ oracle: ORACLE.O2, actor: 1, page: w.anon, kind: VIOLATION_KIND.LEAK, b: 1, c: 3 });
  });

  it('pin counters unbalanced: COUNTERS', () => {
    const w = world();
    w.k.vmstatAdd(K.VMSTAT.nr_foll_pin_acquired, 3);
    w.k.vmstatAdd(K.VMSTAT.nr_foll_pin_released, 2);
    expect(checkConservation(w.l, [w.mm], [])).toBe(true);
    expect(found(w.l)).toEqual([{ oracle: ORACLE.O2, kind: VIOLATION_KIND.COUNTERS, page: -1, b: 3, c: 2 }]);
  });

  it('a BUG hit: BUG with its site, and the machine is not trusted', () => {
    const w = world();
    expect(() => w.k.BUG('gup_put:pincount underflow', 'test')).toThrow(K.KernelBug);
    expect(checkConservation(w.l, [w.mm], [])).toBe(false);
    const v = w.l.violations();
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ oracle: ORACLE.O2, kind: VIOLATION_KIND.BUG, b: 1 });
    expect(bugSiteName(v[0]!.e)).toBe('gup_put:pincount underflow');
    expect(bugSiteName(999)).toBe('bug#999');
  });

  it('a KASAN report and overflow WARNs: KASAN_USE_AFTER_FREE and REFCOUNT_OVERFLOW with their counts', () => {
    const w = world();
    w.k.WARN_ON_ONCE(true, 'kasan: use-after-free');
    w.k.WARN_ON_ONCE(true, 'try_get_compound_head:refcount<0');
    w.k.WARN_ON_ONCE(true, 'try_get_page:refcount<=0');
    w.k.WARN_ON_ONCE(true, 'try_get_page:refcount<=0');
    w.k.WARN_ON_ONCE(true, 'page_ref_unfreeze:nonzero'); // any other WARN is not O2's
    expect(checkConservation(w.l, [w.mm], [])).toBe(true);
    expect(found(w.l)).toEqual([
      { oracle: ORACLE.O2, kind: VIOLATION_KIND.KASAN_USE_AFTER_FREE, page: -1, b: 1, c: 0 },
      { oracle: ORACLE.O2, kind: VIOLATION_KIND.REFCOUNT_OVERFLOW, page: -1, b: 3, c: 0 },
    ]);
  });
});

describe('O2 checkNoLeaks', () => {
  it('is silent once everything is unmapped and the page cache dropped; DAX frames do not count', () => {
    const w = world();
    expect(K.readVmstat(w.k.mem).nr_page_alloc).toBeGreaterThan(0);
    K.exit_mmap(w.mm);
    expect(K.truncate_inode_pages_range(0, 0, 4)).toBeGreaterThanOrEqual(0);
    checkNoLeaks(w.l);
    expect(w.l.violations()).toEqual([]);
  });

  it('a frame still allocated: LEAK with the count and the zone', () => {
    const w = world();
    K.get_page(w.anon);
    K.exit_mmap(w.mm);
    K.truncate_inode_pages_range(0, 0, 4);
    checkNoLeaks(w.l);
    expect(found(w.l)).toEqual([{ oracle: ORACLE.O2, kind: VIOLATION_KIND.LEAK, page: -1, b: 1, c: ZONE.NORMAL }]);
    expect(zoneName(ZONE.NORMAL)).toBe('Normal');
    expect(zoneName(42)).toBe('42');
  });
});

describe('O3 checkLostWrites', () => {
  function writer(l: Lab, actor: number, index: number, value: number): void {
    const fi = l.fileIndex(0, index);
    l.store(l.actorBase(actor) + l.layout.lastWriteOff + fi, value);
  }

  it('fires when the last DMA write of a file page is not on the backing store', () => {
    const w = world();
    writer(w.l, 0, 1, 77);
    w.k.mem.store(K.backing_word(0, 1) + 1, 76);
    expect(checkLostWrites(w.l, [spec({ actor: 0, mapping: 'file', offset: 0, pages: 2, dataWord: 1 })])).toBe(1);
    expect(w.l.violations()[0]).toMatchObject({ oracle: ORACLE.O3, actor: 0, kind: VIOLATION_KIND.LOST_WRITE, b: 0, c: 1, d: 77, e: 76 });
  });

  it('is silent when the write reached the disk, when nothing was written, on a truncated page and for anon writers', () => {
    const w = world();
    writer(w.l, 0, 0, 5);
    w.k.mem.store(K.backing_word(0, 0) + 1, 5);
    writer(w.l, 1, 2, 9); // truncated since: its epoch is behind the page's
    w.l.add(w.l.layout.truncEpochOff + w.l.fileIndex(0, 2), 1);
    writer(w.l, 1, 3, 4); // an anon writer's table is not O3's business
    const checked = checkLostWrites(w.l, [
      spec({ actor: 0, mapping: 'file', offset: 0, pages: 2, dataWord: 1 }),
      spec({ actor: 1, mapping: 'file', offset: 2, pages: 1, dataWord: 1 }),
      spec({ actor: 1, mapping: 'anon', offset: 3, pages: 1, dataWord: 1 }),
    ]);
    expect(checked).toBe(1);
    expect(w.l.violations()).toEqual([]);
    // The same write on the wrong data word is lost.
    expect(checkLostWrites(w.l, [spec({ actor: 0, mapping: 'file', offset: 0, pages: 1, dataWord: 0 })])).toBe(1);
    expect(w.l.violations()).toHaveLength(1);
    expect(w.k.mem.load(K.pw(w.anon, PG.REFCOUNT))).toBe(1);
  });
});
