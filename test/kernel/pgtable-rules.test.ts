/**
 * Page-table entries, their walk and the PT spinlock (src/kernel/pgtable.ts, issue 13), on one
 * thread: every PTE bit helper on each bit, the pfn field, the word indices of two mms' tables, the
 * lockless walk at each level, and spin_lock() under contention — the other holder simulated by the
 * access hook, which releases the lock word before the N-th RMW on it, so the spin count, the switch
 * to the futex path ("held with waiters", 2) and the unlock are deterministic.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { ACCESS, type AccessKind } from '../../src/mem/mem.js';

function machine(): K.KernelContext {
  return K.boot(
    {
      normalFrames: 16, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 2, vaPages: 1 << 19, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 1,
    },
    { era: 'v6.3' },
  );
}

describe('PTE helpers', () => {
  it('each predicate reads its own bit only', () => {
    const bits = [K._PAGE_PRESENT, K._PAGE_RW, K._PAGE_DIRTY, K._PAGE_ACCESSED, K._PAGE_HUGE, K._PAGE_MIGRATION, K._PAGE_DEVMAP];
    expect(bits).toEqual([1, 2, 4, 8, 16, 32, 64]);
    const preds = [K.pte_present, K.pte_write, K.pte_dirty, K.pte_huge, K.pte_devmap];
    const own = [K._PAGE_PRESENT, K._PAGE_RW, K._PAGE_DIRTY, K._PAGE_HUGE, K._PAGE_DEVMAP];
    for (const [i, p] of preds.entries()) {
      for (const b of bits) expect(p(K.pfn_pte(3, b))).toBe(b === own[i]);
      expect(p(K.pfn_pte(3, 0x7f))).toBe(true);
    }
    expect([K.pte_none(0), K.pte_none(K.pfn_pte(1, 0)), K.pte_none(K._PAGE_ACCESSED)]).toEqual([true, false, false]);
  });

  it('the pfn lives above bit 7, up to the sign bit; bits below it are the flags', () => {
    for (const pfn of [0, 1, 5, 0x1ffffff]) {
      const e = K.pfn_pte(pfn, K._PAGE_PRESENT | K._PAGE_DEVMAP);
      expect(K.pte_pfn(e)).toBe(pfn);
      expect(e & 0x7f).toBe(K._PAGE_PRESENT | K._PAGE_DEVMAP);
    }
    expect(K.pfn_pte(1, 0)).toBe(128);
    expect(K.pfn_pte(0x1ffffff, 0)).toBe(-128); // an int32, as the word holds it
    expect(K.pte_wrprotect(K.pfn_pte(9, 0x7f))).toBe(K.pfn_pte(9, 0x7f & ~K._PAGE_RW));
    expect(K.pte_mkclean(K.pfn_pte(9, 0x7f))).toBe(K.pfn_pte(9, 0x7f & ~K._PAGE_DIRTY));
    expect(K.make_migration_entry(9, true)).toBe(K.pfn_pte(9, K._PAGE_MIGRATION | K._PAGE_RW));
    expect(K.make_migration_entry(9, false)).toBe(K.pfn_pte(9, K._PAGE_MIGRATION));
    expect(K.is_migration_entry(K.make_migration_entry(9, false))).toBe(true);
    expect(K.is_migration_entry(K.pfn_pte(9, K._PAGE_MIGRATION | K._PAGE_PRESENT))).toBe(false); // present: not a swap entry
    expect(K.is_migration_entry(K.pfn_pte(9, K._PAGE_PRESENT))).toBe(false);
  });
});

describe('PageTables and walk()', () => {
  it('each mm\'s PUD, PMD, PTE arrays and PT locks follow one another, one word per 1 GB, 2 MB, 4 KB and per PMD', () => {
    const k = machine();
    const l = k.layout;
    expect([l.pudEntries, l.pmdEntries, l.vaPages]).toEqual([2, 1024, 1 << 19]);
    const a = new K.PageTables(0);
    const b = new K.PageTables(1);
    expect(a.pudBase).toBe(l.pgtOff);
    expect(b.pudBase).toBe(l.pgtOff + l.pgtWordsPerMm);
    expect([a.pmdBase, a.pteBase, a.ptlBase]).toEqual([a.pudBase + 2, a.pudBase + 2 + 1024, a.pudBase + 2 + 1024 + (1 << 19)]);
    expect(b.ptlBase + 1024).toBeLessThanOrEqual(l.pgtOff + 2 * l.pgtWordsPerMm);
    const last = (1 << 19) - 1;
    expect([a.pud(0), a.pud((1 << 18) - 1), a.pud(1 << 18), a.pud(last)]).toEqual([a.pudBase, a.pudBase, a.pudBase + 1, a.pudBase + 1]);
    expect([a.pmd(511), a.pmd(512), a.pmd(last)]).toEqual([a.pmdBase, a.pmdBase + 1, a.pmdBase + 1023]);
    expect([a.pte(0), a.pte(last)]).toEqual([a.pteBase, a.pteBase + last]);
    expect([a.ptl(511), a.ptl(512), a.ptl(last)]).toEqual([a.ptlBase, a.ptlBase + 1, a.ptlBase + 1023]);
  });

  it('a huge PUD is the leaf; else a huge PMD; else the PTE — a non-huge upper entry is walked through', () => {
    const k = machine();
    const pt = new K.PageTables(0);
    const out: K.Walk = { idx: -1, entry: -1, order: -1 };
    const vpn = (1 << 18) + 512 * 3 + 7;
    const pte = K.pfn_pte(40, K._PAGE_PRESENT);
    k.mem.store(pt.pte(vpn), pte);
    expect(K.walk(pt, vpn, out)).toBe(out);
    expect(out).toEqual({ idx: pt.pte(vpn), entry: pte, order: 0 });
    // Non-huge, non-zero PMD and PUD words (no leaf): still the PTE.
    k.mem.store(pt.pmd(vpn), K._PAGE_PRESENT);
    k.mem.store(pt.pud(vpn), K._PAGE_PRESENT);
    expect(K.walk(pt, vpn, out)).toEqual({ idx: pt.pte(vpn), entry: pte, order: 0 });
    const pmd = K.pfn_pte(512, K._PAGE_PRESENT | K._PAGE_HUGE);
    k.mem.store(pt.pmd(vpn), pmd);
    expect(K.walk(pt, vpn, out)).toEqual({ idx: pt.pmd(vpn), entry: pmd, order: 9 });
    expect(K.walk(pt, vpn + 512, out)).toEqual({ idx: pt.pte(vpn + 512), entry: 0, order: 0 }); // the next PMD
    const pud = K.pfn_pte(0, K._PAGE_PRESENT | K._PAGE_HUGE);
    k.mem.store(pt.pud(vpn), pud);
    expect(K.walk(pt, vpn, out)).toEqual({ idx: pt.pud(vpn), entry: pud, order: 18 });
    expect(K.walk(pt, 5, out)).toEqual({ idx: pt.pte(5), entry: 0, order: 0 }); // the other PUD
  });
});

/** Hold `word` as another thread would (value `held`), and release it just before the `at`-th RMW on it. */
function holder(k: K.KernelContext, word: number, held: number, at: number): { rmws: number } {
  const seen = { rmws: 0 };
  Atomics.store(k.mem.i32, word, held);
  k.mem.hook = {
    before(kind: AccessKind, index: number): void {
      if (index !== word || kind !== ACCESS.RMW) return;
      if (++seen.rmws === at) Atomics.store(k.mem.i32, word, 0);
    },
  };
  return seen;
}

describe('spin_lock / spin_unlock', () => {
  it('uncontended: one compareExchange takes it (1), unlock frees it (0); lockdep is told both', () => {
    const k = machine();
    const word = new K.PageTables(0).ptl(0);
    const told: string[] = [];
    k.lockdep = { acquired: (w) => told.push(`+${w}`), released: (w) => told.push(`-${w}`) };
    const seen = holder(k, word, 0, -1);
    K.spin_lock(word);
    expect([k.mem.load(word), seen.rmws]).toEqual([1, 1]);
    K.spin_unlock(word);
    expect([k.mem.load(word), seen.rmws]).toEqual([0, 2]);
    expect(told).toEqual([`+${word}`, `-${word}`]);
    k.mem.hook = null;
  });

  it('contended: 100 more compareExchanges spin on it; a release during them takes the lock as 1', () => {
    const k = machine();
    const word = new K.PageTables(0).ptl(1);
    for (const at of [2, 50, 101]) {
      const seen = holder(k, word, 1, at);
      K.spin_lock(word);
      expect([k.mem.load(word), seen.rmws]).toEqual([1, at]);
      K.spin_unlock(word);
      expect(k.mem.load(word)).toBe(0);
    }
    k.mem.hook = null;
  });

  it('past the spins it marks the word "held with waiters" (2) and sleeps on it; the lock is then taken as 2, and unlock frees it', () => {
    const k = machine();
    const word = new K.PageTables(0).ptl(2);
    // Released before the first exchange: that exchange takes it.
    let seen = holder(k, word, 1, 102);
    K.spin_lock(word);
    expect([k.mem.load(word), seen.rmws]).toEqual([2, 102]);
    K.spin_unlock(word);
    expect(k.mem.load(word)).toBe(0);
    // Released while it sleeps: the exchange after the (5 ms) wait takes it.
    seen = holder(k, word, 1, 103);
    K.spin_lock(word);
    expect([k.mem.load(word), seen.rmws]).toEqual([2, 103]);
    K.spin_unlock(word);
    expect(k.mem.load(word)).toBe(0);
    // Already marked by another waiter (2): no extra exchange before the first sleep.
    seen = holder(k, word, 2, 102);
    K.spin_lock(word);
    expect([k.mem.load(word), seen.rmws]).toEqual([2, 102]);
    K.spin_unlock(word);
    expect([k.mem.load(word), seen.rmws]).toEqual([0, 103]);
    k.mem.hook = null;
  });
});
