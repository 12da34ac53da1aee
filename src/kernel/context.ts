import { type Mem } from '../mem/mem.js';
import { current } from './current.js';
import { ERA_SPECS, type EraSpec } from './era/index.js';
import {
  type Era, type Layout, MAX_BUG_SITES, MAX_WARN_SITES, VMSTAT_ITEMS, VMSTAT_STRIDE, type VmstatItem,
} from '../mem/layout.js';

/**
 * What gup-fast and page_mkclean() tell the store-buffering contract oracle (kernel-notes §3.1):
 * the GUP half "read the PTE, grab, re-check the PTE" and the mm half "change the PTE, then ask
 * page_maybe_dma_pinned()". Stamps come from one shared clock, taken right after the access they
 * time, with no scheduling point in between.
 */
export interface SbContractHook {
  /** The next stamp of the shared clock (strictly increasing across threads). */
  stamp(): number;
  /**
   * gup-fast kept a FOLL_PIN reference on `pfn` through PTE word `pte`, which read `value`: the
   * grab completed by `grabbedAt`, and the last PTE read that validated it was at `validatedAt`
   * (the re-check, or the first read when there is none).
   */
  gupKept(pfn: number, pte: number, value: number, grabbedAt: number, validatedAt: number): void;
  /**
   * An mm operation changed PTE word `pte` of `pfn` away from `old`, the change visible by
   * `visibleAt`, then read page_maybe_dma_pinned(pfn) false at `notPinnedAt`.
   */
  mmNotPinned(pfn: number, pte: number, old: number, notPinnedAt: number, visibleAt: number): void;
}

/** Every WARN_ON_ONCE call site in the model, by name. The index is its counter slot. */
export const WARN_SITES = [
  'get_user_pages:FOLL_PIN',
  'get_user_pages_fast:FOLL_PIN',
  'get_user_pages_remote:FOLL_PIN',
  'pin_user_pages:FOLL_GET',
  'pin_user_pages_fast:FOLL_GET',
  'pin_user_pages_remote:FOLL_GET',
  'pin_longterm_pages:FOLL_GET',
  'pin_longterm_pages_fast:FOLL_GET',
  'pin_longterm_pages_remote:FOLL_GET',
  'internal_get_user_pages_fast:flags',
  'follow_page_pte:FOLL_PIN|FOLL_GET',
  'try_get_compound_head:refcount<0',
  'try_get_page:refcount<=0',
  'put_compound_head:pincount<0',
  'unpin_user_pages:IS_ERR_VALUE',
  'page_ref_unfreeze:nonzero',
  'mmap_assert_locked',
  // v6.3/mm/gup.c:2103 is_valid_gup_args(), one site per check.
  'is_valid_gup_args:internal flag',
  'is_valid_gup_args:FOLL_GET|FOLL_PIN',
  'is_valid_gup_args:FOLL_LONGTERM without FOLL_PIN',
  'is_valid_gup_args:no pages',
  // cc5095747edf: ext4_writepage() WARNs and clears the dirty bit of a page dirtied without buffers.
  'ext4_writepage:!page_has_buffers',
  // Model-only: a bounded wait for PG_writeback to clear gave up (the kernel would sleep on).
  'wait_for_stable_page:timeout',
  'truncate_inode_pages_range:writeback timeout',
  // Model-only, the KASAN report of fault stats-after-put (4509b42c3896): a struct page read after
  // the final put had freed (or the allocator had reused) it.
  'kasan: use-after-free',
] as const;
export type WarnSite = (typeof WARN_SITES)[number];

/** Every BUG / VM_BUG_ON call site: the kernel would oops; the model records and throws. */
export const BUG_SITES = [
  'put_page:underflow',
  'get_page:refcount<=0',
  '__get_user_pages:FOLL_PIN without pages',
  'free_pages:refcount',
  'free_pages:nonzero pincount',
  'free_pages:double free',
  'gup_put:pincount underflow',
  'mmap_lock:unbalanced unlock',
] as const;
export type BugSite = (typeof BUG_SITES)[number];

if (WARN_SITES.length > MAX_WARN_SITES || BUG_SITES.length > MAX_BUG_SITES) {
  throw new Error('context: more WARN/BUG sites than the layout reserves');
}

/** A BUG() in the model: the state it found is recorded in the SAB counters before the throw. */
export class KernelBug extends Error {
  constructor(
    readonly site: BugSite,
    readonly detail: string,
  ) {
    super(`kernel BUG at ${site}: ${detail}`);
    this.name = 'KernelBug';
  }
}

/**
 * An mmu notifier subscription as the invalidating thread sees it: invalidate_range_start runs
 * before the PTEs of [start, end) (virtual page numbers) change, invalidate_range_end after.
 */
export interface MmuNotifier {
  invalidate_range_start(mm: number, start: number, end: number, event: string): void;
  invalidate_range_end(mm: number, start: number, end: number): void;
}

/**
 * What one thread of the model needs: the shared memory, the pin-accounting era, the cpu id
 * whose per-cpu vmstat slots it updates, the enabled faults, and the locks it holds (for
 * lockdep-style assertions). One per thread; the SAB is the only shared state.
 */
/** What KernelContext.lockdep is told (lockdep's acquire/release, by lock word). */
export interface LockTracker {
  acquired(word: number): void;
  released(word: number): void;
}

export class KernelContext {
  readonly layout: Layout;
  /** mm ids whose mmap_lock this thread holds for read (count) — lockdep's view. */
  readonly readLocks = new Map<number, number>();
  readonly writeLocks = new Set<number>();
  /**
   * Lock tracking for liveness reports (null: off): told of every lock this thread takes and drops
   * (mmap_lock, page-table and VMA spinlocks, page locks) by the lock's machine word index, so a
   * watchdog outside the thread can name what a stalled thread holds.
   */
  lockdep: LockTracker | null = null;
  /** Notifiers called by mm operations this thread performs (ODP registers here, DESIGN.md §4). */
  readonly mmu_notifiers: MmuNotifier[] = [];
  private readonly vmstatBase: number;
  /** This cpu's pending vmstat deltas (vm_node_stat_diff): thread-local, folded past the threshold. */
  private readonly vmstatDiff = new Int32Array(VMSTAT_ITEMS.length);
  /** stat_threshold: fold a pending delta into the SAB once it exceeds this (0 = every update). */
  vmstatThreshold = 32;
  /**
   * O1 hook (src/oracle/o1.ts): when set, page_maybe_dma_pinned(page) returns
   * pinCheck(page, evaluate), where evaluate() computes the real answer — the oracle brackets the
   * evaluation with ghost-ledger reads. Null (the default) costs one field load and a branch.
   */
  pinCheck: ((page: number, evaluate: () => boolean) => boolean) | null = null;
  /**
   * The store-buffering contract oracle (src/oracle/sb-contract.ts, scenario.contractOracles):
   * gup-fast and page_mkclean() report both halves of their store-buffering pair here. Its calls
   * touch only the lab (no scheduling point). Null (the default) costs one field load and a branch.
   */
  sbContract: SbContractHook | null = null;
  /**
   * >= v6.5 (8ac268436e6d / a6e79df92e4a): refuse FOLL_LONGTERM | FOLL_WRITE on file mappings —
   * -EFAULT from check_vma_flags(), and gup-fast leaves such file pages to the slow path. The
   * era's value (EraSpec.refuseLongtermFile); a test may turn it on in an older era.
   */
  refuseLongtermFile: boolean;
  /** What this era's kernel is (src/kernel/era/): read by the engine instead of the era's name. */
  readonly spec: EraSpec;
  /** Faults of the catalogue on in this thread: the run's, and the era's native bugs. */
  readonly faults: ReadonlySet<string>;
  /**
   * Bound on the model's sleeps for PG_writeback to clear (wait_for_stable_page on a write fault,
   * truncate waiting out writeback), ms. The kernel sleeps unbounded; a timeout WARNs.
   */
  stablePageWaitMs = 1000;

  constructor(
    readonly mem: Mem,
    readonly era: Era,
    readonly cpu: number,
    faults: ReadonlySet<string> = new Set(),
    /** Turn the era's native bugs on (the default: the era is its tree, bugs included). */
    nativeBugs = true,
  ) {
    this.layout = mem.layout;
    this.spec = ERA_SPECS[era];
    this.refuseLongtermFile = this.spec.refuseLongtermFile;
    this.faults = new Set(nativeBugs ? [...faults, ...this.spec.native] : faults);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.layout.config.nrCpus) {
      throw new RangeError(`KernelContext: cpu ${cpu} outside [0, ${this.layout.config.nrCpus})`);
    }
    this.noFaults = this.faults.size === 0;
    this.fastSmallPath = !this.faults.has('plain-refcount') && !this.faults.has('gup-fast-no-recheck');
    this.unpinSmallPath = !this.faults.has('plain-refcount');
    this.vmstatBase = this.layout.vmstatOff + cpu * Math.ceil(VMSTAT_ITEMS.length / VMSTAT_STRIDE) * VMSTAT_STRIDE;
  }

  /** No fault is enabled: hot paths test this one field before looking a fault up. */
  readonly noFaults: boolean;
  /**
   * gup-fast may take its specialised small-page loop: no fault that changes the grab or the
   * re-check (plain-refcount, gup-fast-no-recheck) is on. Native era bugs on other paths keep it.
   */
  readonly fastSmallPath: boolean;
  /** unpin_user_pages() may take its specialised small-page loop (no plain-refcount). */
  readonly unpinSmallPath: boolean;
  /**
   * The model's KASAN (fault stats-after-put's detector: a struct page read after the final put
   * must not find the frame freed or reused). Costs three loads per unpin; the GUP benchmark
   * turns it off to time the kernel's own accesses.
   */
  kasan = true;

  /** A fault of the fault catalogue is enabled in this run. */
  fault(name: string): boolean {
    // `=== false`, not `!`: V8 does not track boolean field types, and a truthiness test of the
    // field compiles to the generic ToBoolean sequence on every hot path that inlines this.
    return this.noFaults === false && this.faults.has(name);
  }

  /** WARN_ON_ONCE(cond): counts every hit per call site, never throws. Returns cond. */
  WARN_ON_ONCE(cond: boolean, site: WarnSite): boolean {
    if (cond) this.mem.add(this.layout.warnOff + WARN_SITES.indexOf(site), 1);
    return cond;
  }

  /** BUG(): records the site in the SAB and throws KernelBug. */
  BUG(site: BugSite, detail: string): never {
    this.mem.add(this.layout.bugOff + BUG_SITES.indexOf(site), 1);
    throw new KernelBug(site, detail);
  }

  /**
   * __mod_node_page_state(): accumulate in this cpu's diff and fold it into the cpu's SAB slot when
   * it passes the threshold, as the kernel's per-cpu vmstat does — /proc/vmstat is approximate by
   * at most threshold × cpus until vmstat_flush().
   */
  vmstatAdd(item: number, delta: number): void {
    const d = this.vmstatDiff;
    const x = d[item]! + delta;
    if (x > this.vmstatThreshold || x < -this.vmstatThreshold) {
      this.mem.add(this.vmstatBase + item, x);
      d[item] = 0;
    } else {
      d[item] = x;
    }
  }

  /** refresh_cpu_vm_stats(): fold every pending delta into the SAB. Actors call it before reporting. */
  vmstat_flush(): void {
    const d = this.vmstatDiff;
    for (let i = 0; i < d.length; i++) {
      if (d[i] !== 0) {
        this.mem.add(this.vmstatBase + i, d[i]!);
        d[i] = 0;
      }
    }
  }
}

export const VMSTAT: Readonly<Record<VmstatItem, number>> = Object.fromEntries(
  VMSTAT_ITEMS.map((name, i) => [name, i]),
) as Record<VmstatItem, number>;

/**
 * Sum of every cpu's slot: what /proc/vmstat would show. This thread's own pending deltas are
 * folded first (when `current` runs on this machine), so a single-threaded caller reads exact values.
 */
export function readVmstat(mem: Mem): Record<VmstatItem, number> {
  if (current !== undefined && current.mem === mem) current.vmstat_flush();
  const l = mem.layout;
  const perCpu = Math.ceil(VMSTAT_ITEMS.length / VMSTAT_STRIDE) * VMSTAT_STRIDE;
  const out = {} as Record<VmstatItem, number>;
  // Plain loops, not forEach callbacks: the in-thread engine's transform steps through them.
  for (let item = 0; item < VMSTAT_ITEMS.length; item++) {
    let sum = 0;
    for (let cpu = 0; cpu < l.config.nrCpus; cpu++) sum += mem.load(l.vmstatOff + cpu * perCpu + item);
    out[VMSTAT_ITEMS[item]!] = sum;
  }
  return out;
}

/** WARN and BUG counts by site (sites never hit are left out). */
export function readWarnings(mem: Mem): { warn: Partial<Record<WarnSite, number>>; bug: Partial<Record<BugSite, number>> } {
  const l = mem.layout;
  const warn: Partial<Record<WarnSite, number>> = {};
  const bug: Partial<Record<BugSite, number>> = {};
  for (let i = 0; i < WARN_SITES.length; i++) {
    const n = mem.load(l.warnOff + i);
    if (n !== 0) warn[WARN_SITES[i]!] = n;
  }
  for (let i = 0; i < BUG_SITES.length; i++) {
    const n = mem.load(l.bugOff + i);
    if (n !== 0) bug[BUG_SITES[i]!] = n;
  }
  return { warn, bug };
}
