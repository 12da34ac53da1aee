/**
 * The deterministic scheduler, as each participant thread runs it (DESIGN.md §6, explore mode).
 *
 * Real threads, serialised with a baton: exactly one participant runs at a time. Every shared
 * access of the kernel model reaches `hook.before()` (Mem calls it), which is a scheduling point:
 * the running thread publishes its pending point in the sched SAB and takes the next decision
 * itself — a pure function of the sched SAB (step, clock, participant states, store buffers,
 * priorities, seed, trial) — and, if someone else is to run, notifies that participant's wait
 * slot and Atomics.waits on its own. Nothing here reads wall-clock time.
 *
 * Blocking: the model's waits go through futexWait (src/mem/futex.ts), which this thread routes to
 * `wait()`: the participant is marked blocked on (array, index, value) with a logical deadline and
 * the baton moves on. A blocked participant is enabled again when its word no longer holds the
 * value, or when its deadline has passed on the logical clock; if nobody is enabled, the blocked
 * participant with the earliest deadline is woken (a timeout expiring; ties to the lowest index)
 * and the clock jumps to it, so no trial deadlocks. A step bound turns a livelock into a report.
 *
 * TSO: a plain store (Mem.plainStore, faults only) goes into the participant's FIFO store buffer
 * in the sched SAB; its plain loads see its own newest buffered value first; any Atomics access of
 * the participant (load, store, RMW, wait) drains its buffer before it executes; and at each
 * decision the scheduler may flush the oldest entry of some buffer (a recorded step). Without plain
 * accesses no buffer is ever used and the model stays sequentially consistent.
 *
 * Strategies (src/sched/strategy/, one file each behind the `Scheduler` interface): random,
 * PCT, POS and SURW take the decision from the sched SAB; replay follows a recorded schedule (a
 * participant not at the recorded label is a divergence, reported, never ignored).
 */
import { ACCESS, type AccessHook, WRITE_CHUNK_SHIFT, writeMapOf } from '../mem/mem.js';
import { type FutexWaitResult } from '../mem/futex.js';
import { computeLayout, type MachineConfig } from '../mem/layout.js';
import { ACTOR_STAT, computeLabLayout, type LabConfig } from '../oracle/lab.js';
import { type LabelContext, flushLabel, pointLabel } from './labels.js';
import {
  ARR, NO_DEADLINE, PK, PS, PW, SH, TRIAL_STATUS, TRACE_WORDS, TT, internString, partBase,
  readString, schedLayout, snapshotStates, writeNote, type SchedGeometry, type SchedLayout,
} from './layout.js';
import { type DecisionView, type Scheduler, schedulerOf } from './strategy/index.js';

/** Thrown inside a participant when its trial was stopped (step bound, divergence, watchdog). */
export class ExploreAbort extends Error {
  override name = 'ExploreAbort';
}

/** What a participant thread needs to join a trial (plain data: it crosses to the worker). */
export interface SchedJoin {
  sab: SharedArrayBuffer;
  geometry: SchedGeometry;
  participant: number;
  machineSab: SharedArrayBuffer;
  machineConfig: MachineConfig | null;
  labSab: SharedArrayBuffer | null;
  labConfig: LabConfig | null;
  /** Participant names, by index. */
  names: string[];
  /** Lab actor index of each participant (its CUR_OP word names the operation), -1 for none. */
  labActors: number[];
  /** Name of each lab actor block (lab word labels). */
  labActorNames: string[];
  /** Strategy replay: the recorded steps. */
  replay?: { flush: boolean[]; who: number[]; label: string[] };
}

export class SchedThread implements DecisionView {
  readonly i32: Int32Array;
  readonly l: SchedLayout;
  readonly me: number;
  readonly n: number;
  private readonly mine: number;
  private readonly mach: Int32Array;
  private readonly machBuf: SharedArrayBuffer;
  private readonly lab: Int32Array | null;
  private readonly labBuf: SharedArrayBuffer | null;
  private readonly curOpIdx: Int32Array;
  /** Each participant's lab OPS word (-1: none), read for the progress-based livelock check. */
  private readonly opsIdx: Int32Array;
  private readonly livelockWindow: number;
  private readonly strategy: number;
  readonly seed: number;
  readonly trial: number;
  private readonly scheduler: Scheduler | null;
  private readonly maxSteps: number;
  readonly eventsOnly: boolean;
  private readonly sbCap: number;
  readonly enabled: Int32Array;
  private readonly reason: Int8Array;
  readonly fl: Int32Array;
  /** The machine's write map on this thread (trackWrites), marked by store-buffer flushes. */
  private readonly machWrites: Uint8Array | null;
  private readonly replay: SchedJoin['replay'];
  private readonly lenient: boolean;
  private labelCtx: LabelContext | null = null;
  private readonly join: SchedJoin;
  private readonly eventIds = new Map<string, number>();
  readonly hook: AccessHook;

  constructor(j: SchedJoin) {
    this.join = j;
    this.i32 = new Int32Array(j.sab);
    this.l = schedLayout(j.geometry);
    this.me = j.participant;
    this.n = j.geometry.nPart;
    this.mine = partBase(this.l, this.me);
    this.machBuf = j.machineSab;
    this.mach = new Int32Array(j.machineSab);
    this.machWrites = writeMapOf(j.machineSab);
    this.labBuf = j.labSab;
    this.lab = j.labSab === null ? null : new Int32Array(j.labSab);
    this.curOpIdx = new Int32Array(this.n).fill(-1);
    this.opsIdx = new Int32Array(this.n).fill(-1);
    if (j.labConfig !== null) {
      const ll = computeLabLayout(j.labConfig);
      j.labActors.forEach((a, p) => {
        if (a >= 0) this.curOpIdx[p] = ll.actorOff + a * ll.actorWords + ACTOR_STAT.CUR_OP;
        if (a >= 0) this.opsIdx[p] = ll.actorOff + a * ll.actorWords + ACTOR_STAT.OPS;
      });
    }
    this.livelockWindow = Atomics.load(this.i32, SH.LIVELOCK_WINDOW);
    this.strategy = Atomics.load(this.i32, SH.STRATEGY);
    this.scheduler = schedulerOf(this.strategy);
    this.seed = Atomics.load(this.i32, SH.SEED);
    this.trial = Atomics.load(this.i32, SH.TRIAL);
    this.maxSteps = Atomics.load(this.i32, SH.MAX_STEPS);
    this.eventsOnly = Atomics.load(this.i32, SH.POINTS) === 1;
    this.sbCap = this.l.sbCap;
    this.enabled = new Int32Array(this.n);
    this.reason = new Int8Array(this.n);
    this.fl = new Int32Array(this.n);
    this.replay = j.replay;
    this.lenient = Atomics.load(this.i32, SH.LENIENT) === 1;
    const self = this;
    this.hook = {
      before(kind: number, index: number, label?: string): void {
        if (kind <= ACCESS.RMW) {
          if (!self.eventsOnly) self.point(kind, index, 0, ARR.MACHINE);
          if (Atomics.load(self.i32, self.mine + PW.SB_LEN) !== 0) self.drain();
        } else if (kind === ACCESS.EVENT) {
          self.point(PK.EVENT, index, self.eventId(label ?? 'event'), ARR.MACHINE);
        } else if (!self.eventsOnly) {
          self.point(kind, index, 0, ARR.MACHINE);
        }
      },
      plainStore(index: number, value: number): boolean {
        self.bufferStore(index, value);
        return true;
      },
      plainLoad(index: number): number | undefined {
        return self.bufferedValue(index);
      },
    };
  }

  // ---- the participant's side ---------------------------------------------------------------

  /** The logical clock, in ms (MmOps' `now`). */
  now(): number {
    return Atomics.load(this.i32, SH.TIME) / 1000;
  }

  /** start() was called (a participant that failed before it still has to take part). */
  started = false;

  /** The first point: wait to be scheduled (the last participant to arrive takes the first decision). */
  start(): void {
    const i32 = this.i32;
    this.started = true;
    this.checkRunning();
    Atomics.store(i32, this.mine + PW.KIND, PK.START);
    Atomics.store(i32, this.mine + PW.INDEX, -1);
    Atomics.store(i32, this.mine + PW.ARR, ARR.NONE);
    Atomics.store(i32, this.mine + PW.STATE, PS.READY);
    if (Atomics.add(i32, SH.READY, 1) + 1 !== this.n || this.decide()) this.waitTurn();
  }

  /** The last point: drain the store buffer, then leave; the baton goes to someone else. */
  end(): void {
    this.point(PK.END, -1, 0, ARR.NONE);
    if (Atomics.load(this.i32, this.mine + PW.SB_LEN) !== 0) this.drain();
    Atomics.store(this.i32, this.mine + PW.STATE, PS.DONE);
    if (Atomics.add(this.i32, SH.FINISHED, 1) + 1 === this.n) {
      Atomics.compareExchange(this.i32, SH.STATUS, TRIAL_STATUS.RUNNING, TRIAL_STATUS.DONE);
      Atomics.store(this.i32, SH.RUNNING, -1);
      return;
    }
    if (this.decide()) this.waitTurn();
  }

  /** Leave after an abort: no decision, just done. */
  leave(): void {
    Atomics.store(this.i32, this.mine + PW.STATE, PS.DONE);
    Atomics.add(this.i32, SH.FINISHED, 1);
  }

  /** futexWait for this thread: a scheduling point, then block on the word until it changes or times out. */
  wait(arr: Int32Array, index: number, value: number, timeoutMs: number): FutexWaitResult {
    const which = arr.buffer === this.machBuf ? ARR.MACHINE : this.labBuf !== null && arr.buffer === this.labBuf ? ARR.LAB : ARR.NONE;
    this.point(PK.WAIT, which === ARR.NONE ? -1 : index, 0, which);
    if (Atomics.load(this.i32, this.mine + PW.SB_LEN) !== 0) this.drain();
    if (which === ARR.NONE) {
      // A word outside the machine and the lab: nobody in the trial can change it; a timed sleep.
      this.block(ARR.NONE, -1, 0, timeoutMs);
      return 'timed-out';
    }
    if (Atomics.load(arr, index) !== value) return 'not-equal';
    return this.block(which, index, value, timeoutMs) ? 'timed-out' : 'ok';
  }

  /** MmOps' `sleep`: a point, then blocked until the logical clock passes `ms`. */
  sleep(ms: number): void {
    this.point(PK.SLEEP, -1, 0, ARR.NONE);
    if (Atomics.load(this.i32, this.mine + PW.SB_LEN) !== 0) this.drain();
    this.block(ARR.NONE, -1, 0, ms);
  }

  private block(arr: number, index: number, value: number, timeoutMs: number): boolean {
    const i32 = this.i32;
    const b = this.mine;
    const time = Atomics.load(i32, SH.TIME);
    const t = Number.isFinite(timeoutMs) ? Math.max(0, Math.round(timeoutMs * 1000)) : NO_DEADLINE;
    Atomics.store(i32, b + PW.ARR, arr);
    Atomics.store(i32, b + PW.INDEX, index);
    Atomics.store(i32, b + PW.VALUE, value);
    Atomics.store(i32, b + PW.DEADLINE, Math.min(NO_DEADLINE, time + t));
    Atomics.store(i32, b + PW.STATE, PS.BLOCKED);
    Atomics.add(i32, SH.BLOCKS, 1);
    if (this.decide()) this.waitTurn();
    return Atomics.load(i32, b + PW.WAKE) === 1;
  }

  private eventId(name: string): number {
    let id = this.eventIds.get(name);
    if (id === undefined) {
      id = internString(this.i32, this.l, name) + 1; // 0 = unknown / table full
      this.eventIds.set(name, id);
    }
    return id;
  }

  /** Publish the pending point and let the scheduler decide; returns when this participant runs it. */
  point(kind: number, index: number, ev: number, arr: number): void {
    const i32 = this.i32;
    const b = this.mine;
    this.checkRunning();
    Atomics.store(i32, b + PW.KIND, kind);
    Atomics.store(i32, b + PW.INDEX, index);
    Atomics.store(i32, b + PW.ARR, arr);
    Atomics.store(i32, b + PW.EVENT, ev);
    const opIdx = this.curOpIdx[this.me]!;
    Atomics.store(i32, b + PW.OP, opIdx >= 0 && this.lab !== null ? Atomics.load(this.lab, opIdx) : 0);
    Atomics.add(i32, b + PW.POINTS, 1);
    if (this.decide()) this.waitTurn();
  }

  private checkRunning(): void {
    if (Atomics.load(this.i32, SH.STATUS) !== TRIAL_STATUS.RUNNING) throw new ExploreAbort('trial stopped');
  }

  // ---- TSO store buffer ---------------------------------------------------------------------

  private bufferStore(index: number, value: number): void {
    const i32 = this.i32;
    const b = this.mine;
    if (Atomics.load(i32, b + PW.SB_LEN) === this.sbCap) this.flushOldest(this.me); // a full buffer stalls the store
    const head = Atomics.load(i32, b + PW.SB_HEAD);
    const len = Atomics.load(i32, b + PW.SB_LEN);
    const e = b + 16 + ((head + len) % this.sbCap) * 2;
    Atomics.store(i32, e, index);
    Atomics.store(i32, e + 1, value);
    Atomics.store(i32, b + PW.SB_LEN, len + 1);
  }

  private bufferedValue(index: number): number | undefined {
    const i32 = this.i32;
    const b = this.mine;
    const head = Atomics.load(i32, b + PW.SB_HEAD);
    for (let k = Atomics.load(i32, b + PW.SB_LEN) - 1; k >= 0; k--) {
      const e = b + 16 + ((head + k) % this.sbCap) * 2;
      if (Atomics.load(i32, e) === index) return Atomics.load(i32, e + 1);
    }
    return undefined;
  }

  private flushOldest(p: number): number {
    const i32 = this.i32;
    const b = partBase(this.l, p);
    const head = Atomics.load(i32, b + PW.SB_HEAD);
    const e = b + 16 + head * 2;
    const index = Atomics.load(i32, e);
    if (this.machWrites !== null) this.machWrites[index >>> WRITE_CHUNK_SHIFT] = 1;
    Atomics.store(this.mach, index, Atomics.load(i32, e + 1));
    Atomics.store(i32, b + PW.SB_HEAD, (head + 1) % this.sbCap);
    Atomics.sub(i32, b + PW.SB_LEN, 1);
    return index;
  }

  private drain(): void {
    while (Atomics.load(this.i32, this.mine + PW.SB_LEN) !== 0) this.flushOldest(this.me);
    Atomics.add(this.i32, SH.DRAINS, 1);
  }

  // ---- the decision -------------------------------------------------------------------------

  /**
   * Take decisions until one hands the baton to a participant: if it is this one, return false (it
   * runs its pending point); otherwise wake it and return whether this one must wait for its turn
   * (false once it is done). It never waits itself: the one place a participant gives up its
   * thread is waitTurn (the in-thread engine's transform makes that its only yield, and keeps
   * this loop a plain, optimisable function).
   */
  private decide(): boolean {
    const i32 = this.i32;
    const n = this.n;
    const en = this.enabled;
    const reason = this.reason;
    for (;;) {
      this.checkRunning();
      const step = Atomics.load(i32, SH.STEP);
      if (this.livelockWindow > 0) this.checkProgress(step);
      if (step >= this.maxSteps) this.stop(TRIAL_STATUS.TOO_LONG);
      let time = Atomics.load(i32, SH.TIME);
      let ne = 0;
      for (let p = 0; p < n; p++) {
        const b = partBase(this.l, p);
        const st = Atomics.load(i32, b + PW.STATE);
        if (st === PS.READY) {
          reason[p] = 0;
          en[ne++] = p;
        } else if (st === PS.BLOCKED) {
          const arr = Atomics.load(i32, b + PW.ARR);
          if (arr !== ARR.NONE && this.word(arr, Atomics.load(i32, b + PW.INDEX)) !== Atomics.load(i32, b + PW.VALUE)) {
            reason[p] = 0;
            en[ne++] = p;
          } else if (Atomics.load(i32, b + PW.DEADLINE) <= time) {
            reason[p] = 1;
            en[ne++] = p;
          }
        }
      }
      if (ne === 0) {
        // Everyone blocked: the earliest deadline expires (the clock jumps there).
        let best = -1;
        let bestDl = 0;
        for (let p = 0; p < n; p++) {
          const b = partBase(this.l, p);
          if (Atomics.load(i32, b + PW.STATE) !== PS.BLOCKED) continue;
          const dl = Atomics.load(i32, b + PW.DEADLINE);
          if (best < 0 || dl < bestDl) {
            best = p;
            bestDl = dl;
          }
        }
        if (best < 0) return false; // nobody left (only when this participant just finished)
        if (bestDl > time) {
          time = bestDl;
          Atomics.store(i32, SH.TIME, time);
        }
        reason[best] = 1;
        en[ne++] = best;
        Atomics.add(i32, SH.TIMEOUT_WAKES, 1);
      }
      // The strategy's own words (PCT change points, POS priorities, SURW counts) first.
      this.scheduler?.update?.(this, step);
      const choice = this.scheduler === null ? this.replayChoice(step, ne) : this.scheduler.choose(this, step, ne);
      const t = this.l.traceOff + step * TRACE_WORDS;
      if (choice < 0) {
        const q = -choice - 1;
        const index = this.flushOldest(q);
        Atomics.store(i32, t, q | (TT.FLUSH << 8));
        Atomics.store(i32, t + 1, PK.PLAIN_STORE);
        Atomics.store(i32, t + 2, index);
        Atomics.store(i32, t + 3, 0);
        Atomics.add(i32, SH.FLUSHES, 1);
        Atomics.store(i32, SH.STEP, step + 1);
        Atomics.store(i32, SH.TIME, Math.min(time + 1, NO_DEADLINE));
        continue;
      }
      const p = choice;
      const b = partBase(this.l, p);
      const blocked = Atomics.load(i32, b + PW.STATE) === PS.BLOCKED;
      const arr = Atomics.load(i32, b + PW.ARR);
      if (blocked) {
        Atomics.store(i32, t, p | (TT.RUN << 8) | (reason[p]! << 12) | (arr << 16));
        Atomics.store(i32, t + 1, PK.WAKE);
        Atomics.store(i32, b + PW.WAKE, reason[p]!);
        Atomics.store(i32, b + PW.STATE, PS.READY);
      } else {
        const kind = Atomics.load(i32, b + PW.KIND);
        const ev = kind === PK.EVENT ? Atomics.load(i32, b + PW.EVENT) : 0;
        Atomics.store(i32, t, p | (TT.RUN << 8) | (arr << 16));
        Atomics.store(i32, t + 1, kind | (ev << 8));
      }
      Atomics.store(i32, t + 2, Atomics.load(i32, b + PW.INDEX));
      Atomics.store(i32, t + 3, Atomics.load(i32, b + PW.OP));
      Atomics.store(i32, SH.STEP, step + 1);
      Atomics.store(i32, SH.TIME, Math.min(time + 1, NO_DEADLINE));
      if (p === this.me) {
        Atomics.store(i32, SH.RUNNING, p);
        return false;
      }
      return this.handoff(p, step > 0); // the first decision's thread is whichever arrived last: not counted
    }
  }

  private word(arr: number, index: number): number {
    return arr === ARR.MACHINE ? Atomics.load(this.mach, index) : Atomics.load(this.lab!, index);
  }

  /** Participants with a non-empty store buffer, in index order, into `this.fl`; returns the count. */
  flushable(): number {
    let k = 0;
    for (let p = 0; p < this.n; p++) if (Atomics.load(this.i32, partBase(this.l, p) + PW.SB_LEN) !== 0) this.fl[k++] = p;
    return k;
  }

  private replayChoice(step: number, ne: number): number {
    const r = this.replay!;
    if (step >= r.who.length) return this.lenient ? this.fallback(ne, -1) : this.diverge(step, -1);
    const who = r.who[step]!;
    const c = this.labels();
    let enabled = false;
    for (let k = 0; k < ne; k++) if (this.enabled[k] === who) enabled = true;
    if (r.flush[step]) {
      const b = partBase(this.l, who);
      if (who < this.n && Atomics.load(this.i32, b + PW.SB_LEN) !== 0) {
        const index = Atomics.load(this.i32, b + 16 + Atomics.load(this.i32, b + PW.SB_HEAD) * 2);
        if (flushLabel(c, who, index) === r.label[step]) return -who - 1;
      }
    } else if (enabled && this.pendingLabel(who) === r.label[step]) {
      return who;
    }
    if (!this.lenient) return this.diverge(step, who);
    // Lenient replay (for shrinking): note the first mismatch, count them all, and go on.
    if (Atomics.add(this.i32, SH.MISMATCHES, 1) === 0) {
      writeNote(this.i32, this.l, who < this.n ? this.pendingLabel(who) : '');
      Atomics.store(this.i32, SH.DIV_STEP, step);
      Atomics.store(this.i32, SH.DIV_PART, who);
    }
    return this.fallback(ne, enabled && !r.flush[step] ? who : -1);
  }

  /**
   * Lenient replay's choice when the schedule cannot be followed: the participant it named if that
   * one is enabled, else the running participant (no preemption), else the lowest enabled index.
   */
  private fallback(ne: number, named: number): number {
    if (named >= 0) return named;
    for (let k = 0; k < ne; k++) if (this.enabled[k] === this.me) return this.me;
    return this.enabled[0]!;
  }

  /** The label participant p's next step would be recorded with (for replay and divergence reports). */
  pendingLabel(p: number): string {
    const i32 = this.i32;
    const b = partBase(this.l, p);
    const st = Atomics.load(i32, b + PW.STATE);
    const arr = Atomics.load(i32, b + PW.ARR);
    const index = Atomics.load(i32, b + PW.INDEX);
    const op = Atomics.load(i32, b + PW.OP);
    const c = this.labels();
    if (st === PS.BLOCKED) return pointLabel(c, p, { kind: PK.WAKE, index, op, arr, timedOut: this.reason[p] === 1 });
    const kind = Atomics.load(i32, b + PW.KIND);
    const ev = Atomics.load(i32, b + PW.EVENT);
    return pointLabel(c, p, { kind, index, op, arr, ...(kind === PK.EVENT ? { event: ev > 0 ? readString(i32, this.l, ev - 1) : '?' } : {}) });
  }

  private labels(): LabelContext {
    this.labelCtx ??= {
      layout: this.join.machineConfig === null ? null : computeLayout(this.join.machineConfig),
      lab: this.join.labConfig === null ? null : computeLabLayout(this.join.labConfig),
      names: this.join.names,
      labActorNames: this.join.labActorNames,
    };
    return this.labelCtx;
  }

  private diverge(step: number, who: number): never {
    writeNote(this.i32, this.l, who >= 0 && who < this.n ? this.pendingLabel(who) : '');
    Atomics.store(this.i32, SH.DIV_STEP, step);
    Atomics.store(this.i32, SH.DIV_PART, who);
    this.stop(TRIAL_STATUS.DIVERGED);
  }

  /** Stop the trial: every participant wakes and unwinds with ExploreAbort. */
  /**
   * Livelock by progress, not by length: a trial whose participants finish no operation (and none
   * ends) within the window is an O5 livelock, however long its legitimate work is.
   */
  private checkProgress(step: number): void {
    const i32 = this.i32;
    let progress = Atomics.load(i32, SH.FINISHED);
    if (this.lab !== null) for (let p = 0; p < this.n; p++) if (this.opsIdx[p]! >= 0) progress += Atomics.load(this.lab, this.opsIdx[p]!);
    if (progress !== Atomics.load(i32, SH.PROGRESS)) {
      Atomics.store(i32, SH.PROGRESS, progress);
      Atomics.store(i32, SH.PROGRESS_STEP, step);
    } else if (step - Atomics.load(i32, SH.PROGRESS_STEP) >= this.livelockWindow) {
      this.stop(TRIAL_STATUS.STEP_LIMIT);
    }
  }

  private stop(status: number): never {
    if (Atomics.compareExchange(this.i32, SH.STATUS, TRIAL_STATUS.RUNNING, status) === TRIAL_STATUS.RUNNING) {
      snapshotStates(this.i32, this.l);
    }
    wakeAll(this.i32, this.l);
    throw new ExploreAbort(`trial stopped (status ${status})`);
  }

  /** Pass the baton to p; returns whether this participant must then wait for its turn. */
  private handoff(p: number, count: boolean): boolean {
    const i32 = this.i32;
    Atomics.store(i32, SH.RUNNING, p);
    if (count) Atomics.add(i32, SH.SWITCHES, 1);
    const slot = partBase(this.l, p) + PW.SLOT;
    Atomics.store(i32, slot, 1);
    Atomics.notify(i32, slot, 1);
    return Atomics.load(i32, this.mine + PW.STATE) !== PS.DONE;
  }

  private waitTurn(): void {
    const i32 = this.i32;
    const slot = this.mine + PW.SLOT;
    // No spinning first: measured here (2 vCPUs) a 200–2000-load spin before the wait made
    // handoffs no faster with 2 participants and slower with 3 or more.
    while (Atomics.load(i32, slot) === 0) Atomics.wait(i32, slot, 0);
    Atomics.store(i32, slot, 0);
    this.checkRunning();
  }
}

/** Wake every participant's wait slot (after a stop: each one sees the status and unwinds). */
export function wakeAll(i32: Int32Array, l: SchedLayout): void {
  for (let p = 0; p < l.nPart; p++) {
    const slot = partBase(l, p) + PW.SLOT;
    Atomics.store(i32, slot, 1);
    Atomics.notify(i32, slot);
  }
}
