/**
 * The era tables' functions (src/kernel/era/, issue 13): resolving an era's name and its old
 * aliases, the spec lookup, which eras carry a fault natively, and the FOLL_* translation from a
 * tree's encoding into the model's — every named bit of the v6 enum to its 2019 bit, the
 * internal-only flags and bits the tree does not define to FOLL_UNKNOWN, and the 2019 table as
 * the identity.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import type { FollBits } from '../../src/kernel/era/spec.js';

describe('era names', () => {
  it('resolveEra takes each era and the alias seed-2019, and names the eras for anything else', () => {
    for (const e of ['rfc-2019', 'v5.7', 'v6.3', 'v6.18']) expect(K.resolveEra(e)).toBe(e);
    expect(K.resolveEra('seed-2019')).toBe('rfc-2019');
    expect(() => K.resolveEra('v6.4')).toThrow(new RangeError('era must be one of rfc-2019, v5.7, v6.3, v6.18, got v6.4'));
    expect(() => K.resolveEra('')).toThrow(RangeError);
    expect(() => K.resolveEra('toString')).toThrow(RangeError); // not an alias: an Object.prototype key
    expect(K.eraSpec('seed-2019')).toBe(K.ERA_SPECS['rfc-2019']);
    expect(K.eraSpec('v6.18').name).toBe('v6.18');
    expect(() => K.eraSpec('mainline')).toThrow('era must be one of');
    expect(K.CURRENT_ERA).toBe('v6.18');
    for (const [name, spec] of Object.entries(K.ERA_SPECS)) expect(spec.name).toBe(name);
  });

  it('erasWithNative lists the eras whose tree has the fault, in release order', () => {
    expect(K.erasWithNative('stats-after-put')).toEqual(['rfc-2019', 'v5.7']);
    expect(K.erasWithNative('unbalanced-undo')).toEqual(['rfc-2019']);
    expect(K.erasWithNative('plain-refcount')).toEqual([]);
    expect(K.erasWithNative('')).toEqual([]);
  });
});

describe('follTranslator', () => {
  it('the 2019 table is the identity, unknown bits included', () => {
    const t = K.follTranslator(K.FOLL_BITS_2019);
    for (const f of [0, K.FOLL_WRITE, K.FOLL_PIN | K.FOLL_LONGTERM, 1 << 29, -1]) expect(t(f)).toBe(f);
  });

  it('the v6 enum: each named bit to the model\'s bit of the same name, alone and together', () => {
    const t = K.follTranslator(K.FOLL_BITS_ENUM);
    const named = Object.keys(K.FOLL_BITS_2019).filter((n) => K.FOLL_BITS_2019[n as keyof FollBits] !== 0) as (keyof FollBits)[];
    expect(named).toHaveLength(13);
    let all = 0;
    let want = 0;
    for (const n of named) {
      expect([n, t(K.FOLL_BITS_ENUM[n])]).toEqual([n, K.FOLL_BITS_2019[n]]);
      all |= K.FOLL_BITS_ENUM[n];
      want |= K.FOLL_BITS_2019[n];
    }
    expect(t(all)).toBe(want);
    expect(t(0)).toBe(0);
    // The same value means another flag in each encoding: 1 << 1 is FOLL_GET in the enum, FOLL_TOUCH in 2019.
    expect(t(1 << 1)).toBe(K.FOLL_GET);
    expect(t(1 << 16)).toBe(K.FOLL_TOUCH);
  });

  it('internal-only flags and bits the tree does not define become FOLL_UNKNOWN, beside the known ones', () => {
    const t = K.follTranslator(K.FOLL_BITS_ENUM);
    expect(t(K.FOLL_BITS_ENUM.FOLL_FAST_ONLY)).toBe(K.FOLL_UNKNOWN);
    expect(t(K.FOLL_BITS_ENUM.FOLL_UNLOCKABLE)).toBe(K.FOLL_UNKNOWN);
    for (const bit of [5, 10, 11, 15, 22, 30, 31]) expect([bit, t(1 << bit)]).toEqual([bit, K.FOLL_UNKNOWN]);
    expect(t((1 << 5) | K.FOLL_BITS_ENUM.FOLL_WRITE)).toBe(K.FOLL_UNKNOWN | K.FOLL_WRITE);
    expect(t(K.FOLL_BITS_ENUM.FOLL_FAST_ONLY | K.FOLL_BITS_ENUM.FOLL_PIN)).toBe(K.FOLL_UNKNOWN | K.FOLL_PIN);
    // A custom tree: a flag it does not have (0) is not a bit of it.
    const sparse: FollBits = { ...K.FOLL_BITS_ENUM, FOLL_TRIED: 0, FOLL_FAST_ONLY: 0 };
    const s = K.follTranslator(sparse);
    expect(s(K.FOLL_BITS_ENUM.FOLL_TRIED)).toBe(K.FOLL_UNKNOWN);
    expect(s(K.FOLL_BITS_ENUM.FOLL_WRITE)).toBe(K.FOLL_WRITE);
    expect(s(0)).toBe(0);
    // A copy of the 2019 table is translated, not taken as the identity: the same values still.
    const copy = K.follTranslator({ ...K.FOLL_BITS_2019 });
    expect(copy(K.FOLL_PIN | K.FOLL_WRITE)).toBe(K.FOLL_PIN | K.FOLL_WRITE);
    expect(copy(1 << 29)).toBe(K.FOLL_UNKNOWN);
  });
});
