/**
 * Case 4, struct page manipulation only: get_user_pages_fast without FOLL_PIN, look at the pages'
 * struct page (flags, mapping), put_page. Never touches the data. Its references are plain ones:
 * the ghost get count lets the O1 oracle name ">= 1024 plain references" as a false-positive cause.
 */
import { PG } from '../mem/layout.js';
import { get_user_pages_fast } from '../kernel/gup.js';
import { compound_head, put_page, pw } from '../kernel/page.js';
import { ACTOR_STAT, EVENT } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type Client } from './client.js';

export class GetClient implements Client {
  private readonly pages: Int32Array;
  constructor(private readonly a: Actor) {
    this.pages = new Int32Array(a.spec.bufferPages);
  }

  step(): void {
    const a = this.a;
    const first = a.int(0, a.spec.pages - a.spec.bufferPages);
    a.doing(EVENT.GET, first);
    const n = get_user_pages_fast(a.mm, a.addr(first), a.spec.bufferPages, 0, this.pages);
    if (n <= 0) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      a.event(EVENT.GUP_FAIL, first, n);
      return;
    }
    const lab = a.lab;
    for (let i = 0; i < n; i++) {
      const pfn = this.pages[i]!;
      if (a.oracles) lab.add(lab.layout.ghostGetOff + compound_head(pfn), 1);
      a.k.mem.load(pw(pfn, PG.FLAGS));
    }
    a.stat(ACTOR_STAT.GETS, n);
    a.event(EVENT.GET, this.pages[0]!, n);
    a.doing(EVENT.PUT, first);
    for (let i = 0; i < n; i++) {
      const pfn = this.pages[i]!;
      if (a.oracles) lab.add(lab.layout.ghostGetOff + compound_head(pfn), -1);
      put_page(pfn);
    }
    a.stat(ACTOR_STAT.PUTS, n);
    a.event(EVENT.PUT, this.pages[0]!, n);
  }

  release(): void {}
}
