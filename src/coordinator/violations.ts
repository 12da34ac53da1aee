/** Turn the lab's violation log into report entries: oracle, page, actors, detail, last events. */
import { PG } from '../mem/layout.js';
import { type KernelContext } from '../kernel/context.js';
import { pw } from '../kernel/page.js';
import { type ActorSpec } from '../clients/types.js';
import { type Lab, ORACLE_NAMES, VIOLATION_KIND, VIOLATION_KIND_NAMES } from '../oracle/lab.js';
import { bugSiteName } from '../oracle/final.js';
import { FORK_CASES } from '../clients/fork.js';
import { type EventRecord, type Violation } from '../report/types.js';

function detail(kind: number, v: { page: number; b: number; c: number; d: number; e: number }): string {
  switch (kind) {
    case VIOLATION_KIND.FALSE_NEGATIVE:
      return `page_maybe_dma_pinned() returned false while a pin was held across the whole evaluation (refcount ${v.b}, ghost pins ${v.c})`;
    case VIOLATION_KIND.LOST_WRITE:
      return `file ${v.b} page ${v.c}: last DMA write 0x${(v.d >>> 0).toString(16)} is not on the backing store (found 0x${(v.e >>> 0).toString(16)})`;
    case VIOLATION_KIND.USE_AFTER_FREE:
      return `device write into a frame that was freed or reused (generation ${v.b} at pin, ${v.c} now, refcount ${v.d})`;
    case VIOLATION_KIND.UNSTABLE_PAGE:
      return `page changed while under writeback (file ${v.b} page ${v.c}): the checksum written no longer matches the data`;
    case VIOLATION_KIND.STALE_DEVICE_PTE:
      return `ODP device access through a device PTE walked at epoch ${v.b}, after an invalidation of its range began at epoch ${v.c} (file page ${v.d})`;
    case VIOLATION_KIND.REFCOUNT:
      return `refcount ${v.b} but mappings and page cache account for ${v.c} (ghost pins outstanding ${v.d})`;
    case VIOLATION_KIND.LEAK:
      return v.page >= 0 ? `ghost ledger still holds this page (slot ${v.c})` : `${v.b} frames still allocated in zone ${v.c} after teardown`;
    case VIOLATION_KIND.COUNTERS:
      return `nr_foll_pin_acquired ${v.b} != nr_foll_pin_released ${v.c}`;
    case VIOLATION_KIND.STALL:
      return `no progress for ${v.c} ms (current operation ${v.b})`;
    case VIOLATION_KIND.BUG:
      return `kernel BUG hit ${v.b} times at ${bugSiteName(v.e)}`;
    case VIOLATION_KIND.LONGTERM_MOVABLE:
      return `a longterm pin returned ${v.b} of ${v.c} pages in ZONE_MOVABLE/CMA (folio_is_longterm_pinnable() is false): they were not migrated out`;
    case VIOLATION_KIND.NOT_DMA_PINNED:
      return `page ${v.b + 1} of ${v.c} the pin call returned does not read page_maybe_dma_pinned(): writeback and COW cannot see the DMA (verify_dma_pinned)`;
    case VIOLATION_KIND.SB_CONTRACT:
      return `gup-fast kept a pin through PTE word ${v.b} = 0x${(v.c >>> 0).toString(16)}, validated (stamp ${v.e}) before page_mkclean's change of it was visible, ` +
        `and page_mkclean read "not pinned" (stamp ${v.d}) before the pin was taken: both halves of the store-buffering pair missed each other`;
    case VIOLATION_KIND.DMA_STALE_FRAME:
      return `a DMA write through a pin of file ${v.b} page ${v.c} went into pfn ${v.page}, but the page cache holds ${v.d < 0 ? 'nothing' : `pfn ${v.d}`} there` +
        `${v.e >= 0 ? ` and the writer's PTE maps pfn ${v.e}` : ''} and no truncate since the pin explains it: the write is lost to the file`;
    case VIOLATION_KIND.KASAN_USE_AFTER_FREE:
      return `KASAN: use-after-free — a struct page was read after the final put freed it (${v.b} times, WARN 'kasan: use-after-free')`;
    case VIOLATION_KIND.REFCOUNT_OVERFLOW:
      return `pins refused ${v.b} times with a WARN: the head refcount had overflowed into the sign bit (try_get_compound_head / try_grab_page)`;
    case VIOLATION_KIND.COW_LEAK:
      return v.b === 0
        ? `a DMA write through a pin landed in an anon page that mm ${v.c} maps at vpn ${v.d}: the pin and the parent's page table went apart at fork()`
        : `after fork(), mm ${v.c} read 0x${(v.d >>> 0).toString(16)} where it wrote or expected 0x${(v.e >>> 0).toString(16)}: the other side's write leaked in (cow.c case ${FORK_CASES[v.b - 1] ?? v.b})`;
    case VIOLATION_KIND.PIN_INCOHERENT:
      return `a longterm R/O pin of pfn ${v.page} reads 0x${(v.b >>> 0).toString(16)}, the page table maps pfn ${v.c} holding 0x${(v.d >>> 0).toString(16)}`;
    case VIOLATION_KIND.STALE_READ:
      return `read(2) of file ${v.b} page ${v.c} copied from pfn ${v.page}, which left the page cache while the read held it (the cache now holds ${v.e < 0 ? 'nothing' : `pfn ${v.e}`}): migrated or freed under a lockless reader`;
    default:
      return `kind ${kind}`;
  }
}

export function buildViolations(lab: Lab, specs: ActorSpec[], coordActor: number, k: KernelContext): Violation[] {
  const names = (i: number): string => (i === coordActor ? 'coordinator' : specs[i]?.name ?? `actor${i}`);
  return lab.violations().map((v) => {
    const involved = new Set<number>();
    if (v.actor >= 0 && v.actor < specs.length) involved.add(v.actor);
    involved.add(coordActor);
    // The rings as they were when the violation was recorded (snapshotted by the recording thread).
    const events: Record<string, EventRecord[]> = {};
    for (const a of involved) events[names(a)] = v.events.get(a) ?? [];
    let where: string | undefined;
    if (v.kind === VIOLATION_KIND.LOST_WRITE || v.kind === VIOLATION_KIND.UNSTABLE_PAGE) where = `file ${v.b}:${v.c}`;
    else if (v.page >= 0 && v.page < k.layout.totalFrames) {
      const mapping = k.mem.load(pw(v.page, PG.MAPPING));
      if (mapping > 0) where = `file ${mapping - 1}:${k.mem.load(pw(v.page, PG.INDEX))}`;
    }
    return {
      oracle: ORACLE_NAMES[v.oracle] ?? `O${v.oracle}`,
      kind: VIOLATION_KIND_NAMES[v.kind] ?? String(v.kind),
      page: v.page,
      ...(where !== undefined ? { where } : {}),
      actors: [...involved].map(names),
      detail: detail(v.kind, v),
      events,
    };
  });
}
