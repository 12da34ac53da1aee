/**
 * The mm side of each era, single-threaded (the test is the client and the coordinator), written
 * from the trees in ../shared/reference/kernel-src/:
 *  - reclaim of a pinned clean page-cache page: kept with its buffers from v6.3 (d824ec2a1546:
 *    v6.3/mm/vmscan.c:1921, v6.18/mm/vmscan.c:1407); in v5.7 (v5.7/mm/vmscan.c:1301-1393) and the
 *    2019 postings (v5.6/mm/vmscan.c:1302-1394) the buffers are stripped and the freeze fails;
 *  - mainline writeback never asks about pins (page_vma_mkclean_one: v6.18/mm/rmap.c:1006,
 *    v6.3/mm/rmap.c:937; page_mkclean_one: v5.7/mm/rmap.c:897);
 *  - migration: from v6.3 try_to_migrate_one asks about pins of an anon page
 *    (v6.3/mm/rmap.c:2058, v6.18/mm/rmap.c:2525); v5.7 has no such check (v5.7/mm/rmap.c:1362) and
 *    a pin fails the refcount compare (v5.7/mm/migrate.c:412); an anon page's count is compared,
 *    never frozen (v6.3/mm/migrate.c:419-422), a page-cache page's frozen (v6.3/mm/migrate.c:437);
 *  - stable pages: a page changing under writeback is an O3 violation only on a stable-writes
 *    device or under a policy that promised stable pinned pages.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ACCESS } from '../../src/mem/mem.js';
import { ERAS, type Era, PG, PG_private } from '../../src/mem/layout.js';
import { GHOST_PIN, GHOST_UNPIN, Lab, ORACLE, VIOLATION_KIND } from '../../src/oracle/lab.js';
import { installPinCheckOracle, type PinCheckOracle } from '../../src/oracle/o1.js';
import { MmOps } from '../../src/coordinator/mmops.js';
import { WRITEBACK_POLICIES } from '../../src/coordinator/policies/index.js';
import { MmOpsSchema, POLICIES, type Policy } from '../../src/scenario/schema.js';

const PAGE = 4096;
const FILE_PAGES = 16;
const CLIENT = 0;
const COORD = 1;

interface Rig {
  k: K.KernelContext;
  lab: Lab;
  o1: PinCheckOracle;
  mm: K.MmStruct;
  file: number; // address of the file region
  anon: number; // address of the anon region
  ops: MmOps;
  clock: { t: number };
}

function rig(era: Era, policy: Policy, o: { stableWrites?: boolean; faults?: string[] } = {}): Rig {
  const k = K.boot(
    {
      normalFrames: 256, movableFrames: 0, daxFrames: 0, huge2mPages: 1, huge1gPages: 0, folioPools: [], wordsPerPage: 4,
      nrMms: 1, vaPages: 1 << 18, maxVmas: 8, nrFiles: 1, filePages: FILE_PAGES, nrCpus: 2,
    },
    // The native bugs are GUP-side (test/kernel, test/faults); the mm side is tested without them.
    { era, nativeBugs: false, faults: o.faults ?? [] },
  );
  k.vmstatThreshold = 0;
  const lab = Lab.create({
    nrActors: 2, ledgerSlots: 16, ringEntries: 32, totalFrames: k.layout.totalFrames, nrFiles: 1, filePages: FILE_PAGES,
    odpPages: 1, nrMms: 1, vaPages: k.layout.vaPages,
  });
  const o1 = installPinCheckOracle(k, lab, { coordActor: COORD });
  const mm = K.mm_of(0);
  const file = K.do_mmap(mm, { length: 4 * PAGE, kind: 'file', file: 0, offset: 0 });
  const anon = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon' });
  expect(file).toBeGreaterThan(0);
  expect(anon).toBeGreaterThan(0);
  const clock = { t: 0 };
  const ops = new MmOps({
    lab, policy, mmOps: MmOpsSchema.parse({ writebackUs: 1000, waitTimeoutMs: 2 }), stableWrites: o.stableWrites ?? false,
    regions: [{ actor: 'client#0', kind: 'dio', mm: 0, addr: file, pages: 4, mapping: 'file', file: 0, offset: 0 }],
    actorKinds: ['dio', 'dio'], coordActor: COORD, seed: 1, dataWords: [0, 1],
    now: () => clock.t, sleep: (ms) => void (clock.t += ms),
  });
  return { k, lab, o1, mm, file, anon, ops, clock };
}

const pfnAt = (r: Rig, addr: number, i = 0): number => K.pte_pfn(r.k.mem.load(r.mm.pt.pte(addr / PAGE + i)));
const flags = (r: Rig, pfn: number): number => r.k.mem.load(K.pw(pfn, PG.FLAGS));
const setData = (r: Rig, pfn: number, v: number, w = 0): void => r.k.mem.store(K.page_data(pfn) + w, v);
const disk = (r: Rig, index: number, w = 0): number => r.k.mem.load(K.backing_word(0, index) + w);

function touch(r: Rig, addr: number, i: number, write: boolean): void {
  K.mmap_read_lock(r.mm);
  try {
    expect(K.get_user_pages(r.mm, addr + i * PAGE, 1, write ? K.FOLL_WRITE : 0, null)).toBe(1);
  } finally {
    K.mmap_read_unlock(r.mm);
  }
}

/** A FOLL_PIN of one page, recorded in the ghost ledger as an actor would. */
function pin(r: Rig, addr: number, i: number, flags = K.FOLL_WRITE, slot = 0): number {
  const pages = new Int32Array(1);
  expect(K.pin_user_pages_fast(r.mm, addr + i * PAGE, 1, flags, pages)).toBe(1);
  r.lab.store(r.lab.ledgerIndex(CLIENT, slot), pages[0]! + 1);
  r.lab.add(r.lab.ghostIndex(K.compound_head(pages[0]!)), GHOST_PIN);
  return pages[0]!;
}
function unpin(r: Rig, pfn: number, dirty: boolean, slot = 0): void {
  r.lab.add(r.lab.ghostIndex(K.compound_head(pfn)), GHOST_UNPIN);
  r.lab.store(r.lab.ledgerIndex(CLIENT, slot), 0);
  K.unpin_user_pages_dirty_lock([pfn], 1, dirty);
}

/** A pinned page-cache page made clean by writeback (a read-only pin of a page read in). */
function pinnedCleanFilePage(r: Rig, i: number): number {
  touch(r, r.file, i, false);
  return pin(r, r.file, i, 0);
}

const KEEPS: Record<Era, boolean> = { 'rfc-2019': false, 'v5.7': false, 'v6.3': true, 'v6.18': true };

describe('reclaim of a pinned clean page-cache page under mainline, per era', () => {
  for (const era of ERAS) {
    const keeps = KEEPS[era];
    const cite = keeps
      ? `kept with its buffers (d824ec2a1546, ${era === 'v6.3' ? 'v6.3/mm/vmscan.c:1921' : 'v6.18/mm/vmscan.c:1407'})`
      : `buffers stripped, freeze fails (${era === 'v5.7' ? 'v5.7/mm/vmscan.c:1301-1393' : 'v5.6/mm/vmscan.c:1302-1394'}: no pin check)`;
    it(`${era}: ${cite}`, () => {
      const r = rig(era, 'mainline');
      expect(r.k.spec.reclaimKeepsPinned).toBe(keeps);
      const p = pinnedCleanFilePage(r, 1);
      expect(flags(r, p) & PG_private).not.toBe(0);
      const checks = r.o1.checks;
      expect(r.ops.reclaimOne(p)).toBe(keeps ? 'pinned' : 'busy');
      expect(r.o1.checks - checks).toBe(keeps ? 1 : 0); // the era asks page_maybe_dma_pinned() or not
      expect((flags(r, p) & PG_private) !== 0).toBe(keeps);
      expect(r.k.mem.load(K.pagecache_slot(0, 1))).toBe(p + 1); // still cached either way: the pin holds it
      // The pin holder's device write and set_page_dirty_lock(): a page without buffers is
      // dropped by ->writepage (cc5095747edf) — the 4.1 lost write, an O3 violation right away.
      setData(r, p, 0x77);
      unpin(r, p, true);
      expect(r.ops.writebackPage(p)).toBe(keeps ? 'submitted' : 'fs-dropped');
      r.ops.completeAll();
      expect(disk(r, 1)).toBe(keeps ? 0x77 : 0);
      const lost = r.lab.violations().filter((v) => v.kind === VIOLATION_KIND.LOST_WRITE);
      expect(lost.length).toBe(keeps ? 0 : 1);
      if (!keeps) expect(lost[0]).toMatchObject({ oracle: ORACLE.O3, actor: CLIENT, page: p, b: 0, c: 1, d: 0x77, e: 0 });
      expect(K.readWarnings(r.k.mem).warn['ext4_writepage:!page_has_buffers'] ?? 0).toBe(keeps ? 0 : 1);
    });
  }

  it('ignore strips the buffers in every era, v6.18 included; the research policies keep them in v5.7 too', () => {
    for (const era of ERAS) {
      const r = rig(era, 'ignore');
      const p = pinnedCleanFilePage(r, 0);
      expect(r.ops.reclaimOne(p)).toBe('busy');
      expect(flags(r, p) & PG_private).toBe(0);
    }
    for (const policy of ['skip', 'bounce', 'wait', 'revoke'] as const) {
      const r = rig('v5.7', policy);
      const p = pinnedCleanFilePage(r, 0);
      expect(r.ops.reclaimOne(p), policy).toBe('pinned');
      expect(flags(r, p) & PG_private).not.toBe(0);
    }
  });

  it('an unpinned clean page is freed in every era under every policy', () => {
    for (const era of ERAS) {
      for (const policy of POLICIES) {
        const r = rig(era, policy);
        touch(r, r.file, 2, false);
        expect(r.ops.reclaimOne(pfnAt(r, r.file, 2)), `${era}/${policy}`).toBe('freed');
      }
    }
  });
});

describe('mainline writeback writes a pinned page and never asks about pins (page_vma_mkclean_one, v6.18/mm/rmap.c:1006)', () => {
  for (const era of ERAS) {
    it(era, () => {
      const r = rig(era, 'mainline');
      const p = pin(r, r.file, 0); // FOLL_WRITE: a write fault, the page is dirty
      setData(r, p, 5);
      const checks = r.o1.checks;
      expect(r.ops.writebackPage(p)).toBe('submitted');
      expect(r.o1.checks).toBe(checks); // no page_maybe_dma_pinned() on this path
      expect(K.PageDirty(p)).toBe(false);
      setData(r, p, 6); // the device writes through its pin during the I/O
      r.ops.completeAll();
      expect(disk(r, 0)).toBe(6); // the I/O read the page as it was at completion
      expect(r.lab.violations()).toEqual([]); // legal: no stable-writes device
      expect(r.ops.stats()).toMatchObject({ 'io:unstable': 1, 'io:changed': 1, 'writeback:submitted': 1 });
      unpin(r, p, true);
      expect(K.PageDirty(p)).toBe(true); // the unpin dirties it: the next writeback has it
    });
  }
});

describe('stable pages (machine.stableWrites)', () => {
  const changedUnderIo = (policy: Policy, stableWrites: boolean): Rig => {
    const r = rig('v6.18', policy, { stableWrites });
    const p = pin(r, r.file, 0);
    setData(r, p, 1);
    const out = r.ops.writebackPage(p);
    expect(['submitted', 'submitted-pinned']).toContain(out);
    setData(r, p, 2);
    r.ops.completeAll();
    unpin(r, p, true);
    return r;
  };

  it('mainline: counted without stable writes, an O3 unstable-page violation with them (folio_wait_stable, v6.18/mm/page-writeback.c:3138)', () => {
    expect(changedUnderIo('mainline', false).lab.violations()).toEqual([]);
    const v = changedUnderIo('mainline', true).lab.violations();
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ oracle: ORACLE.O3, actor: CLIENT, kind: VIOLATION_KIND.UNSTABLE_PAGE, b: 0, c: 0 });
  });

  it('ignore follows the same rule; skip promises stable pinned pages, so a pin it misses is a violation on any device', () => {
    expect(changedUnderIo('ignore', false).lab.violations()).toEqual([]);
    expect(changedUnderIo('ignore', true).lab.violations()).toHaveLength(1);
    // skip with the fault writeback-ignores-pins: the pinned page is written, and that breaks skip's promise.
    const r = rig('v6.18', 'skip', { faults: ['writeback-ignores-pins'] });
    const p = pin(r, r.file, 0);
    expect(r.ops.writebackPage(p)).toBe('submitted');
    setData(r, p, 9);
    r.ops.completeAll();
    expect(r.lab.violations().map((v) => v.kind)).toEqual([VIOLATION_KIND.UNSTABLE_PAGE]);
  });

  it('the policies say what they promise', () => {
    expect(POLICIES.filter((p) => WRITEBACK_POLICIES[p].stablePinned)).toEqual(['skip', 'bounce', 'wait', 'revoke', 'kara-2023', 'unevictable']);
    expect(POLICIES.filter((p) => !WRITEBACK_POLICIES[p].asksPins)).toEqual(['mainline', 'dio-bounce']);
  });
});

/** Migrate the page at `addr` and record the old page's refcount when the copy reads its data. */
function migrateWatchingCopy(r: Rig, page: number): { ret: number; refAtCopy: number | null } {
  const m = r.k.mem;
  let refAtCopy: number | null = null;
  m.hook = {
    before(kind, index) {
      if (kind === ACCESS.LOAD && index === K.page_data(page) && refAtCopy === null) {
        refAtCopy = Atomics.load(m.i32, K.pw(page, PG.REFCOUNT));
      }
    },
  };
  try {
    return { ret: K.migrate_page(page), refAtCopy };
  } finally {
    m.hook = null;
  }
}

describe('migration per era', () => {
  for (const era of ERAS) {
    it(`${era}: an anon page is copied with its refcount compared, not frozen (isolation ref = 1; ${era === 'v5.7' || era === 'rfc-2019' ? 'v5.7/mm/migrate.c:410-413' : 'v6.3/mm/migrate.c:419-422, v6.18/mm/migrate.c:572-590'})`, () => {
      const r = rig(era, 'mainline');
      touch(r, r.anon, 0, true);
      const p = pfnAt(r, r.anon, 0);
      setData(r, p, 42);
      const { ret, refAtCopy } = migrateWatchingCopy(r, p);
      expect(ret).toBe(0);
      expect(refAtCopy).toBe(1);
      const q = pfnAt(r, r.anon, 0);
      expect(q).not.toBe(p);
      expect(r.k.mem.load(K.page_data(q))).toBe(42);
    });

    it(`${era}: a page-cache page is frozen for the copy (refcount 0; v5.7/mm/migrate.c:433, v6.3/mm/migrate.c:437, v6.18/mm/migrate.c:600)`, () => {
      const r = rig(era, 'mainline');
      touch(r, r.file, 3, false);
      const p = pfnAt(r, r.file, 3);
      const { ret, refAtCopy } = migrateWatchingCopy(r, p);
      expect(ret).toBe(0);
      expect(refAtCopy).toBe(0);
      expect(r.k.mem.load(K.pagecache_slot(0, 3))).toBe(pfnAt(r, r.file, 3) + 1);
    });

    const checks = era === 'v6.3' || era === 'v6.18';
    it(`${era}: a pinned anon page ${checks ? 'fails the pin check after its PTE is cleared (-EBUSY; try_to_migrate_one)' : 'passes try_to_unmap (no pin check, v5.7/mm/rmap.c:1362) and fails the refcount compare (-EAGAIN, v5.7/mm/migrate.c:412)'}`, () => {
      const r = rig(era, 'mainline');
      expect(r.k.spec.migratePinCheck).toBe(checks);
      touch(r, r.anon, 1, true);
      const p = pin(r, r.anon, 1);
      const before = r.o1.checks;
      const pte = r.k.mem.load(r.mm.pt.pte(r.anon / PAGE + 1));
      expect(K.migrate_page(p)).toBe(checks ? -K.EBUSY : -K.EAGAIN);
      expect(r.o1.checks - before).toBe(checks ? 1 : 0);
      expect(r.k.mem.load(r.mm.pt.pte(r.anon / PAGE + 1))).toBe(pte); // the PTE is back
      expect(K.page_ref_count(p)).toBe(1 + K.GUP_PIN_COUNTING_BIAS); // the mapping and the pin
      expect(K.page_maybe_dma_pinned(p)).toBe(true);
      unpin(r, p, true);
      expect(K.migrate_page(p)).toBe(0);
      expect(r.lab.violations()).toEqual([]);
    });

    it(`${era}: a pinned page-cache page fails the freeze (-EAGAIN)`, () => {
      const r = rig(era, 'mainline');
      const p = pinnedCleanFilePage(r, 2);
      expect(K.migrate_page(p)).toBe(-K.EAGAIN);
      expect(r.k.mem.load(K.pagecache_slot(0, 2))).toBe(p + 1);
      unpin(r, p, false);
    });
  }

  for (const era of ERAS) {
    const checks = era === 'v6.3' || era === 'v6.18';
    it(`${era}: a pinned 2 MB hugetlb page is refused ${checks ? 'at the pin check (-EBUSY; hugetlb_try_share_anon_rmap, v6.18/mm/rmap.c:2517)' : 'by the refcount compare (-EAGAIN; no pin check in try_to_unmap_one, v5.7/mm/rmap.c:1362)'}`, () => {
      const r = rig(era, 'mainline');
      const huge = K.do_mmap(r.mm, { length: 512 * PAGE, kind: 'hugetlb', order: 9 });
      expect(huge).toBeGreaterThan(0);
      touch(r, huge, 0, true);
      const head = pfnAt(r, huge, 0);
      expect(K.migrate_page(head)).toBe(-K.EOPNOTSUPP); // unpinned: the copy is not modelled
      const p = pin(r, huge, 3);
      const before = r.o1.checks;
      expect(K.migrate_page(p)).toBe(checks ? -K.EBUSY : -K.EAGAIN);
      expect(r.o1.checks - before).toBe(checks ? 1 : 0);
      expect(pfnAt(r, huge, 0)).toBe(head); // the leaf is back
      unpin(r, p, true);
      expect(K.migrate_page(head)).toBe(-K.EOPNOTSUPP);
    });
  }

  it('the fault migrate-no-freeze copies a page-cache page with its count only compared (src/kernel/migrate.ts)', () => {
    const r = rig('v6.18', 'mainline', { faults: ['migrate-no-freeze'] });
    touch(r, r.file, 3, false);
    const p = pfnAt(r, r.file, 3);
    const { ret, refAtCopy } = migrateWatchingCopy(r, p);
    expect(ret).toBe(0);
    expect(refAtCopy).toBe(2); // isolation + page cache: not frozen
    expect(K.page_ref_count(p)).toBe(0); // and the old page is freed all the same
    // A pinned page still fails the compare.
    const q = pinnedCleanFilePage(r, 1);
    expect(K.migrate_page(q)).toBe(-K.EAGAIN);
    unpin(r, q, false);
  });
});

describe('the policies of issue 12: kara-2023, unevictable, dio-bounce', () => {
  it('kara-2023 skips a pinned page in cleaning writeback and bounces it in integrity writeback', () => {
    const r = rig('v6.18', 'kara-2023');
    const p = pin(r, r.file, 0);
    setData(r, p, 5);
    expect(r.ops.writebackPage(p)).toBe('skipped-pinned');
    expect(K.PageDirty(p)).toBe(true);
    expect(r.ops.writebackPage(p, true)).toBe('bounced');
    setData(r, p, 6); // the pin holder writes during the I/O: the bounce copy is what the disk gets
    r.ops.completeAll();
    expect(disk(r, 0)).toBe(5);
    expect(K.PageDirty(p)).toBe(true);
    expect(r.lab.violations()).toEqual([]);
    expect(r.ops.stats()['io:bounced']).toBe(1);
    unpin(r, p, true);
    expect(r.ops.writebackPage(p)).toBe('submitted'); // unpinned: written as any page
  });

  it('unevictable keeps a pinned page off writeback and reclaim in every era', () => {
    for (const era of ERAS) {
      const r = rig(era, 'unevictable');
      const p = pin(r, r.file, 0);
      expect(r.ops.writebackPage(p), era).toBe('unevictable');
      expect(r.ops.writebackPage(p, true), era).toBe('unevictable');
      expect(K.PageDirty(p)).toBe(true);
      const q = pinnedCleanFilePage(r, 1);
      expect(r.ops.reclaimOne(q), era).toBe('pinned');
    }
  });

  it('dio-bounce bounces every I/O to a stable-pages device and is mainline elsewhere', () => {
    const s = rig('v6.18', 'dio-bounce', { stableWrites: true });
    const p = pin(s, s.file, 0);
    setData(s, p, 5);
    expect(s.ops.writebackPage(p)).toBe('submitted');
    setData(s, p, 6);
    s.ops.completeAll();
    expect(s.lab.violations()).toEqual([]);
    expect(disk(s, 0)).toBe(5);
    expect(K.PageDirty(p)).toBe(true); // changed under the bounced I/O: written again later
    expect(s.ops.stats()['io:bounced']).toBe(1);
    const m = rig('v6.18', 'dio-bounce');
    const q = pin(m, m.file, 0);
    expect(m.ops.writebackPage(q)).toBe('submitted');
    setData(m, q, 7);
    m.ops.completeAll();
    expect(m.ops.stats()['io:unstable']).toBe(1);
    expect(m.ops.stats()['io:bounced']).toBeUndefined();
    expect(m.lab.violations()).toEqual([]); // no stable-pages device: what the kernel allows
  });

  it('records the samples of the outcome metrics: waits, writeback latency, the dirty census', () => {
    const r = rig('v6.18', 'wait');
    const p = pin(r, r.file, 0);
    expect(r.ops.writebackPage(p)).toBe('wait-timeout');
    const s = r.ops.metricSamples();
    expect(s.waitsUs.length).toBe(1);
    expect(s.waitsOk).toBe(0);
    expect(s.waitsUs[0]).toBeGreaterThanOrEqual(2000); // mm.waitTimeoutMs 2 on the rig's clock
    r.ops.dirtyCensus();
    r.clock.t += 7;
    r.ops.dirtyCensus();
    expect(s.dirtyPages).toBe(1);
    expect(s.oldestDirtyAgeMs).toBe(7);
    unpin(r, p, true);
    const t0 = r.clock.t;
    expect(r.ops.writebackPage(p)).toBe('submitted');
    r.clock.t += 3;
    r.ops.completeAll();
    expect(s.writebackUs).toEqual([Math.round((r.clock.t - t0) * 1000)]);
    r.ops.dirtyCensus();
    expect(s.dirtyPages).toBe(0);
  });
});
