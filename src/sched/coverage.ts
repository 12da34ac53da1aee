/**
 * Coverage of an explore campaign, read off the traces: the racing-pair orders seen (for each
 * word, which participant's access came before which other participant's conflicting access, with
 * their read/write kinds) and the distinct interleavings (trace hashes). Both only grow, so a
 * campaign can say how much of the racing behaviour its trials actually exercised.
 */
import { TRACE_WORDS, TT } from './layout.js';
import { touchesWord, writesWord } from './strategy/race.js';

export class Coverage {
  private readonly pairs = new Set<string>();
  private readonly traces = new Set<number>();

  /** Racing-pair orders seen so far. */
  get racingPairOrders(): number {
    return this.pairs.size;
  }

  /** Distinct trace hashes seen so far. */
  get interleavings(): number {
    return this.traces.size;
  }

  /**
   * Add one trial's trace. For each word, each access is paired with the last access to the word by
   * each other participant when one of the two writes; the pair's key names the word (`scope`
   * keeps configurations apart), both participants and both kinds. Returns the new pairs it added.
   */
  add(trace: Int32Array, traceHash: number, scope = ''): number {
    this.traces.add(traceHash);
    const before = this.pairs.size;
    const last = new Map<number, Map<number, boolean>>(); // word -> participant -> wrote
    for (let t = 0; t + TRACE_WORDS <= trace.length; t += TRACE_WORDS) {
      const w0 = trace[t] ?? 0;
      const kind = (trace[t + 1] ?? 0) & 0xff;
      if (!touchesWord(kind)) continue;
      const flush = ((w0 >>> 8) & 0xf) === TT.FLUSH;
      const arr = flush ? 0 : (w0 >>> 16) & 0xff;
      const word = (trace[t + 2] ?? 0) * 4 + arr;
      const who = w0 & 0xff;
      const w = writesWord(kind);
      let m = last.get(word);
      if (m === undefined) last.set(word, (m = new Map()));
      for (const [q, qw] of m) {
        if (q !== who && (w || qw)) this.pairs.add(`${scope}|${word}|${q}${qw ? 'w' : 'r'}<${who}${w ? 'w' : 'r'}`);
      }
      m.set(who, w);
    }
    return this.pairs.size - before;
  }
}
