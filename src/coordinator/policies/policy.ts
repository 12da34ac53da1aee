/**
 * One writeback policy: what writeback does with a page that may be pinned, what reclaim does
 * with one, and whether a pinned page changing under writeback breaks the policy's own promise.
 * One module per policy (this folder); MmOps (../mmops.ts) runs the writeback and reclaim steps
 * and asks the policy at the points where policies differ.
 */
import { type EraSpec } from '../../kernel/era/index.js';
import { type Lab } from '../../oracle/lab.js';
import { type EntryKind, type Policy } from '../../scenario/schema.js';

/** What MmOps lends a policy that waits for pins to go away (wait, revoke). */
export interface PolicyHost {
  readonly lab: Lab;
  /** Kind of each lab actor, by actor index. */
  readonly actorKinds: readonly EntryKind[];
  /** Custom clients with a revoke handler, by actor (policy revoke asks them as it asks RDMA). */
  readonly revocable: readonly boolean[];
  readonly coordActor: number;
  /** How long a policy may wait for a pinned page, ms (mm.waitTimeoutMs). */
  readonly waitTimeoutMs: number;
  now(): number;
  /** Sleep between polls, ms. */
  sleep(ms: number): void;
  /** Complete the writeback I/O that is due (a waiter must never block our own I/O). */
  completeDue(now: number): number;
  /** Count an event in the run's mm stats ('wait:ok', ...). */
  bump(key: string): void;
}

/**
 * What writeback does with a page page_mkclean() found maybe-pinned:
 *  - 'write'   submit it as any other page (its data may change under the I/O)
 *  - 'bounce'  submit it, but write the snapshot taken at I/O start, and leave it dirty
 *  - 'skip'    give the dirty bit back and move on
 *  - 'release' give the dirty bit back, unlock, have the pins dropped (WritebackPolicy.release),
 *              then lock, page_mkclean and ask again, once
 */
export type PinnedAction = 'write' | 'bounce' | 'skip' | 'release';

export interface WritebackPolicy {
  readonly name: Policy;
  /** One line: what writeback does with a pinned page. */
  readonly summary: string;
  /** Where it comes from in kernel history: which kernel did it, or that no kernel does. */
  readonly history: string;
  /** What reclaim (shrink_folio_list) does with a pinned clean page-cache page under this policy. */
  readonly reclaim: string;
  /**
   * page_mkclean() asks page_maybe_dma_pinned() after each PTE it write-protects (the policy acts
   * on the answer). false: mainline's folio_mkclean(), which asks nothing (v6.18/mm/rmap.c:1006
   * page_vma_mkclean_one has no pin check).
   */
  readonly asksPins: boolean;
  /** What cleaning writeback (WB_SYNC_NONE) does with a page found pinned (asksPins only). */
  readonly onPinned: PinnedAction;
  /** What data-integrity writeback (WB_SYNC_ALL, an fsync: region writeback) does with it; default onPinned. */
  readonly onPinnedIntegrity?: PinnedAction;
  /** The writeback outcome of a pinned page left dirty by 'skip' (default 'skipped-pinned'). */
  readonly skipOutcome?: string;
  /**
   * Every I/O writes the snapshot of its start, and a page changed meanwhile is redirtied (bounce);
   * 'stable-writes': only when the backing device needs stable pages (dio-bounce).
   */
  readonly snapshotIo: boolean | 'stable-writes';
  /**
   * The policy promises that no pinned page is under writeback without a stable copy: a page
   * changing under writeback then means a pin was missed, an O3 violation on any device. A policy
   * without this promise (mainline, ignore) breaks nothing the kernel promises unless the device
   * needs stable pages (machine.stableWrites).
   */
  readonly stablePinned: boolean;
  /** shrink_folio_list() keeps a maybe-pinned folio after the unmap (d824ec2a1546) in this era. */
  reclaimKeepsPinned(spec: EraSpec): boolean;
  /** The fault-free model must run clean under this policy on `spec`, with this backing device. */
  safeOn(spec: EraSpec, stableWrites: boolean): boolean;
  /**
   * For onPinned 'release': have the pins of `page` (unlocked, dirty) dropped; true when it then
   * reads unpinned. Counts its own outcomes through host.bump.
   */
  release?(page: number, host: PolicyHost): boolean;
  /** The writeback outcome when release() fails or the page is pinned again at the retry. */
  readonly releaseFailed?: string;
}

/** The bounded poll the waiting policies share: `done()` until true or waitTimeoutMs pass. */
export function pollUntil(host: PolicyHost, done: () => boolean, step: number): boolean {
  const deadline = host.now() + host.waitTimeoutMs;
  for (;;) {
    host.completeDue(host.now());
    if (done()) return true;
    if (host.now() >= deadline) return false;
    host.sleep(step);
  }
}

/** How often the waiting policies poll, ms. */
export const WAIT_POLL_MS = 0.2;

/**
 * What the waiting policies (wait, revoke) share: they ask for pins, have them released and write
 * the page once, promise a stable page, and reclaim keeps a pinned page in every era (as if
 * d824ec2a1546 were in every tree: the policy exists to keep pinned pages intact).
 */
export const RELEASE_THEN_WRITE = {
  reclaim: 'keeps a pinned page in every era (d824ec2a1546 assumed)',
  asksPins: true,
  onPinned: 'release',
  snapshotIo: false,
  stablePinned: true,
  reclaimKeepsPinned: (): boolean => true,
  safeOn: (): boolean => true,
} as const satisfies Partial<WritebackPolicy>;
