/**
 * Case 2, RDMA: register a memory region with a longterm pin (pin_longterm_pages_fast, FOLL_WRITE),
 * hold it for `holdOps` operations while the device writes into it at random moments, then
 * deregister (unpin_user_pages_dirty_lock(…, true)). Answers a revoke request from writeback
 * (policy `revoke`, a layout-lease analogue) by deregistering at once.
 */
import { FOLL_WRITE } from '../kernel/constants.js';
import { pin_longterm_pages, pin_longterm_pages_fast, unpin_user_pages_dirty_lock } from '../kernel/gup.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { ACTOR_STAT, EVENT } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type Client } from './client.js';

export class RdmaClient implements Client {
  private readonly pages: Int32Array;
  /** Truncate epoch of each registered file page just before it was pinned (O3). */
  private readonly epochs: Int32Array;
  private n = 0; // pages registered (0: no region)
  private first = 0;
  private opsLeft = 0;
  private revokesSeen = 0;

  constructor(private readonly a: Actor) {
    this.pages = new Int32Array(a.spec.bufferPages);
    this.epochs = new Int32Array(a.spec.bufferPages);
  }

  step(): void {
    const a = this.a;
    const req = a.lab.load(a.base + ACTOR_STAT.REVOKE_REQ);
    if (req !== this.revokesSeen) {
      this.revokesSeen = req;
      if (this.n > 0) {
        a.event(EVENT.REVOKED, this.pages[0]!, this.n);
        this.deregister();
      }
      a.lab.store(a.base + ACTOR_STAT.REVOKE_ACK, req);
      return;
    }
    if (this.n === 0) {
      this.register();
      return;
    }
    if (a.chance(a.spec.writeRatio)) {
      const i = a.int(0, this.n - 1);
      const pfn = this.pages[i]!;
      a.doing(EVENT.DMA_WRITE, pfn);
      a.dmaWrite(pfn, this.first + i, a.pinnedGen(pfn), this.epochs[i]!);
    }
    if (--this.opsLeft <= 0) this.deregister();
  }

  private register(): void {
    const a = this.a;
    const { pages: regionPages, bufferPages, fast } = a.spec;
    this.first = a.int(0, regionPages - bufferPages);
    a.doing(EVENT.REGISTER, this.first);
    // Truncate epochs are read before the pin starts: a punch that overlaps the pin call orphans the page.
    for (let i = 0; i < bufferPages; i++) this.epochs[i] = a.truncEpoch(this.first + i);
    let n: number;
    if (fast) {
      n = pin_longterm_pages_fast(a.mm, a.addr(this.first), bufferPages, FOLL_WRITE, this.pages);
    } else {
      mmap_read_lock(a.mm);
      try {
        n = pin_longterm_pages(a.mm, a.addr(this.first), bufferPages, FOLL_WRITE, this.pages);
      } finally {
        mmap_read_unlock(a.mm);
      }
    }
    if (n <= 0) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      a.event(EVENT.GUP_FAIL, this.first, n);
      return;
    }
    a.ledgerAdd(this.pages, n);
    this.n = n;
    this.opsLeft = a.spec.holdOps;
    a.stat(ACTOR_STAT.PINS, n);
    a.stat(ACTOR_STAT.REGISTRATIONS);
    a.event(EVENT.REGISTER, this.pages[0]!, n);
  }

  private deregister(): void {
    const a = this.a;
    a.doing(EVENT.DEREGISTER, this.pages[0]!);
    a.ledgerRemove(this.pages, this.n);
    unpin_user_pages_dirty_lock(this.pages, this.n, true);
    a.stat(ACTOR_STAT.UNPINS, this.n);
    a.event(EVENT.DEREGISTER, this.pages[0]!, this.n);
    this.n = 0;
  }

  release(): void {
    if (this.n > 0) this.deregister();
  }
}
