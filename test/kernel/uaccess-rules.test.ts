/**
 * get_user() / put_user() (src/kernel/uaccess.ts, issue 13), on one thread: the word and address
 * checks, a hole, a read-only mapping, the fault on first touch (a read faults read-only, a
 * write upgrades it), the subpage of a hugetlb leaf, the `pfn` out-argument of either length, and
 * the locks each access leaves as it found them.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';

const PAGE = 4096;

function machine(): K.KernelContext {
  return K.boot(
    {
      normalFrames: 32, movableFrames: 0, daxFrames: 0, huge2mPages: 1, huge1gPages: 0, wordsPerPage: 4,
      nrMms: 1, vaPages: 1 << 12, maxVmas: 8, nrFiles: 1, filePages: 4, nrCpus: 1,
    },
    { era: 'v6.3' },
  );
}

describe('get_user / put_user', () => {
  it('a word outside the page, an address outside the space or outside every VMA: -EFAULT (get_user throws), nothing faulted', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const faults = K.readVmstat(k.mem).pgfault;
    for (const [a, w] of [[addr, -1], [addr, 4], [-PAGE, 0], [-1, 0], [mm.vaPages * PAGE, 0], [addr + PAGE, 0]] as const) {
      expect([a, w, K.put_user(mm, a, w, 1)]).toEqual([a, w, -K.EFAULT]);
      expect(() => K.get_user(mm, a, w)).toThrow(`get_user: no mapping at ${a} in mm 0 (-14)`);
    }
    expect(K.readVmstat(k.mem).pgfault).toBe(faults);
    // Refused before any lock is taken or any table word read (the PT lock of a vpn past the space
    // would be a word of another mm's tables).
    const told: number[] = [];
    k.lockdep = { acquired: (w) => told.push(w), released: (w) => told.push(-w) };
    for (const [a, w] of [[addr, -1], [addr, 4], [-PAGE, 0], [mm.vaPages * PAGE, 0], [(mm.vaPages + 600) * PAGE, 0]] as const) {
      expect(K.put_user(mm, a, w, 1)).toBe(-K.EFAULT);
    }
    expect(told).toEqual([]);
    k.lockdep = null;
    expect(K.put_user(mm, addr, 3, 9)).toBe(0); // the last word is inside
    expect(K.get_user(mm, addr + PAGE - 1, 3)).toBe(9); // any byte of the page
    expect(mm.vaPages).toBeGreaterThan(0);
  });

  it('the first read faults the page in read-only; a write then upgrades it; both see the stored word', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'anon' });
    const vpn = addr / PAGE;
    const before = K.readVmstat(k.mem).pgfault;
    expect(K.get_user(mm, addr, 0)).toBe(0);
    const e = k.mem.load(mm.pt.pte(vpn));
    expect(K.pte_present(e)).toBe(true);
    const readFaults = K.readVmstat(k.mem).pgfault - before;
    expect(readFaults).toBe(1);
    expect(K.put_user(mm, addr, 1, 0x1234)).toBe(0);
    expect(K.pte_write(k.mem.load(mm.pt.pte(vpn)))).toBe(true);
    expect(K.get_user(mm, addr, 1)).toBe(0x1234);
    expect(K.get_user(mm, addr, 0)).toBe(0);
    const f = K.readVmstat(k.mem).pgfault;
    expect(K.put_user(mm, addr, 2, -5)).toBe(0); // writable now: no fault
    expect(K.readVmstat(k.mem).pgfault).toBe(f);
    expect(K.get_user(mm, addr, 2)).toBe(-5);
    // The data word of the frame the PTE maps.
    const pfn = K.pte_pfn(k.mem.load(mm.pt.pte(vpn)));
    expect(k.mem.load(K.page_data(pfn) + 1)).toBe(0x1234);
    // The neighbour page is untouched.
    expect(k.mem.load(mm.pt.pte(vpn + 1))).toBe(0);
  });

  it('page 0 and the last page of the space are user pages like any other', () => {
    const k = machine();
    const mm = K.mm_of(0);
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: 0 })).toBe(0);
    const top = (mm.vaPages - 1) * PAGE;
    expect(K.do_mmap(mm, { length: PAGE, kind: 'anon', addr: top })).toBe(top);
    expect(K.put_user(mm, 0, 0, 11)).toBe(0);
    expect(K.put_user(mm, top, 1, 12)).toBe(0);
    expect([K.get_user(mm, 0, 0), K.get_user(mm, top + PAGE - 1, 1)]).toEqual([11, 12]);
    expect(K.pte_present(k.mem.load(mm.pt.pte(0)))).toBe(true);
  });

  it('a read-only mapping reads, and refuses the write with the fault\'s error', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'anon', write: false });
    expect(K.get_user(mm, addr, 0)).toBe(0);
    expect(K.put_user(mm, addr, 0, 1)).toBe(-K.EFAULT);
    expect(K.get_user(mm, addr, 0)).toBe(0);
    expect(K.pte_write(k.mem.load(mm.pt.pte(addr / PAGE)))).toBe(false);
  });

  it('the pfn out-argument: a 2-word array is used as is, a 1-word one receives the frame alone', () => {
    machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
    const two = new Int32Array([-1, -1]);
    expect(K.put_user(mm, addr, 0, 42, two)).toBe(0);
    const pfn = two[0]!;
    expect(pfn).toBeGreaterThanOrEqual(0);
    const one = new Int32Array([-1]);
    expect(K.get_user(mm, addr, 0, one)).toBe(42);
    expect(one[0]).toBe(pfn);
    const wide = new Int32Array([-1, -1, -1]);
    expect(K.get_user(mm, addr, 0, wide)).toBe(42);
    expect([wide[0], wide[1], wide[2]]).toEqual([pfn, 42, -1]);
    const w1 = new Int32Array([-1]);
    expect(K.put_user(mm, addr, 1, 7, w1)).toBe(0);
    expect(w1[0]).toBe(pfn);
  });

  it('in a hugetlb leaf, the subpage the address falls in', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: 512 * PAGE, kind: 'hugetlb' });
    const out = new Int32Array(2);
    expect(K.put_user(mm, addr + 5 * PAGE, 2, 55, out)).toBe(0);
    const head = k.layout.zoneStart[1]!;
    expect(out[0]).toBe(head + 5);
    expect(k.mem.load(K.page_data(head + 5) + 2)).toBe(55);
    expect(K.get_user(mm, addr + 511 * PAGE, 0, out)).toBe(0);
    expect(out[0]).toBe(head + 511);
    expect(K.get_user(mm, addr + 5 * PAGE, 2)).toBe(55);
  });

  it('leaves no lock held: the mmap lock and the PT lock are dropped on success and on failure', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: PAGE, kind: 'anon', write: false });
    const ptl = mm.pt.ptl(addr / PAGE);
    expect(K.get_user(mm, addr, 0)).toBe(0);
    expect(K.put_user(mm, addr, 0, 1)).toBe(-K.EFAULT);
    expect(K.put_user(mm, addr + PAGE, 0, 1)).toBe(-K.EFAULT);
    expect(k.mem.load(ptl)).toBe(0);
    expect(k.readLocks.get(mm.id) ?? 0).toBe(0);
    K.mmap_write_lock(mm); // would not be granted with a reader left
    K.mmap_write_unlock(mm);
  });
});
