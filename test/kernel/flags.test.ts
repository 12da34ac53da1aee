/**
 * The seed's constants, bit for bit: the FOLL_* #define table of include/linux/mm.h as the seed
 * patch leaves it ("[v3,09/23] mm/gup: introduce pin_user_pages*() and FOLL_PIN", Nov 2019; the
 * context lines FOLL_ANON..FOLL_SPLIT_PMD and the added FOLL_PIN line appear verbatim in the seed,
 * the rest is the v5.4 table they belong to; kernel-notes §1.2 "Flag values"),
 * GUP_PIN_COUNTING_BIAS, and Linux errno numbers.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';

/** include/linux/mm.h, v5.4 + the seed's FOLL_PIN. FOLL_SPLIT 0x80 predates FOLL_NOFAULT. */
const SEED_FOLL_TABLE: ReadonlyArray<readonly [keyof typeof K.FOLL_FLAGS, number]> = [
  ['FOLL_WRITE', 0x01],
  ['FOLL_TOUCH', 0x02],
  ['FOLL_GET', 0x04],
  ['FOLL_DUMP', 0x08],
  ['FOLL_FORCE', 0x10],
  ['FOLL_NOWAIT', 0x20],
  ['FOLL_POPULATE', 0x40],
  ['FOLL_SPLIT', 0x80],
  ['FOLL_HWPOISON', 0x100],
  ['FOLL_NUMA', 0x200],
  ['FOLL_MIGRATION', 0x400],
  ['FOLL_TRIED', 0x800],
  ['FOLL_MLOCK', 0x1000],
  ['FOLL_REMOTE', 0x2000],
  ['FOLL_COW', 0x4000],
  ['FOLL_ANON', 0x8000],
  ['FOLL_LONGTERM', 0x10000],
  ['FOLL_SPLIT_PMD', 0x20000],
  ['FOLL_PIN', 0x40000],
];

describe('FOLL_* flag values are the seed\'s', () => {
  it.each(SEED_FOLL_TABLE)('%s === %i', (name, value) => {
    expect(K.FOLL_FLAGS[name]).toBe(value);
    // The named export and the table entry are the same constant.
    expect((K as unknown as Record<string, number>)[name]).toBe(value);
  });

  it('the table has exactly the seed\'s 19 flags, in order, each a distinct single bit', () => {
    expect(Object.keys(K.FOLL_FLAGS)).toEqual(SEED_FOLL_TABLE.map(([n]) => n));
    const values = Object.values(K.FOLL_FLAGS);
    values.forEach((v, i) => expect(v).toBe(1 << i));
    expect(values.reduce((a, b) => a | b, 0)).toBe(0x7ffff);
  });

  it('the five flags the seed itself prints', () => {
    // Verbatim from the seed's mm.h hunk (context lines + the added FOLL_PIN).
    expect(K.FOLL_ANON).toBe(0x8000);
    expect(K.FOLL_LONGTERM).toBe(0x10000);
    expect(K.FOLL_SPLIT_PMD).toBe(0x20000);
    expect(K.FOLL_PIN).toBe(0x40000);
  });

  it('gup-fast accepts exactly FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN', () => {
    expect(K.GUP_FAST_ALLOWED_FLAGS).toBe(0x01 | 0x10000 | 0x40000);
    expect(K.GUP_FAST_ALLOWED_FLAGS).toBe(0x50001);
  });
});

describe('GUP_PIN_COUNTING_BIAS', () => {
  it('is 1024 (10 bits)', () => {
    expect(K.GUP_PIN_COUNTING_BIAS).toBe(1024);
    expect(K.GUP_PIN_COUNTING_BIAS).toBe(1 << 10);
  });

  it('leaves 31 - 10 = 21 bits of signed count: 2^21 biased pins fill it', () => {
    // The seed's arithmetic: "there are only 31-10==21 bits available".
    expect(Math.log2(2 ** 31 / K.GUP_PIN_COUNTING_BIAS)).toBe(21);
    // A 1 GB page (2^18 subpages) pinned whole adds 2^28; 8 of those reach 2^31.
    expect((1 << 18) * K.GUP_PIN_COUNTING_BIAS).toBe(2 ** 28);
    expect(((8 * 2 ** 28) | 0) < 0).toBe(true);
    expect(((7 * 2 ** 28 + 1) | 0) > 0).toBe(true);
  });
});

describe('errno numbers are Linux\'s', () => {
  it.each([
    ['EPERM', 1],
    ['ENOENT', 2],
    ['EINTR', 4],
    ['EAGAIN', 11],
    ['ENOMEM', 12],
    ['EFAULT', 14],
    ['EBUSY', 16],
    ['EEXIST', 17],
    ['EINVAL', 22],
    ['ENOSPC', 28],
    ['EOPNOTSUPP', 95],
  ] as const)('%s === %i', (name, value) => {
    expect((K as unknown as Record<string, number>)[name]).toBe(value);
    expect(K.ERRNO_NAMES[value]).toBe(name);
  });

  it('errname() renders a negated errno and leaves counts alone', () => {
    expect(K.errname(-K.EINVAL)).toBe('-EINVAL');
    expect(K.errname(-K.EOPNOTSUPP)).toBe('-EOPNOTSUPP');
    expect(K.errname(-K.EFAULT)).toBe('-EFAULT');
    expect(K.errname(-999)).toBe('-999');
    expect(K.errname(0)).toBe('0');
    expect(K.errname(7)).toBe('7');
  });
});
