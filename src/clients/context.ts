/**
 * The ClientContext an actor's client gets (src/clients/define.ts), built over the actor's
 * bookkeeping (src/clients/actor.ts): the kernel API with this actor's pins recorded in the ghost
 * ledger, its region, random stream, DMA/CPU access and event ring.
 */
import * as kernelApi from '../kernel/api.js';
import { page_data } from '../kernel/filemap.js';
import { PAGE_SIZE } from '../kernel/mm.js';
import { ACTOR_STAT, EVENT, type EventKind, gupFailStat } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type ClientContext, type ClientEventName, type ClientKernel, type ClientRegion, type ClientStatName } from './define.js';

type PageArray = kernelApi.PageArray;
type Gup = (mm: kernelApi.MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray) => number;
type GupSlow = (mm: kernelApi.MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null) => number;

const actors = new WeakMap<ClientContext, Actor>();

// The API's ~120 functions, copied once: each context's kernel inherits them and owns only the
// recording wrappers (spreading them per context cost 20-150 µs, once per actor and explore trial).
let apiBase: Readonly<typeof kernelApi> | null = null;
const kernelApiBase = (): Readonly<typeof kernelApi> => (apiBase ??= Object.freeze({ ...kernelApi }));

/** The actor behind a context: the built-in clients use its richer internal surface (faults, revoke words, ODP lab state). */
export function actorOf(ctx: ClientContext): Actor {
  const a = actors.get(ctx);
  if (a === undefined) throw new TypeError('actorOf: not a context made by pinlab');
  return a;
}

const eventOf = (kind: ClientEventName): EventKind => {
  const e = (EVENT as Record<string, EventKind>)[kind.toUpperCase()];
  if (e === undefined) throw new RangeError(`event: unknown kind '${kind}'`);
  return e;
};

/** What the client holds on a page through ctx.kernel: for DMA bookkeeping. */
interface Held {
  pageInRegion: number;
  epoch: number;
  count: number;
}

/** Build the context of actor `a` (one per actor thread and run). */
export function createClientContext(a: Actor, params: Readonly<Record<string, number | string | boolean>> = {}): ClientContext {
  const spec = a.spec;
  const region: ClientRegion = Object.freeze({
    addr: spec.addr,
    pages: spec.pages,
    mapping: spec.mapping,
    file: spec.file,
    offset: spec.offset,
    bufferPages: spec.bufferPages,
    holdOps: spec.holdOps,
    writeRatio: spec.writeRatio,
    fast: spec.fast,
    mm: spec.mm,
  });
  const held = new Map<number, Held>();
  const refs = new Map<number, number>();
  const mem = a.k.mem;

  const firstPage = (mm: kernelApi.MmStruct, start: number): number =>
    mm === a.mm && start >= spec.addr && start < spec.addr + spec.pages * PAGE_SIZE ? Math.floor((start - spec.addr) / PAGE_SIZE) : -1;

  /** Truncate epochs of the pages about to be taken, read before the GUP call (src/clients/dio.ts). */
  const epochsBefore = (first: number, n: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(first >= 0 && first + i < spec.pages ? a.truncEpoch(first + i) : 0);
    return out;
  };
  const remember = (pages: PageArray, n: number, first: number, epochs: number[]): void => {
    for (let i = 0; i < n; i++) {
      const pfn = pages[i]!;
      const h = held.get(pfn);
      if (h !== undefined) h.count++;
      else held.set(pfn, { pageInRegion: first >= 0 ? first + i : -1, epoch: epochs[i] ?? 0, count: 1 });
    }
  };
  const forget = (pages: ArrayLike<number>, n: number): void => {
    for (let i = 0; i < n; i++) {
      const pfn = pages[i]!;
      const h = held.get(pfn);
      if (h !== undefined && --h.count <= 0) held.delete(pfn);
    }
  };

  /** A GUP call that records what it took: pins in the ghost ledger, references for the use-after-free check. */
  const taking = <F extends Gup | GupSlow>(fn: F, pin: boolean): F =>
    ((mm: kernelApi.MmStruct, start: number, nr: number, flags: number, pages: PageArray | null): number => {
      const first = firstPage(mm, start);
      const epochs = epochsBefore(first, Math.max(0, nr));
      const r = (fn as GupSlow)(mm, start, nr, flags, pages);
      if (r > 0 && pages !== null) {
        if (pin) {
          a.ledgerAdd(pages, r);
        } else {
          a.refsAdd(pages, r);
          for (let i = 0; i < r; i++) refs.set(pages[i]!, (refs.get(pages[i]!) ?? 0) + 1);
        }
        remember(pages, r, first, epochs);
        a.stat(pin ? ACTOR_STAT.PINS : ACTOR_STAT.GETS, r);
        a.event(pin ? EVENT.PIN : EVENT.GET, pages[0]!, r);
      } else if (r < 0) {
        a.stat(ACTOR_STAT.GUP_FAILS);
        a.stat(gupFailStat(r));
        a.event(EVENT.GUP_FAIL, first, r);
      }
      return r;
    }) as F;
  const pinning = <F extends Gup | GupSlow>(fn: F): F => taking(fn, true);
  const getting = <F extends Gup | GupSlow>(fn: F): F => taking(fn, false);
  const unpinned = (pages: ArrayLike<number>, n: number): void => {
    if (n <= 0) return;
    a.ledgerRemove(pages, n); // before the unpin RMW
    forget(pages, n);
    a.stat(ACTOR_STAT.UNPINS, n);
    a.event(EVENT.UNPIN, pages[0]!, n);
  };

  const unpin_user_page = (page: number): void => {
    unpinned([page], 1);
    kernelApi.unpin_user_page(page);
  };
  const unpin_user_pages = (pages: PageArray, npages: number): void => {
    unpinned(pages, npages);
    kernelApi.unpin_user_pages(pages, npages);
  };
  const unpin_user_pages_dirty_lock = (pages: PageArray, npages: number, make_dirty: boolean): void => {
    unpinned(pages, npages);
    kernelApi.unpin_user_pages_dirty_lock(pages, npages, make_dirty);
  };
  const put_page = (page: number): void => {
    const c = refs.get(page);
    if (c !== undefined) {
      a.refsRemove([page], 1);
      forget([page], 1);
      if (c <= 1) refs.delete(page);
      else refs.set(page, c - 1);
      a.stat(ACTOR_STAT.PUTS);
      a.event(EVENT.PUT, page, 1);
    }
    kernelApi.put_page(page);
  };

  // Defined, not assigned: the inherited functions of the same names are frozen (read-only).
  const kernel: ClientKernel = Object.freeze(
    Object.create(
      kernelApiBase(),
      Object.getOwnPropertyDescriptors({
        pin_user_pages_fast: pinning(kernelApi.pin_user_pages_fast),
        pin_longterm_pages_fast: pinning(kernelApi.pin_longterm_pages_fast),
        pin_user_pages: pinning(kernelApi.pin_user_pages),
        pin_longterm_pages: pinning(kernelApi.pin_longterm_pages),
        pin_user_pages_remote: pinning(kernelApi.pin_user_pages_remote),
        pin_longterm_pages_remote: pinning(kernelApi.pin_longterm_pages_remote),
        get_user_pages_fast: getting(kernelApi.get_user_pages_fast),
        get_user_pages: getting(kernelApi.get_user_pages),
        get_user_pages_remote: getting(kernelApi.get_user_pages_remote),
        unpin_user_page,
        unpin_user_pages,
        unpin_user_pages_dirty_lock,
        put_page,
        put_user_page: unpin_user_page,
        put_user_pages: unpin_user_pages,
        put_user_pages_dirty_lock: unpin_user_pages_dirty_lock,
      }),
    ) as ClientKernel,
  );

  const ctx: ClientContext = Object.freeze({
    name: spec.name,
    actor: spec.actor,
    kernel,
    mm: a.mm,
    region,
    params: Object.freeze({ ...params }),
    random: Object.freeze({ int: (from: number, to: number) => a.int(from, to), chance: (p: number) => a.chance(p) }),
    addr(pageInRegion: number): number {
      if (!Number.isInteger(pageInRegion) || pageInRegion < 0 || pageInRegion >= spec.pages) {
        throw new RangeError(`${spec.name}: addr(${pageInRegion}) outside the region's ${spec.pages} pages`);
      }
      return a.addr(pageInRegion);
    },
    dma: Object.freeze({
      write(pfn: number): number {
        const h = held.get(pfn);
        if (h === undefined) throw new Error(`${spec.name}: dma.write(${pfn}): the client holds no pin or reference on pfn ${pfn}`);
        a.dmaWrite(pfn, Math.max(0, h.pageInRegion), a.pinnedGen(pfn), h.epoch);
        return mem.load(page_data(pfn) + spec.dataWord);
      },
      read(pfn: number): number {
        a.stat(ACTOR_STAT.DMA_READS);
        return mem.load(page_data(pfn) + spec.dataWord);
      },
    }),
    cpu: Object.freeze({
      load: (pfn: number): number => mem.load(page_data(pfn) + spec.dataWord),
      store: (pfn: number, value: number): void => mem.store(page_data(pfn) + spec.dataWord, value),
    }),
    event: (kind: ClientEventName, page: number, arg = 0) => a.event(eventOf(kind), page, arg),
    doing: (kind: ClientEventName, page: number) => a.doing(eventOf(kind), page),
    stat(name: ClientStatName, delta = 1): void {
      const s = (ACTOR_STAT as Record<string, number>)[name.toUpperCase()];
      if (s === undefined || name === ('state' as string)) throw new RangeError(`stat: unknown counter '${name}'`);
      a.stat(s, delta);
    },
    fault: (name: string) => a.k.fault(name),
  });
  actors.set(ctx, a);
  return ctx;
}
