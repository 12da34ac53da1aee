/**
 * Case 1, Direct I/O: pin a buffer with pin_user_pages_fast(FOLL_WRITE) (or pin_user_pages under
 * mmap_lock), let the device write a pattern into it (a read(2) into the buffer) or read it
 * (a write(2) from it), then unpin_user_pages_dirty_lock(pages, n, wrote). Short pins.
 */
import { FOLL_WRITE } from '../kernel/constants.js';
import {
  get_user_pages, get_user_pages_fast, pin_user_pages, pin_user_pages_fast, unpin_user_pages_dirty_lock,
} from '../kernel/gup.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { page_data } from '../kernel/filemap.js';
import { ACTOR_STAT, EVENT, gupFailStat } from '../oracle/lab.js';
import { type Actor, put_pages_dirty_lock } from './actor.js';
import { type Client } from './client.js';

export class DioClient implements Client {
  private readonly pages: Int32Array;
  /** Truncate epoch of each file page just before it was pinned (O3). */
  private readonly epochs: Int32Array;
  constructor(private readonly a: Actor) {
    this.pages = new Int32Array(a.spec.bufferPages);
    this.epochs = new Int32Array(a.spec.bufferPages);
  }

  step(): void {
    const a = this.a;
    const { pages: regionPages, bufferPages, writeRatio, fast } = a.spec;
    const first = a.int(0, regionPages - bufferPages);
    const write = a.chance(writeRatio);
    const flags = write ? FOLL_WRITE : 0;
    // Fault pin-as-get: the pre-FOLL_PIN driver — get_user_pages*() references, put_page() to release.
    const asGet = a.k.fault('pin-as-get');
    a.doing(EVENT.PIN, first);
    // Truncate epochs are read before the pin starts: a punch that overlaps the pin call orphans the page.
    for (let i = 0; i < bufferPages; i++) this.epochs[i] = a.truncEpoch(first + i);
    let n: number;
    if (fast) {
      n = asGet
        ? get_user_pages_fast(a.mm, a.addr(first), bufferPages, flags, this.pages)
        : pin_user_pages_fast(a.mm, a.addr(first), bufferPages, flags, this.pages);
    } else {
      mmap_read_lock(a.mm);
      try {
        n = asGet
          ? get_user_pages(a.mm, a.addr(first), bufferPages, flags, this.pages)
          : pin_user_pages(a.mm, a.addr(first), bufferPages, flags, this.pages);
      } finally {
        mmap_read_unlock(a.mm);
      }
    }
    if (n <= 0) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      a.stat(gupFailStat(n));
      a.event(EVENT.GUP_FAIL, first, n);
      return;
    }
    if (asGet) a.refsAdd(this.pages, n);
    else a.ledgerAdd(this.pages, n);
    a.checkDmaPinned(this.pages, n); // the driver believes it pinned them, whichever call it made
    a.stat(asGet ? ACTOR_STAT.GETS : ACTOR_STAT.PINS, n);
    a.event(EVENT.PIN, this.pages[0]!, n);
    for (let i = 0; i < n; i++) {
      const pfn = this.pages[i]!;
      if (write) a.dmaWrite(pfn, first + i, a.pinnedGen(pfn), this.epochs[i]!);
      else a.k.mem.load(page_data(pfn) + a.spec.dataWord);
    }
    if (!write) a.stat(ACTOR_STAT.DMA_READS, n);
    a.doing(EVENT.UNPIN, first);
    if (asGet) {
      a.refsRemove(this.pages, n);
      put_pages_dirty_lock(this.pages, n, write);
    } else {
      a.ledgerRemove(this.pages, n);
      unpin_user_pages_dirty_lock(this.pages, n, write);
    }
    a.stat(asGet ? ACTOR_STAT.PUTS : ACTOR_STAT.UNPINS, n);
    a.event(EVENT.UNPIN, this.pages[0]!, n);
  }

  /** DIO holds nothing between steps. */
  release(): void {}
}
