/**
 * The liveness watchdog's thread-side half (src/oracle/liveness.ts, thread-cpu.ts), on the test's
 * own thread (issue 13): the lock tracker records and clears held lock words, the watched wait
 * records what it waits on and throws once the run is aborted, and /proc gives this thread's id
 * and state.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAB_HDR, LOCK_WORDS, Lab } from '../../src/oracle/lab.js';
import { RunAborted, labLockTracker, readLockState, watchedFutexWait } from '../../src/oracle/liveness.js';
import { currentTid, sampleThread } from '../../src/oracle/thread-cpu.js';

const lab = (): Lab => Lab.create({ nrActors: 2, ledgerSlots: 2, ringEntries: 4, totalFrames: 16, nrFiles: 0, filePages: 0, odpPages: 1, nrMms: 1, vaPages: 16 });

describe('labLockTracker', () => {
  it('records held lock words in free slots, clears exactly the released one, and the TID', () => {
    const l = lab();
    const t = labLockTracker(l, 1);
    expect(l.load(l.actorBase(1) + LOCK_WORDS.TID)).toBe(currentTid());
    expect(readLockState(l, 1)).toEqual({ held: [], awaits: null });
    t.acquired(10);
    t.acquired(0);
    t.acquired(30);
    expect(readLockState(l, 1).held).toEqual([10, 0, 30]);
    t.released(0);
    expect(readLockState(l, 1).held).toEqual([10, 30]);
    t.acquired(40); // reuses the freed slot
    expect(l.load(l.actorBase(1) + LOCK_WORDS.HELD + 1)).toBe(41);
    t.released(99); // not held: nothing changes
    expect(readLockState(l, 1).held).toEqual([10, 40, 30]);
    expect(readLockState(l, 0)).toEqual({ held: [], awaits: null });
  });

  it('keeps the first HELD_SLOTS locks when more are held', () => {
    const l = lab();
    const t = labLockTracker(l, 0);
    for (let w = 1; w <= LOCK_WORDS.HELD_SLOTS + 2; w++) t.acquired(w);
    expect(readLockState(l, 0).held).toEqual(Array.from({ length: LOCK_WORDS.HELD_SLOTS }, (_, i) => i + 1));
    t.released(LOCK_WORDS.HELD_SLOTS + 1); // never recorded
    expect(readLockState(l, 0).held).toHaveLength(LOCK_WORDS.HELD_SLOTS);
  });
});

describe('readLockState awaits', () => {
  it('reads a machine word (index + 1), another word (-1) or none (0)', () => {
    const l = lab();
    const a = l.actorBase(0) + LOCK_WORDS.AWAIT;
    l.store(a, 8);
    expect(readLockState(l, 0).awaits).toBe(7);
    l.store(a, 1);
    expect(readLockState(l, 0).awaits).toBe(0);
    l.store(a, -1);
    expect(readLockState(l, 0).awaits).toBe(-1);
  });
});

describe('watchedFutexWait', () => {
  it('returns what Atomics.wait returns and clears the awaited word; throws RunAborted once aborted', () => {
    const l = lab();
    const machine = new Int32Array(new SharedArrayBuffer(16));
    const wait = watchedFutexWait(l, 0, machine);
    machine[2] = 5;
    expect(wait(machine, 2, 4, 1000)).toBe('not-equal');
    expect(wait(machine, 2, 5, 0)).toBe('timed-out');
    // Longer than one slice: waits slice by slice to the deadline.
    const t0 = performance.now();
    expect(wait(machine, 2, 5, 120)).toBe('timed-out');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    const other = new Int32Array(new SharedArrayBuffer(8));
    expect(wait(other, 0, 1, 0)).toBe('not-equal');
    expect(readLockState(l, 0).awaits).toBeNull();
    l.store(LAB_HDR.ABORT, 1);
    expect(() => wait(machine, 2, 5, 1000)).toThrow(RunAborted);
    expect(() => wait(machine, 2, 5, 1000)).toThrow('the liveness watchdog aborted the run');
    expect(new RunAborted('x').name).toBe('RunAborted');
  });
});

describe('thread-cpu', () => {
  it('this thread has an id and reads running; an unknown thread reads null', () => {
    const tid = currentTid();
    expect(tid).toBeGreaterThan(0); // Linux: /proc/thread-self
    const s = sampleThread(tid);
    expect(s).not.toBeNull();
    expect(s!.state).toBe('R');
    // utime + stime (fields 14 and 15 of /proc/<pid>/task/<tid>/stat), read independently after.
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const after = Number(f[11]) + Number(f[12]);
    expect(Number.isInteger(s!.cpu)).toBe(true);
    expect(s!.cpu).toBeLessThanOrEqual(after);
    expect(s!.cpu).toBeGreaterThanOrEqual(Math.max(Number(f[11]), Number(f[12])) - 5);
    expect(sampleThread(0)).toBeNull();
    expect(sampleThread(-3)).toBeNull();
    expect(sampleThread(0x7ffffff0)).toBeNull();
  });
});
