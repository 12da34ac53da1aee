/**
 * v6.3 and v6.18: every exported entry point checks its arguments with is_valid_gup_args()
 * (v6.3/mm/gup.c:2103-2155, v6.18/mm/gup.c:2500-): one WARN per bad argument, and the entry
 * returns -EINVAL (get_user_pages{,_fast,_remote}, pin_user_pages_fast: v6.3/mm/gup.c:2228, 2269,
 * 3060, 3085) or 0 (pin_user_pages, pin_user_pages_remote: :3121, :3152). Under the 2019 rules
 * (rfc-2019, v5.7) the same calls give -EINVAL with a per-function WARN (gup-rules.test.ts).
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import type { Era } from '../../src/mem/layout.js';

const PAGE = 4096;

function machine(era: Era): K.KernelContext {
  return K.boot(
    {
      normalFrames: 256, movableFrames: 64, daxFrames: 16, huge2mPages: 0, huge1gPages: 0, wordsPerPage: 4,
      nrMms: 1, vaPages: 1 << 18, maxVmas: 16, nrFiles: 1, filePages: 64, nrCpus: 1,
    },
    { era },
  );
}

type Fn = (mm: K.MmStruct, start: number, nr: number, flags: number, pages: K.PageArray | null) => number;
interface Entry { name: string; fn: Fn; fast: boolean; invalid: number; pin: boolean }
const ENTRIES: Entry[] = [
  { name: 'get_user_pages', fn: K.get_user_pages, fast: false, invalid: -K.EINVAL, pin: false },
  { name: 'get_user_pages_fast', fn: K.get_user_pages_fast as Fn, fast: true, invalid: -K.EINVAL, pin: false },
  { name: 'get_user_pages_remote', fn: K.get_user_pages_remote, fast: false, invalid: -K.EINVAL, pin: false },
  { name: 'pin_user_pages', fn: K.pin_user_pages, fast: false, invalid: 0, pin: true },
  { name: 'pin_user_pages_fast', fn: K.pin_user_pages_fast as Fn, fast: true, invalid: -K.EINVAL, pin: true },
  { name: 'pin_user_pages_remote', fn: K.pin_user_pages_remote, fast: false, invalid: 0, pin: true },
];

function call(e: Entry, flags: number, pages: K.PageArray | null, nr = 2): { ret: number; addr: number } {
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon' });
  if (e.fast) return { ret: e.fn(mm, addr, nr, flags, pages), addr };
  K.mmap_read_lock(mm);
  try {
    return { ret: e.fn(mm, addr, nr, flags, pages), addr };
  } finally {
    K.mmap_read_unlock(mm);
  }
}

const warn = (site: K.WarnSite): number => K.readWarnings(K.current.mem).warn[site] ?? 0;
const acquired = (): number => K.readVmstat(K.current.mem).nr_foll_pin_acquired;

describe.each(['v6.3', 'v6.18'] as const)('%s: is_valid_gup_args', (era) => {
  it.each(ENTRIES)('$name: a caller-set FOLL_PIN is an internal flag: one WARN, the invalid return', (e) => {
    machine(era);
    const { ret } = call(e, K.FOLL_PIN, new Int32Array(2));
    expect(ret).toBe(e.invalid);
    expect(warn('is_valid_gup_args:internal flag')).toBe(1);
    expect(acquired()).toBe(0);
  });

  it.each(ENTRIES)('$name: FOLL_REMOTE and FOLL_TRIED from a caller are refused too', (e) => {
    machine(era);
    expect(call(e, K.FOLL_REMOTE, new Int32Array(2)).ret).toBe(e.invalid);
    expect(call(e, K.FOLL_TRIED, new Int32Array(2)).ret).toBe(e.invalid);
    // WARN_ON_ONCE counts every hit at its one site in is_valid_gup_args.
    expect(warn('is_valid_gup_args:internal flag')).toBe(2);
  });

  it.each(ENTRIES.filter((e) => e.pin))('$name: FOLL_GET with FOLL_PIN set by the entry: WARN, returns $invalid', (e) => {
    machine(era);
    expect(call(e, K.FOLL_GET, new Int32Array(2)).ret).toBe(e.invalid);
    expect(warn('is_valid_gup_args:FOLL_GET|FOLL_PIN')).toBe(1);
    expect(acquired()).toBe(0);
  });

  it.each(ENTRIES.filter((e) => !e.pin))('$name: FOLL_LONGTERM without FOLL_PIN is refused (-EINVAL)', (e) => {
    machine(era);
    expect(call(e, K.FOLL_LONGTERM, new Int32Array(2)).ret).toBe(-K.EINVAL);
    expect(warn('is_valid_gup_args:FOLL_LONGTERM without FOLL_PIN')).toBe(1);
  });

  it.each(ENTRIES.filter((e) => e.pin && !e.fast))('$name: no pages array is a WARN and 0, not the 2019 BUG', (e) => {
    machine(era);
    expect(call(e, 0, null).ret).toBe(0);
    expect(warn('is_valid_gup_args:no pages')).toBe(1);
    expect(K.readWarnings(K.current.mem).bug).toEqual({});
  });

  it('get_user_pages with no pages array only faults in: FOLL_GET is set later, by __get_user_pages_locked', () => {
    machine(era);
    expect(call(ENTRIES[0]!, K.FOLL_WRITE, null).ret).toBe(2);
    expect(Object.keys(K.readWarnings(K.current.mem).warn)).toEqual([]);
  });

  it('gup-fast accepts FOLL_FORCE (v6.3/mm/gup.c:2957), which the 2019 postings refused', () => {
    machine(era);
    const pages = new Int32Array(2);
    const { ret } = call(ENTRIES[4]!, K.FOLL_WRITE | K.FOLL_FORCE, pages);
    expect(ret).toBe(2);
    K.unpin_user_pages(pages, 2);
    expect(warn('internal_get_user_pages_fast:flags')).toBe(0);
    machine('rfc-2019');
    expect(call(ENTRIES[4]!, K.FOLL_WRITE | K.FOLL_FORCE, new Int32Array(2)).ret).toBe(-K.EINVAL);
    expect(warn('internal_get_user_pages_fast:flags')).toBe(1);
  });

  it('good arguments pin as before', () => {
    machine(era);
    const pages = new Int32Array(2);
    expect(call(ENTRIES[4]!, K.FOLL_WRITE | K.FOLL_LONGTERM, pages).ret).toBe(2);
    expect(acquired()).toBe(2);
    K.unpin_user_pages(pages, 2);
    expect(Object.keys(K.readWarnings(K.current.mem).warn)).toEqual([]);
  });
});

describe('the tree\'s FOLL_* bit values', () => {
  it('v6.3 and v6.18 use the enum of mm_types.h and the internal flags of mm/internal.h', () => {
    for (const era of ['v6.3', 'v6.18'] as const) {
      const f = K.ERA_SPECS[era].foll;
      // v6.3/include/linux/mm_types.h:1130-1159, v6.3/mm/internal.h:869-879
      expect([f.FOLL_WRITE, f.FOLL_GET, f.FOLL_DUMP, f.FOLL_FORCE, f.FOLL_NOWAIT]).toEqual([1, 2, 4, 8, 16]);
      expect([f.FOLL_HWPOISON, f.FOLL_ANON, f.FOLL_LONGTERM, f.FOLL_SPLIT_PMD]).toEqual([0x40, 0x80, 0x100, 0x200]);
      expect([f.FOLL_TOUCH, f.FOLL_TRIED, f.FOLL_REMOTE, f.FOLL_PIN, f.FOLL_FAST_ONLY, f.FOLL_UNLOCKABLE])
        .toEqual([1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21]);
    }
  });

  it('rfc-2019 and v5.7 use the #define table (FOLL_LONGTERM 0x10000, FOLL_PIN 0x40000)', () => {
    for (const era of ['rfc-2019', 'v5.7'] as const) {
      const f = K.ERA_SPECS[era].foll;
      expect(f.FOLL_LONGTERM).toBe(0x10000);
      expect(f.FOLL_PIN).toBe(0x40000);
      expect(f.FOLL_GET).toBe(0x04);
    }
  });

  it('a raw v6.3 flag word translates into the model\'s encoding; an undefined bit is flagged', () => {
    const t = K.follTranslator(K.ERA_SPECS['v6.3'].foll);
    expect(t(0x1 | 0x100)).toBe(K.FOLL_WRITE | K.FOLL_LONGTERM);
    expect(t(1 << 19)).toBe(K.FOLL_PIN);
    expect(t(1 << 10) & K.FOLL_UNKNOWN).not.toBe(0);
    expect(K.follTranslator(K.ERA_SPECS['v5.7'].foll)(0x10001)).toBe(0x10001);
  });
});
