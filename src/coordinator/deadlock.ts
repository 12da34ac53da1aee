/**
 * A stalled run described from the lock words each thread holds and awaits (oracle/liveness.ts):
 * who holds what, who waits for what and for whom, and the cycle if the waits close one.
 */
import { type LockState } from '../oracle/liveness.js';

export interface ThreadLockState extends LockState {
  name: string;
  /** Progress time since the thread's heartbeat last moved, ms (absent: it was not stalled). */
  stalledMs?: number;
}

/** One line per thread, and the waits-for cycle (e.g. "coordinator → dio#0 → coordinator"), if any. */
export function describeDeadlock(states: readonly ThreadLockState[], wordName: (word: number) => string): { cycle: string[] | null; lines: string[] } {
  const holder = (word: number, self: number): number => states.findIndex((s, i) => i !== self && s.held.includes(word));
  const lines = states
    .filter((s) => s.stalledMs !== undefined || s.held.length > 0 || s.awaits !== null)
    .map((s) => {
      const i = states.indexOf(s);
      const held = s.held.length ? `holds ${s.held.map(wordName).join(', ')}` : 'holds no lock';
      let awaits = 'is not waiting';
      if (s.awaits === -1) awaits = 'waits on a driver word';
      else if (s.awaits !== null) {
        const h = holder(s.awaits, i);
        awaits = `waits for ${wordName(s.awaits)}${h >= 0 ? ` (held by ${states[h]!.name})` : ''}`;
      }
      const stalled = s.stalledMs !== undefined ? `, no progress for ${s.stalledMs} ms` : '';
      return `${s.name}: ${held}; ${awaits}${stalled}`;
    });
  // Follow waits-for edges from every thread; a revisit closes a cycle.
  for (let start = 0; start < states.length; start++) {
    const path: number[] = [];
    let cur = start;
    while (cur >= 0 && !path.includes(cur)) {
      path.push(cur);
      const w = states[cur]!.awaits;
      cur = w === null || w < 0 ? -1 : holder(w, cur);
    }
    if (cur >= 0) {
      const ring = path.slice(path.indexOf(cur));
      return { cycle: [...ring, cur].map((i) => states[i]!.name), lines };
    }
  }
  return { cycle: null, lines };
}
