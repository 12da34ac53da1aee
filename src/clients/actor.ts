/**
 * What every client protocol shares: its kernel context and mm, the lab, a seeded random stream,
 * and the oracle bookkeeping — the ghost pin ledger (written after the pin's refcount RMW, cleared
 * before the unpin RMW), per-frame ghost words, the O3 last-write table, and the event ring.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { PG } from '../mem/layout.js';
import { type KernelContext } from '../kernel/context.js';
import { type MmStruct, PAGE_SIZE, mm_of } from '../kernel/mm.js';
import { ANON_FORKED } from '../kernel/rmap.js';
import { compound_head, put_page, pw, set_page_dirty_lock } from '../kernel/page.js';
import { page_data, pagecache_slot } from '../kernel/filemap.js';
import { pte_pfn, pte_present } from '../kernel/pgtable.js';
import { __page_maybe_dma_pinned } from '../kernel/pin.js';
import {
  ACTOR_STAT, type EventKind, EVENT, GHOST_PIN, GHOST_UNPIN, Lab, ORACLE, VIOLATION_KIND,
} from '../oracle/lab.js';
import { type ActorInit, type ActorSpec } from './types.js';

type Rng = ReturnType<typeof xoroshiro128plus>;

/**
 * How a driver released get_user_pages*() references before FOLL_PIN (fault pin-as-get): for each
 * page, set_page_dirty_lock() if the device wrote it, then put_page().
 */
export function put_pages_dirty_lock(pages: ArrayLike<number>, n: number, dirty: boolean): void {
  for (let i = 0; i < n; i++) {
    const page = pages[i]!;
    if (dirty) set_page_dirty_lock(page);
    put_page(page);
  }
}

/** How many entries from pages[i] (at most n - i) are consecutive subpages of pages[i]'s folio. */
function folioRun(pages: ArrayLike<number>, i: number, n: number): number {
  const pfn = pages[i]!;
  const head = compound_head(pfn);
  let j = i + 1;
  while (j < n && pages[j] === pfn + (j - i) && compound_head(pages[j]!) === head) j++;
  return j - i;
}

export class Actor {
  readonly mm: MmStruct;
  readonly base: number; // this actor's lab block
  readonly rng: Rng;
  readonly oracles: boolean;
  readonly regionVpn: number;
  private readonly freeSlots: number[] = [];
  /** First pfn of a ledger entry -> [slot, subpages] pairs (a page may be pinned more than once). */
  private readonly slotsOf = new Map<number, number[]>();
  /** folio head -> [allocation generation when pinned, pins held] (use-after-free check). */
  private readonly genAtPin = new Map<number, [number, number]>();
  private seq = 0;
  ops = 0;

  constructor(
    readonly k: KernelContext,
    readonly lab: Lab,
    readonly init: ActorInit,
    readonly spec: ActorSpec,
  ) {
    this.mm = mm_of(spec.mm);
    this.base = lab.actorBase(spec.actor);
    // One stream per actor, derived from the run seed and the actor index.
    this.rng = xoroshiro128plus((init.seed ^ Math.imul(spec.actor + 1, 0x9e3779b1)) | 0);
    this.oracles = init.oracles;
    this.regionVpn = spec.addr / PAGE_SIZE;
    for (let s = lab.layout.config.ledgerSlots - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  /**
   * O6 not-dma-pinned (contract oracles only): the `n` pages a pin call just returned must each
   * read page_maybe_dma_pinned() (the gup_test verify_dma_pinned check, at every pin). The reads
   * bypass the scheduler's access hook: an oracle observes, it must not add scheduling points and
   * reshuffle explore's schedules. Reports the first page that does not read pinned.
   */
  checkDmaPinned(pages: Int32Array, n: number): void {
    if (!this.oracles || this.init.contractOracles !== true) return;
    const m = this.k.mem;
    const hook = m.hook;
    m.hook = null;
    try {
      for (let i = 0; i < n; i++) {
        if (!__page_maybe_dma_pinned(pages[i]!)) {
          this.lab.violation(ORACLE.O6, this.spec.actor, pages[i]!, VIOLATION_KIND.NOT_DMA_PINNED, i, n);
          return;
        }
      }
    } finally {
      m.hook = hook;
    }
  }

  /**
   * O6 dma-stale-frame (contract oracles only), at a DMA write through a pin of file page
   * `pageInRegion` into `pfn`: unless a truncate since the pin (`epoch`, read before it) explains
   * it, the pinned frame is still the page cache's page for that file index, and this actor's PTE
   * for it, when present, maps the cached page — otherwise the write lands in a frame the file no
   * longer has and is lost, whatever O3 later sees. Reads bypass the scheduler's access hook, as
   * checkDmaPinned's do.
   */
  checkCachedFrame(pfn: number, pageInRegion: number, epoch: number): void {
    if (!this.oracles || this.init.contractOracles !== true || this.spec.mapping !== 'file') return;
    const lab = this.lab;
    const index = this.spec.offset + pageInRegion;
    const m = this.k.mem;
    const hook = m.hook;
    m.hook = null;
    try {
      const cached = m.load(pagecache_slot(this.spec.file, index)) - 1;
      const pte = m.load(this.mm.pt.pte(this.regionVpn + pageInRegion));
      const mapped = pte_present(pte) ? pte_pfn(pte) : -1;
      // The epoch after the reads: a punch bumps it before it removes anything and again after
      // (MmOps.truncateRange), so one since the pin shows as a change, and one still running — a
      // pin taken between its first bump and its removal — as an odd epoch.
      const now = lab.load(lab.layout.truncEpochOff + lab.fileIndex(this.spec.file, index));
      if (now !== epoch || (now & 1) !== 0) return;
      if (cached !== pfn || (mapped >= 0 && mapped !== cached)) {
        lab.violation(ORACLE.O6, this.spec.actor, pfn, VIOLATION_KIND.DMA_STALE_FRAME, this.spec.file, index, cached, mapped);
      }
    } finally {
      m.hook = hook;
    }
  }

  /** Uniform integer in [from, to]. */
  int(from: number, to: number): number {
    return uniformInt(this.rng, from, to);
  }
  chance(p: number): boolean {
    return p >= 1 || (p > 0 && uniformInt(this.rng, 0, 0xffffff) < p * 0x1000000);
  }
  addr(pageInRegion: number): number {
    return this.spec.addr + pageInRegion * PAGE_SIZE;
  }
  stat(s: number, delta = 1): void {
    this.lab.add(this.base + s, delta);
  }
  event(kind: EventKind, page: number, arg: number): void {
    if (this.oracles) this.lab.event(this.spec.actor, kind, page, arg);
  }
  /** What the actor is doing now (O5 reports it when something stalls). */
  doing(kind: EventKind, page: number): void {
    this.lab.store(this.base + ACTOR_STAT.CUR_OP, kind);
    this.lab.store(this.base + ACTOR_STAT.CUR_PAGE, page);
  }

  /**
   * Record pins just taken (after the refcount RMW). A run of consecutive subpages of one folio
   * (a hugetlb page pinned whole) is one ledger entry — [first pfn + 1, subpages - 1] — and one
   * ghost increment, so the ghost word's 16-bit pin count counts entries, not subpages.
   */
  ledgerAdd(pages: ArrayLike<number>, n: number): void {
    if (!this.oracles) return;
    const lab = this.lab;
    for (let i = 0; i < n; ) {
      const pfn = pages[i]!;
      const run = folioRun(pages, i, n);
      const slot = this.freeSlots.pop();
      if (slot === undefined) throw new Error(`${this.spec.name}: ghost ledger full (${lab.layout.config.ledgerSlots} slots)`);
      lab.store(lab.ledgerExtraIndex(this.spec.actor, slot), run - 1);
      lab.store(lab.ledgerIndex(this.spec.actor, slot), pfn + 1);
      const list = this.slotsOf.get(pfn);
      if (list === undefined) this.slotsOf.set(pfn, [slot, run]);
      else list.push(slot, run);
      const head = compound_head(pfn);
      lab.add(lab.ghostIndex(head), GHOST_PIN);
      this.held(head, 1);
      i += run;
    }
    lab.add(this.base + ACTOR_STAT.LEDGER_USED, n);
  }

  /** Forget pins about to be released (before the unpin RMW): the entries ledgerAdd made for them. */
  ledgerRemove(pages: ArrayLike<number>, n: number): void {
    if (!this.oracles) return;
    const lab = this.lab;
    for (let i = 0; i < n; ) {
      const pfn = pages[i]!;
      const run = folioRun(pages, i, n);
      const list = this.slotsOf.get(pfn);
      // [slot, run] pairs: the newest entry for this pfn with this run length.
      let at = -1;
      if (list !== undefined) for (let j = list.length - 2; j >= 0 && at < 0; j -= 2) if (list[j + 1] === run) at = j;
      if (at < 0) throw new Error(`${this.spec.name}: unpinning pfn ${pfn} (${run} subpages) it does not hold`);
      const slot = list![at]!;
      list!.splice(at, 2);
      if (list!.length === 0) this.slotsOf.delete(pfn);
      const head = compound_head(pfn);
      lab.add(lab.ghostIndex(head), GHOST_UNPIN);
      lab.store(lab.ledgerIndex(this.spec.actor, slot), 0);
      lab.store(lab.ledgerExtraIndex(this.spec.actor, slot), 0);
      this.freeSlots.push(slot);
      this.held(head, -1);
      i += run;
    }
    lab.add(this.base + ACTOR_STAT.LEDGER_USED, -n);
  }

  /**
   * Record plain (FOLL_GET) references a DMA user just took instead of pins (fault pin-as-get): no
   * ledger entry — they are not pins, and page_maybe_dma_pinned() is right not to see them — but
   * the ghost get count of each folio (O1 names >= 1024 of them as a false-positive cause) and the
   * allocation generation for the use-after-free check of dmaWrite().
   */
  refsAdd(pages: ArrayLike<number>, n: number): void {
    if (!this.oracles) return;
    const lab = this.lab;
    for (let i = 0; i < n; i++) {
      const head = compound_head(pages[i]!);
      lab.add(lab.layout.ghostGetOff + head, 1);
      this.held(head, 1);
    }
  }

  /** Forget plain references about to be put. */
  refsRemove(pages: ArrayLike<number>, n: number): void {
    if (!this.oracles) return;
    const lab = this.lab;
    for (let i = 0; i < n; i++) {
      const head = compound_head(pages[i]!);
      lab.add(lab.layout.ghostGetOff + head, -1);
      this.held(head, -1);
    }
  }

  /** Count a reference held on the folio `head`, remembering its generation at the first one. */
  private held(head: number, delta: number): void {
    const h = this.genAtPin.get(head);
    if (h === undefined) {
      if (delta > 0) this.genAtPin.set(head, [this.k.mem.load(pw(head, PG.GEN)), delta]);
    } else if ((h[1] += delta) <= 0) {
      this.genAtPin.delete(head);
    }
  }

  /**
   * The truncate epoch of the file page under `pageInRegion` now. A pin records it when taken: a
   * write through a pin that outlived a hole punch lands in the orphaned page and is legitimately
   * lost (kernel-notes 4.1), so O3 must not expect it on disk.
   */
  truncEpoch(pageInRegion: number): number {
    if (!this.oracles || this.spec.mapping !== 'file') return 0;
    const lab = this.lab;
    return lab.load(lab.layout.truncEpochOff + lab.fileIndex(this.spec.file, this.spec.offset + pageInRegion));
  }

  /**
   * A device write into `pfn` (DMA through a pin, or through an ODP device PTE) of this actor's data
   * word. O3: the frame must still be the one pinned (same allocation generation, not freed); for
   * a file region, the value is remembered as the last this actor wrote to that file page, with
   * the truncate epoch of when the page was pinned (`epoch`; default: now, for ODP device PTEs,
   * which an invalidation tears down before any punch).
   */
  dmaWrite(pfn: number, pageInRegion: number, gen: number, epoch?: number): void {
    const m = this.k.mem;
    const value = this.nextValue();
    if (this.oracles) {
      const head = compound_head(pfn);
      const g = m.load(pw(head, PG.GEN));
      const rc = m.load(pw(head, PG.REFCOUNT));
      if (g !== gen || rc === 0) {
        this.lab.violation(ORACLE.O3, this.spec.actor, pfn, VIOLATION_KIND.USE_AFTER_FREE, gen, g, rc, value);
      }
      this.checkCowLeak(pfn);
      if (epoch !== undefined) this.checkCachedFrame(pfn, pageInRegion, epoch);
    }
    m.store(page_data(pfn) + this.spec.dataWord, value);
    this.stat(ACTOR_STAT.DMA_WRITES);
    if (this.spec.mapping === 'file') this.recordFileWrite(pageInRegion, value, epoch);
    this.event(EVENT.DMA_WRITE, pfn, value);
  }

  /** This actor's next data value: its index in the top byte, a sequence number below. */
  nextValue(): number {
    return ((this.spec.actor + 1) << 24) | (++this.seq & 0xffffff);
  }

  /**
   * O3's lost-write table: `value` is the last this actor wrote into file page `pageInRegion`
   * of its region, with the truncate epoch `epoch` (default: now) of when the write began.
   */
  recordFileWrite(pageInRegion: number, value: number, epoch?: number): void {
    if (!this.oracles) return;
    const lab = this.lab;
    const fi = lab.fileIndex(this.spec.file, this.spec.offset + pageInRegion);
    lab.store(this.base + lab.layout.lastEpochOff + fi, epoch ?? lab.load(lab.layout.truncEpochOff + fi));
    lab.store(this.base + lab.layout.lastWriteOff + fi, value);
  }

  /**
   * O3 "no leak between parent and child": DMA through a pin must land in a page only this
   * actor's process maps. An anon page fork() has shared (page->mapping marked ANON_FORKED) is
   * looked for at its address in every other mm; finding it there means the pin and the parent's
   * page table went apart (fork without early COW, gup-fast racing fork: kernel-notes 4.4, 4.5).
   * Oracle reads, raw Atomics loads: no scheduling points in explore.
   */
  private checkCowLeak(pfn: number): void {
    const i32 = this.k.mem.i32;
    const mapping = Atomics.load(i32, pw(pfn, PG.MAPPING));
    if (mapping >= 0 || -mapping - 1 < ANON_FORKED) return;
    const vpn = Atomics.load(i32, pw(pfn, PG.INDEX));
    for (let id = 0; id < this.k.layout.config.nrMms; id++) {
      if (id === this.spec.mm) continue;
      const e = Atomics.load(i32, mm_of(id).pt.pte(vpn));
      if ((e & 1) !== 0 && e >>> 7 === pfn) {
        this.lab.violation(ORACLE.O3, this.spec.actor, pfn, VIOLATION_KIND.COW_LEAK, 0, id, vpn, 0);
        return;
      }
    }
  }

  /** The generation recorded when this actor pinned the folio of `pfn`. */
  pinnedGen(pfn: number): number {
    return this.genAtPin.get(compound_head(pfn))?.[0] ?? -1;
  }
}
