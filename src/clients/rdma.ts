/**
 * Case 2, RDMA: register a memory region with a longterm pin (pin_longterm_pages_fast, FOLL_WRITE),
 * hold it for `holdOps` operations while the device writes into it at random moments, then
 * deregister (unpin_user_pages_dirty_lock(…, true)). Answers a revoke request from writeback
 * (policy `revoke`, a layout-lease analogue) by deregistering at once.
 */
import { FOLL_WRITE } from '../kernel/constants.js';
import {
  get_user_pages, get_user_pages_fast, pin_longterm_pages, pin_longterm_pages_fast, unpin_user_pages_dirty_lock,
} from '../kernel/gup.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { page_zonenum } from '../kernel/page.js';
import { ZONE } from '../mem/layout.js';
import { ACTOR_STAT, EVENT, ORACLE, VIOLATION_KIND, gupFailStat } from '../oracle/lab.js';
import { type Actor, put_pages_dirty_lock } from './actor.js';
import { type Client } from './client.js';

export class RdmaClient implements Client {
  private readonly pages: Int32Array;
  /** Truncate epoch of each registered file page just before it was pinned (O3). */
  private readonly epochs: Int32Array;
  private n = 0; // pages registered (0: no region)
  private first = 0;
  private opsLeft = 0;
  private revokesSeen = 0;
  private prefaulted = false;

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

  /** The application's first write to its buffer (spec.prefault): write faults, no references kept. */
  private prefault(): void {
    const a = this.a;
    this.prefaulted = true;
    mmap_read_lock(a.mm);
    try {
      get_user_pages(a.mm, a.addr(0), a.spec.pages, FOLL_WRITE, null);
    } finally {
      mmap_read_unlock(a.mm);
    }
  }

  private register(): void {
    const a = this.a;
    const { pages: regionPages, bufferPages, fast } = a.spec;
    if (a.spec.prefault && !this.prefaulted) this.prefault();
    this.first = a.int(0, regionPages - bufferPages);
    a.doing(EVENT.REGISTER, this.first);
    // Truncate epochs are read before the pin starts: a punch that overlaps the pin call orphans the page.
    for (let i = 0; i < bufferPages; i++) this.epochs[i] = a.truncEpoch(this.first + i);
    // Fault pin-as-get: the pre-FOLL_PIN driver — plain get_user_pages*() references, no FOLL_LONGTERM.
    const asGet = a.k.fault('pin-as-get');
    let n: number;
    if (fast) {
      n = asGet
        ? get_user_pages_fast(a.mm, a.addr(this.first), bufferPages, FOLL_WRITE, this.pages)
        : pin_longterm_pages_fast(a.mm, a.addr(this.first), bufferPages, FOLL_WRITE, this.pages);
    } else {
      mmap_read_lock(a.mm);
      try {
        n = asGet
          ? get_user_pages(a.mm, a.addr(this.first), bufferPages, FOLL_WRITE, this.pages)
          : pin_longterm_pages(a.mm, a.addr(this.first), bufferPages, FOLL_WRITE, this.pages);
      } finally {
        mmap_read_unlock(a.mm);
      }
    }
    if (n <= 0) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      a.stat(gupFailStat(n));
      a.event(EVENT.GUP_FAIL, this.first, n);
      return;
    }
    if (asGet) {
      a.refsAdd(this.pages, n);
    } else {
      a.ledgerAdd(this.pages, n);
      this.checkLongterm(n);
    }
    a.checkDmaPinned(this.pages, n);
    this.n = n;
    this.opsLeft = a.spec.holdOps;
    a.stat(asGet ? ACTOR_STAT.GETS : ACTOR_STAT.PINS, n);
    a.stat(ACTOR_STAT.REGISTRATIONS);
    a.event(EVENT.REGISTER, this.pages[0]!, n);
  }

  private deregister(): void {
    const a = this.a;
    a.doing(EVENT.DEREGISTER, this.pages[0]!);
    if (a.k.fault('pin-as-get')) {
      a.refsRemove(this.pages, this.n);
      put_pages_dirty_lock(this.pages, this.n, true);
    } else {
      a.ledgerRemove(this.pages, this.n);
      unpin_user_pages_dirty_lock(this.pages, this.n, true);
    }
    a.stat(a.k.fault('pin-as-get') ? ACTOR_STAT.PUTS : ACTOR_STAT.UNPINS, this.n);
    a.event(EVENT.DEREGISTER, this.pages[0]!, this.n);
    this.n = 0;
  }

  /**
   * O6, the API contract of FOLL_LONGTERM (gup_test's PIN_LONGTERM_BENCHMARK asserts
   * folio_is_longterm_pinnable() for every page it pinned): no page a longterm pin returned may sit
   * in ZONE_MOVABLE / CMA — it must have been migrated out first. Reports the first such page.
   */
  private checkLongterm(n: number): void {
    const a = this.a;
    if (!a.oracles) return;
    let movable = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (page_zonenum(this.pages[i]!) === ZONE.MOVABLE) {
        if (movable++ === 0) first = this.pages[i]!;
      }
    }
    if (movable > 0) a.lab.violation(ORACLE.O6, a.spec.actor, first, VIOLATION_KIND.LONGTERM_MOVABLE, movable, n);
  }

  release(): void {
    if (this.n > 0) this.deregister();
  }
}
