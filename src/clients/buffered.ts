/**
 * BUFFERED: read(2) and write(2) of the file pages of its region through the page cache —
 * filemap_read() (the lockless lookup of filemap_get_read_batch: folio_try_get + slot re-check,
 * copy out holding only that reference) and generic_perform_write() (under the page lock) — on
 * file pages that DIO and RDMA clients may pin at the same time. One operation per step, a write
 * with probability writeRatio.
 *
 * Oracles: a write is O3's like a DMA write (the last value this actor wrote to each file page
 * must be on the backing store at the end: DIO against buffered writes on one file). A read must
 * never return data from a frame that was freed or migrated away while it was copied (O3
 * `stale-read`): checked with the reference still held — the frame must still be the page
 * cache's page for that index, unless a truncate of the page began meanwhile (a read racing a
 * hole punch may legitimately return the old page's data).
 */
import { filemap_read, generic_perform_write } from '../kernel/filemap.js';
import { pagecache_slot } from '../kernel/filemap.js';
import { pw } from '../kernel/page.js';
import { PG } from '../mem/layout.js';
import { ACTOR_STAT, EVENT, ORACLE, VIOLATION_KIND } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type Client } from './client.js';

export class BufferedClient implements Client {
  constructor(private readonly a: Actor) {
    if (a.spec.mapping !== 'file') throw new RangeError(`${a.spec.name}: a buffered client reads and writes file pages: expected mapping 'file', got '${a.spec.mapping}'`);
  }

  step(): void {
    const a = this.a;
    const page = a.int(0, a.spec.pages - 1);
    const index = a.spec.offset + page;
    const file = a.spec.file;
    const word = a.spec.dataWord;
    if (a.chance(a.spec.writeRatio)) {
      a.doing(EVENT.BUFFERED_WRITE, page);
      const epoch = a.truncEpoch(page); // read before the write starts, as for a pin
      const value = a.nextValue();
      const pfn = generic_perform_write(file, index, word, value);
      if (pfn < 0) {
        a.stat(ACTOR_STAT.GUP_FAILS);
        a.event(EVENT.GUP_FAIL, page, pfn);
        return;
      }
      a.recordFileWrite(page, value, epoch);
      a.stat(ACTOR_STAT.DMA_WRITES);
      a.event(EVENT.BUFFERED_WRITE, pfn, value);
      return;
    }
    a.doing(EVENT.BUFFERED_READ, page);
    const epoch = a.truncEpoch(page);
    const value = filemap_read(file, index, word, (pfn) => this.check(pfn, page, index, epoch));
    a.stat(ACTOR_STAT.DMA_READS);
    a.event(EVENT.BUFFERED_READ, page, value);
  }

  /**
   * The read's frame, reference held, after the copy: still the page cache's page at `index`
   * (page->mapping and the slot agree), or a truncate of it began. Oracle reads: raw loads.
   */
  private check(pfn: number, page: number, index: number, epoch: number): void {
    const a = this.a;
    if (!a.oracles) return;
    const i32 = a.k.mem.i32;
    const file = a.spec.file;
    const inCache = Atomics.load(i32, pagecache_slot(file, index)) === pfn + 1 && Atomics.load(i32, pw(pfn, PG.MAPPING)) === file + 1;
    if (inCache || a.truncEpoch(page) !== epoch) return;
    const gen = Atomics.load(i32, pw(pfn, PG.GEN));
    a.lab.violation(ORACLE.O3, a.spec.actor, pfn, VIOLATION_KIND.STALE_READ, file, index, gen, Atomics.load(i32, pagecache_slot(file, index)) - 1);
  }

  /** A buffered client holds nothing between steps. */
  release(): void {}
}
