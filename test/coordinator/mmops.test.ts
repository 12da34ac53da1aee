/**
 * The mm side, single-threaded: the test acts as the client (it pins pages with the model and
 * keeps the ghost ledger as an actor would) and as the coordinator (MmOps, with a fake clock so
 * the writeback window is under the test's control).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, PG, PG_private, PG_writeback } from '../../src/mem/layout.js';
import { ACTOR_STAT, GHOST_PIN, GHOST_UNPIN, Lab, ORACLE, VIOLATION_KIND } from '../../src/oracle/lab.js';
import { installPinCheckOracle } from '../../src/oracle/o1.js';
import { MmOps, type MmRegion, vma_merge } from '../../src/coordinator/mmops.js';
import { MmOpsSchema, type ClientKind, type Policy } from '../../src/scenario/schema.js';

const PAGE = 4096;
const FILE_PAGES = 64;
const CLIENT = 0; // the test's own lab actor
const COORD = 1;

interface Rig {
  k: K.KernelContext;
  lab: Lab;
  mm: K.MmStruct;
  addr: number;
  region: MmRegion;
  ops: MmOps;
  clock: { t: number };
  /** Called from MmOps' sleeps (policy wait / revoke): the "other thread". */
  onSleep: { fn: (() => void) | null };
}

interface RigOptions {
  era?: Era;
  pages?: number;
  kind?: ClientKind;
  mm?: Partial<Record<string, number>>;
  dataWords?: number[];
  /** machine.stableWrites: the backing device needs stable pages. */
  stableWrites?: boolean;
  /** The era's native bugs (default on). */
  nativeBugs?: boolean;
}

function rig(policy: Policy, o: RigOptions = {}): Rig {
  const k = K.boot(
    {
      normalFrames: 512, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, folioPools: [], wordsPerPage: 4,
      nrMms: 1, vaPages: 1 << 18, maxVmas: 8, nrFiles: 1, filePages: FILE_PAGES, nrCpus: 2,
    },
    { era: o.era ?? 'v6.3', nativeBugs: o.nativeBugs ?? true },
  );
  k.vmstatThreshold = 0;
  const lab = Lab.create({
    nrActors: 2, ledgerSlots: 16, ringEntries: 32, totalFrames: k.layout.totalFrames, nrFiles: 1, filePages: FILE_PAGES,
    odpPages: 1, nrMms: 1, vaPages: k.layout.vaPages,
  });
  const mm = K.mm_of(0);
  const pages = o.pages ?? 8;
  const addr = K.do_mmap(mm, { length: pages * PAGE, kind: 'file', file: 0, offset: 0 });
  expect(addr).toBeGreaterThan(0);
  const region: MmRegion = { actor: 'client#0', kind: o.kind ?? 'dio', mm: 0, addr, pages, mapping: 'file', file: 0, offset: 0 };
  const clock = { t: 0 };
  const onSleep: Rig['onSleep'] = { fn: null };
  const ops = new MmOps({
    lab, policy, mmOps: MmOpsSchema.parse({ writebackUs: 1000, waitTimeoutMs: 5, ...o.mm }), regions: [region], stableWrites: o.stableWrites ?? false,
    actorKinds: [o.kind ?? 'dio', 'dio'], coordActor: COORD, seed: 42, ...(o.dataWords ? { dataWords: o.dataWords } : {}),
    now: () => clock.t,
    sleep: (ms) => {
      clock.t += ms;
      onSleep.fn?.();
    },
  });
  return { k, lab, mm, addr, region, ops, clock, onSleep };
}

/** Fault pages in (a user read or write of each page). */
function touch(r: Rig, first: number, nr: number, write: boolean): void {
  K.mmap_read_lock(r.mm);
  try {
    expect(K.get_user_pages(r.mm, r.addr + first * PAGE, nr, write ? K.FOLL_WRITE : 0, null)).toBe(nr);
  } finally {
    K.mmap_read_unlock(r.mm);
  }
}

const pte = (r: Rig, i: number): number => r.k.mem.load(r.mm.pt.pte(r.addr / PAGE + i));
const pfnAt = (r: Rig, i: number): number => K.pte_pfn(pte(r, i));
const cachedPfn = (r: Rig, index: number): number => r.k.mem.load(K.pagecache_slot(0, index)) - 1;
const flags = (r: Rig, pfn: number): number => r.k.mem.load(K.pw(pfn, PG.FLAGS));
const data = (r: Rig, pfn: number, w = 0): number => r.k.mem.load(K.page_data(pfn) + w);
const disk = (r: Rig, index: number, w = 0): number => r.k.mem.load(K.backing_word(0, index) + w);
const setData = (r: Rig, pfn: number, v: number, w = 0): void => r.k.mem.store(K.page_data(pfn) + w, v);

/** Pin one page of the region as a client would: the pin, then the ghost ledger. */
function pin(r: Rig, i: number, flags = K.FOLL_WRITE, slot = 0): number {
  const pages = new Int32Array(1);
  expect(K.pin_user_pages_fast(r.mm, r.addr + i * PAGE, 1, flags, pages)).toBe(1);
  r.lab.store(r.lab.ledgerIndex(CLIENT, slot), pages[0]! + 1);
  r.lab.add(r.lab.ghostIndex(K.compound_head(pages[0]!)), GHOST_PIN);
  return pages[0]!;
}
/** Unpin: the ghost ledger first, then the unpin (dirtying, as DIO does after a device write). */
function unpin(r: Rig, pfn: number, dirty = true, slot = 0): void {
  r.lab.add(r.lab.ghostIndex(K.compound_head(pfn)), GHOST_UNPIN);
  r.lab.store(r.lab.ledgerIndex(CLIENT, slot), 0);
  K.unpin_user_pages_dirty_lock([pfn], 1, dirty);
}

describe('writeback', () => {
  it('writes a dirty unpinned page to the backing store and cleans it; the PTE is write-protected first', () => {
    const r = rig('skip');
    const notes: string[] = [];
    r.k.mmu_notifiers.push({ invalidate_range_start: (_mm, _s, _e, ev) => notes.push(ev), invalidate_range_end: () => notes.push('end') });
    touch(r, 0, 1, true);
    const p = pfnAt(r, 0);
    expect(K.pte_write(pte(r, 0))).toBe(true);
    expect(K.PageDirty(p)).toBe(true);
    expect(flags(r, p) & PG_private).not.toBe(0); // buffers attached when read in
    setData(r, p, 0x1234);
    expect(r.ops.writebackPage(p)).toBe('submitted');
    expect(notes).toEqual(['protection', 'end']);
    expect(K.pte_write(pte(r, 0))).toBe(false);
    expect(K.pte_dirty(pte(r, 0))).toBe(false);
    expect(flags(r, p) & PG_writeback).not.toBe(0);
    expect(K.PageDirty(p)).toBe(false);
    expect(disk(r, 0)).toBe(0); // not yet: the I/O is in flight
    expect(r.ops.completeDue(0.5)).toBe(0);
    expect(r.ops.completeDue(1)).toBe(1);
    expect(disk(r, 0)).toBe(0x1234);
    expect(flags(r, p) & PG_writeback).toBe(0);
    expect(K.page_ref_count(p)).toBe(2); // page cache + mapping: the I/O's reference is gone
    expect(r.lab.violations()).toEqual([]);
    expect(r.ops.stats()).toMatchObject({ 'writeback:submitted': 1, 'io:written': 1, 'io:completed': 1 });
    expect(r.ops.writebackPage(p)).toBe('clean');
    expect(K.readVmstat(r.k.mem).nr_written).toBe(1);
  });

  it('a write fault on a page under writeback waits for it (wait_for_stable_page), bounded', () => {
    const r = rig('skip');
    r.k.stablePageWaitMs = 20;
    touch(r, 0, 1, true);
    const p = pfnAt(r, 0);
    expect(r.ops.writebackPage(p)).toBe('submitted');
    const t0 = performance.now();
    touch(r, 0, 1, true); // nobody ends the I/O on this thread: the wait times out
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(K.readWarnings(r.k.mem).warn['wait_for_stable_page:timeout']).toBe(1);
    expect(K.pte_write(pte(r, 0))).toBe(true);
    expect(K.PageDirty(p)).toBe(true);
    r.ops.completeAll();
    touch(r, 1, 1, true); // not under writeback: no wait
    expect(K.readWarnings(r.k.mem).warn['wait_for_stable_page:timeout']).toBe(1);
  });

  it("skip: a pinned page is redirtied and not written", () => {
    const r = rig('skip');
    installPinCheckOracle(r.k, r.lab);
    const p = pin(r, 0);
    setData(r, p, 7);
    expect(r.ops.writebackPage(p)).toBe('skipped-pinned');
    expect(K.PageDirty(p)).toBe(true);
    expect(r.ops.inFlight).toBe(0);
    expect(disk(r, 0)).toBe(0);
    unpin(r, p);
    expect(r.ops.writebackPage(p)).toBe('submitted');
    r.ops.completeAll();
    expect(disk(r, 0)).toBe(7);
  });

  it('ignore on a stable-writes device: a pinned page is written, and a DMA write during the I/O is an O3 unstable page', () => {
    const r = rig('ignore', { stableWrites: true });
    const o1 = installPinCheckOracle(r.k, r.lab, { coordActor: COORD });
    const p = pin(r, 3);
    setData(r, p, 1);
    expect(r.ops.writebackPage(p)).toBe('submitted-pinned');
    expect(o1.checks).toBe(1);
    setData(r, p, 2); // the device writes through its pin, mid-I/O
    r.ops.completeAll();
    const v = r.lab.violations();
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ oracle: ORACLE.O3, actor: CLIENT, page: p, kind: VIOLATION_KIND.UNSTABLE_PAGE, b: 0, c: 3 });
    expect(K.PageDirty(p)).toBe(false); // and the kernel does not know the page changed
    unpin(r, p);
    expect(K.PageDirty(p)).toBe(true); // until the unpin dirties it
  });

  it('an unstable page with no pin holder left is blamed on the writer of the changed word (dataWords)', () => {
    const r = rig('ignore', { dataWords: [2], stableWrites: true });
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(r.mm, r.addr + PAGE, 1, K.FOLL_WRITE, pages)).toBe(1); // never in a ledger
    const p = pages[0]!;
    expect(r.ops.writebackPage(p)).toBe('submitted-pinned');
    setData(r, p, 5, 2);
    K.unpin_user_pages_dirty_lock(pages, 1, true);
    r.ops.completeAll();
    expect(r.lab.violations()[0]).toMatchObject({ oracle: ORACLE.O3, actor: CLIENT, kind: VIOLATION_KIND.UNSTABLE_PAGE });
  });

  it('bounce: the snapshot taken at I/O start is written, no violation, the page stays dirty', () => {
    const r = rig('bounce');
    installPinCheckOracle(r.k, r.lab);
    const p = pin(r, 0);
    setData(r, p, 10);
    expect(r.ops.writebackPage(p)).toBe('bounced');
    setData(r, p, 11);
    r.ops.completeAll();
    expect(r.lab.violations()).toEqual([]);
    expect(disk(r, 0)).toBe(10);
    expect(K.PageDirty(p)).toBe(true);
    unpin(r, p);
    expect(r.ops.sync()).toBe(1);
    expect(disk(r, 0)).toBe(11);
  });

  it('wait: proceeds once the page is unpinned, skips after waitTimeoutMs', () => {
    const r = rig('wait');
    const p = pin(r, 0);
    expect(r.ops.writebackPage(p)).toBe('wait-timeout');
    expect(K.PageDirty(p)).toBe(true);
    r.onSleep.fn = () => {
      unpin(r, p, true);
      r.onSleep.fn = null;
    };
    expect(r.ops.writebackPage(p)).toBe('submitted');
    expect(r.ops.stats()).toMatchObject({ 'wait:timeout': 1, 'wait:ok': 1 });
  });

  it('revoke: the RDMA holder is asked (REVOKE_REQ), deregisters and acknowledges; then the page is written', () => {
    const r = rig('revoke', { kind: 'rdma' });
    const p = pin(r, 0);
    const base = r.lab.actorBase(CLIENT);
    // No acknowledgement: the request times out and writeback skips the page.
    expect(r.ops.writebackPage(p)).toBe('revoke-failed');
    expect(r.lab.load(base + ACTOR_STAT.REVOKE_REQ)).toBe(1);
    // The "RDMA thread" answers on the next request.
    r.onSleep.fn = () => {
      const req = r.lab.load(base + ACTOR_STAT.REVOKE_REQ);
      if (r.lab.load(base + ACTOR_STAT.REVOKE_ACK) !== req) {
        unpin(r, p, true);
        r.lab.store(base + ACTOR_STAT.REVOKE_ACK, req);
      }
    };
    expect(r.ops.writebackPage(p)).toBe('submitted');
    expect(r.lab.load(base + ACTOR_STAT.REVOKE_REQ)).toBe(2);
    expect(r.ops.stats()).toMatchObject({ 'revoke:requested': 2, 'revoke:timeout': 1, 'revoke:ok': 1 });
  });
});

describe('reclaim', () => {
  it('shrink_page frees a clean unpinned page and refuses a pinned one', () => {
    const r = rig('skip');
    const notes: string[] = [];
    r.k.mmu_notifiers.push({ invalidate_range_start: (_mm, _s, _e, ev) => notes.push(ev), invalidate_range_end: () => undefined });
    touch(r, 0, 2, false);
    const p0 = pfnAt(r, 0);
    const p1 = pfnAt(r, 1);
    const frees = K.readVmstat(r.k.mem).nr_page_free;
    expect(r.ops.reclaimOne(p0)).toBe('freed');
    expect(notes).toEqual(['unmap']);
    expect(pte(r, 0)).toBe(0);
    expect(cachedPfn(r, 0)).toBe(-1);
    expect(K.page_ref_count(p0)).toBe(0);
    expect(K.readVmstat(r.k.mem).nr_page_free).toBe(frees + 1);
    // Pinned: d824ec2a1546 keeps it, buffers and all.
    const q = pin(r, 1, 0);
    expect(q).toBe(p1);
    expect(r.ops.reclaimOne(p1)).toBe('pinned');
    expect(flags(r, p1) & PG_private).not.toBe(0);
    expect(cachedPfn(r, 1)).toBe(p1);
    unpin(r, p1, false);
    expect(K.page_ref_count(p1)).toBe(1); // unmapped by the attempt: the page cache's reference only
    expect(r.ops.reclaimOne(p1)).toBe('freed');
    // The page is read in again from the backing store on the next touch.
    touch(r, 0, 1, false);
    expect(cachedPfn(r, 0)).toBe(pfnAt(r, 0));
  });

  it("ignore: reclaim strips a pinned clean page's buffers, and the later dirtying is dropped by the fs (4.1 lost write)", () => {
    const r = rig('ignore');
    const p = pin(r, 2); // FOLL_WRITE: a write fault, ->page_mkwrite, the page is dirty
    expect(r.ops.writebackPage(p)).toBe('submitted-pinned');
    r.ops.completeAll(); // written while pinned; now clean
    expect(K.PageDirty(p)).toBe(false);
    expect(r.ops.reclaimOne(p)).toBe('busy'); // the pin fails the freeze ...
    expect(flags(r, p) & PG_private).toBe(0); // ... after try_to_release_page stripped the buffers
    expect(cachedPfn(r, 2)).toBe(p);
    setData(r, p, 0xabc); // DIO completes
    unpin(r, p, true); // set_page_dirty_lock() without ->page_mkwrite
    expect(K.PageDirty(p)).toBe(true);
    expect(r.ops.writebackPage(p)).toBe('fs-dropped');
    expect(K.PageDirty(p)).toBe(false);
    expect(disk(r, 2)).toBe(0); // the write is lost
    expect(K.readWarnings(r.k.mem).warn['ext4_writepage:!page_has_buffers']).toBe(1);
    expect(r.ops.sync()).toBe(0); // nothing left to write: the data is gone
  });

  it('skip (d824ec2a1546): the same sequence keeps the buffers and the write reaches the disk', () => {
    const r = rig('skip');
    const p = pin(r, 2);
    expect(r.ops.reclaimOne(p)).toBe('dirty');
    unpin(r, p, false);
    expect(r.ops.writebackPage(p)).toBe('submitted');
    r.ops.completeAll();
    const q = pin(r, 2);
    expect(q).toBe(p);
    expect(r.ops.reclaimOne(p)).toBe('dirty'); // the new write fault dirtied it again
    expect(r.ops.writebackPage(p)).toBe('skipped-pinned');
    setData(r, p, 0xabc);
    unpin(r, p, true);
    expect(r.ops.sync()).toBe(1);
    expect(disk(r, 2)).toBe(0xabc);
  });
});

describe('truncate', () => {
  it('removes the pages of the range from the page cache and the page tables, and zeroes the range', () => {
    const r = rig('skip');
    touch(r, 0, 8, true);
    const pfns = Array.from({ length: 8 }, (_, i) => pfnAt(r, i));
    pfns.forEach((p, i) => setData(r, p, 100 + i));
    expect(r.ops.sync()).toBe(8);
    expect(disk(r, 3)).toBe(103);
    const held = pin(r, 4, 0); // a pin makes page 4 an orphan
    setData(r, pfns[3]!, 999); // dirty data in the page cache is discarded
    K.set_page_dirty(pfns[3]!);
    expect(r.ops.truncateRange(0, 2, 5)).toBe('ok');
    for (let i = 0; i < 8; i++) {
      const inRange = i >= 2 && i < 5;
      expect(cachedPfn(r, i) === -1).toBe(inRange);
      expect(pte(r, i) === 0).toBe(inRange);
      expect(disk(r, i)).toBe(inRange ? 0 : 100 + i);
      expect(r.lab.load(r.lab.layout.truncEpochOff + r.lab.fileIndex(0, i))).toBe(inRange ? 2 : 0);
    }
    expect(K.page_ref_count(pfns[2]!)).toBe(0);
    expect(K.page_ref_count(pfns[4]!)).toBe(K.GUP_PIN_COUNTING_BIAS); // the orphan: only the pin holds it
    expect(r.k.mem.load(K.pw(held, PG.MAPPING))).toBe(0);
    unpin(r, held, true);
    expect(K.page_ref_count(pfns[4]!)).toBe(0);
    // Faulting the hole in again reads zeroes.
    touch(r, 3, 1, false);
    expect(data(r, pfnAt(r, 3))).toBe(0);
    expect(r.ops.stats()).toMatchObject({ 'truncate:ok': 1, 'truncate:pages': 3 });
    expect(K.readWarnings(r.k.mem).bug).toEqual({});
  });
});

describe('O1 bracket', () => {
  it('counts checks and records a false negative when the ghost word claims a pin the page does not have', () => {
    const r = rig('skip');
    const o1 = installPinCheckOracle(r.k, r.lab, { coordActor: COORD });
    touch(r, 0, 1, false);
    const p = pfnAt(r, 0);
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    expect(o1.checks).toBe(1);
    expect(r.lab.violations()).toEqual([]);
    // The ledger says actor 0 holds a pin: page_maybe_dma_pinned() is now "wrong".
    r.lab.store(r.lab.ledgerIndex(CLIENT, 5), p + 1);
    r.lab.add(r.lab.ghostIndex(p), GHOST_PIN);
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    expect(o1.checks).toBe(2);
    expect(o1.falseNegatives).toBe(1);
    const logged = r.lab.violations();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ oracle: ORACLE.O1, actor: CLIENT, page: p, kind: VIOLATION_KIND.FALSE_NEGATIVE, b: 2, c: 1, d: 0, e: 0 });
    // The rings were snapshotted when the violation was recorded: the coordinator's pin check is there.
    const coordEvents = [...logged[0]!.events.values()].flat();
    expect(coordEvents.some((ev) => ev.event === 'pin_check' && ev.page === p)).toBe(true);
    // An unpin seen between the two reads proves nothing: no violation.
    let unpinned = false;
    o1.uninstall();
    const o1b = installPinCheckOracle(r.k, r.lab);
    const inner = r.k.pinCheck!;
    r.k.pinCheck = (page, evaluate) => inner(page, () => {
      if (!unpinned) r.lab.add(r.lab.ghostIndex(p), GHOST_UNPIN);
      unpinned = true;
      return evaluate();
    });
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    expect(o1b.falseNegatives).toBe(0);
    expect(r.lab.violations()).toHaveLength(1);
  });

  it('names false positives: plain references, in-flight pins', () => {
    const r = rig('skip');
    const o1 = installPinCheckOracle(r.k, r.lab);
    touch(r, 0, 2, false);
    const p = pfnAt(r, 0);
    for (let i = 0; i < 1024; i++) K.get_page(p);
    r.lab.add(r.lab.layout.ghostGetOff + p, 1024);
    expect(K.page_maybe_dma_pinned(p)).toBe(true);
    for (let i = 0; i < 1024; i++) K.put_page(p);
    const q = pfnAt(r, 1);
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(r.mm, r.addr + PAGE, 1, 0, pages)).toBe(1); // not yet in the ledger
    expect(K.page_maybe_dma_pinned(q)).toBe(true);
    K.unpin_user_page(q);
    expect(o1.falsePositives).toEqual({ overflow: 0, 'plain-references': 1, 'in-flight': 1 });
    expect(r.lab.violations()).toEqual([]);
  });

  it('rfc-2019: a 1 GB page pinned 8 times wraps the head refcount and still reads pinned: no O1 false negative', () => {
    // The 2019 compare is unsigned (kernel-src/README.md); the era's gup-fast one-bias-per-run bug
    // is switched off here so that gup-fast adds the bias for every subpage.
    const k = K.boot(
      { huge1gPages: 1, vaPages: 1 << 19, normalFrames: 64, movableFrames: 0, daxFrames: 0, huge2mPages: 0, folioPools: [],
        wordsPerPage: 1, nrMms: 1, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 1 },
      { era: 'rfc-2019', nativeBugs: false },
    );
    const lab = Lab.create({ nrActors: 2, ledgerSlots: 4, ringEntries: 8, totalFrames: k.layout.totalFrames, nrFiles: 0, filePages: 0, odpPages: 1, nrMms: 1, vaPages: k.layout.vaPages });
    const o1 = installPinCheckOracle(k, lab);
    const mm = K.mm_of(0);
    const SUB = 1 << 18;
    const addr = K.do_mmap(mm, { length: SUB * PAGE, kind: 'hugetlb', order: 18 });
    const pages = new Int32Array(SUB);
    for (let full = 0; full < 8; full++) expect(K.pin_user_pages_fast(mm, addr, SUB, K.FOLL_WRITE, pages)).toBe(SUB);
    const head = pages[0]!;
    // The test records its pins as one ledger entry (the ghost word's 16-bit count cannot hold 2^21).
    lab.store(lab.ledgerIndex(CLIENT, 0), head + 1);
    lab.add(lab.ghostIndex(head), GHOST_PIN);
    expect(K.page_ref_count(head)).toBeLessThan(0);
    expect(K.page_maybe_dma_pinned(head + 77)).toBe(true);
    expect(o1.checks).toBe(1);
    expect(o1.falseNegatives).toBe(0);
    expect(o1.falsePositives.overflow).toBe(0); // a pin is held: a true positive
    expect(lab.violations()).toEqual([]);
    // The 9th is refused (WARN), and the count is unchanged.
    const one = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, one)).toBe(-K.ENOMEM);
    expect(K.readWarnings(k.mem).warn['try_get_compound_head:refcount<0']).toBe(1);
    for (let full = 0; full < 8; full++) K.unpin_user_pages(pages, SUB);
    expect(K.page_ref_count(head)).toBe(1);
  });
});

describe('v6.18 refuses writable longterm file pins (v6.5+; the era, not a policy)', () => {
  it('a writable longterm pin of a file mapping is -EFAULT, fast and slow; others are unaffected (v6.18/mm/gup.c:1182-1197, 2738)', () => {
    const r = rig('mainline', { era: 'v6.18' });
    expect(r.k.refuseLongtermFile).toBe(true); // EraSpec.refuseLongtermFile
    touch(r, 0, 2, true); // writable PTEs: gup-fast would take them
    const pages = new Int32Array(2);
    expect(K.pin_longterm_pages_fast(r.mm, r.addr, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    K.mmap_read_lock(r.mm);
    expect(K.pin_longterm_pages(r.mm, r.addr, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    K.mmap_read_unlock(r.mm);
    let vm = K.readVmstat(r.k.mem);
    expect(vm.nr_foll_pin_acquired).toBe(vm.nr_foll_pin_released); // gup-fast's grab was undone
    expect(K.page_ref_count(pfnAt(r, 0))).toBe(2);
    // Read-only longterm pins of the file, plain pins, and writable longterm pins of anon memory work.
    expect(K.pin_longterm_pages_fast(r.mm, r.addr, 2, 0, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    expect(K.pin_user_pages_fast(r.mm, r.addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    const anon = K.do_mmap(r.mm, { length: 2 * PAGE, kind: 'anon' });
    expect(K.pin_longterm_pages_fast(r.mm, anon, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    // Without the switch the file pin is taken.
    r.k.refuseLongtermFile = false;
    expect(K.pin_longterm_pages_fast(r.mm, r.addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    K.unpin_user_pages(pages, 2);
    vm = K.readVmstat(r.k.mem);
    expect(vm.nr_foll_pin_acquired).toBe(vm.nr_foll_pin_released);
  });
});

describe('MmOps.step', () => {
  it('random operations against a pinned and a dirty region keep every count consistent', () => {
    const r = rig('skip', { pages: 16, mm: { truncate: 1, writebackUs: 100 } });
    installPinCheckOracle(r.k, r.lab);
    touch(r, 0, 16, true);
    const held = pin(r, 5, K.FOLL_WRITE, 1);
    const seen = new Set<string>();
    for (let s = 0; s < 400; s++) {
      r.clock.t += 0.05;
      const { op, outcome } = r.ops.step();
      seen.add(op);
      expect(outcome).not.toBe('');
      if (s % 7 === 0) touch(r, s % 16, 1, true); // the "client" keeps dirtying pages
    }
    expect(seen).toEqual(new Set(['writeback', 'munmap', 'migrate', 'reclaim', 'truncate']));
    expect(K.vmas(r.mm)).toHaveLength(1); // munmap + MAP_FIXED re-mmap merged back
    unpin(r, held, true, 1);
    r.ops.sync();
    expect(r.ops.inFlight).toBe(0);
    // Every cached page: the page cache's reference plus one per mapping; nothing dirty.
    for (let i = 0; i < FILE_PAGES; i++) {
      const p = cachedPfn(r, i);
      if (p < 0) continue;
      expect(K.page_ref_count(p)).toBe(1 + K.page_mapcount(p));
      expect(K.PageDirty(p)).toBe(false);
      expect(flags(r, p) & PG_writeback).toBe(0);
    }
    expect(r.lab.violations()).toEqual([]);
    expect(K.readWarnings(r.k.mem).bug).toEqual({});
    const st = r.ops.stats();
    expect(st.writeback! + st.munmap! + st.migrate! + st.reclaim! + st.truncate!).toBe(400);
    const vm = K.readVmstat(r.k.mem);
    expect(vm.nr_foll_pin_acquired).toBe(vm.nr_foll_pin_released);
  });

  it('munmap + re-mmap of chunks keeps one VMA per region; migration invalidates through the notifiers', () => {
    const r = rig('skip', { pages: 16 });
    for (let n = 0; n < 30; n++) expect(r.ops.munmapChunk(r.region)).toBe('ok');
    expect(K.vmas(r.mm)).toHaveLength(1);
    expect(K.vmas(r.mm)[0]).toMatchObject({ start: r.addr / PAGE, end: r.addr / PAGE + 16, pgoff: 0 });
    expect(vma_merge(r.mm, 0, r.k.layout.vaPages)).toBe(0);
    touch(r, 0, 16, false);
    const events: string[] = [];
    r.k.mmu_notifiers.push({ invalidate_range_start: (_m, _s, _e, ev) => events.push(ev), invalidate_range_end: () => undefined });
    const old = pfnAt(r, 4);
    expect(r.ops.migrateOne(old)).toBe('ok');
    expect(events).toEqual(['migrate']);
    expect(pfnAt(r, 4)).not.toBe(old);
    expect(cachedPfn(r, 4)).toBe(pfnAt(r, 4));
    expect(flags(r, pfnAt(r, 4)) & PG_private).not.toBe(0); // the buffers moved with it
    // A page under writeback is not migrated.
    touch(r, 4, 1, true);
    expect(r.ops.writebackPage(pfnAt(r, 4))).toBe('submitted');
    expect(r.ops.migrateOne(pfnAt(r, 4))).toBe('-EBUSY');
    r.ops.completeAll();
    expect(r.ops.migrateOne(pfnAt(r, 4))).toBe('ok');
  });
});
