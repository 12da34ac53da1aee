// O6 sb-contract and dma-stale-frame on hand-built states, one thread: the two halves of the
// store-buffering pair recorded directly (SbContract) and through the real gup-fast and
// page_mkclean() paths; an actor's DMA check against the page cache after a real migration.
import { describe, expect, it } from 'vitest';
import { Actor } from '../../src/clients/actor.js';
import { type ActorInit, type ActorSpec } from '../../src/clients/types.js';
import * as K from '../../src/kernel/index.js';
import { Lab, ORACLE, SB_RECORD, SB_RECORD_WORDS, VIOLATION_KIND } from '../../src/oracle/lab.js';
import { SbContract } from '../../src/oracle/sb-contract.js';

const PAGE = 4096;

function machine(faults: string[] = []): { k: K.KernelContext; lab: Lab } {
  const k = K.boot(
    {
      normalFrames: 256, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 1, vaPages: 1 << 12, maxVmas: 8, nrFiles: 1, filePages: 16, nrCpus: 1,
    },
    { era: 'v6.3', faults },
  );
  const lab = Lab.create({
    nrActors: 2, ledgerSlots: 4, ringEntries: 8, totalFrames: k.layout.totalFrames, nrFiles: 1, filePages: 16,
    odpPages: 1, nrMms: 1, vaPages: k.layout.vaPages, contractFrames: true,
  });
  return { k, lab };
}

const sbViolations = (lab: Lab) => lab.violations().filter((v) => v.kind === VIOLATION_KIND.SB_CONTRACT);

/** The mm half, now: the change visible, then "not pinned", recorded. */
function mmHalf(mm: SbContract, pfn: number, pte: number, old: number): void {
  const changed = mm.stamp();
  mm.mmNotPinned(pfn, pte, old, mm.stamp(), changed);
}

describe('O6 sb-contract (src/oracle/sb-contract.ts)', () => {
  it('fires when the pin was validated before the change was visible and the mm read "not pinned" before the grab — whichever half comes second', () => {
    const { lab } = machine();
    const gup = new SbContract(lab, 0);
    const mm = new SbContract(lab, 1);
    // mm second: R, C, K, G, the GUP's record (no re-check: validated by its first read), then the mm's.
    const read = gup.stamp();
    const changed = mm.stamp();
    const notPinned = mm.stamp();
    gup.gupKept(7, 100, 0xabc, gup.stamp(), read);
    expect(sbViolations(lab)).toHaveLength(0);
    mm.mmNotPinned(7, 100, 0xabc, notPinned, changed);
    // GUP second: the mm's record is there when the pin is kept.
    const read8 = gup.stamp();
    mmHalf(mm, 8, 101, 0xdef);
    gup.gupKept(8, 101, 0xdef, gup.stamp(), read8);
    const vs = sbViolations(lab);
    expect(vs.map((v) => [v.oracle, v.actor, v.page, v.b, v.c])).toEqual([[ORACLE.O6, 0, 7, 100, 0xabc], [ORACLE.O6, 0, 8, 101, 0xdef]]);
    expect([mm.violations, gup.violations]).toEqual([1, 1]); // each counted by the half that came second
  });

  it('needs a lab with the store-buffering records', () => {
    const { k } = machine();
    const bare = Lab.create({
      nrActors: 1, ledgerSlots: 4, ringEntries: 8, totalFrames: k.layout.totalFrames, nrFiles: 1, filePages: 16,
      odpPages: 1, nrMms: 1, vaPages: k.layout.vaPages,
    });
    expect(() => new SbContract(bare, 0)).toThrow('SbContract: the lab has no store-buffering records (LabConfig.contractFrames)');
  });

  it('does not fire for the orders sequential consistency allows', () => {
    const { lab } = machine();
    const gup = new SbContract(lab, 0);
    const mm = new SbContract(lab, 1);
    // Validated after the change was visible (a re-check that read the new entry and still matched: ABA).
    mmHalf(mm, 9, 100, 0xabc);
    const grabbed9 = gup.stamp();
    gup.gupKept(9, 100, 0xabc, grabbed9, gup.stamp());
    // Grabbed before the not-pinned read: that pin was released before it (or O1 reports the read).
    const read10 = gup.stamp();
    gup.gupKept(10, 100, 0xabc, gup.stamp(), read10);
    mmHalf(mm, 10, 100, 0xabc);
    // A R/O pin through the entry after the change (another value), and another PTE word.
    const read = gup.stamp();
    mmHalf(mm, 11, 100, 0xabc);
    mmHalf(mm, 12, 100, 0xabc);
    const grabbed = gup.stamp();
    gup.gupKept(11, 100, 0xab8, grabbed, read);
    gup.gupKept(12, 102, 0xabc, grabbed, read);
    expect(sbViolations(lab)).toHaveLength(0);
  });

  it('through the real paths: gup-fast then page_mkclean, and page_mkclean then a pin, are clean; a read from before page_mkclean kept after it fires', () => {
    const { k, lab } = machine();
    const sb = new SbContract(lab, 1);
    k.sbContract = sb;
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    const pages = new Int32Array(1);
    // Fault the page in writable (slow path), then a gup-fast pin: the GUP half is recorded.
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    K.unpin_user_pages(pages, 1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    const page = pages[0]!;
    const pteIdx = mm.pt.pte(addr / PAGE);
    const writable = k.mem.load(pteIdx);
    const pins = { checked: false, pinned: false };
    K.lock_page(page);
    expect(K.page_mkclean(page, pins)).toBe(1);
    K.unlock_page(page);
    expect(pins).toEqual({ checked: true, pinned: true }); // the mm saw the pin: no mm record
    K.unpin_user_pages(pages, 1);
    // page_mkclean with no pin: the mm half is recorded ("not pinned"); a pin after it faults the
    // entry writable again on the slow path (gup-fast refuses the write-protected entry).
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    K.unpin_user_pages(pages, 1);
    const readBefore = sb.stamp(); // a gup-fast read of the writable entry, before the change
    const again = { checked: false, pinned: false };
    K.lock_page(page);
    expect(K.page_mkclean(page, again)).toBe(1);
    K.unlock_page(page);
    expect(again).toEqual({ checked: true, pinned: false });
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    K.unpin_user_pages(pages, 1);
    expect(sbViolations(lab)).toHaveLength(0);
    // The same read kept after the mm's not-pinned read, without seeing the change: fires.
    sb.gupKept(page, pteIdx, writable, sb.stamp(), readBefore);
    expect(sbViolations(lab).map((v) => [v.page, v.b])).toEqual([[page, pteIdx]]);
  });

  it('gup-fast records each kept FOLL_PIN page: the PTE word and value, grabbed after the read, validated by the re-check (or by the read without one); FOLL_GET records nothing', () => {
    const { k, lab } = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon' });
    const pages = new Int32Array(2);
    expect(K.get_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2); // fault in, no contract yet
    k.sbContract = new SbContract(lab, 1);
    const gupHalf = (pfn: number): number[] => {
      const base = lab.layout.sbOff + pfn * SB_RECORD_WORDS;
      return [SB_RECORD.GUP, SB_RECORD.GUP_PTE, SB_RECORD.GUP_VALUE, SB_RECORD.GUP_GRABBED_AT, SB_RECORD.GUP_VALIDATED_AT, SB_RECORD.GUP_ACTOR].map((f) => lab.i32[base + f]!);
    };
    const taken = new Int32Array(2);
    expect(K.get_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, taken)).toBe(2);
    expect(gupHalf(taken[0]!)[0]).toBe(0); // a plain reference is no half of the pair
    K.put_page(taken[0]!);
    K.put_page(taken[1]!);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, taken)).toBe(2);
    for (let i = 0; i < 2; i++) {
      const pteIdx = mm.pt.pte(addr / PAGE + i);
      const [seq, pte, value, grabbedAt, validatedAt, actor] = gupHalf(taken[i]!);
      expect([seq, pte, value, actor]).toEqual([2, pteIdx + 1, k.mem.load(pteIdx), 1]);
      expect(validatedAt).toBeGreaterThan(grabbedAt); // the re-check comes after the grab
      expect(grabbedAt).toBeGreaterThan(0);
    }
    K.unpin_user_pages(taken, 2);
  });

  it('with gup-fast-no-recheck the only validating read is the first one, before the grab', () => {
    const { k, lab } = machine(['gup-fast-no-recheck']);
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const taken = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, taken)).toBe(1); // faulted in on the slow path
    K.unpin_user_pages(taken, 1);
    k.sbContract = new SbContract(lab, 1);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, taken)).toBe(1);
    const base = lab.layout.sbOff + taken[0]! * SB_RECORD_WORDS;
    expect(lab.i32[base + SB_RECORD.GUP_VALIDATED_AT]).toBeLessThan(lab.i32[base + SB_RECORD.GUP_GRABBED_AT]!);
    expect(lab.i32[base + SB_RECORD.GUP_VALIDATED_AT]).toBeGreaterThan(0);
    K.unpin_user_pages(taken, 1);
  });
});

describe('O6 dma-stale-frame (Actor.checkCachedFrame)', () => {
  it('a pinned frame that is the cached page is clean; one migration moved out of the cache fires; a truncate since the pin exempts it', () => {
    const { k, lab } = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'file', file: 0 });
    const init: ActorInit = {
      machineSab: k.mem.sab, machineConfig: k.layout.config, era: 'v6.3', faults: [], labSab: lab.sab, labConfig: lab.layout.config,
      delay: 'off', policy: 'skip', oracles: true, contractOracles: true, seed: 1,
    };
    const spec: ActorSpec = {
      actor: 0, cpu: 0, name: 'dio#0', kind: 'dio', mm: 0, addr, pages: 1, mapping: 'file', file: 0, offset: 0,
      bufferPages: 1, holdOps: 1, writeRatio: 1, fast: true, dataWord: 0,
    };
    const a = new Actor(k, lab, init, spec);
    const stale = () => lab.violations().filter((v) => v.kind === VIOLATION_KIND.DMA_STALE_FRAME);
    const pages = new Int32Array(1);
    const epoch = a.truncEpoch(0);
    expect(K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, pages)).toBe(1);
    const old = pages[0]!;
    a.checkCachedFrame(old, 0, epoch);
    expect(stale()).toHaveLength(0);
    K.unpin_user_pages(pages, 1);
    // Migration moves the (unpinned) page: the cache and the PTE now hold the new frame.
    expect(K.migrate_page(old)).toBe(0);
    a.checkCachedFrame(old, 0, epoch); // a write through a pin of the old frame: fires
    expect(stale().map((v) => [v.actor, v.page, v.b, v.c])).toEqual([[0, old, 0, 0]]);
    expect(stale()[0]!.d).not.toBe(old);
    // A truncate since the pin explains a frame the cache no longer holds.
    lab.add(lab.layout.truncEpochOff + lab.fileIndex(0, 0), 1);
    a.checkCachedFrame(old, 0, epoch);
    expect(stale()).toHaveLength(1);
  });
});
