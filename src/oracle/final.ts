/**
 * End-of-run oracles, run by the coordinator after every actor has stopped and released:
 *  - O2 conservation: ledgers empty, pin counters balanced, no BUG hit, no KASAN report, every mapped or cached
 *    page's refcount equal to what its mappings and the page cache account for, and — after the
 *    regions are unmapped and the page cache is dropped — no frame left allocated (a leak).
 *  - O3 lost writes: the last value each actor DMA-wrote into a file page is on the backing store
 *    (after the final sync), unless the page was truncated since.
 */
import { NR_ZONES, PG, VMA_KIND, ZONE, ZONE_NAMES } from '../mem/layout.js';
import { nr_allocated } from '../kernel/alloc.js';
import { readVmstat, readWarnings } from '../kernel/context.js';
import { current } from '../kernel/current.js';
import { backing_word, pagecache_slot } from '../kernel/filemap.js';
import { type MmStruct, vmas } from '../kernel/mm.js';
import { compound_head, pw } from '../kernel/page.js';
import { pte_pfn, pte_present, walk } from '../kernel/pgtable.js';
import { type ActorSpec } from '../clients/types.js';
import { type Lab, ORACLE, VIOLATION_KIND, ghostPins } from './lab.js';

/** Refcount that mappings and the page cache account for, per folio head. */
export function expectedRefcounts(mms: MmStruct[]): Map<number, number> {
  const expected = new Map<number, number>();
  const bump = (head: number, n: number): void => {
    expected.set(head, (expected.get(head) ?? 0) + n);
  };
  const w = { idx: 0, entry: 0, order: 0 };
  for (const mm of mms) {
    for (const v of vmas(mm)) {
      for (let vpn = v.start; vpn < v.end; ) {
        walk(mm.pt, vpn, w);
        if (pte_present(w.entry)) {
          if (w.order > 0) {
            bump(pte_pfn(w.entry), 1);
            vpn = (vpn | ((1 << w.order) - 1)) + 1;
            continue;
          }
          if (v.kind !== VMA_KIND.DAX) bump(compound_head(pte_pfn(w.entry)), 1);
        }
        vpn++;
      }
    }
  }
  const cfg = current.layout.config;
  for (let f = 0; f < cfg.nrFiles; f++) {
    for (let i = 0; i < cfg.filePages; i++) {
      const v = current.mem.load(pagecache_slot(f, i));
      if (v !== 0) bump(v - 1, 1);
    }
  }
  return expected;
}

/**
 * O2 while regions are still mapped: refcounts equal the accounted references; ledgers empty.
 * Returns false when a refcount is off or a BUG was hit: the machine's refcounts cannot be trusted
 * (a page may be free while still cached or mapped), so it must not be torn down.
 */
export function checkConservation(lab: Lab, mms: MmStruct[], liveActors: ActorSpec[]): boolean {
  let trusted = true;
  const m = current.mem;
  for (const spec of liveActors) {
    for (let s = 0; s < lab.layout.config.ledgerSlots; s++) {
      const v = lab.load(lab.ledgerIndex(spec.actor, s));
      if (v !== 0) lab.violation(ORACLE.O2, spec.actor, v - 1, VIOLATION_KIND.LEAK, 1, s);
    }
  }
  for (const [head, refs] of expectedRefcounts(mms)) {
    const rc = m.load(pw(head, PG.REFCOUNT));
    const ghost = ghostPins(lab.load(lab.ghostIndex(head)));
    if (rc !== refs || ghost !== 0) lab.violation(ORACLE.O2, -1, head, VIOLATION_KIND.REFCOUNT, rc, refs, ghost);
    if (rc !== refs) trusted = false;
  }
  const vm = readVmstat(m);
  if (vm.nr_foll_pin_acquired !== vm.nr_foll_pin_released) {
    lab.violation(ORACLE.O2, -1, -1, VIOLATION_KIND.COUNTERS, vm.nr_foll_pin_acquired, vm.nr_foll_pin_released);
  }
  const { warn, bug: bugs } = readWarnings(m);
  for (const [site, n] of Object.entries(bugs)) {
    if (n) lab.violation(ORACLE.O2, -1, -1, VIOLATION_KIND.BUG, n, 0, 0, siteCode(site));
    if (n) trusted = false;
  }
  // The model's KASAN (fault stats-after-put, kernel-notes 4.12): a struct page touched after the
  // final put freed it. The WARN site counts the hits; any is a conservation violation.
  const kasan = warn['kasan: use-after-free'] ?? 0;
  if (kasan > 0) lab.violation(ORACLE.O2, -1, -1, VIOLATION_KIND.KASAN_USE_AFTER_FREE, kasan);
  // A WARN splat that a refcount had overflowed into the sign bit (syzbot treats any WARN as a
  // bug report): pins were refused, and a 2019-era head that wrapped says why.
  const overflow = (warn['try_get_compound_head:refcount<0'] ?? 0) + (warn['try_get_page:refcount<=0'] ?? 0);
  if (overflow > 0) lab.violation(ORACLE.O2, -1, -1, VIOLATION_KIND.REFCOUNT_OVERFLOW, overflow);
  return trusted;
}

/** O2 after teardown: every frame is back in the allocator (DAX frames hold only their driver ref). */
export function checkNoLeaks(lab: Lab): void {
  for (let z = 0; z < NR_ZONES; z++) {
    if (z === ZONE.DAX) continue;
    const n = nr_allocated(current.mem, z as never);
    if (n !== 0) lab.violation(ORACLE.O2, -1, -1, VIOLATION_KIND.LEAK, n, z);
  }
}

/** O3 after the final sync: each actor's last write to each file page reached the backing store. */
export function checkLostWrites(lab: Lab, writers: ActorSpec[]): number {
  const cfg = lab.layout.config;
  let checked = 0;
  for (const spec of writers) {
    if (spec.mapping !== 'file') continue;
    const base = lab.actorBase(spec.actor);
    for (let i = 0; i < spec.pages; i++) {
      const index = spec.offset + i;
      const fi = lab.fileIndex(spec.file, index);
      const last = lab.load(base + lab.layout.lastWriteOff + fi);
      if (last === 0) continue;
      if (lab.load(base + lab.layout.lastEpochOff + fi) !== lab.load(lab.layout.truncEpochOff + fi)) continue;
      checked++;
      const disk = current.mem.load(backing_word(spec.file, index) + spec.dataWord);
      if (disk !== last) lab.violation(ORACLE.O3, spec.actor, -1, VIOLATION_KIND.LOST_WRITE, spec.file, index, last, disk);
    }
    void cfg;
  }
  return checked;
}

const BUG_CODES = new Map<string, number>();
function siteCode(site: string): number {
  if (!BUG_CODES.has(site)) BUG_CODES.set(site, BUG_CODES.size + 1);
  return BUG_CODES.get(site)!;
}
export function bugSiteName(code: number): string {
  for (const [s, c] of BUG_CODES) if (c === code) return s;
  return `bug#${code}`;
}

export const zoneName = (z: number): string => ZONE_NAMES[z] ?? String(z);
