/**
 * Stress-mode delay injection (rr's chaos mode is the model): an access hook that, at a seeded
 * random fraction of shared accesses, spins for a random while, widening race windows without a
 * system call. Deterministic per actor given the seed; the interleaving it provokes is not.
 */
import { type AccessHook } from '../mem/mem.js';
import { type Delay } from './types.js';

const PROFILES: Record<Exclude<Delay, 'off'>, { oneIn: number; maxSpins: number }> = {
  light: { oneIn: 64, maxSpins: 256 },
  heavy: { oneIn: 8, maxSpins: 4096 },
};

export function delayHook(delay: Delay, seed: number): AccessHook | null {
  if (delay === 'off') return null;
  const { oneIn, maxSpins } = PROFILES[delay];
  let x = seed | 0 || 0x2545f491;
  let sink = 0;
  return {
    before(): void {
      // xorshift32: a few integer ops per access, no allocation.
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      if ((x >>> 0) % oneIn !== 0) return;
      const spins = (x >>> 8) % maxSpins;
      for (let i = 0; i < spins; i++) sink = (sink + i) | 0;
      if (sink === 0x7fffffff) x++; // keep the loop observable to the optimiser
    },
  };
}
