/**
 * FORK: a process that pins or is pinned forks, and parent and child write and read their copies —
 * the anonymous cases of the kernel's COW selftest (tools/testing/selftests/mm/cow.c), one cycle
 * at a time, one phase per step so other actors and the mm interleave with every phase:
 *
 *   cow              write A; fork; the child writes B; the parent must still read A, and after
 *                    the parent writes C the child must still read B (test_cow_in_parent)
 *   rw-pin           write A; longterm R/W pin; fork; the parent writes B; the device writes V
 *                    through the pin: the parent must read V, the child A (kernel-notes 4.4,
 *                    cow.c's io_uring fork case)
 *   vmsplice-child   write A; fork; the child takes a R/O FOLL_GET reference (vmsplice) and
 *                    unmaps; the parent writes B: the reference must still read A (4.3,
 *                    CVE-2020-29374, test_vmsplice_in_child)
 *   vmsplice-parent  write A; R/O FOLL_GET reference; fork; the parent unmaps; the child writes B:
 *                    the reference must still read A (test_vmsplice_before_fork)
 *   ro-pin-shared    write A; fork; longterm R/O pin in the parent; the parent writes B: the pin
 *                    must read B and be the page the parent maps (test_ro_pin_on_shared)
 *
 * A failed check is an O3 violation: `cow-leak` (no leak between parent and child) or
 * `pin-incoherent` (a longterm R/O pin stays coherent with the page table). The child is an mm of
 * its own (scenario param `child`, default the next mm id), empty before each fork and torn down
 * (exit_mmap) at the end of each cycle. The region must be anonymous (mapping 'anon').
 * Params: `cases` (comma-separated names, default all), `child` (mm id).
 */
import { FOLL_WRITE } from '../kernel/constants.js';
import { dup_mmap, exit_mmap } from '../kernel/fork.js';
import { get_user_pages_fast, pin_longterm_pages_fast, unpin_user_pages_dirty_lock } from '../kernel/gup.js';
import { type MmStruct, PAGE_SIZE, do_mmap, mm_of } from '../kernel/mm.js';
import { do_munmap } from '../kernel/mmap.js';
import { put_page } from '../kernel/page.js';
import { page_data } from '../kernel/filemap.js';
import { get_user, put_user } from '../kernel/uaccess.js';
import { ACTOR_STAT, EVENT, ORACLE, VIOLATION_KIND } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type Client } from './client.js';

/** The cow.c cases a FORK client runs (its `cases` param). */
export const FORK_CASES = ['cow', 'rw-pin', 'vmsplice-child', 'vmsplice-parent', 'ro-pin-shared'] as const;
export type ForkCase = (typeof FORK_CASES)[number];

type Phase = 'prepare' | 'fork' | 'act' | 'check';

export class ForkClient implements Client {
  private readonly child: MmStruct;
  private readonly cases: ForkCase[];
  private phase: Phase = 'prepare';
  private kase: ForkCase = 'cow';
  private page = 0;
  private a0 = 0; // the value written before fork
  private b = 0; // the value written after fork
  private forked = false;
  private unmapped = false;
  /** A pin (rw-pin, ro-pin-shared) or FOLL_GET reference (vmsplice-*) this cycle holds: pfn, or -1. */
  private readonly held = new Int32Array(1);
  private holds: 'pin' | 'ref' | null = null;
  private readonly out = new Int32Array(2);

  constructor(private readonly a: Actor) {
    const p = a.spec.params ?? {};
    const nrMms = a.k.layout.config.nrMms;
    const child = p['child'] !== undefined ? Number(p['child']) : (a.spec.mm + 1) % nrMms;
    if (!Number.isInteger(child) || child < 0 || child >= nrMms || child === a.spec.mm) {
      throw new RangeError(`${a.spec.name}: params.child must be an mm id other than ${a.spec.mm} below ${nrMms}, got ${String(p['child'])}`);
    }
    if (a.spec.mapping !== 'anon') throw new RangeError(`${a.spec.name}: a fork client needs mapping 'anon', got '${a.spec.mapping}'`);
    this.child = mm_of(child);
    const names = typeof p['cases'] === 'string' ? p['cases'].split(',').map((x) => x.trim()) : [...FORK_CASES];
    for (const n of names) {
      if (!(FORK_CASES as readonly string[]).includes(n)) throw new RangeError(`${a.spec.name}: params.cases: unknown case '${n}' (one of ${FORK_CASES.join(', ')})`);
    }
    this.cases = names as ForkCase[];
  }

  private value(): number {
    return ((this.a.spec.actor + 1) << 24) | (this.a.int(1, 0xfffff) << 3) | FORK_CASES.indexOf(this.kase);
  }

  private write(mm: MmStruct, v: number): void {
    const r = put_user(mm, this.a.addr(this.page), this.a.spec.dataWord, v, this.out);
    this.a.event(EVENT.USER_WRITE, r === 0 ? this.out[0]! : -1, v);
  }

  private read(mm: MmStruct): number {
    const v = get_user(mm, this.a.addr(this.page), this.a.spec.dataWord, this.out);
    this.a.event(EVENT.USER_READ, this.out[0]!, v);
    return v;
  }

  private leak(mm: MmStruct, seen: number, want: number): void {
    this.a.lab.violation(ORACLE.O3, this.a.spec.actor, this.out[0]!, VIOLATION_KIND.COW_LEAK, FORK_CASES.indexOf(this.kase) + 1, mm.id, seen, want);
  }

  step(): void {
    switch (this.phase) {
      case 'prepare':
        this.prepare();
        return;
      case 'fork':
        this.fork();
        return;
      case 'act':
        this.act();
        return;
      case 'check':
        this.check();
        this.finish();
    }
  }

  private prepare(): void {
    const a = this.a;
    this.kase = this.cases[a.int(0, this.cases.length - 1)]!;
    this.page = a.int(0, a.spec.pages - 1);
    this.a0 = this.value();
    a.doing(EVENT.USER_WRITE, this.page);
    this.write(a.mm, this.a0);
    if (this.kase === 'rw-pin' && !this.take(true, FOLL_WRITE)) return;
    if (this.kase === 'vmsplice-parent' && !this.take(false, 0)) return;
    this.phase = 'fork';
  }

  /** Take the cycle's pin (longterm) or reference in the parent; false (cycle over) if GUP failed. */
  private take(pin: boolean, flags: number): boolean {
    const a = this.a;
    const addr = a.addr(this.page);
    const n = pin ? pin_longterm_pages_fast(a.mm, addr, 1, flags, this.held) : get_user_pages_fast(a.mm, addr, 1, flags, this.held);
    if (n !== 1) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      a.event(EVENT.GUP_FAIL, this.page, n);
      this.finish();
      return false;
    }
    if (pin) a.ledgerAdd(this.held, 1);
    else a.refsAdd(this.held, 1);
    this.holds = pin ? 'pin' : 'ref';
    a.stat(pin ? ACTOR_STAT.PINS : ACTOR_STAT.GETS);
    a.event(pin ? EVENT.PIN : EVENT.GET, this.held[0]!, flags);
    return true;
  }

  private fork(): void {
    const a = this.a;
    a.doing(EVENT.FORK, this.page);
    const r = dup_mmap(a.mm, this.child);
    a.event(EVENT.FORK, this.page, r === 0 ? this.child.id : r);
    if (r !== 0) {
      a.stat(ACTOR_STAT.GUP_FAILS);
      this.finish();
      return;
    }
    this.forked = true;
    this.phase = 'act';
  }

  private act(): void {
    const a = this.a;
    this.b = this.value();
    a.doing(EVENT.USER_WRITE, this.page);
    switch (this.kase) {
      case 'cow':
        this.write(this.child, this.b);
        break;
      case 'rw-pin':
        this.write(a.mm, this.b);
        a.dmaWrite(this.held[0]!, this.page, a.pinnedGen(this.held[0]!));
        this.b = a.k.mem.load(page_data(this.held[0]!) + a.spec.dataWord); // what the device wrote
        break;
      case 'vmsplice-child': {
        const n = get_user_pages_fast(this.child, a.addr(this.page), 1, 0, this.held);
        if (n === 1) {
          a.refsAdd(this.held, 1);
          this.holds = 'ref';
          a.stat(ACTOR_STAT.GETS);
          do_munmap(this.child, a.addr(this.page), PAGE_SIZE);
        }
        this.write(a.mm, this.b);
        break;
      }
      case 'vmsplice-parent':
        do_munmap(a.mm, a.addr(this.page), PAGE_SIZE);
        this.unmapped = true;
        this.write(this.child, this.b);
        break;
      case 'ro-pin-shared':
        if (this.take(true, 0)) this.write(a.mm, this.b);
        else return;
        break;
    }
    this.phase = 'check';
  }

  private check(): void {
    const a = this.a;
    const m = a.k.mem;
    const word = a.spec.dataWord;
    a.doing(EVENT.USER_READ, this.page);
    switch (this.kase) {
      case 'cow': {
        const p = this.read(a.mm);
        if (p !== this.a0) this.leak(a.mm, p, this.a0);
        const c = this.value();
        this.write(a.mm, c);
        const ch = this.read(this.child);
        if (ch !== this.b) this.leak(this.child, ch, this.b);
        break;
      }
      case 'rw-pin': {
        const p = this.read(a.mm); // the DMA landed in the parent's page
        if (p !== this.b) this.leak(a.mm, p, this.b);
        const ch = this.read(this.child);
        if (ch !== this.a0) this.leak(this.child, ch, this.a0);
        break;
      }
      case 'vmsplice-child':
      case 'vmsplice-parent': {
        if (this.holds !== 'ref') break;
        const seen = m.load(page_data(this.held[0]!) + word); // "read the pipe"
        this.out[0] = this.held[0]!;
        if (seen !== this.a0) this.leak(this.kase === 'vmsplice-child' ? this.child : a.mm, seen, this.a0);
        break;
      }
      case 'ro-pin-shared': {
        const pfn = this.held[0]!;
        const seen = m.load(page_data(pfn) + word);
        const mapped = this.read(a.mm);
        const mappedPfn = this.out[0]!;
        if (seen !== this.b || mappedPfn !== pfn) {
          a.lab.violation(ORACLE.O3, a.spec.actor, pfn, VIOLATION_KIND.PIN_INCOHERENT, seen, mappedPfn, mapped, this.b);
        }
        break;
      }
    }
  }

  /** End the cycle: drop what it holds, tear the child down, map back what the parent unmapped. */
  private finish(): void {
    const a = this.a;
    if (this.holds === 'pin') {
      a.ledgerRemove(this.held, 1);
      unpin_user_pages_dirty_lock(this.held, 1, true);
      a.stat(ACTOR_STAT.UNPINS);
      a.event(EVENT.UNPIN, this.held[0]!, 1);
    } else if (this.holds === 'ref') {
      a.refsRemove(this.held, 1);
      put_page(this.held[0]!);
      a.stat(ACTOR_STAT.PUTS);
    }
    this.holds = null;
    if (this.forked) {
      a.doing(EVENT.EXIT, this.child.id);
      exit_mmap(this.child);
      a.event(EVENT.EXIT, this.child.id, 0);
      this.forked = false;
    }
    if (this.unmapped) {
      do_mmap(a.mm, { length: PAGE_SIZE, kind: 'anon', addr: a.addr(this.page) });
      this.unmapped = false;
    }
    this.phase = 'prepare';
  }

  release(): void {
    this.finish();
  }
}
