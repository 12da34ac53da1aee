/**
 * The API rules (DESIGN.md §3, kernel-notes §1), one test per rule and per function of the
 * get_user_pages / pin_user_pages family. The argument rules of the 2019 postings (and v5.7) run on
 * rfc-2019; v6.3's is_valid_gup_args rules are in gup-args-v6.test.ts. Every test boots its own small
 * machine (era v6.3 unless stated), so tests are independent.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { type Era, PG, ZONE } from '../../src/mem/layout.js';

const PAGE = 4096;
const HPAGE_2M = 512 * PAGE;

// ---- a machine and small helpers ----------------------------------------------------------

function machine(era: Era = 'v6.3'): K.KernelContext {
  return K.boot(
    {
      normalFrames: 256, movableFrames: 64, daxFrames: 16, huge2mPages: 1, huge1gPages: 0, wordsPerPage: 4,
      nrMms: 2, vaPages: 1 << 18, maxVmas: 16, nrFiles: 1, filePages: 64, nrCpus: 2,
    },
    { era },
  );
}

type GupFn = (mm: K.MmStruct, start: number, nr: number, flags: number, pages: K.PageArray) => number;
interface Gup {
  name: string;
  fn: GupFn;
  pin: boolean;
  fast: boolean;
  remote: boolean;
  longterm: boolean;
}

const FAMILY: Gup[] = [
  { name: 'get_user_pages', fn: K.get_user_pages, pin: false, fast: false, remote: false, longterm: false },
  { name: 'get_user_pages_fast', fn: K.get_user_pages_fast, pin: false, fast: true, remote: false, longterm: false },
  { name: 'get_user_pages_remote', fn: K.get_user_pages_remote, pin: false, fast: false, remote: true, longterm: false },
  { name: 'pin_user_pages', fn: K.pin_user_pages, pin: true, fast: false, remote: false, longterm: false },
  { name: 'pin_user_pages_fast', fn: K.pin_user_pages_fast, pin: true, fast: true, remote: false, longterm: false },
  { name: 'pin_user_pages_remote', fn: K.pin_user_pages_remote, pin: true, fast: false, remote: true, longterm: false },
  { name: 'pin_longterm_pages', fn: K.pin_longterm_pages, pin: true, fast: false, remote: false, longterm: true },
  { name: 'pin_longterm_pages_fast', fn: K.pin_longterm_pages_fast, pin: true, fast: true, remote: false, longterm: true },
  { name: 'pin_longterm_pages_remote', fn: K.pin_longterm_pages_remote, pin: true, fast: false, remote: true, longterm: true },
];
const GETS = FAMILY.filter((g) => !g.pin);
const PINS = FAMILY.filter((g) => g.pin);
const FASTS = FAMILY.filter((g) => g.fast);
const SLOWS = FAMILY.filter((g) => !g.fast);
const LONGTERMS = FAMILY.filter((g) => g.longterm);
const PLAIN_PINS = PINS.filter((g) => !g.longterm);

/** The mm a function of the family works on: a remote one works on another process's mm. */
function mmFor(g: Gup): K.MmStruct {
  return K.mm_of(g.remote ? 1 : 0);
}

/** Call a function of the family as its callers must: the slow ones with mmap_lock held for read. */
function call(g: Gup, mm: K.MmStruct, start: number, nr: number, flags: number, pages: K.PageArray | null): number {
  if (g.fast) return g.fn(mm, start, nr, flags, pages as K.PageArray);
  K.mmap_read_lock(mm);
  try {
    return g.fn(mm, start, nr, flags, pages as K.PageArray);
  } finally {
    K.mmap_read_unlock(mm);
  }
}

/** Release what a family call returned, the way its kind must be released. */
function release(g: Gup, pages: K.PageArray, n: number): void {
  if (g.pin) K.unpin_user_pages(pages, n);
  else for (let i = 0; i < n; i++) K.put_page(pages[i]!);
}

/** Fault pages in without taking references (get_user_pages with no pages array). */
function populate(mm: K.MmStruct, addr: number, nr: number, write = true): void {
  K.mmap_read_lock(mm);
  try {
    expect(K.get_user_pages(mm, addr, nr, write ? K.FOLL_WRITE : 0, null)).toBe(nr);
  } finally {
    K.mmap_read_unlock(mm);
  }
}

/** The pfn mapped at a byte address (-1 if nothing is). */
function pfnAt(mm: K.MmStruct, addr: number): number {
  const vpn = addr / PAGE;
  const w = K.walk(mm.pt, vpn, { idx: 0, entry: 0, order: 0 });
  if (!K.pte_present(w.entry)) return -1;
  return K.pte_pfn(w.entry) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0);
}

function pfnsAt(mm: K.MmStruct, addr: number, nr: number): number[] {
  return Array.from({ length: nr }, (_, i) => pfnAt(mm, addr + i * PAGE));
}

const vmstat = (k: K.KernelContext) => K.readVmstat(k.mem);
const warnings = (k: K.KernelContext) => K.readWarnings(k.mem);
const warnCount = (k: K.KernelContext, site: K.WarnSite): number => warnings(k).warn[site] ?? 0;
const totalWarns = (k: K.KernelContext): number => Object.values(warnings(k).warn).reduce((a, b) => a + (b ?? 0), 0);
const bugCount = (k: K.KernelContext, site: K.BugSite): number => warnings(k).bug[site] ?? 0;

/** A pages array filled with a sentinel, so untouched entries are visible. */
const sentinel = (n: number): Int32Array => new Int32Array(n).fill(-1);

/** What one reference of this kind adds to a small (order-0) page's refcount. */
const smallRef = (g: Gup): number => (g.pin ? K.GUP_PIN_COUNTING_BIAS : 1);

function anon(mm: K.MmStruct, nr: number, extra: Partial<K.MmapRequest> = {}): number {
  const addr = K.do_mmap(mm, { length: nr * PAGE, kind: 'anon', ...extra });
  expect(addr).toBeGreaterThan(0);
  return addr;
}

// ---- FOLL_PIN / FOLL_GET from the caller -------------------------------------------------

describe('a caller passing FOLL_PIN to get_user_pages*() gets -EINVAL and one WARN', () => {
  it.each(GETS)('$name', (g) => {
    const k = machine('rfc-2019');
    const mm = mmFor(g);
    const addr = anon(mm, 4);
    populate(mm, addr, 4);
    const site = `${g.name}:FOLL_PIN` as K.WarnSite;
    const before = vmstat(k);
    for (const flags of [K.FOLL_PIN, K.FOLL_PIN | K.FOLL_WRITE]) {
      const w0 = warnCount(k, site);
      const all0 = totalWarns(k);
      const pages = sentinel(4);
      expect(call(g, mm, addr, 4, flags, pages)).toBe(-K.EINVAL);
      expect(warnCount(k, site)).toBe(w0 + 1);
      expect(totalWarns(k)).toBe(all0 + 1); // that site and no other
      expect(Array.from(pages)).toEqual([-1, -1, -1, -1]);
    }
    // Nothing was taken.
    for (const p of pfnsAt(mm, addr, 4)) expect(K.page_ref_count(p)).toBe(1);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(before.nr_foll_pin_acquired);
  });
});

describe('a caller passing FOLL_GET to a pin function gets -EINVAL and a WARN', () => {
  it.each(PINS)('$name', (g) => {
    const k = machine('rfc-2019');
    const mm = mmFor(g);
    const addr = anon(mm, 4);
    populate(mm, addr, 4);
    const site = `${g.name}:FOLL_GET` as K.WarnSite;
    for (const flags of [K.FOLL_GET, K.FOLL_GET | K.FOLL_WRITE]) {
      const w0 = warnCount(k, site);
      const all0 = totalWarns(k);
      const pages = sentinel(4);
      expect(call(g, mm, addr, 4, flags, pages)).toBe(-K.EINVAL);
      expect(warnCount(k, site)).toBe(w0 + 1);
      expect(totalWarns(k)).toBe(all0 + 1);
      expect(Array.from(pages)).toEqual([-1, -1, -1, -1]);
    }
    for (const p of pfnsAt(mm, addr, 4)) expect(K.page_ref_count(p)).toBe(1);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
  });
});

// ---- gup-fast's flag check ---------------------------------------------------------------

describe('gup-fast accepts only FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN', () => {
  for (const g of FASTS) {
    // The function's own check catches its forbidden flag first (FOLL_PIN for get, FOLL_GET for pin).
    const own = g.pin ? K.FOLL_GET : K.FOLL_PIN;
    const rejected = Object.entries(K.FOLL_FLAGS).filter(([, v]) => (v & K.GUP_FAST_ALLOWED_FLAGS) === 0 && v !== own);

    it(`${g.name}: every other flag is -EINVAL + WARN internal_get_user_pages_fast:flags`, () => {
      const k = machine('rfc-2019');
      const mm = mmFor(g);
      const addr = anon(mm, 2);
      populate(mm, addr, 2);
      expect(rejected.length).toBeGreaterThan(10);
      for (const [name, flag] of rejected) {
        const w0 = warnCount(k, 'internal_get_user_pages_fast:flags');
        const all0 = totalWarns(k);
        const pages = sentinel(2);
        expect(call(g, mm, addr, 2, flag | K.FOLL_WRITE, pages), name).toBe(-K.EINVAL);
        expect(warnCount(k, 'internal_get_user_pages_fast:flags'), name).toBe(w0 + 1);
        expect(totalWarns(k), name).toBe(all0 + 1);
        expect(Array.from(pages)).toEqual([-1, -1]);
      }
      for (const p of pfnsAt(mm, addr, 2)) expect(K.page_ref_count(p)).toBe(1);
    });

    it(`${g.name}: FOLL_FORCE is refused, the allowed flags are not`, () => {
      const k = machine('rfc-2019');
      const mm = mmFor(g);
      const addr = anon(mm, 2);
      populate(mm, addr, 2);
      expect(call(g, mm, addr, 2, K.FOLL_FORCE, sentinel(2))).toBe(-K.EINVAL);
      expect(warnCount(k, 'internal_get_user_pages_fast:flags')).toBe(1);
      const allowed = g.pin ? [0, K.FOLL_WRITE, K.FOLL_LONGTERM, K.FOLL_PIN, K.FOLL_WRITE | K.FOLL_LONGTERM | K.FOLL_PIN] : [0, K.FOLL_WRITE, K.FOLL_LONGTERM, K.FOLL_WRITE | K.FOLL_LONGTERM];
      for (const flags of allowed) {
        const pages = sentinel(2);
        expect(call(g, mm, addr, 2, flags, pages)).toBe(2);
        release(g, pages, 2);
      }
      expect(totalWarns(k)).toBe(1);
      for (const p of pfnsAt(mm, addr, 2)) expect(K.page_ref_count(p)).toBe(1);
    });
  }

  it.each(SLOWS)('the slow path accepts FOLL_FORCE: $name', (g) => {
    const k = machine('rfc-2019');
    const mm = mmFor(g);
    const addr = anon(mm, 2);
    const pages = sentinel(2);
    expect(call(g, mm, addr, 2, K.FOLL_FORCE | K.FOLL_WRITE, pages)).toBe(2);
    release(g, pages, 2);
    expect(totalWarns(k)).toBe(0);
  });
});

// ---- return values -----------------------------------------------------------------------

describe('nr_pages <= 0 returns 0', () => {
  it.each(FAMILY)('$name', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = anon(mm, 4);
    for (const nr of [0, -1, -4, -0x7fffffff]) {
      const pages = sentinel(4);
      expect(call(g, mm, addr, nr, K.FOLL_WRITE, pages)).toBe(0);
      expect(Array.from(pages)).toEqual([-1, -1, -1, -1]);
    }
    const s = vmstat(k);
    expect(s.pgfault).toBe(0);
    expect(s.gup_slow_calls).toBe(0);
    expect(s.gup_fast_fallback).toBe(0); // returned before any walk
    expect(s.nr_foll_pin_acquired).toBe(0);
    expect(totalWarns(k)).toBe(0);
    expect(pfnsAt(mm, addr, 4)).toEqual([-1, -1, -1, -1]); // nothing faulted in
  });
});

describe('a range running off the end of its VMA gives a short count', () => {
  for (const populated of [false, true]) {
    it.each(FAMILY)(`$name (${populated ? 'populated' : 'not yet faulted in'}): map 4, ask 8 -> 4`, (g) => {
      const k = machine();
      const mm = mmFor(g);
      const addr = anon(mm, 4);
      if (populated) populate(mm, addr, 4);
      const pages = sentinel(8);
      expect(call(g, mm, addr, 8, K.FOLL_WRITE, pages)).toBe(4);
      const pfns = pfnsAt(mm, addr, 4);
      expect(Array.from(pages.subarray(0, 4))).toEqual(pfns);
      expect(Array.from(pages.subarray(4))).toEqual([-1, -1, -1, -1]);
      // Exactly 4 references of the function's kind: on top of the mapping's own.
      for (const p of pfns) expect(K.page_ref_count(p)).toBe(1 + smallRef(g));
      expect(vmstat(k).nr_foll_pin_acquired).toBe(g.pin ? 4 : 0);
      release(g, pages, 4);
      for (const p of pfns) expect(K.page_ref_count(p)).toBe(1);
      expect(totalWarns(k)).toBe(0);
    });
  }
});

describe('nothing taken returns -errno: -EFAULT for an unmapped address', () => {
  it.each(FAMILY)('$name', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = anon(mm, 4);
    const hole = addr + 8 * PAGE; // VMAs never abut: past the end is unmapped
    expect(K.find_vma(mm, hole / PAGE)).toBeNull();
    const pages = sentinel(4);
    expect(call(g, mm, hole, 4, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
    expect(call(g, mm, hole, 1, 0, pages)).toBe(-K.EFAULT);
    // A range that starts in the hole takes nothing, even though later pages are mapped.
    expect(call(g, mm, addr - PAGE, 4, 0, pages)).toBe(-K.EFAULT);
    // Beyond the address space (access_ok).
    expect(call(g, mm, k.layout.vaPages * PAGE, 1, 0, pages)).toBe(-K.EFAULT);
    expect(call(g, mm, (k.layout.vaPages - 2) * PAGE, 4, 0, pages)).toBe(-K.EFAULT);
    expect(Array.from(pages)).toEqual([-1, -1, -1, -1]);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
    expect(totalWarns(k)).toBe(0);
  });
});

describe('a gup-fast that pinned k pages before the slow path failed returns k', () => {
  it.each(FASTS)('$name', (g) => {
    const k = machine();
    const mm = mmFor(g);
    // A: 4 populated writable anon pages. B, right after A (MAP_FIXED): a mapping the slow
    // path refuses — read-only for FOLL_WRITE (-EFAULT), or DAX for FOLL_LONGTERM (-EOPNOTSUPP).
    const a = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', addr: 64 * PAGE });
    const b = g.longterm
      ? K.do_mmap(mm, { length: 4 * PAGE, kind: 'dax', file: 0, addr: 68 * PAGE })
      : K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', write: false, addr: 68 * PAGE });
    expect([a, b]).toEqual([64 * PAGE, 68 * PAGE]);
    populate(mm, a, 4);
    const err = g.longterm ? -K.EOPNOTSUPP : -K.EFAULT;
    // The slow path alone on B fails with err and takes nothing.
    expect(call(g, mm, b, 4, K.FOLL_WRITE, sentinel(4))).toBe(err);

    const s0 = vmstat(k);
    const pages = sentinel(8);
    expect(call(g, mm, a, 8, K.FOLL_WRITE, pages)).toBe(4);
    const s1 = vmstat(k);
    expect(s1.gup_fast_fallback - s0.gup_fast_fallback).toBe(1); // the fast pass stopped at B ...
    expect(s1.gup_slow_calls - s0.gup_slow_calls).toBe(1); // ... the slow path ran on B and failed,
    expect(s1.pgfault - s0.pgfault).toBe(0); // ... and A's pages came from the fast pass.
    const pfns = pfnsAt(mm, a, 4);
    expect(Array.from(pages.subarray(0, 4))).toEqual(pfns);
    expect(Array.from(pages.subarray(4))).toEqual([-1, -1, -1, -1]);
    for (const p of pfns) expect(K.page_ref_count(p)).toBe(1 + smallRef(g));
    release(g, pages, 4);
    for (const p of pfns) expect(K.page_ref_count(p)).toBe(1);
    const s2 = vmstat(k);
    expect(s2.nr_foll_pin_acquired).toBe(s2.nr_foll_pin_released);
    expect(totalWarns(k)).toBe(0);
  });
});

// ---- FOLL_PIN needs a pages array --------------------------------------------------------

describe('FOLL_PIN with no pages array is a BUG', () => {
  it.each(SLOWS.filter((g) => g.pin))('$name', (g) => {
    const k = machine('rfc-2019');
    const mm = mmFor(g);
    const addr = anon(mm, 4);
    populate(mm, addr, 4);
    let thrown: unknown;
    try {
      call(g, mm, addr, 4, 0, null);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(K.KernelBug);
    expect((thrown as K.KernelBug).site).toBe('__get_user_pages:FOLL_PIN without pages');
    expect(bugCount(k, '__get_user_pages:FOLL_PIN without pages')).toBe(1);
    expect(Object.keys(warnings(k).bug)).toEqual(['__get_user_pages:FOLL_PIN without pages']);
    // Nothing was pinned before the BUG, and the lock was released by call()'s finally.
    for (const p of pfnsAt(mm, addr, 4)) expect(K.page_ref_count(p)).toBe(1);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
    expect(K.current.readLocks.size).toBe(0);
  });

  it.each(SLOWS.filter((g) => !g.pin))('$name with no pages array only faults in (legal)', (g) => {
    const k = machine('rfc-2019');
    const mm = mmFor(g);
    const addr = anon(mm, 4);
    expect(call(g, mm, addr, 4, K.FOLL_WRITE, null)).toBe(4);
    const pfns = pfnsAt(mm, addr, 4);
    for (const p of pfns) {
      expect(p).toBeGreaterThanOrEqual(0);
      expect(K.page_ref_count(p)).toBe(1); // mapped, no reference taken for the caller
    }
    expect(warnings(k)).toEqual({ warn: {}, bug: {} });
  });
});

// ---- FOLL_LONGTERM -----------------------------------------------------------------------

describe('FOLL_LONGTERM on a DAX mapping is -EOPNOTSUPP; a plain pin works', () => {
  for (const populated of [false, true]) {
    it.each(LONGTERMS)(`$name (${populated ? 'populated' : 'not faulted in'}) -> -EOPNOTSUPP`, (g) => {
      const k = machine();
      const mm = mmFor(g);
      const addr = K.do_mmap(mm, { length: 4 * PAGE, kind: 'dax', file: 0 });
      expect(addr).toBeGreaterThan(0);
      if (populated) populate(mm, addr, 4);
      const before = pfnsAt(mm, addr, 4).map((p) => (p < 0 ? -1 : K.page_ref_count(p)));
      for (const flags of [0, K.FOLL_WRITE]) {
        const pages = sentinel(4);
        expect(call(g, mm, addr, 4, flags, pages)).toBe(-K.EOPNOTSUPP);
        expect(Array.from(pages)).toEqual([-1, -1, -1, -1]);
      }
      expect(pfnsAt(mm, addr, 4).map((p) => (p < 0 ? -1 : K.page_ref_count(p)))).toEqual(before);
      const s = vmstat(k);
      expect(s.nr_foll_pin_acquired).toBe(s.nr_foll_pin_released);
      expect(totalWarns(k)).toBe(0);
    });
  }

  it.each([
    { name: 'get_user_pages', fn: K.get_user_pages },
    { name: 'get_user_pages_fast', fn: K.get_user_pages_fast },
  ])('rfc-2019: a caller-set FOLL_LONGTERM on $name is refused the same way', ({ name }) => {
    machine('rfc-2019');
    const g = FAMILY.find((x) => x.name === name)!;
    const mm = mmFor(g);
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'dax', file: 0 });
    populate(mm, addr, 2);
    expect(call(g, mm, addr, 2, K.FOLL_LONGTERM, sentinel(2))).toBe(-K.EOPNOTSUPP);
  });

  it.each(PLAIN_PINS)('$name pins DAX pages (no FOLL_LONGTERM)', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = K.do_mmap(mm, { length: 4 * PAGE, kind: 'dax', file: 0 });
    const pages = sentinel(4);
    expect(call(g, mm, addr, 4, K.FOLL_WRITE, pages)).toBe(4);
    expect(Array.from(pages)).toEqual(pfnsAt(mm, addr, 4));
    for (const p of pages) {
      expect(K.page_zonenum(p)).toBe(ZONE.DAX);
      expect(K.page_maybe_dma_pinned(p)).toBe(true);
      expect(K.page_ref_count(p)).toBe(2 + K.GUP_PIN_COUNTING_BIAS); // driver idle ref + mapping + pin
    }
    K.unpin_user_pages(pages, 4);
    for (const p of pages) {
      expect(K.page_maybe_dma_pinned(p)).toBe(false);
      expect(K.page_ref_count(p)).toBe(2);
    }
    expect(totalWarns(k)).toBe(0);
  });
});

describe('FOLL_LONGTERM migrates CMA pages out of ZONE_MOVABLE before the pin holds', () => {
  it.each(LONGTERMS)('$name: pages leave ZONE_MOVABLE, data preserved', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const wpp = k.layout.config.wordsPerPage;
    const addr = K.do_mmap(mm, { length: 4 * PAGE, kind: 'cma' });
    expect(addr).toBeGreaterThan(0);
    populate(mm, addr, 4);
    const old = pfnsAt(mm, addr, 4);
    for (const [i, p] of old.entries()) {
      expect(K.page_zonenum(p)).toBe(ZONE.MOVABLE);
      for (let w = 0; w < wpp; w++) K.current.mem.store(K.page_data(p) + w, 0x5a000000 + i * 256 + w);
    }
    const s0 = vmstat(k);
    const pages = sentinel(4);
    expect(call(g, mm, addr, 4, K.FOLL_WRITE, pages)).toBe(4);
    const s1 = vmstat(k);
    expect(s1.pgmigrate_success - s0.pgmigrate_success).toBe(4);
    expect(s1.longterm_migrate_retry - s0.longterm_migrate_retry).toBeGreaterThanOrEqual(1);
    expect(Array.from(pages)).toEqual(pfnsAt(mm, addr, 4)); // the PTEs now map the new pages
    for (const [i, p] of Array.from(pages).entries()) {
      expect(old).not.toContain(p);
      expect(K.page_zonenum(p)).not.toBe(ZONE.MOVABLE);
      expect(K.page_zonenum(p)).toBe(ZONE.NORMAL);
      expect(K.page_maybe_dma_pinned(p)).toBe(true);
      for (let w = 0; w < wpp; w++) expect(K.current.mem.load(K.page_data(p) + w)).toBe(0x5a000000 + i * 256 + w);
    }
    for (const p of old) expect(K.page_ref_count(p)).toBe(0); // the CMA frames were freed
    K.unpin_user_pages(pages, 4);
    for (const p of pages) expect(K.page_ref_count(p)).toBe(1);
    const s2 = vmstat(k);
    expect(s2.nr_foll_pin_acquired).toBe(s2.nr_foll_pin_released);
    expect(warnings(k)).toEqual({ warn: {}, bug: {} });
  });

  it.each(PLAIN_PINS)('$name (not longterm) leaves CMA pages where they are', (g) => {
    machine();
    const mm = mmFor(g);
    const addr = K.do_mmap(mm, { length: 2 * PAGE, kind: 'cma' });
    const pages = sentinel(2);
    expect(call(g, mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    for (const p of pages) expect(K.page_zonenum(p)).toBe(ZONE.MOVABLE);
    K.unpin_user_pages(pages, 2);
  });
});

// ---- permissions -------------------------------------------------------------------------

describe('FOLL_WRITE on a read-only mapping is -EFAULT', () => {
  for (const populated of [false, true]) {
    it.each(FAMILY)(`$name (${populated ? 'populated by a read fault' : 'not faulted in'})`, (g) => {
      const k = machine();
      const mm = mmFor(g);
      const addr = anon(mm, 2, { write: false });
      if (populated) populate(mm, addr, 2, false);
      const pages = sentinel(2);
      expect(call(g, mm, addr, 2, K.FOLL_WRITE, pages)).toBe(-K.EFAULT);
      expect(Array.from(pages)).toEqual([-1, -1]);
      expect(vmstat(k).nr_foll_pin_acquired - vmstat(k).nr_foll_pin_released).toBe(0);
      // Reading is allowed.
      expect(call(g, mm, addr, 2, 0, pages)).toBe(2);
      for (const p of pages) expect(K.page_ref_count(p)).toBe(1 + smallRef(g));
      release(g, pages, 2);
      expect(totalWarns(k)).toBe(0);
    });
  }
});

// ---- counters ----------------------------------------------------------------------------

describe('nr_foll_pin_acquired / nr_foll_pin_released count per subpage', () => {
  it.each(PINS)('$name: a fully pinned 2 MB hugetlb page counts 512, and unpin balances', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    expect(addr % HPAGE_2M).toBe(0);
    const pages = sentinel(512);
    expect(call(g, mm, addr, 512, K.FOLL_WRITE, pages)).toBe(512);
    const head = K.compound_head(pages[0]!);
    expect(K.compound_order(head)).toBe(9);
    for (let i = 0; i < 512; i++) expect(pages[i]).toBe(head + i);
    let s = vmstat(k);
    expect(s.nr_foll_pin_acquired).toBe(512);
    expect(s.nr_foll_pin_released).toBe(0);
    expect(K.compound_pincount(head)).toBe(512); // v6.3: folio->_pincount
    expect(K.page_ref_count(head)).toBe(1 + 512);
    expect(K.page_maybe_dma_pinned(head + 300)).toBe(true);

    // Three more subpages: +3, not +1.
    const more = sentinel(3);
    expect(call(g, mm, addr + 100 * PAGE, 3, 0, more)).toBe(3);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(515);
    K.unpin_user_pages(more, 3);
    expect(vmstat(k).nr_foll_pin_released).toBe(3);

    K.unpin_user_pages(pages, 512);
    s = vmstat(k);
    expect(s.nr_foll_pin_acquired).toBe(515);
    expect(s.nr_foll_pin_released).toBe(515);
    expect(K.compound_pincount(head)).toBe(0);
    expect(K.page_ref_count(head)).toBe(1);
    expect(K.page_maybe_dma_pinned(head)).toBe(false);
    expect(totalWarns(k)).toBe(0);
  });

  it.each(['rfc-2019', 'v5.7', 'v6.3'] as const)('%s: a batched release of n subpages (gup-fast\'s undo) counts n', (era) => {
    const k = machine(era);
    const mm = K.mm_of(0);
    const addr = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    const pages = sentinel(512);
    expect(K.pin_user_pages_fast(mm, addr, 512, 0, pages)).toBe(512);
    const head = K.compound_head(pages[0]!);
    K.put_compound_head(head, 500, K.FOLL_PIN);
    expect(vmstat(k).nr_foll_pin_released).toBe(500);
    expect(K.page_maybe_dma_pinned(head)).toBe(true);
    K.put_compound_head(head, 12, K.FOLL_PIN);
    const s = vmstat(k);
    expect([s.nr_foll_pin_acquired, s.nr_foll_pin_released]).toEqual([512, 512]);
    expect(K.page_ref_count(head)).toBe(1);
    expect(K.page_maybe_dma_pinned(head)).toBe(false);
  });

  it.each(GETS)('$name takes plain references: the pin counters do not move', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = K.do_mmap(mm, { length: HPAGE_2M, kind: 'hugetlb' });
    const pages = sentinel(512);
    expect(call(g, mm, addr, 512, K.FOLL_WRITE, pages)).toBe(512);
    const head = K.compound_head(pages[0]!);
    expect(K.page_ref_count(head)).toBe(1 + 512);
    expect(K.compound_pincount(head)).toBe(0);
    expect(K.page_maybe_dma_pinned(head)).toBe(false);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(0);
    release(g, pages, 512);
    expect(K.page_ref_count(head)).toBe(1);
  });
});

// ---- release -----------------------------------------------------------------------------

describe('release functions', () => {
  it('put_user_page / put_user_pages / put_user_pages_dirty_lock are the seed names of unpin_*', () => {
    expect(K.put_user_page).toBe(K.unpin_user_page);
    expect(K.put_user_pages).toBe(K.unpin_user_pages);
    expect(K.put_user_pages_dirty_lock).toBe(K.unpin_user_pages_dirty_lock);

    const k = machine();
    const mm = K.mm_of(0);
    const addr = anon(mm, 4);
    const pages = sentinel(4);
    expect(K.pin_user_pages_fast(mm, addr, 4, K.FOLL_WRITE, pages)).toBe(4);
    K.put_user_page(pages[0]!);
    expect(K.page_ref_count(pages[0]!)).toBe(1);
    K.put_user_pages(pages.subarray(1, 3), 2);
    expect(K.page_ref_count(pages[1]!)).toBe(1);
    expect(K.page_ref_count(pages[2]!)).toBe(1);
    expect(K.PageDirty(pages[3]!)).toBe(false);
    K.put_user_pages_dirty_lock(pages.subarray(3), 1, true);
    expect(K.page_ref_count(pages[3]!)).toBe(1);
    expect(K.PageDirty(pages[3]!)).toBe(true);
    const s = vmstat(k);
    expect([s.nr_foll_pin_acquired, s.nr_foll_pin_released]).toEqual([4, 4]);
  });

  it('unpin_user_pages_dirty_lock(..., true) marks every page dirty; (..., false) does not', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = anon(mm, 6);
    const pages = sentinel(6);
    expect(K.pin_user_pages_fast(mm, addr, 6, K.FOLL_WRITE, pages)).toBe(6);
    for (const p of pages) expect(K.PageDirty(p)).toBe(false);
    K.unpin_user_pages_dirty_lock(pages.subarray(0, 3), 3, true);
    K.unpin_user_pages_dirty_lock(pages.subarray(3), 3, false);
    expect(Array.from(pages).map((p) => K.PageDirty(p))).toEqual([true, true, true, false, false, false]);
    for (const p of pages) {
      expect(K.page_ref_count(p)).toBe(1);
      expect(K.current.mem.load(K.pw(p, PG.FLAGS)) & 1).toBe(0); // PG_locked released
    }
    const s = vmstat(k);
    expect([s.nr_foll_pin_acquired, s.nr_foll_pin_released]).toEqual([6, 6]);
  });

  it('unpin_user_pages with a negative (-errno) count WARNs and does nothing', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = anon(mm, 2);
    const pages = sentinel(2);
    expect(K.pin_user_pages_fast(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    const ref = K.page_ref_count(pages[0]!);
    K.unpin_user_pages(pages, -K.EFAULT);
    expect(warnCount(k, 'unpin_user_pages:IS_ERR_VALUE')).toBe(1);
    K.unpin_user_pages_dirty_lock(pages, -1, true);
    K.unpin_user_pages_dirty_lock(pages, -1, false);
    expect(warnCount(k, 'unpin_user_pages:IS_ERR_VALUE')).toBe(3);
    expect(totalWarns(k)).toBe(3);
    for (const p of pages) {
      expect(K.page_ref_count(p)).toBe(ref);
      expect(K.PageDirty(p)).toBe(false);
    }
    expect(vmstat(k).nr_foll_pin_released).toBe(0);
    K.unpin_user_pages(pages, 2);
    expect(vmstat(k).nr_foll_pin_released).toBe(2);
  });

  it('unpin_user_pages skips NULL (negative) entries', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = anon(mm, 2);
    const pages = sentinel(2);
    expect(K.pin_user_pages_fast(mm, addr, 2, 0, pages)).toBe(2);
    K.unpin_user_pages([pages[0]!, -1, pages[1]!, -1], 4);
    for (const p of pages) expect(K.page_ref_count(p)).toBe(1);
    expect(vmstat(k).nr_foll_pin_released).toBe(2);
    expect(totalWarns(k)).toBe(0);
  });
});

// ---- struct page references --------------------------------------------------------------

describe('get_page / put_page', () => {
  it('put_page below zero is a BUG (put_page:underflow) and the refcount never wraps', () => {
    const k = machine();
    const p = K.alloc_pages(ZONE.NORMAL, 0);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(K.page_ref_count(p)).toBe(1);
    K.get_page(p);
    expect(K.page_ref_count(p)).toBe(2);
    K.put_page(p);
    const free0 = vmstat(k).nr_page_free;
    K.put_page(p); // the last reference: freed
    expect(K.page_ref_count(p)).toBe(0);
    expect(vmstat(k).nr_page_free).toBe(free0 + 1);

    expect(() => K.put_page(p)).toThrow(K.KernelBug);
    expect(K.page_ref_count(p)).toBe(0);
    expect(bugCount(k, 'put_page:underflow')).toBe(1);
    try {
      K.put_page(p);
    } catch (e) {
      expect((e as K.KernelBug).site).toBe('put_page:underflow');
    }
    expect(K.page_ref_count(p)).toBe(0);
    expect(bugCount(k, 'put_page:underflow')).toBe(2);
    expect(vmstat(k).nr_page_free).toBe(free0 + 1); // no second free

    // A (corrupt) small negative count: still a BUG, the count stays as found.
    const q = K.alloc_pages(ZONE.NORMAL, 0);
    K.current.mem.store(K.pw(q, PG.REFCOUNT), -5);
    expect(() => K.put_page(q)).toThrow(K.KernelBug);
    expect(K.page_ref_count(q)).toBe(-5);
    expect(bugCount(k, 'put_page:underflow')).toBe(3);
  });

  it('get_page on a free page is a BUG (get_page:refcount<=0) and takes nothing', () => {
    const k = machine();
    const p = K.alloc_pages(ZONE.NORMAL, 0);
    K.put_page(p);
    expect(K.page_ref_count(p)).toBe(0);
    expect(() => K.get_page(p)).toThrow(K.KernelBug);
    expect(K.page_ref_count(p)).toBe(0);
    expect(bugCount(k, 'get_page:refcount<=0')).toBe(1);
  });

  it('try_get_page refuses a free page and a negative count with a WARN', () => {
    const k = machine();
    const p = K.alloc_pages(ZONE.NORMAL, 0);
    expect(K.try_get_page(p)).toBe(true);
    expect(K.page_ref_count(p)).toBe(2);
    K.put_page(p);
    K.put_page(p);
    expect(K.page_ref_count(p)).toBe(0); // free
    expect(K.try_get_page(p)).toBe(false);
    expect(K.page_ref_count(p)).toBe(0);
    expect(warnCount(k, 'try_get_page:refcount<=0')).toBe(1);

    const q = K.alloc_pages(ZONE.NORMAL, 0);
    K.current.mem.store(K.pw(q, PG.REFCOUNT), 0x80000000 | 0); // overflowed into the sign bit
    expect(K.try_get_page(q)).toBe(false);
    expect(K.page_ref_count(q)).toBe(0x80000000 | 0);
    expect(warnCount(k, 'try_get_page:refcount<=0')).toBe(2);
    expect(totalWarns(k)).toBe(2);
  });

  it('page_ref_freeze succeeds only at the exact count; gup-fast cannot grab a frozen page', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = anon(mm, 1);
    populate(mm, addr, 1);
    const p = pfnAt(mm, addr);
    const pages = sentinel(1);
    expect(K.get_user_pages_fast(mm, addr, 1, 0, pages)).toBe(1); // refcount 2
    expect(K.page_ref_count(p)).toBe(2);
    expect(K.page_ref_freeze(p, 1)).toBe(false);
    expect(K.page_ref_freeze(p, 3)).toBe(false);
    expect(K.page_ref_count(p)).toBe(2);
    expect(K.page_ref_freeze(p, 2)).toBe(true);
    expect(K.page_ref_count(p)).toBe(0);
    expect(K.page_ref_freeze(p, 2)).toBe(false); // already frozen

    // gup-fast's grab is add-unless-zero: it fails on the frozen page and adds nothing.
    const s0 = vmstat(k);
    expect(K.try_grab_compound_head(p, 1, K.FOLL_PIN)).toBe(-1);
    expect(K.try_grab_compound_head(p, 1, 0)).toBe(-1);
    expect(K.try_grab_compound_head(p, 4, K.FOLL_PIN)).toBe(-1);
    expect(K.try_get_compound_head(p, 1)).toBe(-1);
    expect(K.page_ref_count(p)).toBe(0);
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    expect(vmstat(k).nr_foll_pin_acquired).toBe(s0.nr_foll_pin_acquired);
    expect(totalWarns(k)).toBe(0); // frozen is not overflowed: no WARN

    K.page_ref_unfreeze(p, 2);
    expect(K.page_ref_count(p)).toBe(2);
    expect(warnCount(k, 'page_ref_unfreeze:nonzero')).toBe(0);
    expect(K.try_grab_compound_head(p, 1, K.FOLL_PIN)).toBe(p);
    expect(K.page_ref_count(p)).toBe(2 + K.GUP_PIN_COUNTING_BIAS);
    K.unpin_user_page(p);
    K.put_page(p);
    expect(K.page_ref_count(p)).toBe(1);

    // Unfreezing a count that is not frozen WARNs.
    K.page_ref_unfreeze(p, 1);
    expect(warnCount(k, 'page_ref_unfreeze:nonzero')).toBe(1);
  });
});

// ---- faults under GUP ----------------------------------------------------------------------

describe('the slow path faults pages in', () => {
  it('a fault in a partly populated large-folio range completes (regression: livelock)', () => {
    const k = machine();
    const mm = K.mm_of(0);
    const addr = anon(mm, 4, { order: 2 });
    // Use up every order-2 folio, so the first fault falls back to a small page.
    const held: number[] = [];
    for (let p = K.alloc_pages(ZONE.NORMAL, 2); p >= 0; p = K.alloc_pages(ZONE.NORMAL, 2)) held.push(p);
    expect(held.length).toBeGreaterThan(0);
    populate(mm, addr, 1);
    const p0 = pfnAt(mm, addr);
    expect(K.compound_order(p0)).toBe(0);
    for (const h of held) K.put_page(h);
    // An order-2 folio is free again, but it cannot be mapped over the partly populated range:
    // the fault must still complete. A bound on shared accesses turns a livelock into a failure.
    let accesses = 0;
    k.mem.hook = {
      before() {
        if (++accesses > 1_000_000) throw new Error('livelock: the fault never completes');
      },
    };
    try {
      const pages = sentinel(4);
      expect(K.pin_user_pages_fast(mm, addr, 4, K.FOLL_WRITE, pages)).toBe(4);
      expect(Array.from(pages)).toEqual(pfnsAt(mm, addr, 4));
      expect(pages[0]).toBe(p0);
      K.unpin_user_pages(pages, 4);
    } finally {
      k.mem.hook = null;
    }
    for (const p of pfnsAt(mm, addr, 4)) expect(K.page_count(p)).toBe(K.compound_order(K.compound_head(p)) === 0 ? 1 : 4);
    expect(warnings(k)).toEqual({ warn: {}, bug: {} });
  });
});

// ---- mmap_lock -----------------------------------------------------------------------------

describe('the slow path must be called with mmap_lock held', () => {
  it.each(SLOWS)('$name without the lock WARNs mmap_assert_locked', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = anon(mm, 2);
    const pages = sentinel(2);
    const n = g.fn(mm, addr, 2, K.FOLL_WRITE, pages);
    expect(warnCount(k, 'mmap_assert_locked')).toBe(1);
    if (n > 0) release(g, pages, n);
    // With the lock: no WARN.
    const m = call(g, mm, addr, 2, K.FOLL_WRITE, pages);
    expect(m).toBe(2);
    release(g, pages, m);
    expect(warnCount(k, 'mmap_assert_locked')).toBe(1);
  });

  it.each(FASTS)('$name takes the lock itself', (g) => {
    const k = machine();
    const mm = mmFor(g);
    const addr = anon(mm, 2);
    const pages = sentinel(2);
    expect(g.fn(mm, addr, 2, K.FOLL_WRITE, pages)).toBe(2);
    release(g, pages, 2);
    expect(totalWarns(k)).toBe(0);
    expect(K.current.readLocks.size).toBe(0);
  });
});
