/**
 * The lab region's own tests (issue 13): the layout, the event rings, the violation log with its
 * snapshots and its overflow, the ghost-word arithmetic and the errno statistics — the machinery
 * every oracle records through, shown to record what it is given and nothing else.
 */
import { describe, expect, it } from 'vitest';
import {
  ACTOR_STAT, EVENT, GHOST_PIN, GHOST_UNPIN, LAB_HDR, Lab, type LabConfig, MAX_VIOLATIONS, SB_RECORD_WORDS, SNAP_EVENTS, VIOLATION_WORDS,
  computeLabLayout, ghostPins, ghostUnpins, gupFailStat,
} from '../../src/oracle/lab.js';

const CONFIG: LabConfig = { nrActors: 3, ledgerSlots: 5, ringEntries: 4, totalFrames: 40, nrFiles: 2, filePages: 3, odpPages: 2, nrMms: 1, vaPages: 64 };

describe('lab layout', () => {
  it('places every region after the previous one, 16-word aligned, and sizes the buffer to the end', () => {
    const l = computeLabLayout(CONFIG);
    expect(l.ledgerOff).toBe(32); // after ACTOR_STAT_WORDS
    expect(l.ringOff).toBe(l.ledgerOff + 16); // 5 entries × 2 words, rounded up
    expect(l.lastWriteOff).toBe(l.ringOff + 32); // 1 + 4 × 4 words, rounded up
    expect(l.lastEpochOff).toBe(l.lastWriteOff + 16);
    expect(l.odpOff).toBe(l.lastEpochOff + 16);
    expect(l.actorWords).toBe(l.odpOff + 16);
    expect(l.actorOff).toBe(16);
    expect(l.ghostOff).toBe(16 + 3 * l.actorWords);
    expect(l.ghostGetOff).toBe(l.ghostOff + 48);
    expect(l.truncEpochOff).toBe(l.ghostGetOff + 48);
    expect(l.violationOff).toBe(l.truncEpochOff + 16);
    expect(l.totalWords).toBe(l.violationOff + MAX_VIOLATIONS * VIOLATION_WORDS);
    const lab = Lab.create(CONFIG);
    expect(lab.sab.byteLength).toBe(l.totalWords * 4);
    expect(() => new Lab(new SharedArrayBuffer(l.totalWords * 4 - 4), CONFIG)).toThrow(new RangeError('Lab: buffer smaller than its layout'));
    expect(() => new Lab(new SharedArrayBuffer(l.totalWords * 4), CONFIG)).not.toThrow();
  });

  it('sizes the ledger by LEDGER_WORDS per slot and the ODP block by ODP_PTE_WORDS per page, each rounded up to 16', () => {
    const l = computeLabLayout({ ...CONFIG, ledgerSlots: 9, odpPages: 4 });
    expect(l.ringOff - l.ledgerOff).toBe(32); // 9 × 2 = 18 words
    expect(l.actorWords - l.odpOff).toBe(32); // 4 + 4 × 4 = 20 words
  });

  it('with contractFrames, the store-buffering records (SB_RECORD_WORDS per frame) sit between the truncate epochs and the log', () => {
    const bare = computeLabLayout(CONFIG);
    expect(bare.sbOff).toBe(-1);
    expect(computeLabLayout({ ...CONFIG, contractFrames: false })).toEqual({ ...bare, config: { ...CONFIG, contractFrames: false } });
    const l = computeLabLayout({ ...CONFIG, contractFrames: true });
    expect(l.sbOff).toBe(bare.truncEpochOff + 16);
    expect(l.violationOff).toBe(l.sbOff + CONFIG.totalFrames * SB_RECORD_WORDS);
    expect(l.totalWords).toBe(bare.totalWords + CONFIG.totalFrames * SB_RECORD_WORDS);
    const lab = Lab.create({ ...CONFIG, contractFrames: true });
    // The last frame's last record word is the word before the log, and recording does not reach it.
    lab.store(l.violationOff - 1, 5);
    lab.violation(6, 0, 1, 19);
    expect(lab.load(l.violationOff - 1)).toBe(5);
    expect(lab.violations()).toHaveLength(1);
  });

  it('indexes actor blocks, ledgers, ghost words and file pages without overlap', () => {
    const lab = Lab.create(CONFIG);
    expect(lab.actorBase(1) - lab.actorBase(0)).toBe(lab.layout.actorWords);
    expect(lab.ledgerIndex(1, 2)).toBe(lab.actorBase(1) + lab.layout.ledgerOff + 4);
    expect(lab.ledgerExtraIndex(1, 2)).toBe(lab.ledgerIndex(1, 2) + 1);
    expect(lab.ghostIndex(7)).toBe(lab.layout.ghostOff + 7);
    expect(lab.fileIndex(1, 2)).toBe(5);
    lab.store(lab.actorBase(2) + ACTOR_STAT.PINS, 9);
    expect(lab.stat(2, ACTOR_STAT.PINS)).toBe(9);
    expect(lab.stat(1, ACTOR_STAT.PINS)).toBe(0);
    expect(lab.stopped()).toBe(false);
    lab.store(LAB_HDR.STOP, 1);
    expect(lab.stopped()).toBe(true);
    expect(lab.cas(LAB_HDR.STOP, 0, 5)).toBe(1);
    expect(lab.load(LAB_HDR.STOP)).toBe(1);
    expect(lab.add(LAB_HDR.STOP, 2)).toBe(1);
    expect(lab.load(LAB_HDR.STOP)).toBe(3);
  });
});

describe('event rings', () => {
  it('keeps the last ringEntries events, oldest first, per actor', () => {
    const lab = Lab.create(CONFIG);
    expect(lab.lastEvents(0, 8)).toEqual([]);
    for (let i = 0; i < 6; i++) lab.event(0, EVENT.PIN, 100 + i, i);
    lab.event(1, EVENT.UNPIN, 7, -3);
    expect(lab.lastEvents(0, 8).map((e) => [e.seq, e.event, e.page, e.arg])).toEqual([
      [2, 'pin', 102, 2], [3, 'pin', 103, 3], [4, 'pin', 104, 4], [5, 'pin', 105, 5],
    ]);
    expect(lab.lastEvents(0, 2).map((e) => e.page)).toEqual([104, 105]);
    expect(lab.lastEvents(1, 8)).toEqual([{ seq: 0, event: 'unpin', page: 7, arg: -3 }]);
    expect(lab.lastEvents(2, 8)).toEqual([]);
  });

  it('skips an entry whose write is not complete (its sequence word not yet stored)', () => {
    const lab = Lab.create(CONFIG);
    lab.event(0, EVENT.GET, 1, 0);
    lab.event(0, EVENT.PUT, 2, 0);
    const base = lab.actorBase(0) + lab.layout.ringOff;
    lab.store(base + 1 + 1 * 4, 0); // entry of seq 1 half-written
    expect(lab.lastEvents(0, 4).map((e) => e.event)).toEqual(['get']);
  });
});

describe('violation log', () => {
  it('records the entry with the snapshot of the actor and the coordinator', () => {
    const lab = Lab.create(CONFIG);
    for (let i = 0; i < SNAP_EVENTS + 2; i++) lab.event(0, EVENT.DMA_WRITE, i, i);
    lab.event(2, EVENT.MUNMAP, 50, 0); // actor 2 is the coordinator (nrActors - 1)
    lab.event(1, EVENT.GET, 60, 0);
    expect(lab.violation(3, 0, 11, 2, 4, 5, 6, 7)).toBe(true);
    const [v] = lab.violations();
    expect(v).toMatchObject({ oracle: 3, actor: 0, page: 11, kind: 2, b: 4, c: 5, d: 6, e: 7 });
    expect([...v!.events.keys()]).toEqual([0, 2]);
    // The ring holds 4: the snapshot takes what the ring still has.
    expect(v!.events.get(0)!.map((e) => e.page)).toEqual([6, 7, 8, 9]);
    expect(v!.events.get(2)).toEqual([{ seq: 0, event: 'munmap', page: 50, arg: 0 }]);
    // Every field of every snapshotted event, as the ring had it.
    lab.event(2, EVENT.TRUNCATE, 51, 3);
    lab.event(2, EVENT.RECLAIM, 52, 4);
    lab.violation(3, 0, 12, 2);
    const w = lab.violations()[1]!;
    expect(w.events.get(0)).toEqual([6, 7, 8, 9].map((i) => ({ seq: i, event: 'dma_write', page: i, arg: i })));
    expect(w.events.get(2)).toEqual([
      { seq: 0, event: 'munmap', page: 50, arg: 0 }, { seq: 1, event: 'truncate', page: 51, arg: 3 }, { seq: 2, event: 'reclaim', page: 52, arg: 4 },
    ]);
    // Later events do not change the snapshot.
    lab.event(0, EVENT.DMA_READ, 99, 0);
    expect(lab.violations()[0]!.events.get(0)!.map((e) => e.page)).toEqual([6, 7, 8, 9]);
  });

  it('an actor-less violation (-1) snapshots only the coordinator; the coordinator\'s own, once', () => {
    const lab = Lab.create(CONFIG);
    lab.event(0, EVENT.PIN, 1, 0);
    lab.event(2, EVENT.WRITEBACK, 2, 0);
    lab.violation(2, -1, -1, 8);
    lab.violation(2, 2, -1, 8);
    const [a, b] = lab.violations();
    expect([...a!.events.keys()]).toEqual([2]);
    expect([...b!.events.keys()]).toEqual([2]);
    expect(b!.events.get(2)).toHaveLength(1);
    // The coordinator's own violation fills the actor half of the snapshot only.
    const second = lab.layout.violationOff + VIOLATION_WORDS + 8 + SNAP_EVENTS * 4;
    expect(Array.from({ length: SNAP_EVENTS * 4 }, (_, i) => lab.load(second + i)).every((x) => x === 0)).toBe(true);
    expect(lab.load(lab.layout.violationOff + VIOLATION_WORDS + 8)).toBe(1); // seq 0 + 1, the actor half
  });

  it('an actor index past the last actor is not snapshotted (the words after the actor blocks are no ring)', () => {
    const lab = Lab.create(CONFIG);
    for (let i = lab.layout.ghostOff; i < lab.layout.truncEpochOff; i++) lab.store(i, 1);
    lab.event(2, EVENT.WRITEBACK, 2, 0);
    lab.violation(2, CONFIG.nrActors, 5, 8);
    const [v] = lab.violations();
    expect([...v!.events.keys()]).toEqual([2]);
    expect(v!.actor).toBe(CONFIG.nrActors);
  });

  it('is bounded: past MAX_VIOLATIONS entries are counted as lost', () => {
    const lab = Lab.create(CONFIG);
    for (let i = 0; i < MAX_VIOLATIONS; i++) expect(lab.violation(1, 0, i, 1)).toBe(true);
    expect(lab.violation(1, 0, -1, 1)).toBe(false);
    expect(lab.violation(1, 0, -1, 1)).toBe(false);
    expect(lab.load(LAB_HDR.LOST_VIOLATIONS)).toBe(2);
    const all = lab.violations();
    expect(all).toHaveLength(MAX_VIOLATIONS);
    expect(all[MAX_VIOLATIONS - 1]!.page).toBe(MAX_VIOLATIONS - 1);
  });
});

describe('ghost words and errno statistics', () => {
  it('a pin adds one outstanding; an unpin removes it and counts an unpin in one add', () => {
    let w = 0;
    w += GHOST_PIN;
    w += GHOST_PIN;
    expect([ghostPins(w), ghostUnpins(w)]).toEqual([2, 0]);
    w = (w + GHOST_UNPIN) | 0;
    expect([ghostPins(w), ghostUnpins(w)]).toEqual([1, 1]);
    w = (w + GHOST_UNPIN) | 0;
    expect([ghostPins(w), ghostUnpins(w)]).toEqual([0, 2]);
    expect(ghostUnpins(0xffff0000 | 0)).toBe(0xffff);
  });

  it('gupFailStat maps 0 and each -errno to its statistic, anything else to FAIL_OTHER', () => {
    expect(gupFailStat(0)).toBe(ACTOR_STAT.FAIL_ZERO);
    expect(gupFailStat(-14)).toBe(ACTOR_STAT.FAIL_EFAULT);
    expect(gupFailStat(-12)).toBe(ACTOR_STAT.FAIL_ENOMEM);
    expect(gupFailStat(-11)).toBe(ACTOR_STAT.FAIL_EAGAIN);
    expect(gupFailStat(-22)).toBe(ACTOR_STAT.FAIL_EINVAL);
    expect(gupFailStat(-16)).toBe(ACTOR_STAT.FAIL_EBUSY);
    expect(gupFailStat(-95)).toBe(ACTOR_STAT.FAIL_EOPNOTSUPP);
    expect(gupFailStat(-1)).toBe(ACTOR_STAT.FAIL_OTHER);
    expect(gupFailStat(14)).toBe(ACTOR_STAT.FAIL_OTHER);
  });
});
