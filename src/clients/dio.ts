/**
 * Case 1, Direct I/O: pin a buffer with pin_user_pages_fast(FOLL_WRITE) (or pin_user_pages under
 * mmap_lock), let the device write a pattern into it (a read(2) into the buffer) or read it
 * (a write(2) from it), then unpin_user_pages_dirty_lock(pages, n, wrote). Short pins.
 */
import { FOLL_WRITE } from '../kernel/constants.js';
import { pin_user_pages, pin_user_pages_fast, unpin_user_pages_dirty_lock } from '../kernel/gup.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { page_data } from '../kernel/filemap.js';
import { ACTOR_STAT, EVENT } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type Client } from './client.js';

export class DioClient implements Client {
  private readonly pages: Int32Array;
  constructor(private readonly a: Actor) {
    this.pages = new Int32Array(a.spec.bufferPages);
  }

  step(): void {
    const a = this.a;
    const { pages: regionPages, bufferPages, writeRatio, fast } = a.spec;
    const first = a.int(0, regionPages - bufferPages);
    const write = a.chance(writeRatio);
    const flags = write ? FOLL_WRITE : 0;
    a.doing(EVENT.PIN, first);
    let n: number;
    if (fast) {
      n = pin_user_pages_fast(a.mm, a.addr(first), bufferPages, flags, this.pages);
    } else {
      mmap_read_lock(a.mm);
      try {
        n = pin_user_pages(a.mm, a.addr(first), bufferPages, flags, this.pages);
      } finally {
        mmap_read_unlock(a.mm);
      }
    }
    if (n <= 0) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      a.event(EVENT.GUP_FAIL, first, n);
      return;
    }
    a.ledgerAdd(this.pages, n);
    a.stat(ACTOR_STAT.PINS, n);
    a.event(EVENT.PIN, this.pages[0]!, n);
    for (let i = 0; i < n; i++) {
      const pfn = this.pages[i]!;
      if (write) a.dmaWrite(pfn, first + i, a.pinnedGen(pfn));
      else a.k.mem.load(page_data(pfn) + a.spec.dataWord);
    }
    if (!write) a.stat(ACTOR_STAT.DMA_READS, n);
    a.doing(EVENT.UNPIN, first);
    a.ledgerRemove(this.pages, n);
    unpin_user_pages_dirty_lock(this.pages, n, write);
    a.stat(ACTOR_STAT.UNPINS, n);
    a.event(EVENT.UNPIN, this.pages[0]!, n);
  }

  /** DIO holds nothing between steps. */
  release(): void {}
}
