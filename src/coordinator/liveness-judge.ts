/**
 * O5 in stress mode, judged from outside the threads it judges (the watchdog thread runs it).
 *
 * A thread is stalled when its heartbeat has not moved for `watchdogMs` of *progress time* while
 * the run itself went on: progress time advances with the watchdog's own ticks, each counted at
 * most twice its period, so a watchdog the OS did not schedule (a loaded machine) does not age
 * anyone; and the window must also have seen other threads' heartbeats move (or nobody's, for a
 * whole window: every thread stuck at once, the shape of a deadlock). A thread the OS merely
 * starved while others ran catches up within a scheduler period — far below the schema's floor.
 */
export interface StallVerdict {
  /** Index of the stalled thread (in the order the judge was given). */
  thread: number;
  /** Progress time since its heartbeat last moved, ms. */
  stalledMs: number;
  /** Every judged thread stood still for the whole window. */
  global: boolean;
}

export class LivenessJudge {
  private clock = 0;
  private lastNow: number | null = null;
  private readonly beat: number[];
  private readonly since: number[];
  private readonly othersMoved: number[];
  private lastAnyMove = 0;

  /** `n` threads; a stall is `watchdogMs` of progress time; the caller ticks every `tickMs`. */
  constructor(
    n: number,
    private readonly watchdogMs: number,
    private readonly tickMs: number,
  ) {
    this.beat = new Array<number>(n).fill(Number.NaN);
    this.since = new Array<number>(n).fill(0);
    this.othersMoved = new Array<number>(n).fill(0);
  }

  /** Progress time so far, ms. */
  get progressMs(): number {
    return this.clock;
  }

  /**
   * One tick at wall time `now` with each thread's heartbeat and whether it is judged now (a
   * thread that has finished, or is not running yet, is not). Returns the threads found stalled;
   * each is reported at most once per window.
   */
  tick(now: number, beats: readonly number[], judged: readonly boolean[]): StallVerdict[] {
    if (this.lastNow !== null) this.clock += Math.min(Math.max(0, now - this.lastNow), 2 * this.tickMs);
    this.lastNow = now;
    const moved = beats.map((b, i) => b !== this.beat[i]);
    const anyMoved = moved.some(Boolean);
    if (anyMoved) this.lastAnyMove = this.clock;
    const globalStill = this.clock - this.lastAnyMove >= this.watchdogMs;
    const out: StallVerdict[] = [];
    beats.forEach((b, i) => {
      if (moved[i] || !judged[i]) {
        this.beat[i] = b;
        this.since[i] = this.clock;
        this.othersMoved[i] = 0;
        return;
      }
      if (moved.some((m, j) => m && j !== i)) this.othersMoved[i]!++;
      const stalledMs = this.clock - this.since[i]!;
      if (stalledMs >= this.watchdogMs && (this.othersMoved[i]! >= 2 || globalStill)) {
        out.push({ thread: i, stalledMs: Math.round(stalledMs), global: globalStill });
        this.since[i] = this.clock; // once per window
        this.othersMoved[i] = 0;
      }
    });
    return out;
  }
}
