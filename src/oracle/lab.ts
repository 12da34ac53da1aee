/**
 * The lab region: a second SharedArrayBuffer beside the machine's, holding what the oracles need
 * and the kernel does not have — the ghost pin ledger, per-page ghost pin words, per-actor stats,
 * heartbeats and event rings, the O3 last-write tables, ODP driver state, and the violation log.
 * Every word is touched through Atomics. Offsets are in 32-bit words.
 *
 * Per actor (one block, 64-byte aligned):
 *   stats      ACTOR_STAT words (ops, pins, heartbeat, current op, revoke handshake, ...)
 *   ledger     ledgerSlots entries of LEDGER_WORDS words: [pfn+1 of the first subpage pinned
 *              (0 = empty), subpages - 1]. A pin of a run of consecutive subpages of one folio (a
 *              hugetlb page pinned whole) is one entry. Written after the pin's refcount RMW,
 *              cleared before the unpin RMW
 *   ring       1 + ringEntries × 4 words: head counter, then [seq, event, page, arg] entries
 *   lastWrite  nrFiles × filePages words: the last value this actor DMA-wrote into (file, index)
 *   lastEpoch  nrFiles × filePages words: that file page's truncate epoch when it was written
 *   odp        ODP driver state: invalidate_seq, user_lock, then odpPages device PTEs (ODP_PTE)
 *
 * Global: header; per-frame ghost words (pins outstanding in the low 16 bits, unpins so far in the
 * high 16); per-frame ghost get counts; per-file-page truncate epochs and invalidation epochs;
 * with contract oracles (LabConfig.contractFrames) per frame the store-buffering records of
 * src/oracle/sb-contract.ts (SB_RECORD); the violation log.
 */

import { WRITE_CHUNK_SHIFT, writeMapOf } from '../mem/mem.js';

export interface LabConfig {
  nrActors: number;
  ledgerSlots: number;
  ringEntries: number;
  totalFrames: number;
  nrFiles: number;
  filePages: number;
  /** Virtual pages an ODP actor's interval covers (device PTE slots). */
  odpPages: number;
  nrMms: number;
  vaPages: number;
  /** Allocate the per-frame store-buffering contract records (scenario.contractOracles). Default false: none. */
  contractFrames?: boolean;
}

export const LAB_HDR = {
  STOP: 0, // cooperative stop word: actors finish their operation, release, and return
  RUN_STATE: 1, // 1 while the coordinator runs its loop (stress mode): the liveness watchdog judges it then
  VIOLATIONS: 2, // entries in the violation log
  INVALIDATE_EPOCH: 3, // global counter of invalidation starts (O4)
  LOST_VIOLATIONS: 4, // violations not logged because the log was full
  START_GATE: 5, // actors spin until this is 1, so all start together
  COORD_BEAT: 6, // the coordinator's heartbeat (stress mode): bumped at every mm step and policy sleep
  ABORT: 7, // set by the liveness watchdog: every watched wait throws RunAborted (a deadlock is broken)
  SB_CLOCK: 8, // the store-buffering contract's clock (sb-contract.ts): one Atomics.add per stamp
} as const;
const HDR_WORDS = 16;

/** Words per ghost ledger entry: pfn+1 of the first subpage (0 = empty), then subpages - 1. */
export const LEDGER_WORDS = 2;

/** Per-actor statistics words. */
export const ACTOR_STAT = {
  STATE: 0, // ActorState
  OPS: 1,
  PINS: 2, // pages pinned
  UNPINS: 3,
  GETS: 4,
  PUTS: 5,
  DMA_WRITES: 6,
  DMA_READS: 7,
  GUP_FAILS: 8,
  HEARTBEAT: 9, // bumped at every operation boundary (O5)
  CUR_OP: 10, // EventKind of the operation in progress
  CUR_PAGE: 11,
  REVOKE_REQ: 12, // coordinator asks a longterm holder to release (policy revoke)
  REVOKE_ACK: 13,
  ODP_FAULTS: 14,
  ODP_RETRIES: 15,
  ODP_ACCESSES: 16,
  REGISTRATIONS: 17,
  LEDGER_USED: 18,
  ERRORS: 19,
  // GUP/pin failures by errno (gupFailStat): the outcome metrics' pin failures (v6.5+ -EFAULT refusals...).
  FAIL_ZERO: 20, // returned 0 pages
  FAIL_EFAULT: 21,
  FAIL_ENOMEM: 22,
  FAIL_EAGAIN: 23,
  FAIL_EINVAL: 24,
  FAIL_EBUSY: 25,
  FAIL_EOPNOTSUPP: 26,
  FAIL_OTHER: 27,
} as const;

/** Linux errno values of the FAIL_* actor stats (the lab does not import the kernel model). */
const FAIL_BY_ERRNO: Readonly<Record<number, number>> = { 14: 21, 12: 22, 11: 23, 22: 24, 16: 25, 95: 26 };

/** The ACTOR_STAT word counting a GUP/pin call that returned `ret` (<= 0: 0 pages or -errno). */
export function gupFailStat(ret: number): number {
  return ret === 0 ? ACTOR_STAT.FAIL_ZERO : (FAIL_BY_ERRNO[-ret] ?? ACTOR_STAT.FAIL_OTHER);
}
export const ACTOR_STAT_WORDS = 32;

/**
 * Lock words of an actor block, past ACTOR_STAT (not statistics): the machine word the thread waits
 * on (index + 1, 0 none) and HELD_SLOTS slots of the lock words it holds (index + 1, 0 empty),
 * kept by the thread's lockdep so a watchdog thread can report a deadlock; and TID, the thread's
 * kernel thread id (0 unknown), so the watchdog can see whether the OS let it run.
 */
export const LOCK_WORDS = { AWAIT: 20, HELD: 21, HELD_SLOTS: 10, TID: 31 } as const;

export const ACTOR_STATE = { IDLE: 0, RUNNING: 1, DONE: 2, DEAD: 3 } as const;

/** Event kinds written into the per-actor rings (and reported by name). */
export const EVENT = {
  NONE: 0,
  PIN: 1, // page pinned (arg: flags)
  UNPIN: 2,
  DMA_WRITE: 3, // arg: value
  DMA_READ: 4,
  GET: 5,
  PUT: 6,
  GUP_FAIL: 7, // arg: -errno
  REGISTER: 8, // RDMA memory region registered (page: first pfn, arg: pages)
  DEREGISTER: 9,
  ODP_FAULT: 10,
  ODP_RETRY: 11,
  ODP_INSTALL: 12, // device PTE installed (arg: walk epoch)
  ODP_ACCESS: 13,
  INVALIDATE: 14, // arg: epoch
  REVOKED: 15,
  WRITEBACK: 16,
  MKCLEAN: 17,
  MUNMAP: 18,
  MIGRATE: 19,
  RECLAIM: 20,
  TRUNCATE: 21,
  PIN_CHECK: 22, // arg: result
  UNSTABLE: 23,
  FORK: 24, // arg: the child mm id
  EXIT: 25,
  USER_WRITE: 26, // a CPU store through the page table (arg: value)
  USER_READ: 27,
  BUFFERED_READ: 28, // read(2) of a file page (arg: value)
  BUFFERED_WRITE: 29, // write(2) of a file page (arg: value)
} as const;
export type EventKind = (typeof EVENT)[keyof typeof EVENT];
export const EVENT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(EVENT).map(([k, v]) => [v, k.toLowerCase()]));

/**
 * Violation log entry: [oracle, actor, page, kind, b, c, d, e], then a snapshot — taken by the
 * recording thread at the moment of the violation — of the last SNAP_EVENTS events of the actor
 * involved and of the coordinator (4 words each: seq+1, event, page, arg; seq 0 = none).
 */
export const SNAP_EVENTS = 8;
const VIOLATION_HEADER = 8;
export const VIOLATION_WORDS = VIOLATION_HEADER + 2 * SNAP_EVENTS * 4;
export const MAX_VIOLATIONS = 256;
export const ORACLE = { O1: 1, O2: 2, O3: 3, O4: 4, O5: 5, O6: 6 } as const;
export const ORACLE_NAMES: Record<number, string> = {
  1: 'O1 no false negative', 2: 'O2 conservation', 3: 'O3 data integrity', 4: 'O4 ODP protocol', 5: 'O5 liveness', 6: 'O6 API contract',
};
/** What exactly an O3/O4/O2 violation found (word `a` of the entry). */
export const VIOLATION_KIND = {
  FALSE_NEGATIVE: 1,
  LOST_WRITE: 2,
  USE_AFTER_FREE: 3,
  UNSTABLE_PAGE: 4,
  STALE_DEVICE_PTE: 5,
  REFCOUNT: 6,
  LEAK: 7,
  COUNTERS: 8,
  STALL: 9,
  BUG: 10,
  /** A longterm pin returned a page in ZONE_MOVABLE / CMA (O6, gup_test's folio_is_longterm_pinnable). */
  LONGTERM_MOVABLE: 11,
  /** KASAN: a struct page touched after the final put freed it (O2, kernel-notes 4.12). */
  KASAN_USE_AFTER_FREE: 12,
  /**
   * A pin refused because the head refcount had overflowed into the sign bit (the WARN of
   * try_get_compound_head / try_grab_page: the 2019 bias on a 1 GB page, kernel-notes §2). O2.
   */
  REFCOUNT_OVERFLOW: 13,
  /** O5: threads (the coordinator among them, maybe) each waiting for a lock another one holds, or a stalled coordinator. */
  DEADLOCK: 14,
  /**
   * No leak between parent and child (O3, cow.c "No leak from parent into child" and the
   * reverse; kernel-notes 4.3-4.5): a write by one side after fork() was seen by the other, or a
   * DMA write through a pin landed in an anon page another process maps.
   */
  COW_LEAK: 15,
  /** A longterm R/O pin no longer sees what the page table maps (O3, cow.c "Longterm R/O pin is reliable"). */
  PIN_INCOHERENT: 16,
  /** A buffered read(2) returned data from a frame that was freed or migrated away meanwhile (O3). */
  STALE_READ: 17,
  /**
   * O6, checked the moment a pin call returns (scenario.contractOracles): a page it returned does
   * not read page_maybe_dma_pinned() — writeback and the COW checks cannot see the DMA (gup_test's
   * verify_dma_pinned, done at every pin rather than once in a test).
   */
  NOT_DMA_PINNED: 18,
  /**
   * O6, the store-buffering contract of gup-fast against an mm operation that changes a PTE and
   * then asks page_maybe_dma_pinned() (scenario.contractOracles, src/oracle/sb-contract.ts): a
   * FOLL_PIN reference that gup-fast validated against the PTE value from before the change was
   * kept, and the mm operation read "not pinned" before the reference was taken — each side
   * missed the other, which sequential consistency forbids (kernel-notes §3.1, 088b8aa537c2).
   */
  SB_CONTRACT: 19,
  /**
   * O6, at a DMA write through a pin of a file page (scenario.contractOracles): the pinned frame
   * is no longer the page cache's page for its file index, or the writer's PTE maps another frame,
   * with no truncate since the pin to explain it — the write lands where the file will not see it.
   */
  DMA_STALE_FRAME: 20,
} as const;
export const VIOLATION_KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(VIOLATION_KIND).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]),
);

const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

export interface LabLayout {
  readonly config: LabConfig;
  readonly actorOff: number;
  readonly actorWords: number;
  readonly ledgerOff: number; // within an actor block
  readonly ringOff: number;
  readonly lastWriteOff: number;
  readonly lastEpochOff: number;
  readonly odpOff: number;
  readonly ghostOff: number;
  readonly ghostGetOff: number;
  readonly truncEpochOff: number;
  /** Per-frame store-buffering records (SB_RECORD_WORDS each), or -1 without contractFrames. */
  readonly sbOff: number;
  readonly violationOff: number;
  readonly totalWords: number;
}

/**
 * The per-frame store-buffering records (src/oracle/sb-contract.ts), two seqlocked halves: the
 * mm side's last "PTE changed, then read not pinned" [seq, pte word + 1, old PTE value, stamp of
 * the not-pinned read, stamp by which the change was visible] and gup-fast's last kept FOLL_PIN
 * reference [seq, pte word + 1, PTE value validated, stamp after the grab, stamp of the last
 * validating PTE read, lab actor]. A seq is odd while its half is being written.
 */
export const SB_RECORD = {
  MM: 0, MM_PTE: 1, MM_OLD: 2, MM_NOT_PINNED_AT: 3, MM_VISIBLE_AT: 4,
  GUP: 5, GUP_PTE: 6, GUP_VALUE: 7, GUP_GRABBED_AT: 8, GUP_VALIDATED_AT: 9, GUP_ACTOR: 10,
} as const;
export const SB_RECORD_WORDS = 12;

/** ODP driver state: the interval's invalidate_seq, the driver's user_lock, then per page a device PTE. */
export const ODP = { INVALIDATE_SEQ: 0, USER_LOCK: 1, INVALIDATIONS: 2, PTES: 4 } as const;
/**
 * Device PTE: [(pfn+1) << 1 | writable (0 = invalid), epoch when its walk began, epoch of the last
 * invalidation, page generation]. A read fault installs a read-only device PTE: the device must
 * fault again to write, so the CPU side's write fault dirties the page.
 */
export const ODP_PTE = { PFN: 0, WALK_EPOCH: 1, INVAL_EPOCH: 2, GEN: 3 } as const;
export const ODP_PTE_WORDS = 4;

export function computeLabLayout(c: LabConfig): LabLayout {
  const filePagesTotal = c.nrFiles * c.filePages;
  const ledgerOff = ACTOR_STAT_WORDS;
  const ringOff = ledgerOff + roundUp(c.ledgerSlots * LEDGER_WORDS, 16);
  const lastWriteOff = ringOff + roundUp(1 + c.ringEntries * 4, 16);
  const lastEpochOff = lastWriteOff + roundUp(filePagesTotal, 16);
  const odpOff = lastEpochOff + roundUp(filePagesTotal, 16);
  const actorWords = odpOff + roundUp(ODP.PTES + c.odpPages * ODP_PTE_WORDS, 16);
  const actorOff = HDR_WORDS;
  let off = actorOff + c.nrActors * actorWords;
  const ghostOff = off;
  off += roundUp(c.totalFrames, 16);
  const ghostGetOff = off;
  off += roundUp(c.totalFrames, 16);
  const truncEpochOff = off;
  off += roundUp(filePagesTotal, 16);
  const sbOff = c.contractFrames === true ? off : -1;
  if (c.contractFrames === true) off += c.totalFrames * SB_RECORD_WORDS;
  const violationOff = off;
  off += MAX_VIOLATIONS * VIOLATION_WORDS;
  return {
    config: c, actorOff, actorWords, ledgerOff, ringOff, lastWriteOff, lastEpochOff, odpOff, ghostOff, ghostGetOff,
    truncEpochOff, sbOff, violationOff, totalWords: off,
  };
}

/** Raw access to the lab region: Atomics only, no scheduling hook (the oracle is not the model). */
export class Lab {
  readonly i32: Int32Array;
  readonly layout: LabLayout;
  /** The buffer's write map on this thread (trackWrites in src/mem/mem.ts), or null if untracked. */
  private readonly writes: Uint8Array | null;
  constructor(
    readonly sab: SharedArrayBuffer,
    config: LabConfig,
  ) {
    this.layout = computeLabLayout(config);
    if (sab.byteLength < this.layout.totalWords * 4) throw new RangeError('Lab: buffer smaller than its layout');
    this.i32 = new Int32Array(sab);
    this.writes = writeMapOf(sab);
  }
  static create(config: LabConfig): Lab {
    const l = computeLabLayout(config);
    return new Lab(new SharedArrayBuffer(l.totalWords * 4), config);
  }
  /**
   * Mark word i written in the write map, if the lab is tracked. Every write to the lab goes
   * through a method here or is noted by its writer (sb-contract.ts, the ODP driver lock).
   */
  noteWrite(i: number): void {
    if (this.writes !== null) this.writes[i >>> WRITE_CHUNK_SHIFT] = 1;
  }
  load(i: number): number {
    return Atomics.load(this.i32, i);
  }
  store(i: number, v: number): void {
    this.noteWrite(i);
    Atomics.store(this.i32, i, v);
  }
  add(i: number, v: number): number {
    this.noteWrite(i);
    return Atomics.add(this.i32, i, v);
  }
  cas(i: number, e: number, r: number): number {
    this.noteWrite(i);
    return Atomics.compareExchange(this.i32, i, e, r);
  }

  actorBase(actor: number): number {
    return this.layout.actorOff + actor * this.layout.actorWords;
  }
  stat(actor: number, s: number): number {
    return this.load(this.actorBase(actor) + s);
  }
  stopped(): boolean {
    return Atomics.load(this.i32, LAB_HDR.STOP) !== 0;
  }

  /** Append an event to an actor's ring (single writer: the actor, or the coordinator for its own). */
  event(actor: number, kind: EventKind, page: number, arg: number): void {
    const base = this.actorBase(actor) + this.layout.ringOff;
    this.noteWrite(base);
    const seq = Atomics.add(this.i32, base, 1);
    const e = base + 1 + (seq % this.layout.config.ringEntries) * 4;
    this.noteWrite(e);
    this.noteWrite(e + 3);
    Atomics.store(this.i32, e, seq + 1);
    Atomics.store(this.i32, e + 1, kind);
    Atomics.store(this.i32, e + 2, page);
    Atomics.store(this.i32, e + 3, arg);
  }

  /** The last `n` events of an actor, oldest first. */
  lastEvents(actor: number, n: number): LabEvent[] {
    return this.lastEventsRaw(actor, n).map(toEvent);
  }

  /** Record a violation in the shared log (any thread). Returns false if the log was full. */
  violation(oracle: number, actor: number, page: number, kind: number, b = 0, c = 0, d = 0, e = 0): boolean {
    const n = this.add(LAB_HDR.VIOLATIONS, 1);
    if (n >= MAX_VIOLATIONS) {
      this.add(LAB_HDR.LOST_VIOLATIONS, 1);
      return false;
    }
    const base = this.layout.violationOff + n * VIOLATION_WORDS;
    [oracle, actor, page, kind, b, c, d, e].forEach((v, k) => this.store(base + k, v));
    const coordinator = this.layout.config.nrActors - 1;
    [actor, coordinator].forEach((who, side) => {
      if (who < 0 || who >= this.layout.config.nrActors || (side === 1 && who === actor)) return;
      const snap = base + VIOLATION_HEADER + side * SNAP_EVENTS * 4;
      this.lastEventsRaw(who, SNAP_EVENTS).forEach((ev, j) => {
        this.store(snap + j * 4, ev[0] + 1);
        this.store(snap + j * 4 + 1, ev[1]);
        this.store(snap + j * 4 + 2, ev[2]);
        this.store(snap + j * 4 + 3, ev[3]);
      });
    });
    return true;
  }

  /** [seq, event, page, arg] of an actor's last `n` complete events, oldest first. */
  private lastEventsRaw(actor: number, n: number): [number, number, number, number][] {
    const base = this.actorBase(actor) + this.layout.ringOff;
    const entries = this.layout.config.ringEntries;
    const head = this.load(base);
    const out: [number, number, number, number][] = [];
    for (let s = Math.max(0, head - Math.min(n, entries)); s < head; s++) {
      const e = base + 1 + (s % entries) * 4;
      if (this.load(e) !== s + 1) continue; // overwritten or not yet complete
      out.push([s, this.load(e + 1), this.load(e + 2), this.load(e + 3)]);
    }
    return out;
  }

  violations(): LabViolation[] {
    const n = Math.min(this.load(LAB_HDR.VIOLATIONS), MAX_VIOLATIONS);
    const coordinator = this.layout.config.nrActors - 1;
    const out: LabViolation[] = [];
    for (let i = 0; i < n; i++) {
      const base = this.layout.violationOff + i * VIOLATION_WORDS;
      const actor = this.load(base + 1);
      const events = new Map<number, LabEvent[]>();
      [actor, coordinator].forEach((who, side) => {
        const snap = base + VIOLATION_HEADER + side * SNAP_EVENTS * 4;
        const evs: LabEvent[] = [];
        for (let j = 0; j < SNAP_EVENTS; j++) {
          const seq = this.load(snap + j * 4);
          if (seq !== 0) evs.push(toEvent([seq - 1, this.load(snap + j * 4 + 1), this.load(snap + j * 4 + 2), this.load(snap + j * 4 + 3)]));
        }
        if (evs.length > 0) events.set(who, evs);
      });
      out.push({
        oracle: this.load(base), actor, page: this.load(base + 2), kind: this.load(base + 3),
        b: this.load(base + 4), c: this.load(base + 5), d: this.load(base + 6), e: this.load(base + 7), events,
      });
    }
    return out;
  }

  /** Per-frame ghost word: pins outstanding (low 16 bits) and unpins so far (high 16 bits). */
  ghostIndex(pfn: number): number {
    return this.layout.ghostOff + pfn;
  }
  /** The ghost ledger of one actor: pfn+1 of the first subpage per held pin entry, 0 for an empty slot. */
  ledgerIndex(actor: number, slot: number): number {
    return this.actorBase(actor) + this.layout.ledgerOff + slot * LEDGER_WORDS;
  }
  /** The entry's second word: how many subpages after the first it pins (0: one page). */
  ledgerExtraIndex(actor: number, slot: number): number {
    return this.ledgerIndex(actor, slot) + 1;
  }
  fileIndex(file: number, index: number): number {
    return file * this.layout.config.filePages + index;
  }
}

export interface LabEvent {
  seq: number;
  event: string;
  page: number;
  arg: number;
}

/** A violation as logged, with the event snapshot taken when it was recorded (by actor index). */
export interface LabViolation {
  oracle: number;
  actor: number;
  page: number;
  kind: number;
  b: number;
  c: number;
  d: number;
  e: number;
  events: Map<number, LabEvent[]>;
}

const toEvent = (r: [number, number, number, number]): LabEvent => ({ seq: r[0], event: EVENT_NAMES[r[1]] ?? String(r[1]), page: r[2], arg: r[3] });

/** Ghost word arithmetic: +1 pin outstanding; on unpin, -1 outstanding and +1 unpins in one RMW. */
export const GHOST_PIN = 1;
export const GHOST_UNPIN = (1 << 16) - 1;
export const ghostPins = (w: number): number => w & 0xffff;
export const ghostUnpins = (w: number): number => w >>> 16;
