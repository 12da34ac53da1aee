/**
 * FOLL_* bit values per tree, and the translation of a caller's flags into the model's internal
 * encoding (the 2019 #define table of constants.ts, which rfc-2019 and v5.7 use unchanged).
 */
import type { FollBits } from './spec.js';
import * as C from '../constants.js';

/** include/linux/mm.h of the 2019 postings and of v5.7: the #define table (constants.ts). */
export const FOLL_BITS_2019: FollBits = {
  FOLL_WRITE: C.FOLL_WRITE, FOLL_TOUCH: C.FOLL_TOUCH, FOLL_GET: C.FOLL_GET, FOLL_DUMP: C.FOLL_DUMP,
  FOLL_FORCE: C.FOLL_FORCE, FOLL_NOWAIT: C.FOLL_NOWAIT, FOLL_HWPOISON: C.FOLL_HWPOISON, FOLL_ANON: C.FOLL_ANON,
  FOLL_LONGTERM: C.FOLL_LONGTERM, FOLL_SPLIT_PMD: C.FOLL_SPLIT_PMD, FOLL_REMOTE: C.FOLL_REMOTE,
  FOLL_TRIED: C.FOLL_TRIED, FOLL_PIN: C.FOLL_PIN, FOLL_FAST_ONLY: 0, FOLL_UNLOCKABLE: 0,
};

/**
 * v6.3 and later: the public enum of include/linux/mm_types.h (v6.3:1130-1159, v6.18:1723-1761)
 * and the internal flags of mm/internal.h (v6.3:869-879, v6.18:1432-1444).
 */
export const FOLL_BITS_ENUM: FollBits = {
  FOLL_WRITE: 1 << 0, FOLL_GET: 1 << 1, FOLL_DUMP: 1 << 2, FOLL_FORCE: 1 << 3, FOLL_NOWAIT: 1 << 4,
  FOLL_HWPOISON: 1 << 6, FOLL_ANON: 1 << 7, FOLL_LONGTERM: 1 << 8, FOLL_SPLIT_PMD: 1 << 9,
  FOLL_TOUCH: 1 << 16, FOLL_TRIED: 1 << 17, FOLL_REMOTE: 1 << 18, FOLL_PIN: 1 << 19,
  FOLL_FAST_ONLY: 1 << 20, FOLL_UNLOCKABLE: 1 << 21,
};

/** The model's own name for each flag, in its internal (2019) encoding; 0: internal-only, no 2019 bit. */
const INTERNAL: Readonly<Record<keyof FollBits, number>> = {
  ...FOLL_BITS_2019,
  FOLL_FAST_ONLY: 0, FOLL_UNLOCKABLE: 0,
};

/** Bits of a tree's encoding that the model does not know: the caller passed something undefined here. */
export const FOLL_UNKNOWN = 1 << 30;

/**
 * A function from a caller's flags in `bits` to the internal encoding; the identity when `bits`
 * is the internal table. Flags without an internal bit (FOLL_FAST_ONLY, FOLL_UNLOCKABLE, or a bit
 * the tree does not define) map to FOLL_UNKNOWN, which every entry point rejects as its tree does.
 */
export function follTranslator(bits: FollBits): (flags: number) => number {
  if (bits === FOLL_BITS_2019) return (flags) => flags;
  const pairs = (Object.keys(bits) as (keyof FollBits)[])
    .filter((name) => bits[name] !== 0)
    .map((name) => [bits[name], INTERNAL[name] === 0 ? FOLL_UNKNOWN : INTERNAL[name]] as const);
  let known = 0;
  for (const [from] of pairs) known |= from;
  return (flags) => {
    let out = (flags & ~known) !== 0 ? FOLL_UNKNOWN : 0;
    for (const [from, to] of pairs) if ((flags & from) !== 0) out |= to;
    return out;
  };
}
