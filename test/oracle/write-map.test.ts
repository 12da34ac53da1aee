// The lab's writes seen by a write map (trackWrites, src/mem/mem.ts), which the in-thread engine's
// machine pool (src/explore/machine-pool.ts) restores from: every writer of the lab marks the chunk
// of each word it writes — Lab's own methods, the event ring, the store-buffering records — and an
// untracked lab marks nothing. One thread, hand-built labs.
import { describe, expect, it } from 'vitest';
import { WRITE_CHUNK_SHIFT, trackWrites, writeMapOf } from '../../src/mem/mem.js';
import { LAB_HDR, Lab, type LabConfig, SB_RECORD, SB_RECORD_WORDS } from '../../src/oracle/lab.js';
import { SbContract } from '../../src/oracle/sb-contract.js';

const CONFIG: LabConfig = {
  nrActors: 2, ledgerSlots: 4, ringEntries: 32, // entry 15 of a ring straddles a chunk boundary
  totalFrames: 64, nrFiles: 1, filePages: 4, odpPages: 1, nrMms: 1, vaPages: 1 << 12,
  contractFrames: true,
};

/** A tracked lab: the buffer tracked before its Lab is made. */
function tracked(): { lab: Lab; map: Uint8Array } {
  const sab = new SharedArrayBuffer(Lab.create(CONFIG).sab.byteLength);
  const map = trackWrites(sab);
  return { lab: new Lab(sab, CONFIG), map };
}

const marked = (map: Uint8Array): number[] => [...map.keys()].filter((c) => map[c] === 1);
const chunk = (i: number): number => i >>> WRITE_CHUNK_SHIFT;

describe('write maps of the lab', () => {
  it('store, add and cas each mark the chunk of their word, and nothing else; a load marks nothing', () => {
    const { lab, map } = tracked();
    const far = lab.layout.totalWords - 1;
    lab.load(far);
    expect(marked(map)).toEqual([]);
    lab.store(far, 1);
    expect(marked(map)).toEqual([chunk(far)]);
    map.fill(0);
    const mid = 5 << WRITE_CHUNK_SHIFT;
    lab.add(mid, 2);
    expect(marked(map)).toEqual([5]);
    map.fill(0);
    lab.cas(mid + (1 << WRITE_CHUNK_SHIFT), 0, 3);
    expect(marked(map)).toEqual([6]);
  });

  /** Every chunk holding a word that is no longer 0 is marked (the lab starts all 0). */
  const everyWriteMarked = (lab: Lab, map: Uint8Array): number => {
    let written = 0;
    for (let i = 0; i < lab.layout.totalWords; i++) {
      if (Atomics.load(lab.i32, i) === 0) continue;
      written++;
      expect(map[chunk(i)], `word ${i} written, its chunk ${chunk(i)} not marked`).toBe(1);
    }
    return written;
  };

  it('events mark their ring counter and every word of their entry (entries that straddle two chunks too)', () => {
    const { lab, map } = tracked();
    for (let actor = 0; actor < CONFIG.nrActors; actor++) for (let n = 0; n < CONFIG.ringEntries; n++) lab.event(actor, 1, n + 1, n + 1);
    expect(everyWriteMarked(lab, map)).toBe(CONFIG.nrActors * (1 + CONFIG.ringEntries * 4));
  });

  it('the store-buffering records mark the clock and the whole seqlocked half they write (halves that straddle two chunks too)', () => {
    const { lab, map } = tracked();
    const gup = new SbContract(lab, 0);
    const mm = new SbContract(lab, 1);
    for (let pfn = 0; pfn < CONFIG.totalFrames; pfn++) {
      gup.gupKept(pfn, 100 + pfn, 7, gup.stamp(), gup.stamp());
      mm.mmNotPinned(pfn, 500 + pfn, 9, mm.stamp(), mm.stamp());
    }
    expect(map[chunk(LAB_HDR.SB_CLOCK)]).toBe(1);
    expect(everyWriteMarked(lab, map)).toBeGreaterThan(CONFIG.totalFrames * 9);
  });

  it('an entry or a record half that straddles two chunks marks both, written alone', () => {
    const CHUNK = 1 << WRITE_CHUNK_SHIFT;
    const straddles = (first: number, words: number): boolean => chunk(first) !== chunk(first + words - 1);
    // The first ring entry (of any actor) whose four words straddle a chunk boundary.
    let found = false;
    for (let actor = 0; actor < CONFIG.nrActors && !found; actor++) {
      const { lab, map } = tracked();
      const ring = lab.actorBase(actor) + lab.layout.ringOff;
      for (let e = 0; e < CONFIG.ringEntries; e++) {
        const at = ring + 1 + e * 4;
        if (!straddles(at, 4)) {
          lab.event(actor, 1, e, 0);
          continue;
        }
        map.fill(0);
        lab.event(actor, 1, e, 0);
        expect([map[chunk(at)], map[chunk(at + 3)]]).toEqual([1, 1]);
        found = true;
        break;
      }
    }
    // The first frame whose GUP half (a seq word and five fields) straddles one.
    const { lab, map } = tracked();
    const sb = new SbContract(lab, 0);
    const pfn = [...Array(CONFIG.totalFrames).keys()].find((p) => straddles(lab.layout.sbOff + p * SB_RECORD_WORDS + SB_RECORD.GUP, 6));
    expect(pfn, `no GUP half straddles a ${CHUNK}-word chunk in this lab`).toBeDefined();
    const seq = lab.layout.sbOff + pfn! * SB_RECORD_WORDS + SB_RECORD.GUP;
    map.fill(0);
    sb.gupKept(pfn!, 100, 7, 1, 2);
    expect([map[chunk(seq)], map[chunk(seq + 5)]]).toEqual([1, 1]);
    expect(found, `no ring entry straddles a ${CHUNK}-word chunk in this lab`).toBe(true);
  });

  it('an untracked lab has no map and its writes mark nothing anywhere', () => {
    const lab = Lab.create(CONFIG);
    expect(writeMapOf(lab.sab)).toBeNull();
    lab.store(3, 1);
    lab.event(0, 1, 2, 3);
    expect(writeMapOf(lab.sab)).toBeNull();
  });
});
