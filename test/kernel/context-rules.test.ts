/**
 * A thread's KernelContext and how it is installed (src/kernel/context.ts, boot.ts, current.ts,
 * constants.ts; issue 13), on one thread: the cpu range, the faults (the run's and the era's
 * native bugs) and the fast-path switches they turn off, WARN_ON_ONCE and BUG counting per site,
 * the per-cpu vmstat with its fold threshold and flush, readVmstat's sum over cpus and
 * readWarnings; boot() and attach() defaults, set_current / with_current; errname().
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { attach } from '../../src/kernel/boot.js';
import { current, set_current, with_current } from '../../src/kernel/current.js';
import { VMSTAT_ITEMS, VMSTAT_STRIDE, type MachineConfig } from '../../src/mem/layout.js';

const CONFIG: Partial<MachineConfig> = {
  normalFrames: 16, movableFrames: 0, daxFrames: 0, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 2,
  nrMms: 1, vaPages: 1 << 12, maxVmas: 4, nrFiles: 0, filePages: 0, nrCpus: 3,
};

/** The raw SAB slot of `item` for `cpu`: what other threads see before this one folds. */
function slot(k: K.KernelContext, cpu: number, item: number): number {
  const perCpu = Math.ceil(VMSTAT_ITEMS.length / VMSTAT_STRIDE) * VMSTAT_STRIDE;
  return k.mem.load(k.layout.vmstatOff + cpu * perCpu + item);
}

describe('KernelContext', () => {
  it('takes a cpu in [0, nrCpus), an integer', () => {
    const k = K.boot(CONFIG, { era: 'v6.3' });
    const ctx = (cpu: number) => new K.KernelContext(k.mem, 'v6.3', cpu);
    expect(ctx(0).cpu).toBe(0);
    expect(ctx(2).cpu).toBe(2);
    expect(() => ctx(3)).toThrow('KernelContext: cpu 3 outside [0, 3)');
    expect(() => ctx(-1)).toThrow('KernelContext: cpu -1 outside [0, 3)');
    expect(() => ctx(1.5)).toThrow(RangeError);
  });

  it('faults: the run\'s plus the era\'s native bugs (unless nativeBugs is false); fault() answers for each', () => {
    const k = K.boot(CONFIG, { era: 'v5.7' });
    const native = K.ERA_SPECS['v5.7'].native;
    const a = new K.KernelContext(k.mem, 'v5.7', 0, new Set(['plain-pte-clear']));
    expect([...a.faults].sort()).toEqual(['plain-pte-clear', ...native].sort());
    expect(a.noFaults).toBe(false);
    expect(a.fault('plain-pte-clear')).toBe(true);
    expect(a.fault('stats-after-put')).toBe(true);
    expect(a.fault('plain-refcount')).toBe(false);
    const b = new K.KernelContext(k.mem, 'v5.7', 0, new Set(['plain-pte-clear']), false);
    expect([...b.faults]).toEqual(['plain-pte-clear']);
    expect(b.fault('stats-after-put')).toBe(false);
    const none = new K.KernelContext(k.mem, 'v6.3', 0);
    expect([none.faults.size, none.noFaults, none.fault('plain-pte-clear')]).toEqual([0, true, false]);
    expect(none.spec).toBe(K.ERA_SPECS['v6.3']);
    expect([none.refuseLongtermFile, new K.KernelContext(k.mem, 'v6.18', 0).refuseLongtermFile]).toEqual([false, true]);
  });

  it('the specialised small-page loops are off exactly when a fault changes the grab or the re-check', () => {
    const k = K.boot(CONFIG, { era: 'v6.3' });
    const paths = (faults: string[]) => {
      const c = new K.KernelContext(k.mem, 'v6.3', 0, new Set(faults));
      return [c.fastSmallPath, c.unpinSmallPath];
    };
    expect(paths([])).toEqual([true, true]);
    expect(paths(['plain-pte-clear'])).toEqual([true, true]);
    expect(paths(['plain-refcount'])).toEqual([false, false]);
    expect(paths(['gup-fast-no-recheck'])).toEqual([false, true]);
    // A native bug on another path (rfc-2019's) keeps both.
    const rfc = new K.KernelContext(k.mem, 'rfc-2019', 0);
    expect([rfc.noFaults, rfc.fastSmallPath, rfc.unpinSmallPath]).toEqual([false, true, true]);
  });

  it('WARN_ON_ONCE counts every true hit at its own site and returns cond; BUG counts, then throws KernelBug', () => {
    const k = K.boot(CONFIG, { era: 'v6.3' });
    expect(k.WARN_ON_ONCE(false, 'mmap_assert_locked')).toBe(false);
    expect(K.readWarnings(k.mem)).toEqual({ warn: {}, bug: {} });
    expect(k.WARN_ON_ONCE(true, 'mmap_assert_locked')).toBe(true);
    expect(k.WARN_ON_ONCE(true, 'mmap_assert_locked')).toBe(true);
    expect(k.WARN_ON_ONCE(true, 'get_user_pages:FOLL_PIN')).toBe(true);
    expect(k.WARN_ON_ONCE(true, 'kasan: use-after-free')).toBe(true);
    expect(K.readWarnings(k.mem).warn).toEqual({ mmap_assert_locked: 2, 'get_user_pages:FOLL_PIN': 1, 'kasan: use-after-free': 1 });
    expect(k.mem.load(k.layout.warnOff + K.WARN_SITES.indexOf('mmap_assert_locked'))).toBe(2);
    let thrown: unknown;
    try {
      k.BUG('gup_put:pincount underflow', 'pfn 3');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(K.KernelBug);
    const b = thrown as K.KernelBug;
    expect([b.name, b.site, b.detail, b.message]).toEqual(['KernelBug', 'gup_put:pincount underflow', 'pfn 3', 'kernel BUG at gup_put:pincount underflow: pfn 3']);
    expect(() => k.BUG('put_page:underflow', 'x')).toThrow(K.KernelBug);
    expect(() => k.BUG('mmap_lock:unbalanced unlock', 'y')).toThrow('kernel BUG at mmap_lock:unbalanced unlock: y');
    expect(K.readWarnings(k.mem).bug).toEqual({ 'gup_put:pincount underflow': 1, 'put_page:underflow': 1, 'mmap_lock:unbalanced unlock': 1 });
    expect(k.mem.load(k.layout.bugOff + K.BUG_SITES.indexOf('mmap_lock:unbalanced unlock'))).toBe(1);
  });
});

describe('per-cpu vmstat', () => {
  it('a delta stays in the cpu\'s diff up to the threshold (either sign) and is folded whole past it', () => {
    const k = K.boot(CONFIG, { era: 'v6.3', cpu: 1 });
    const item = K.VMSTAT.pgfault;
    expect(k.vmstatThreshold).toBe(32);
    k.vmstatAdd(item, 32);
    expect(slot(k, 1, item)).toBe(0);
    k.vmstatAdd(item, 1);
    expect(slot(k, 1, item)).toBe(33);
    k.vmstatAdd(item, -32);
    expect(slot(k, 1, item)).toBe(33);
    k.vmstatAdd(item, -1);
    expect(slot(k, 1, item)).toBe(0);
    expect([slot(k, 0, item), slot(k, 2, item)]).toEqual([0, 0]); // only this cpu's slot
    k.vmstatThreshold = 0;
    k.vmstatAdd(item, 1);
    expect(slot(k, 1, item)).toBe(1);
    k.vmstatAdd(item, -1);
    expect(slot(k, 1, item)).toBe(0);
    k.vmstatAdd(item, 0);
    expect(slot(k, 1, item)).toBe(0);
  });

  it('vmstat_flush folds every pending delta once; readVmstat sums the cpus, folding the reader\'s own first', () => {
    const k = K.boot(CONFIG, { era: 'v6.3', cpu: 0 });
    const other = new K.KernelContext(k.mem, 'v6.3', 2);
    k.vmstatAdd(K.VMSTAT.pgfault, 3);
    k.vmstatAdd(K.VMSTAT.nr_written, -2);
    other.vmstatAdd(K.VMSTAT.pgfault, 5);
    other.vmstat_flush();
    expect([slot(k, 2, K.VMSTAT.pgfault), slot(k, 0, K.VMSTAT.pgfault)]).toEqual([5, 0]);
    other.vmstat_flush();
    expect(slot(k, 2, K.VMSTAT.pgfault)).toBe(5);
    // Read from a thread of another machine: this machine's pending deltas stay pending.
    const elsewhere = K.boot(CONFIG, { era: 'v6.3' });
    expect(K.readVmstat(k.mem)).toMatchObject({ pgfault: 5, nr_written: 0 });
    set_current(k);
    const all = K.readVmstat(k.mem);
    expect(all).toMatchObject({ pgfault: 8, nr_written: -2, nr_page_alloc: 0 });
    expect(Object.keys(all)).toEqual([...VMSTAT_ITEMS]);
    expect([slot(k, 0, K.VMSTAT.pgfault), slot(k, 0, K.VMSTAT.nr_written)]).toEqual([3, -2]);
    expect(K.readVmstat(elsewhere.mem).pgfault).toBe(0);
    // The reader's own pending deltas are folded only into its own machine's read.
    elsewhere.vmstatAdd(K.VMSTAT.pgfault, 4);
    set_current(elsewhere);
    K.readVmstat(k.mem);
    expect(slot(elsewhere, 0, K.VMSTAT.pgfault)).toBe(0);
    expect(K.readVmstat(elsewhere.mem).pgfault).toBe(4);
    // A thread with no kernel context (a reporter reading the SAB) reads the slots as they are.
    const prev = set_current(undefined as unknown as K.KernelContext);
    try {
      expect(K.readVmstat(k.mem).pgfault).toBe(8);
    } finally {
      set_current(prev);
    }
    expect(VMSTAT_ITEMS.map((n) => K.VMSTAT[n])).toEqual(VMSTAT_ITEMS.map((_, i) => i));
  });
});

describe('boot, attach, current', () => {
  it('boot(): the current era, cpu 0, native bugs on by default; installs the context as current', () => {
    const k = K.boot(CONFIG);
    expect([k.era, k.cpu, current]).toEqual(['v6.18', 0, k]);
    expect(K.nr_allocated(k.mem, 3)).toBe(0);
    const old = K.boot(CONFIG, { era: 'seed-2019', cpu: 2, faults: ['plain-pte-clear'] });
    expect([old.era, old.cpu, current === old]).toEqual(['rfc-2019', 2, true]);
    expect(old.fault('plain-pte-clear') && old.fault('unbalanced-undo')).toBe(true);
    const fixed = K.boot(CONFIG, { era: 'rfc-2019', nativeBugs: false });
    expect(fixed.faults.size).toBe(0);
    expect(() => K.boot(CONFIG, { era: 'v4.0' })).toThrow('era must be one of');
  });

  it('attach(): the same machine from another context (its own cpu, era, faults), made current', () => {
    const k = K.boot(CONFIG, { era: 'v6.3' });
    const a = attach(k.mem.sab, k.layout.config as MachineConfig, { cpu: 1, faults: ['plain-pte-clear'], era: 'v5.7', nativeBugs: false });
    expect(current).toBe(a);
    expect([a.era, a.cpu, [...a.faults]]).toEqual(['v5.7', 1, ['plain-pte-clear']]);
    a.mem.store(a.layout.headerOff + 10, 77);
    expect(k.mem.load(k.layout.headerOff + 10)).toBe(77); // one SAB
    const d = attach(k.mem.sab, k.layout.config as MachineConfig);
    expect([d.era, d.cpu, d.faults.size]).toEqual(['v6.18', 0, 0]);
    const n = attach(k.mem.sab, k.layout.config as MachineConfig, { era: 'rfc-2019' });
    expect(n.fault('unbalanced-undo')).toBe(true);
  });

  it('set_current returns the previous context; with_current switches for fn and back, also when fn throws', () => {
    const a = K.boot(CONFIG, { era: 'v6.3' });
    const b = new K.KernelContext(a.mem, 'v6.3', 1);
    expect(set_current(b)).toBe(a);
    expect(set_current(a)).toBe(b);
    expect(with_current(b, () => current)).toBe(b);
    expect(current).toBe(a);
    expect(() => with_current(b, () => {
      throw new Error('inside');
    })).toThrow('inside');
    expect(current).toBe(a);
  });
});

describe('errname', () => {
  it('names a negative errno, numbers an unknown one, leaves a count alone', () => {
    expect(K.errname(-K.EFAULT)).toBe('-EFAULT');
    expect(K.errname(-K.EOPNOTSUPP)).toBe('-EOPNOTSUPP');
    expect(K.errname(-99)).toBe('-99');
    expect(K.errname(0)).toBe('0');
    expect(K.errname(3)).toBe('3');
    expect(Object.values(K.ERRNO_NAMES)).toHaveLength(11);
  });
});
