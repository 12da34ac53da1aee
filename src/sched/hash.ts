/**
 * Counter-based hashing: every random choice of the scheduler is hash(seed, trial, step, salt),
 * a pure function of its inputs, so any thread can take the decision and a trial replays from
 * (seed, trial) alone. Integer-only (Math.imul), identical on every thread.
 */

/** murmur3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A well-mixed unsigned 32-bit hash of up to four integers. */
export function hash4(a: number, b: number, c: number, d: number): number {
  let h = fmix32((a ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ Math.imul(b | 0, 0xcc9e2d51)) >>> 0);
  h = fmix32((h ^ Math.imul(c | 0, 0x1b873593)) >>> 0);
  h = fmix32((h ^ Math.imul(d | 0, 0xe6546b64)) >>> 0);
  return h;
}

/** The workload seed of trial `trial` of a campaign with seed `seed` (a valid scenario seed: 31 bits). */
export function trialSeed(seed: number, trial: number): number {
  return hash4(seed, trial, 0x5eed, 0x7a1) & 0x7fffffff;
}

/** FNV-1a over 32-bit words: a fingerprint of a trace. */
export function fnv32(words: ArrayLike<number>, n: number = words.length, h = 0x811c9dc5): number {
  for (let i = 0; i < n; i++) {
    const w = words[i]! | 0;
    h = Math.imul(h ^ (w & 0xff), 0x01000193);
    h = Math.imul(h ^ ((w >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((w >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (w >>> 24), 0x01000193);
  }
  return h >>> 0;
}
