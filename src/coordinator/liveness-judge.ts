/**
 * O5 in stress mode, judged from outside the threads it judges (the watchdog thread runs it).
 *
 * A thread is stalled when its heartbeat has not moved for `watchdogMs` of *its own chances to
 * run*: a tick ages a thread only if the thread had the CPU or chose to wait (its CPU time moved,
 * or it sleeps — the watchdog reads /proc/self/task/<tid>/stat), never while it sat runnable and
 * the OS ran others; each tick counts at most twice its period, so a watchdog the OS did not
 * schedule ages nobody. The window must also have seen other threads' heartbeats move, or nobody's
 * for a whole window (every thread stuck at once: the shape of a deadlock).
 */
export interface StallVerdict {
  /** Index of the stalled thread (in the order the judge was given). */
  thread: number;
  /** Time the thread could have run without its heartbeat moving, ms. */
  stalledMs: number;
  /** Every judged thread stood still for the whole window. */
  global: boolean;
}

export class LivenessJudge {
  private clock = 0;
  private lastNow: number | null = null;
  private readonly beat: number[];
  private readonly age: number[];
  private readonly othersMoved: number[];
  private stillFor = 0;

  /** `n` threads; a stall is `watchdogMs` of chances to run; the caller ticks every `tickMs`. */
  constructor(
    n: number,
    private readonly watchdogMs: number,
    private readonly tickMs: number,
  ) {
    this.beat = new Array<number>(n).fill(Number.NaN);
    this.age = new Array<number>(n).fill(0);
    this.othersMoved = new Array<number>(n).fill(0);
  }

  /** Watchdog time so far (each tick counted at most twice its period), ms. */
  get progressMs(): number {
    return this.clock;
  }

  /**
   * One tick at wall time `now`: each thread's heartbeat, whether it is judged now (a thread that
   * has finished, or is not running yet, is not), and whether it had a chance to run since the
   * last tick (default: yes). Returns the threads found stalled; each at most once per window.
   */
  tick(now: number, beats: readonly number[], judged: readonly boolean[], chances?: readonly boolean[]): StallVerdict[] {
    const dt = this.lastNow === null ? 0 : Math.min(Math.max(0, now - this.lastNow), 2 * this.tickMs);
    this.lastNow = now;
    this.clock += dt;
    const moved = beats.map((b, i) => b !== this.beat[i]);
    this.stillFor = moved.some(Boolean) ? 0 : this.stillFor + dt;
    const globalStill = this.stillFor >= this.watchdogMs;
    const out: StallVerdict[] = [];
    beats.forEach((b, i) => {
      if (moved[i] || !judged[i]) {
        this.beat[i] = b;
        this.age[i] = 0;
        this.othersMoved[i] = 0;
        return;
      }
      if (chances?.[i] !== false) this.age[i]! += dt;
      if (moved.some((m, j) => m && j !== i)) this.othersMoved[i]!++;
      if (this.age[i]! >= this.watchdogMs && (this.othersMoved[i]! >= 2 || globalStill)) {
        out.push({ thread: i, stalledMs: Math.round(this.age[i]!), global: globalStill });
        this.age[i] = 0; // once per window
        this.othersMoved[i] = 0;
      }
    });
    return out;
  }
}
