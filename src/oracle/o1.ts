/**
 * O1, no false negative (DESIGN.md §5): whenever the coordinator evaluates page_maybe_dma_pinned(p)
 * and gets false, no actor held a pin on p throughout that evaluation.
 *
 * The bracket, installed as the coordinator's KernelContext.pinCheck:
 *   w1 = ghost word of the folio head   (pins outstanding | unpins so far << 16)
 *   r  = the real page_maybe_dma_pinned()
 *   w2 = ghost word again
 * Actors add a pin to the ghost word after the pin's refcount RMW and remove it before the unpin
 * RMW. So if w1 shows a pin outstanding and no unpin happened between w1 and w2 (same unpin
 * count), that pin was held across the whole evaluation: r must be true. A false r is a false
 * negative, logged as an O1 violation naming the actor whose ledger holds the page.
 * A true r with no pin outstanding in w1 nor w2 is a false positive (allowed; counted by cause):
 * 'overflow' (the signed refcount is negative), 'plain-references' (the ghost get count of the
 * head is >= GUP_PIN_COUNTING_BIAS), else 'in-flight' (a pin or unpin between its refcount RMW and
 * its ghost update).
 *
 * The oracle reads the lab and the struct page words with plain Atomics (it is not the model: no
 * scheduling point).
 */
import { type KernelContext } from '../kernel/context.js';
import { GUP_PIN_COUNTING_BIAS } from '../kernel/constants.js';
import { type Layout, PG, STRUCT_PAGE_WORDS, folioHead } from '../mem/layout.js';
import { EVENT, type Lab, ORACLE, VIOLATION_KIND, ghostPins, ghostUnpins } from './lab.js';

export const FALSE_POSITIVE_CAUSES = ['overflow', 'plain-references', 'in-flight'] as const;
export type FalsePositiveCause = (typeof FALSE_POSITIVE_CAUSES)[number];

export interface PinCheckOracleOptions {
  /** The coordinator's lab actor: each check is recorded in its event ring (EVENT.PIN_CHECK). */
  coordActor?: number;
}

/**
 * The first actor whose ghost ledger holds a pin on the folio `head` (ledger slots hold pfn+1;
 * subpages compare by compound head), or -1.
 */
export function pinHolder(lab: Lab, layout: Layout, head: number): number {
  const holders = pinHolders(lab, layout, head, true);
  return holders.length > 0 ? holders[0]! : -1;
}

/** Every actor whose ghost ledger holds a pin on the folio `head` (once each), in actor order. */
export function pinHolders(lab: Lab, layout: Layout, head: number, firstOnly = false): number[] {
  const out: number[] = [];
  const { nrActors, ledgerSlots } = lab.layout.config;
  for (let a = 0; a < nrActors; a++) {
    for (let s = 0; s < ledgerSlots; s++) {
      const v = Atomics.load(lab.i32, lab.ledgerIndex(a, s));
      if (v !== 0 && folioHead(layout, v - 1) === head) {
        out.push(a);
        if (firstOnly) return out;
        break;
      }
    }
  }
  return out;
}

/** The installed bracket and its counters. */
export class PinCheckOracle {
  /** page_maybe_dma_pinned() evaluations bracketed. */
  checks = 0;
  /** O1 violations found (each also logged in the lab's violation log). */
  falseNegatives = 0;
  /** True answers while no pin was outstanding, by cause. */
  readonly falsePositives: Record<FalsePositiveCause, number> = { overflow: 0, 'plain-references': 0, 'in-flight': 0 };
  private readonly prev: KernelContext['pinCheck'];

  constructor(
    private readonly k: KernelContext,
    private readonly lab: Lab,
    private readonly opts: PinCheckOracleOptions = {},
  ) {
    this.prev = k.pinCheck;
    k.pinCheck = (page, evaluate) => this.check(page, evaluate);
  }

  /** The bracket itself: ghost word, evaluate, ghost word. */
  check(page: number, evaluate: () => boolean): boolean {
    const lab = this.lab;
    const layout = this.k.layout;
    const head = folioHead(layout, page);
    const gi = lab.ghostIndex(head);
    const w1 = Atomics.load(lab.i32, gi);
    const r = evaluate();
    const w2 = Atomics.load(lab.i32, gi);
    this.checks++;
    if (this.opts.coordActor !== undefined) lab.event(this.opts.coordActor, EVENT.PIN_CHECK, head, r ? 1 : 0);
    if (!r) {
      if (ghostPins(w1) > 0 && ghostUnpins(w1) === ghostUnpins(w2)) {
        this.falseNegatives++;
        lab.violation(ORACLE.O1, pinHolder(lab, layout, head), head, VIOLATION_KIND.FALSE_NEGATIVE, this.refcount(head), ghostPins(w1));
      }
    } else if (ghostPins(w1) === 0 && ghostPins(w2) === 0) {
      this.falsePositives[this.cause(head)]++;
    }
    return r;
  }

  private refcount(head: number): number {
    return Atomics.load(this.k.mem.i32, this.k.layout.pageOff + head * STRUCT_PAGE_WORDS + PG.REFCOUNT);
  }

  private cause(head: number): FalsePositiveCause {
    if (this.refcount(head) < 0) return 'overflow';
    if (Atomics.load(this.lab.i32, this.lab.layout.ghostGetOff + head) >= GUP_PIN_COUNTING_BIAS) return 'plain-references';
    return 'in-flight';
  }

  /** Restore the hook that was installed before (normally none). */
  uninstall(): void {
    this.k.pinCheck = this.prev;
  }
}

/**
 * installPinCheckOracle(): bracket every page_maybe_dma_pinned() evaluated by the thread whose
 * context is `k` (the coordinator) with the ghost ledger of `lab`. Returns the oracle; read its
 * counters { checks, falseNegatives, falsePositives } at any time, uninstall() to remove it.
 */
export function installPinCheckOracle(k: KernelContext, lab: Lab, opts: PinCheckOracleOptions = {}): PinCheckOracle {
  return new PinCheckOracle(k, lab, opts);
}
