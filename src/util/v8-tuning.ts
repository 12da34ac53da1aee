import v8 from 'node:v8';

/**
 * Raise V8's inlining budget before hot code is compiled. The GUP fast path is a deep chain of
 * tiny functions (pin_user_pages_fast → gup_fast → try_grab_compound_head → Mem.cas); with the
 * default cumulative budget TurboFan stops inlining halfway and the calls cost more than the
 * Atomics themselves (measured: 1-page pin+unpin 0.16 → see scripts/bench-gup.ts). The flags are
 * process-wide and only affect optimisation heuristics, never semantics.
 */
export function tuneV8ForHotPaths(): void {
  v8.setFlagsFromString('--max-inlined-bytecode-size-cumulative=4000');
  v8.setFlagsFromString('--max-inlined-bytecode-size=1000');
}
