/**
 * O6 sb-contract's own bookkeeping (issue 13), on hand-built lab states on one thread: the
 * seqlocked halves (a half another thread is writing is skipped, never read torn; the sequence
 * word moves by two per write), every field of the violation it logs, and the judge's rule field
 * by field — each condition shown to be needed by a record that differs from a firing one in that
 * field alone.
 */
import { describe, expect, it } from 'vitest';
import { LAB_HDR, Lab, ORACLE, SB_RECORD, SB_RECORD_WORDS, VIOLATION_KIND } from '../../src/oracle/lab.js';
import { SbContract } from '../../src/oracle/sb-contract.js';

const FRAMES = 16;

function lab(): Lab {
  return Lab.create({
    nrActors: 3, ledgerSlots: 4, ringEntries: 8, totalFrames: FRAMES, nrFiles: 1, filePages: 4,
    odpPages: 1, nrMms: 1, vaPages: 64, contractFrames: true,
  });
}

const word = (l: Lab, pfn: number, field: number): number => l.load(l.layout.sbOff + pfn * SB_RECORD_WORDS + field);
const setWord = (l: Lab, pfn: number, field: number, v: number): void => l.store(l.layout.sbOff + pfn * SB_RECORD_WORDS + field, v);
const sb = (l: Lab) => l.violations().filter((v) => v.kind === VIOLATION_KIND.SB_CONTRACT);

/** The firing pair's stamps: K (not pinned) 2 < G (grabbed) 3, V (validated) 1 < C (visible) 4. */
const FIRE = { notPinnedAt: 2, grabbedAt: 3, validatedAt: 1, visibleAt: 4 } as const;

describe('O6 sb-contract records (src/oracle/sb-contract.ts)', () => {
  it('stamps count up from the lab clock, one per call, shared by every thread\'s oracle', () => {
    const l = lab();
    const a = new SbContract(l, 0);
    const b = new SbContract(l, 2);
    expect([a.stamp(), b.stamp(), a.stamp()]).toEqual([1, 2, 3]);
    expect(l.load(LAB_HDR.SB_CLOCK)).toBe(3);
  });

  it('each half is written whole under its sequence word (+2 per write), the other half left alone', () => {
    const l = lab();
    const gup = new SbContract(l, 1);
    gup.gupKept(5, 40, 0x81, 7, 9);
    expect([0, 1, 2, 3, 4, 5].map((k) => word(l, 5, SB_RECORD.GUP + k))).toEqual([2, 41, 0x81, 7, 9, 1]);
    expect([0, 1, 2, 3, 4].map((k) => word(l, 5, SB_RECORD.MM + k))).toEqual([0, 0, 0, 0, 0]);
    gup.gupKept(5, 41, 0x82, 10, 11);
    expect([0, 1, 2, 3, 4, 5].map((k) => word(l, 5, SB_RECORD.GUP + k))).toEqual([4, 42, 0x82, 10, 11, 1]);
    const mm = new SbContract(l, 2);
    mm.mmNotPinned(6, 50, 0x91, 12, 13);
    expect([0, 1, 2, 3, 4].map((k) => word(l, 6, SB_RECORD.MM + k))).toEqual([2, 51, 0x91, 12, 13]);
    expect(word(l, 6, SB_RECORD.GUP)).toBe(0);
    expect(word(l, 5, SB_RECORD.MM)).toBe(0); // frames do not share records
    expect(sb(l)).toHaveLength(0);
  });

  it('a violation names O6, the GUP half\'s actor, the frame, the PTE word and value, K and V — whichever half logs it', () => {
    const l = lab();
    const gup = new SbContract(l, 1);
    const mm = new SbContract(l, 2);
    gup.gupKept(3, 60, 0x77, FIRE.grabbedAt, FIRE.validatedAt);
    mm.mmNotPinned(3, 60, 0x77, FIRE.notPinnedAt, FIRE.visibleAt);
    mm.mmNotPinned(4, 61, 0x78, FIRE.notPinnedAt, FIRE.visibleAt);
    gup.gupKept(4, 61, 0x78, FIRE.grabbedAt, FIRE.validatedAt);
    expect(sb(l).map((v) => [v.oracle, v.actor, v.page, v.kind, v.b, v.c, v.d, v.e])).toEqual([
      [ORACLE.O6, 1, 3, VIOLATION_KIND.SB_CONTRACT, 60, 0x77, FIRE.notPinnedAt, FIRE.validatedAt],
      [ORACLE.O6, 1, 4, VIOLATION_KIND.SB_CONTRACT, 61, 0x78, FIRE.notPinnedAt, FIRE.validatedAt],
    ]);
    expect([gup.violations, mm.violations]).toEqual([1, 1]);
  });

  it('the judge needs every condition: the same PTE word, the same value, K before G, V before C (strictly)', () => {
    const l = lab();
    const gup = new SbContract(l, 1);
    const mm = new SbContract(l, 2);
    const pair = (pfn: number, g: [number, number, number, number], m: [number, number, number, number]): void => {
      mm.mmNotPinned(pfn, ...m);
      gup.gupKept(pfn, ...g);
    };
    const { notPinnedAt: k, grabbedAt: g, validatedAt: v, visibleAt: c } = FIRE;
    pair(0, [60, 0x77, g, v], [61, 0x77, k, c]); // another PTE word
    pair(1, [60, 0x77, g, v], [60, 0x76, k, c]); // another value
    pair(2, [60, 0x77, k, v], [60, 0x77, k, c]); // G == K
    pair(3, [60, 0x77, 1, v], [60, 0x77, k, c]); // G before K
    pair(4, [60, 0x77, g, c], [60, 0x77, k, c]); // V == C
    pair(5, [60, 0x77, g, 5], [60, 0x77, k, c]); // V after C
    // PTE word -1 (pte + 1 == 0) on both: "no PTE" never matches.
    pair(6, [-1, 0x77, g, v], [-1, 0x77, k, c]);
    expect(sb(l)).toHaveLength(0);
    pair(7, [60, 0x77, g, v], [60, 0x77, k, c]); // the nearest firing state
    expect(sb(l).map((x) => x.page)).toEqual([7]);
  });

  it('a half whose sequence word is odd (another thread mid-write) is neither overwritten nor read', () => {
    const l = lab();
    const gup = new SbContract(l, 1);
    const mm = new SbContract(l, 2);
    // The GUP half is being written elsewhere: gupKept skips its record and does not judge.
    mm.mmNotPinned(8, 70, 0x55, FIRE.notPinnedAt, FIRE.visibleAt);
    setWord(l, 8, SB_RECORD.GUP, 3);
    gup.gupKept(8, 70, 0x55, FIRE.grabbedAt, FIRE.validatedAt);
    expect([0, 1, 2, 3, 4, 5].map((k) => word(l, 8, SB_RECORD.GUP + k))).toEqual([3, 0, 0, 0, 0, 0]);
    expect(sb(l)).toHaveLength(0);
    // The mm half of frame 9 is mid-write, its fields a firing record: the GUP side writes its own
    // half, spins on the odd sequence word a bounded number of times and gives up without a verdict.
    setWord(l, 9, SB_RECORD.MM, 1);
    [71 + 1, 0x56, FIRE.notPinnedAt, FIRE.visibleAt].forEach((v, i) => {
      setWord(l, 9, SB_RECORD.MM_PTE + i, v);
    });
    gup.gupKept(9, 71, 0x56, FIRE.grabbedAt, FIRE.validatedAt);
    expect(word(l, 9, SB_RECORD.GUP)).toBe(2);
    expect(sb(l)).toHaveLength(0);
    // ... and the mm side, its own half odd, does not write it either (the fields stay).
    mm.mmNotPinned(9, 71, 0x56, 20, 21);
    expect([0, 1, 2, 3, 4].map((k) => word(l, 9, SB_RECORD.MM + k))).toEqual([1, 72, 0x56, FIRE.notPinnedAt, FIRE.visibleAt]);
    expect(sb(l)).toHaveLength(0);
    // Once that writer finishes (even sequence word), the same record is judged.
    setWord(l, 9, SB_RECORD.MM, 2);
    gup.gupKept(9, 71, 0x56, FIRE.grabbedAt, FIRE.validatedAt);
    expect(sb(l).map((v) => [v.page, v.b])).toEqual([[9, 71]]);
    expect(word(l, 9, SB_RECORD.GUP)).toBe(4);
  });
});
