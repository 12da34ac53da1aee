/**
 * The mm coordinator's operations (DESIGN.md §4, §8): writeback of dirty file pages under a
 * pinned-page policy, munmap + MAP_FIXED re-mmap, migration, reclaim and truncate, picked by
 * weight with a seeded generator and run on the coordinator's thread (`current`).
 *
 * Writeback, per page (kernel-notes §3.2; the policies of §6, one module each in ./policies/):
 *   trylock_page; clear_page_dirty_for_io. Under `mainline` (what the kernel does) page_mkclean
 *   asks nothing about pins and the page is written like any other. Under a policy that asks
 *   (policy.asksPins), page_mkclean asks page_maybe_dma_pinned (through the O1 bracket when
 *   installed) right after each PTE it write-protects, under the PT lock — the mm half of the
 *   store-buffering pair (asked once the page is clean when no PTE changed; not at all under the
 *   fault writeback-ignores-pins); then for a pinned page, policy.onPinned:
 *     write    (ignore)       submit it anyway
 *     skip     (skip)         redirty and skip
 *     bounce   (bounce)       write a snapshot taken at I/O start (stable); leave the page dirty
 *     release  (wait, revoke) unlock, policy.release() gets the pins dropped (poll, or ask the
 *                             RDMA holders to deregister), up to waitTimeoutMs; retry once; else skip
 *   ->writepage (no PG_private: the fs drops the data, cc5095747edf), set_page_writeback, a copy
 *   of the data recorded, unlock. The I/O completes writebackUs later (completeDue). A page whose
 *   data changed since I/O start is counted (`io:unstable`); it is an O3 unstable-page violation
 *   when the device needs stable pages (machine.stableWrites) or the policy promised a pinned page
 *   would never be under writeback unstable (policy.stablePinned); under bounce it is redirtied.
 *   The data (or the snapshot) goes to the backing store; end_page_writeback.
 *
 * Reclaim keeps a pinned page (d824ec2a1546) when policy.reclaimKeepsPinned(era) says so: under
 * `mainline` from v6.3 (EraSpec.reclaimKeepsPinned), under the research policies in every era,
 * under `ignore` never.
 *
 * The coordinator never blocks on a lock a client may hold while that client waits for the
 * coordinator to end writeback (a write fault in wait_for_stable_page holds mmap_lock for read and
 * the page lock): munmap and truncate complete the pending I/O first; waits poll completeDue.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { type z } from 'zod';
import { PG, PMD_ORDER, VM_WRITE } from '../mem/layout.js';
import { errname } from '../kernel/constants.js';
import { current } from '../kernel/current.js';
import { backing_word, page_data, pagecache_slot } from '../kernel/filemap.js';
import { migrate_page } from '../kernel/migrate.js';
import { PAGE_SIZE, do_mmap, find_vma, mm_of, mmap_read_lock, mmap_read_unlock, vmas } from '../kernel/mm.js';
import { do_munmap, vma_merge } from '../kernel/mmap.js';
import { PageDirty, compound_head, get_page, lock_page, put_page, pw, trylock_page, unlock_page } from '../kernel/page.js';
import { pte_pfn, pte_present, walk } from '../kernel/pgtable.js';
import { page_maybe_dma_pinned } from '../kernel/pin.js';
import { shrink_page } from '../kernel/reclaim.js';
import { truncate_inode_pages_range } from '../kernel/truncate.js';
import {
  type MkcleanPinCheck, PageWriteback, clear_page_dirty_for_io, end_page_writeback, redirty_page_for_writepage,
  write_one_page, write_to_backing, writepage,
} from '../kernel/writeback.js';
import { EVENT, type Lab, ORACLE, VIOLATION_KIND, ghostPins } from '../oracle/lab.js';
import { pinHolder } from '../oracle/o1.js';
import { type PolicyHost, type WritebackPolicy, writebackPolicy } from './policies/index.js';
import { type EntryKind, type MmOpsSchema, type Policy } from '../scenario/schema.js';
import { type ActorSpec } from '../clients/types.js';

export type MmOpsConfig = z.output<typeof MmOpsSchema>;

/** A client's region as the coordinator sees it (mapped before the run starts). */
export type MmRegion = Pick<ActorSpec, 'kind' | 'mm' | 'addr' | 'pages' | 'mapping' | 'file' | 'offset'> & {
  /** The actor's name. */
  actor: string;
};

export interface MmOpsOptions {
  lab: Lab;
  policy: Policy;
  mmOps: MmOpsConfig;
  /** The backing device needs stable pages (machine.stableWrites; default false). */
  stableWrites?: boolean;
  regions: MmRegion[];
  /** Kind of each lab actor, by actor index ('rdma' actors are asked to revoke). */
  actorKinds: EntryKind[];
  /** Custom clients with a revoke handler, by actor (policy revoke asks them as it asks RDMA). Default: none. */
  revocable?: boolean[];
  /** The coordinator's own lab actor (its event ring). */
  coordActor: number;
  seed: number;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /** How policy waits sleep between polls, ms (default: Atomics.wait on a private word). */
  sleep?: (ms: number) => void;
  /**
   * Optional: the data word each lab actor writes (ActorSpec.dataWord), by actor index. An
   * unstable page with no pin holder in the ledgers is then blamed on the writer of the first
   * word that changed.
   */
  dataWords?: number[];
}

export const MM_OPS = ['writeback', 'munmap', 'migrate', 'reclaim', 'truncate'] as const;
export type MmOp = (typeof MM_OPS)[number];

/**
 * Outcome names; an event's `arg` for WRITEBACK and RECLAIM is the outcome's index + 1 here.
 * (MIGRATE events carry migrate_page's return value, MUNMAP the page count, TRUNCATE the pages
 * removed, UNSTABLE the file page index, REVOKED the actor asked.)
 */
export const MM_OUTCOMES = [
  'submitted', 'submitted-pinned', 'bounced', 'skipped-pinned', 'wait-timeout', 'revoke-failed', 'fs-dropped', 'clean',
  'locked', 'not-cached', 'under-writeback', 'freed', 'busy', 'pinned', 'dirty', 'writeback', 'unevictable',
] as const;
const outcomeCode = (o: string): number => (MM_OUTCOMES as readonly string[]).indexOf(o) + 1;

/** One writeback I/O in flight. */
interface PendingIo {
  page: number;
  file: number;
  index: number;
  /** The page's data at I/O start: what a checksum would cover; the bounce buffer under 'bounce'. */
  data: Int32Array;
  bounce: boolean;
  /** An actor holding a pin at I/O start (ledger), or -1. */
  holder: number;
  start: number;
  /** When writebackPage() began with this page (before any policy wait): the writeback latency's start. */
  begun: number;
  due: number;
}

/**
 * The raw figures behind a run's outcome metrics (report/metrics.ts), besides stats(): sample
 * lists in microseconds, and the dirty-page census.
 */
export interface MmSamples {
  /** Per completed writeback I/O: from writebackPage() entry (policy waits included) to I/O end, µs. */
  writebackUs: number[];
  /** Per policy wait (wait, revoke) for a pinned page: how long it took, µs, and whether it ended unpinned. */
  waitsUs: number[];
  waitsOk: number;
  revokesUs: number[];
  revokesOk: number;
  /** Page-cache pages dirty at the last census, and the oldest one's age, ms (census every DIRTY_CENSUS_MS). */
  dirtyPages: number;
  oldestDirtyAgeMs: number;
}

/** How often the coordinator takes the dirty-page census for the oldest-dirty-age metric, ms. */
const DIRTY_CENSUS_MS = 5;
/** Cap on kept latency samples per list (a reservoir would be fairer; runs stay far below it). */
const MAX_SAMPLES = 200_000;

const MAX_CHUNK_PAGES = 8;
const MAX_TRUNCATE_PAGES = 4;
const WAIT_POLL_MS = 0.2;

export class MmOps {
  private readonly lab: Lab;
  private readonly policy: WritebackPolicy;
  private readonly stableWrites: boolean;
  /** What the waiting policies use of this coordinator. */
  private readonly host: PolicyHost;
  private readonly cfg: MmOpsConfig;
  private readonly regions: MmRegion[];
  private readonly unmapRegions: MmRegion[];
  private readonly fileRegions: MmRegion[];
  private readonly actorKinds: EntryKind[];
  private readonly revocable: boolean[];
  private readonly coordActor: number;
  private readonly rng: ReturnType<typeof xoroshiro128plus>;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => void;
  private readonly weights: number[];
  private readonly totalWeight: number;
  private readonly pending: PendingIo[] = [];
  private readonly counts = new Map<string, number>();
  private readonly dataWords: number[];
  private readonly snapshotAll: boolean;
  private readonly samples: MmSamples = { writebackUs: [], waitsUs: [], waitsOk: 0, revokesUs: [], revokesOk: 0, dirtyPages: 0, oldestDirtyAgeMs: 0 };
  /** Since when each dirty page-cache page (pfn) has been seen dirty by the census. */
  private readonly dirtySince = new Map<number, number>();
  private lastCensus = -Infinity;
  /** Take the census from step() (stress mode: enableDirtyCensus); explore leaves it off, its loads would be scheduling points. */
  private censusEvery = false;

  /** Take the dirty-page census every DIRTY_CENSUS_MS of step() calls (the oldest-dirty-age metric; stress mode). */
  enableDirtyCensus(): void {
    this.censusEvery = true;
  }

  constructor(o: MmOpsOptions) {
    this.dataWords = o.dataWords ?? [];
    this.lab = o.lab;
    this.policy = writebackPolicy(o.policy);
    this.stableWrites = o.stableWrites ?? false;
    this.snapshotAll = this.policy.snapshotIo === 'stable-writes' ? this.stableWrites : this.policy.snapshotIo;
    this.cfg = o.mmOps;
    this.regions = o.regions;
    this.fileRegions = o.regions.filter((r) => r.mapping === 'file');
    // A fork client unmaps its own pages as the cow.c cases do; munmap of its region would change
    // what its checks expect mid-cycle.
    this.unmapRegions = o.regions.filter((r) => r.kind !== 'fork');
    this.actorKinds = o.actorKinds;
    this.revocable = o.revocable ?? [];
    this.coordActor = o.coordActor;
    this.rng = xoroshiro128plus(o.seed | 0);
    this.now = o.now ?? (() => performance.now());
    const nap = new Int32Array(new SharedArrayBuffer(4));
    this.sleep = o.sleep ?? ((ms: number) => void Atomics.wait(nap, 0, 0, ms));
    this.weights = MM_OPS.map((op) => Math.max(0, Math.round(this.cfg[op] * 1000)));
    this.totalWeight = this.weights.reduce((a, b) => a + b, 0);
    this.host = {
      lab: this.lab, actorKinds: this.actorKinds, revocable: this.revocable, coordActor: this.coordActor, waitTimeoutMs: this.cfg.waitTimeoutMs,
      now: this.now, sleep: this.sleep, completeDue: (t) => this.completeDue(t), bump: (key) => this.bump(key),
    };
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  private bump(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  private max(key: string, v: number): void {
    if (v > (this.counts.get(key) ?? -Infinity)) this.counts.set(key, v);
  }
  private sample(list: number[], v: number): void {
    if (list.length < MAX_SAMPLES) list.push(v);
  }

  /**
   * Count the dirty page-cache pages of the client regions and remember since when each has been
   * dirty (first census that saw it), for the oldest-dirty-age metric.
   */
  dirtyCensus(): void {
    const now = this.now();
    this.lastCensus = now;
    const seen = new Set<number>();
    for (const r of this.fileRegions) {
      for (let i = 0; i < r.pages; i++) {
        const v = current.mem.load(pagecache_slot(r.file, r.offset + i));
        if (v !== 0 && PageDirty(v - 1)) seen.add(v - 1);
      }
    }
    for (const p of [...this.dirtySince.keys()]) if (!seen.has(p)) this.dirtySince.delete(p);
    let oldest = now;
    for (const p of seen) {
      const t = this.dirtySince.get(p) ?? now;
      this.dirtySince.set(p, t);
      if (t < oldest) oldest = t;
    }
    this.samples.dirtyPages = seen.size;
    this.samples.oldestDirtyAgeMs = now - oldest;
  }

  /** The raw figures for the outcome metrics (take a dirtyCensus() first for the end state). */
  metricSamples(): Readonly<MmSamples> {
    return this.samples;
  }

  private int(from: number, to: number): number {
    return uniformInt(this.rng, from, to);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }

  /** Operations done by kind ('writeback', ...) and outcome ('writeback:skipped-pinned', ...), plus I/O and policy counters. */
  stats(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Writeback I/Os submitted and not yet completed. */
  get inFlight(): number {
    return this.pending.length;
  }

  // ---- the random step ---------------------------------------------------------------------

  /**
   * Complete the I/O that is due, then pick one operation by weight and do it on a random target.
   * Returns the operation and its outcome ('idle' when every weight is 0).
   */
  step(): { op: MmOp | 'idle'; outcome: string } {
    this.completeDue(this.now());
    if (this.censusEvery && this.now() - this.lastCensus >= DIRTY_CENSUS_MS) this.dirtyCensus();
    if (this.totalWeight === 0) return { op: 'idle', outcome: 'idle' };
    let x = this.int(0, this.totalWeight - 1);
    let i = 0;
    while (x >= this.weights[i]!) x -= this.weights[i++]!;
    const op = MM_OPS[i]!;
    let outcome: string;
    switch (op) {
      case 'writeback':
        outcome = this.randomWriteback();
        break;
      case 'munmap':
        outcome = this.unmapRegions.length === 0 ? 'no-region' : this.munmapChunk(this.pick(this.unmapRegions));
        break;
      case 'migrate':
        outcome = this.regions.length === 0 ? 'no-region' : this.migrateRandom(this.pick(this.regions));
        break;
      case 'reclaim':
        outcome = this.reclaimRandom();
        break;
      case 'truncate':
        outcome = this.truncateRandom();
        break;
    }
    this.bump(op);
    return { op, outcome };
  }

  // ---- writeback ---------------------------------------------------------------------------

  private randomWriteback(): string {
    if (this.fileRegions.length === 0) return 'no-file-region';
    const r = this.pick(this.fileRegions);
    if (this.int(0, 3) === 0) {
      const n = this.writebackRegion(r);
      return n > 0 ? 'region' : 'no-dirty-page';
    }
    const start = this.int(0, r.pages - 1);
    for (let k = 0; k < r.pages; k++) {
      const index = r.offset + ((start + k) % r.pages);
      const v = current.mem.load(pagecache_slot(r.file, index));
      if (v !== 0 && PageDirty(v - 1)) return this.writebackPage(v - 1);
    }
    return 'no-dirty-page';
  }

  /**
   * Data-integrity writeback (WB_SYNC_ALL, what fsync asks) of every dirty cached page of a file
   * region, each under the policy (policy.onPinnedIntegrity). Returns the pages tried.
   */
  writebackRegion(r: MmRegion): number {
    let n = 0;
    for (let i = 0; i < r.pages; i++) {
      const v = current.mem.load(pagecache_slot(r.file, r.offset + i));
      if (v !== 0 && PageDirty(v - 1)) {
        this.writebackPage(v - 1, true);
        n++;
      }
    }
    return n;
  }

  private wbOutcome(page: number, outcome: string): string {
    this.bump(`writeback:${outcome}`);
    this.lab.event(this.coordActor, EVENT.WRITEBACK, page, outcomeCode(outcome));
    return outcome;
  }

  /** The page is in the page cache at the (file, index) its struct page names. */
  private cached(page: number): boolean {
    const m = current.mem;
    const mapping = m.load(pw(page, PG.MAPPING));
    return mapping > 0 && m.load(pagecache_slot(mapping - 1, m.load(pw(page, PG.INDEX)))) === page + 1;
  }

  /**
   * Start writeback of one page-cache page under the policy (see the file comment). Returns the
   * outcome: 'submitted' (I/O in flight), 'submitted-pinned' (ignore: written although pinned),
   * 'bounced' (bounce: a pinned page's snapshot in flight), 'skipped-pinned', 'wait-timeout',
   * 'revoke-failed', 'fs-dropped' (no buffers: the data is lost), 'clean', 'locked', 'not-cached',
   * 'under-writeback', 'unevictable'. `integrity`: data-integrity writeback (WB_SYNC_ALL), where a
   * policy may act differently on a pinned page (kara-2023 bounces it); default cleaning writeback.
   */
  writebackPage(page: number, integrity = false): string {
    const begun = this.now();
    if (!trylock_page(page)) return this.wbOutcome(page, 'locked');
    for (let attempt = 0; ; attempt++) {
      if (!this.cached(page)) {
        unlock_page(page);
        return this.wbOutcome(page, 'not-cached');
      }
      if (PageWriteback(page)) {
        unlock_page(page);
        return this.wbOutcome(page, 'under-writeback');
      }
      // Pins are asked only after page_mkclean changed the PTEs: right after each change, under
      // the PT lock (A1/A2), or — when no PTE changed — once the page is clean. mainline asks
      // nothing; nor does any policy under the fault writeback-ignores-pins (before FOLL_PIN).
      const asks = this.policy.asksPins && !current.fault('writeback-ignores-pins');
      const pc: MkcleanPinCheck = { checked: false, pinned: false };
      if (!clear_page_dirty_for_io(page, asks ? pc : null)) {
        unlock_page(page);
        return this.wbOutcome(page, 'clean');
      }
      const pinned = asks && (pc.checked ? pc.pinned : page_maybe_dma_pinned(page));
      if (pinned) {
        const action = (integrity ? this.policy.onPinnedIntegrity : undefined) ?? this.policy.onPinned;
        if (action === 'skip' || action === 'release') {
          redirty_page_for_writepage(page);
          unlock_page(page);
          if (action === 'skip') return this.wbOutcome(page, this.policy.skipOutcome ?? 'skipped-pinned');
          const failed = this.policy.releaseFailed ?? 'skipped-pinned';
          if (attempt > 0 || !this.timedRelease(page)) return this.wbOutcome(page, failed);
          this.relock(page);
          continue; // mkclean again and re-check
        }
        return this.submit(page, true, action === 'bounce', begun);
      }
      return this.submit(page, false, false, begun);
    }
  }

  /** policy.release() with its duration recorded (waits under wait, round trips under revoke). */
  private timedRelease(page: number): boolean {
    const t = this.now();
    const ok = this.policy.release!(page, this.host);
    const us = Math.round((this.now() - t) * 1000);
    if (this.policy.name === 'revoke') {
      this.sample(this.samples.revokesUs, us);
      if (ok) this.samples.revokesOk++;
    } else {
      this.sample(this.samples.waitsUs, us);
      if (ok) this.samples.waitsOk++;
    }
    return ok;
  }

  /**
   * ->writepage and the I/O submission, with the page locked and its dirty bit just cleared.
   * `bouncePinned`: this pinned page's I/O writes a snapshot (policy action 'bounce').
   */
  private submit(page: number, pinned: boolean, bouncePinned: boolean, begun: number): string {
    const m = current.mem;
    if (writepage(page) === 'fs-dropped') {
      this.droppedWrite(page);
      unlock_page(page);
      return this.wbOutcome(page, 'fs-dropped');
    }
    const wpp = current.layout.config.wordsPerPage;
    const data = new Int32Array(wpp);
    m.readWords(page_data(page), wpp, data);
    const bounce = this.snapshotAll || bouncePinned;
    if (bounce && pinned) redirty_page_for_writepage(page); // the pin holder may write again
    if (bounce) this.bump('io:bounced');
    get_page(page); // the I/O's reference
    const now = this.now();
    this.pending.push({
      page, file: m.load(pw(page, PG.MAPPING)) - 1, index: m.load(pw(page, PG.INDEX)), data, bounce,
      // Blame for an unstable page: the ledger's pin holder (mainline asks the kernel nothing).
      holder: pinned || !this.policy.asksPins ? pinHolder(this.lab, current.layout, compound_head(page)) : -1,
      start: now, begun, due: now + this.cfg.writebackUs / 1000,
    });
    unlock_page(page);
    return this.wbOutcome(page, !pinned ? 'submitted' : bounce ? 'bounced' : 'submitted-pinned');
  }

  /**
   * O3 at the moment ->writepage drops a dirty page without buffers (kernel-notes 4.1): data in
   * the page that the backing store does not have is a lost write — the page is now clean, so
   * reclaim may free it, and an fsync would have reported it written. One violation per page,
   * blamed on the writer of the first word that differs (dataWords).
   */
  private droppedWrite(page: number): void {
    const m = current.mem;
    const file = m.load(pw(page, PG.MAPPING)) - 1;
    const index = m.load(pw(page, PG.INDEX));
    const base = page_data(page);
    const disk = backing_word(file, index);
    for (let k = 0; k < current.layout.config.wordsPerPage; k++) {
      const v = m.load(base + k);
      const d = m.load(disk + k);
      if (v === d) continue;
      this.lab.violation(ORACLE.O3, this.dataWords.indexOf(k), page, VIOLATION_KIND.LOST_WRITE, file, index, v, d);
      return;
    }
  }

  /** lock_page without sleeping on a holder that waits for our I/O: poll, completing due I/O. */
  private relock(page: number): void {
    while (!trylock_page(page)) {
      this.completeDue(this.now());
      this.sleep(WAIT_POLL_MS);
    }
  }

  /** Complete every writeback I/O whose time has come (`now` in ms). Returns how many completed. */
  completeDue(now: number = this.now()): number {
    let n = 0;
    while (this.pending.length > 0 && this.pending[0]!.due <= now) {
      this.completeIo(this.pending.shift()!);
      n++;
    }
    return n;
  }

  /** Complete every writeback I/O in flight now, due or not. */
  completeAll(): number {
    const n = this.pending.length;
    while (this.pending.length > 0) this.completeIo(this.pending.shift()!);
    return n;
  }

  private completeIo(io: PendingIo): void {
    const m = current.mem;
    const wpp = current.layout.config.wordsPerPage;
    const base = page_data(io.page);
    let changedWord = -1;
    for (let k = 0; k < wpp && changedWord < 0; k++) if (m.load(base + k) !== io.data[k]) changedWord = k;
    const changed = changedWord >= 0;
    if (changed) {
      this.bump('io:changed');
      if (!io.bounce) {
        // The device wrote out data that no longer matches the page. A bug when the device needs
        // stable pages, or when the policy promised no pinned page would be written unstable.
        this.lab.event(this.coordActor, EVENT.UNSTABLE, io.page, io.index);
        this.bump('io:unstable');
        if (this.stableWrites || this.policy.stablePinned) {
          let actor = pinHolder(this.lab, current.layout, compound_head(io.page));
          if (actor < 0) actor = io.holder;
          if (actor < 0) actor = this.dataWords.indexOf(changedWord);
          this.lab.violation(ORACLE.O3, actor, io.page, VIOLATION_KIND.UNSTABLE_PAGE, io.file, io.index);
        }
      } else {
        redirty_page_for_writepage(io.page); // the newer data needs another writeback
      }
    }
    this.bump(`io:${write_to_backing(io.page, io.bounce ? io.data : null)}`);
    end_page_writeback(io.page);
    put_page(io.page); // the I/O's reference
    const now = this.now();
    const us = Math.round((now - io.start) * 1000);
    this.sample(this.samples.writebackUs, Math.round((now - io.begun) * 1000));
    this.bump('io:completed');
    this.bump('io:latencyUsTotal', us);
    this.max('io:latencyUsMax', us);
  }

  /**
   * Write back every dirty cached page of every file, with no pin policy (the end of a run, when
   * no pins remain): complete the I/O in flight, then write_one_page() each dirty page. Returns
   * the pages written; 'sync:fs-dropped' counts dirty pages without buffers (lost writes, 4.1).
   */
  sync(): number {
    this.completeAll();
    const m = current.mem;
    const cfg = current.layout.config;
    let written = 0;
    for (let f = 0; f < cfg.nrFiles; f++) {
      for (let i = 0; i < cfg.filePages; i++) {
        const v = m.load(pagecache_slot(f, i));
        if (v === 0 || !PageDirty(v - 1)) continue;
        const page = v - 1;
        get_page(page);
        lock_page(page);
        const r = this.cached(page) ? write_one_page(page) : 'not-cached';
        unlock_page(page);
        put_page(page);
        this.bump(`sync:${r}`);
        if (r === 'written') written++;
      }
    }
    return written;
  }

  // ---- munmap + re-mmap --------------------------------------------------------------------

  /**
   * munmap a chunk of a region and map it again at the same address (MAP_FIXED) with the same
   * kind, file, offset and folio order, so the region's client keeps working (it faults the pages
   * in again; an anonymous chunk comes back zeroed). Adjacent compatible VMAs of the region are
   * merged back (vma_merge), so the VMA table does not fill up. `first`/`nr` (region pages) default
   * to a random chunk; both are rounded to the region's folio size. Returns 'ok' or the errno.
   */
  munmapChunk(r: MmRegion, first?: number, nr?: number): string {
    const mm = mm_of(r.mm);
    const vpn0 = r.addr / PAGE_SIZE;
    mmap_read_lock(mm);
    const vma = find_vma(mm, vpn0) ?? vmas(mm).find((v) => v.start >= vpn0 && v.start < vpn0 + r.pages) ?? null;
    mmap_read_unlock(mm);
    const order = vma?.order ?? (r.mapping === 'hugetlb' ? PMD_ORDER : 0);
    const align = 1 << order;
    const units = Math.max(1, Math.floor(r.pages / align));
    const u0 = first !== undefined ? Math.floor(first / align) : this.int(0, units - 1);
    const un = nr !== undefined ? Math.max(1, Math.ceil(nr / align)) : this.int(1, Math.min(units - u0, Math.max(1, Math.floor(MAX_CHUNK_PAGES / align))));
    const start = u0 * align;
    const pages = Math.min(un * align, r.pages - start);
    const addr = r.addr + start * PAGE_SIZE;
    // A client write-faulting under mmap_lock may be waiting for our writeback to end.
    this.completeAll();
    const ret = do_munmap(mm, addr, pages * PAGE_SIZE);
    this.lab.event(this.coordActor, EVENT.MUNMAP, vpn0 + start, pages);
    if (ret < 0) return this.opOutcome('munmap', errname(ret));
    const back = do_mmap(mm, {
      length: pages * PAGE_SIZE,
      kind: r.mapping,
      file: r.file,
      offset: (r.mapping === 'file' ? r.offset + start : 0) * PAGE_SIZE,
      order,
      write: vma === null ? true : (vma.flags & VM_WRITE) !== 0,
      addr,
    });
    if (back < 0) return this.opOutcome('munmap', `remap${errname(back)}`);
    vma_merge(mm, vpn0, vpn0 + r.pages);
    return this.opOutcome('munmap', 'ok');
  }

  private opOutcome(op: string, outcome: string): string {
    this.bump(`${op}:${outcome}`);
    return outcome;
  }

  // ---- migration ---------------------------------------------------------------------------

  /** migrate_page() of the page mapped at a random page of the region. */
  private migrateRandom(r: MmRegion): string {
    const mm = mm_of(r.mm);
    const i = this.int(0, r.pages - 1);
    if (r.kind === 'buffered') {
      // A buffered client's pages are in the page cache, not in its page table: migrate the cached page.
      const v = current.mem.load(pagecache_slot(r.file, r.offset + i));
      return v === 0 ? this.opOutcome('migrate', 'not-cached') : this.migrateOne(v - 1);
    }
    const vpn = r.addr / PAGE_SIZE + i;
    const w = walk(mm.pt, vpn, { idx: 0, entry: 0, order: 0 });
    if (!pte_present(w.entry)) return this.opOutcome('migrate', 'not-mapped');
    return this.migrateOne(pte_pfn(w.entry) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0));
  }

  /** migrate_page(page); the outcome is 'ok' or the errno name. */
  migrateOne(page: number): string {
    const ret = migrate_page(page);
    this.lab.event(this.coordActor, EVENT.MIGRATE, page, ret);
    // A failure while the ghost ledger counts a pin outstanding on the folio (one word: cheap even
    // for a 1 GB folio's many ledger slots): the pin made the page unmigratable.
    if (ret !== 0 && ghostPins(this.lab.load(this.lab.ghostIndex(compound_head(page)))) > 0) this.bump('migrate:failed-pinned');
    return this.opOutcome('migrate', ret === 0 ? 'ok' : errname(ret));
  }

  // ---- reclaim -----------------------------------------------------------------------------

  private reclaimRandom(): string {
    if (this.fileRegions.length === 0) return this.opOutcome('reclaim', 'no-file-region');
    const r = this.pick(this.fileRegions);
    const start = this.int(0, r.pages - 1);
    const m = current.mem;
    for (let k = 0; k < r.pages; k++) {
      const v = m.load(pagecache_slot(r.file, r.offset + ((start + k) % r.pages)));
      if (v === 0) continue;
      const page = v - 1;
      if (PageDirty(page) || PageWriteback(page)) continue;
      return this.reclaimOne(page);
    }
    return this.opOutcome('reclaim', 'no-candidate');
  }

  /**
   * shrink_page() of one page; keepPinnedPrivate (d824ec2a1546) as the policy says for this era
   * (mainline: EraSpec.reclaimKeepsPinned; never under the fault writeback-ignores-pins).
   * Returns shrink_page's outcome.
   */
  reclaimOne(page: number): string {
    const keepPinnedPrivate = this.policy.reclaimKeepsPinned(current.spec) && !current.fault('writeback-ignores-pins');
    const r = shrink_page(page, { keepPinnedPrivate });
    this.lab.event(this.coordActor, EVENT.RECLAIM, page, outcomeCode(r));
    return this.opOutcome('reclaim', r);
  }

  // ---- truncate ----------------------------------------------------------------------------

  private truncateRandom(): string {
    if (this.fileRegions.length === 0) return this.opOutcome('truncate', 'no-file-region');
    const r = this.pick(this.fileRegions);
    const n = this.int(1, Math.min(MAX_TRUNCATE_PAGES, r.pages));
    const start = r.offset + this.int(0, r.pages - n);
    return this.truncateRange(r.file, start, start + n);
  }

  /**
   * Punch the hole [start, end) in `file`: bump the lab's truncate epochs of the range first (O3
   * forgets writes made before), complete the I/O in flight, truncate_inode_pages_range(), and
   * bump the epochs again: a write made while the punch runs (recorded with the middle epoch) may
   * land in a page about to leave the page cache — lost legitimately — so O3 forgets it too.
   */
  truncateRange(file: number, start: number, end: number): string {
    const lab = this.lab;
    const bumpEpochs = (): void => {
      for (let i = start; i < end; i++) lab.add(lab.layout.truncEpochOff + lab.fileIndex(file, i), 1);
    };
    bumpEpochs();
    this.completeAll();
    const removed = truncate_inode_pages_range(file, start, end);
    bumpEpochs();
    this.bump('truncate:pages', removed);
    this.lab.event(this.coordActor, EVENT.TRUNCATE, start, removed);
    return this.opOutcome('truncate', 'ok');
  }
}

export { vma_merge };
