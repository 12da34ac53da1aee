/**
 * mm/gup.c: the get_user_pages / pin_user_pages family with the seed's rules (DESIGN.md §3).
 *
 * Addresses are byte addresses, as in the kernel; `pages` receives pfns (a pfn is this model's
 * `struct page *`). The task_struct and vmas arguments of the 2019 signatures are gone, as they
 * are in later kernels; the mm comes first, as in get_user_pages_remote().
 */
import * as layoutMod from '../mem/layout.js';
import { MM, MMF_HAS_PINNED, PG_anon, PG_anon_exclusive, VMA_KIND, VM_READ, VM_SHARED, VM_WRITE, ZONE } from '../mem/layout.js';
import * as constantsMod from './constants.js';
import { EAGAIN, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, FOLL_FORCE, FOLL_REMOTE, FOLL_TOUCH, FOLL_TRIED } from './constants.js';
import { current } from './current.js';
import { type KernelContext, VMSTAT, type WarnSite } from './context.js';
import { handle_mm_fault, leaf_ptl } from './fault.js';
import { migrate_page } from './migrate.js';
import {
  type MmStruct, type Vma, PAGE_SIZE, find_vma, mmap_assert_locked, mmap_read_lock, mmap_read_unlock,
} from './mm.js';
import * as pageMod from './page.js';
import { PageDirty, compound_head, page_zonenum, put_page, pw, set_page_dirty_lock } from './page.js';
import * as pgtableMod from './pgtable.js';
import { spin_lock, spin_unlock, walk, newWalk, type Walk } from './pgtable.js';
import * as pinMod from './pin.js';
import { put_compound_head, try_grab_compound_head, try_grab_page } from './pin.js';

// What gup-fast and unpin use, as this module's own bindings. An imported binding is a live cell:
// the code TurboFan inlines re-reads and hole-checks it at every use (and re-checks an imported
// function's identity at every call), a dozen loads per call of the hot path; a module's own
// `const` is folded into it. pin.ts and page.ts do the same (scripts/bench-gup.ts measures it).
const { PAGE_SHIFT, PG, STRUCT_PAGE_WORDS, folioHead } = layoutMod;
const { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS } = constantsMod;
const { _PAGE_DEVMAP, _PAGE_HUGE, _PAGE_PRESENT, _PAGE_RW } = pgtableMod;
const { put_page_refs_last } = pageMod;
const { __put_compound_head, __try_grab_compound_head, page_pgdat_after_put } = pinMod;
const NR_FOLL_PIN_ACQUIRED = VMSTAT.nr_foll_pin_acquired;
const NR_FOLL_PIN_RELEASED = VMSTAT.nr_foll_pin_released;

/** Where GUP writes the pages it returns: pfns. Entries it did not fill are left as they were. */
export type PageArray = Int32Array | number[];

/** How often the FOLL_LONGTERM pin-migrate-retry loop goes round before giving up with -ENOMEM. */
export const LONGTERM_MIGRATE_RETRIES = 16;

function vpnRange(k: KernelContext, start: number, nr: number): number {
  // start & PAGE_MASK; an address range beyond the address space is -EFAULT (access_ok). Below
  // 4 GB a shift: the division would compile to a (slow) integer division on the hot path.
  const vpn = start >= 0 && start <= 0xffffffff ? start >>> PAGE_SHIFT : Math.floor(start / PAGE_SIZE);
  return vpn < 0 || vpn + nr > k.layout.vaPages ? -1 : vpn;
}

/** folio_is_longterm_pinnable(): not in ZONE_MOVABLE/CMA. The fault longterm-in-cma ignores it. */
function is_longterm_pinnable(head: number): boolean {
  if (page_zonenum(head) !== ZONE.MOVABLE) return true;
  // Stryker disable next-line all: fault switch, covered by test/faults
  return current.fault('longterm-in-cma');
}

/**
 * gup-fast's FOLL_LONGTERM zone test (v5.7 try_grab_compound_head: is_migrate_cma_page; v6.3
 * try_grab_folio: is_longterm_pinnable_page): a CMA/movable page is left to the slow path, which
 * migrates it. The 2019 postings have no such test (fault gup-fast-longterm-cma, native there):
 * a page already mapped in CMA is pinned where it is.
 */
function fast_longterm_pinnable(k: KernelContext, head: number): boolean {
  return k.fault('gup-fast-longterm-cma') || is_longterm_pinnable(head);
}

/**
 * gup_fast_folio_allowed() for FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE (the caller checks the
 * flags): with current.refuseLongtermFile (>= v6.5) a page-cache page is left to the slow path,
 * which refuses it in check_vma_flags(). Read after the reference is taken, as the kernel does.
 */
function gup_fast_folio_allowed(head: number): boolean {
  return !current.refuseLongtermFile || current.mem.load(pw(head, PG.MAPPING)) <= 0;
}

/**
 * mm_set_has_pinned_flag(): test first, so pinning threads do not bounce the cache line. The bit
 * is never cleared for the life of the mm, so once this thread has seen it set it skips the test.
 */
function mm_set_has_pinned_flag(mm: MmStruct): void {
  if (mm.hasPinnedSeen === true) return; // not a truthiness test: see KernelContext.fault()
  const idx = mm.base + MM.FLAGS;
  if ((current.mem.load(idx) & MMF_HAS_PINNED) === 0) current.mem.or(idx, MMF_HAS_PINNED);
  mm.hasPinnedSeen = true;
}

/** Undo a gup-fast grab. The fault unbalanced-undo releases a pin with put_page (kernel-notes 4.10). */
function undo_grab(head: number, refs: number, flags: number): void {
  if (current.fault('unbalanced-undo')) put_page(head);
  else put_compound_head(head, refs, flags);
}

/**
 * gup_must_unshare() (v6.3/mm/internal.h:902-945), for a read-only entry: a R/O FOLL_PIN of an
 * anon page that is not PageAnonExclusive must unshare it first (FAULT_FLAG_UNSHARE), so the pin
 * stays coherent with the page table ("Longterm R/O pin is reliable", cow.c). Only in the eras
 * with the bit (EraSpec.anonExclusive). Model file mappings are MAP_SHARED, never COW: a file
 * page never needs it. gup-fast calls it after the PTE re-check (B5 after B3/B4, paired with the
 * barriers of page_try_share_anon_rmap, 088b8aa537c2).
 */
function gup_must_unshare(flags: number, page: number): boolean {
  if (!current.spec.anonExclusive || (flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  const f = current.mem.load(pw(page, PG.FLAGS));
  return (f & PG_anon) !== 0 && (f & PG_anon_exclusive) === 0;
}

/**
 * should_force_cow_break() (v5.7/mm/gup.c:398-401, 17839856fd58; EraSpec.gupBreaksCow): GUP of a
 * private (COW) mapping with FOLL_GET or FOLL_PIN faults as a write, so a read-only GUP breaks COW.
 */
function should_force_cow_break(vma: Vma, flags: number): boolean {
  return current.spec.gupBreaksCow && (vma.flags & (VM_SHARED | VM_WRITE)) === VM_WRITE && (flags & (FOLL_GET | FOLL_PIN)) !== 0;
}

// ---- the slow path -----------------------------------------------------------------------

/**
 * check_vma_flags(): 0, or why this VMA cannot be used with these flags. With
 * current.refuseLongtermFile (>= v6.5, 8ac268436e6d / a6e79df92e4a: vma_needs_dirty_tracking),
 * a writable longterm pin of a shared file mapping is -EFAULT.
 */
function check_vma_flags(vma: Vma, flags: number): number {
  if ((flags & FOLL_LONGTERM) !== 0 && vma.kind === VMA_KIND.DAX) return -EOPNOTSUPP;
  if (current.refuseLongtermFile && (flags & (FOLL_LONGTERM | FOLL_WRITE)) === (FOLL_LONGTERM | FOLL_WRITE) && vma.kind === VMA_KIND.FILE) {
    return -EFAULT;
  }
  if ((flags & FOLL_WRITE) !== 0) {
    if ((vma.flags & VM_WRITE) === 0) return -EFAULT; // FOLL_FORCE COW of read-only mappings is not modelled
  } else if ((vma.flags & VM_READ) === 0 && (flags & FOLL_FORCE) === 0) {
    return -EFAULT;
  }
  return 0;
}

const NO_PAGE = -1;
/** follow_page_mask(): the page must be unshared first (gup_must_unshare: FAULT_FLAG_UNSHARE). */
const NEED_UNSHARE = -0x10000;

/**
 * follow_page_mask(): under the page-table lock, the page mapped at vpn with a reference of the
 * kind `flags` asks for; NO_PAGE if it must be faulted in first; or -errno.
 */
function follow_page_mask(mm: MmStruct, vpn: number, flags: number): number {
  if (current.WARN_ON_ONCE((flags & (FOLL_PIN | FOLL_GET)) === (FOLL_PIN | FOLL_GET), 'follow_page_pte:FOLL_PIN|FOLL_GET')) {
    return -EINVAL;
  }
  const w = walk(mm.pt, vpn, newWalk());
  const ptl = leaf_ptl(mm.pt, vpn, w.order);
  spin_lock(ptl);
  try {
    const e = current.mem.load(w.idx); // re-read under the lock
    if ((e & _PAGE_PRESENT) === 0 || ((flags & FOLL_WRITE) !== 0 && (e & _PAGE_RW) === 0)) return NO_PAGE;
    if (((e & _PAGE_HUGE) !== 0) !== (w.order !== 0)) return NO_PAGE; // the table changed under us
    const page = (e >>> 7) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0);
    if ((e & _PAGE_RW) === 0 && gup_must_unshare(flags, page)) return NEED_UNSHARE; // v6.3/mm/gup.c:596
    if ((flags & (FOLL_GET | FOLL_PIN)) !== 0 && !try_grab_page(page, flags)) return -ENOMEM;
    return page;
  } finally {
    spin_unlock(ptl);
  }
}

/**
 * __get_user_pages(): walk [start, start+nr) under mmap_lock, faulting pages in as needed.
 * Returns the number of pages taken (maybe fewer than nr), or -errno if none were.
 */
function __get_user_pages(mm: MmStruct, vpn0: number, nr: number, flags: number, pages: PageArray | null, off: number): number {
  if (pages === null && (flags & FOLL_PIN) !== 0) {
    current.BUG('__get_user_pages:FOLL_PIN without pages', `VM_BUG_ON(!!pages != !!(gup_flags & (FOLL_GET | FOLL_PIN)))`);
  }
  if (nr <= 0) return 0;
  current.vmstatAdd(VMSTAT.gup_slow_calls, 1);
  let foll = flags;
  let vma: Vma | null = null;
  let i = 0;
  for (; i < nr; i++) {
    const vpn = vpn0 + i;
    if (vma === null || vpn >= vma.end || vpn < vma.start) {
      vma = find_vma(mm, vpn);
      if (vma === null) return i || -EFAULT;
      const err = check_vma_flags(vma, flags);
      if (err !== 0) return i || err;
      foll = should_force_cow_break(vma, flags) ? flags | FOLL_WRITE : flags; // v5.7/mm/gup.c:1097
    }
    const write = (foll & FOLL_WRITE) !== 0;
    let page: number;
    for (;;) {
      page = follow_page_mask(mm, vpn, foll);
      if (page !== NO_PAGE && page !== NEED_UNSHARE) break;
      const ret = handle_mm_fault(mm, vma, vpn, write, page === NEED_UNSHARE);
      if (ret < 0) return i || ret;
    }
    if (page < 0) return i || page;
    if (pages !== null) pages[off + i] = page;
  }
  return i;
}

/** __get_user_pages_locked(): pages[] wanted without FOLL_PIN means FOLL_GET (traditional behaviour). */
function __get_user_pages_locked(mm: MmStruct, vpn: number, nr: number, pages: PageArray | null, off: number, flags: number): number {
  if (pages !== null && (flags & FOLL_PIN) === 0) flags |= FOLL_GET;
  return __get_user_pages(mm, vpn, nr, flags, pages, off);
}

/** Release what a GUP call took with `flags`. */
function release_pages(pages: PageArray, off: number, n: number, flags: number): void {
  for (let i = 0; i < n; i++) {
    const page = pages[off + i]!;
    if ((flags & FOLL_PIN) !== 0) put_compound_head(compound_head(page), 1, FOLL_PIN);
    else put_page(page);
  }
}

/** migrate_pages() passes over a folio that returned -EAGAIN (NR_MAX_MIGRATE_PAGES_RETRY, mm/migrate.c). */
const NR_MAX_MIGRATE_PAGES_RETRY = 10;

/** migrate_pages(MIGRATE_SYNC, MR_LONGTERM_PIN) of the collected heads: true if every one moved. */
function migrate_longterm_pages(heads: Set<number>): boolean {
  let ok = true;
  for (const head of heads) {
    let ret = migrate_page(head);
    for (let pass = 1; ret === -EAGAIN && pass < NR_MAX_MIGRATE_PAGES_RETRY; pass++) ret = migrate_page(head);
    if (ret !== 0) ok = false;
  }
  return ok;
}

/**
 * __gup_longterm_locked(): for FOLL_LONGTERM, pin, then move anything in ZONE_MOVABLE/CMA out and
 * pin again; DAX was refused in check_vma_flags. As each era's tree has it (EraSpec.longtermLoop):
 *  - the pins are dropped with unpin_user_page() (v6.3/mm/gup.c:1996), or with put_page() under
 *    cma-unpin-put-page, native in rfc-2019 and v5.7 (v5.7/mm/gup.c:1711): a small page keeps 1023
 *    of its bias, a v5.7 huge page its hpage_pinned_refcount, and its migration then fails;
 *  - a failed migration re-pins without migrating under cma-migrate-fail-repin (`migrate_allow =
 *    false`, v5.7/mm/gup.c:1722), so the pin holds in CMA; v6.3+ returns -ENOMEM at the first
 *    failure (:2013); the 2019 loop without its fault tries again, up to the retry bound.
 */
function __gup_longterm_locked(mm: MmStruct, vpn: number, nr: number, pages: PageArray | null, off: number, flags: number): number {
  if ((flags & FOLL_LONGTERM) === 0 || pages === null) return __get_user_pages_locked(mm, vpn, nr, pages, off, flags);
  const k = current;
  let migrateAllow = true;
  for (let attempt = 0; ; attempt++) {
    const rc = __get_user_pages_locked(mm, vpn, nr, pages, off, flags);
    if (rc <= 0 || !migrateAllow) return rc;
    const movable = new Set<number>();
    for (let i = 0; i < rc; i++) {
      const head = compound_head(pages[off + i]!);
      if (!is_longterm_pinnable(head)) movable.add(head);
    }
    if (movable.size === 0) return rc;
    if (k.fault('cma-unpin-put-page')) {
      for (let i = 0; i < rc; i++) put_page(pages[off + i]!);
    } else {
      release_pages(pages, off, rc, flags);
    }
    if (attempt >= LONGTERM_MIGRATE_RETRIES) return -ENOMEM;
    k.vmstatAdd(VMSTAT.longterm_migrate_retry, 1);
    if (!migrate_longterm_pages(movable)) {
      if (k.fault('cma-migrate-fail-repin')) migrateAllow = false;
      else if (k.spec.longtermLoop === 'v6.3') return -ENOMEM;
    }
  }
}

/** __gup_longterm_unlocked(): the slow remainder of gup-fast, taking mmap_lock itself. */
function __gup_longterm_unlocked(mm: MmStruct, vpn: number, nr: number, flags: number, pages: PageArray, off: number): number {
  mmap_read_lock(mm);
  try {
    return __gup_longterm_locked(mm, vpn, nr, pages, off, flags);
  } finally {
    mmap_read_unlock(mm);
  }
}

// ---- gup-fast ----------------------------------------------------------------------------

/**
 * A PMD or PUD leaf: grab `refs` subpages with one RMW on the head, then re-check the entry.
 * Returns the number of pages taken (0 to stop).
 */
function gup_huge(idx: number, entry: number, order: number, vpn: number, remaining: number, flags: number, pages: PageArray, off: number): number {
  if ((entry & _PAGE_PRESENT) === 0 || ((flags & FOLL_WRITE) !== 0 && (entry & _PAGE_RW) === 0)) return 0;
  const base = entry >>> 7;
  const offset = vpn & ((1 << order) - 1);
  const refs = Math.min((1 << order) - offset, remaining);
  const head = try_grab_compound_head(base, refs, flags);
  if (head < 0) return 0;
  // Stryker disable next-line all: fault switch, covered by test/faults
  const recheck = !current.fault('gup-fast-no-recheck');
  if (recheck && current.mem.load(idx) !== entry) {
    current.vmstatAdd(VMSTAT.gup_fast_pte_changed, 1);
    undo_grab(head, refs, flags);
    return 0;
  }
  for (let j = 0; j < refs; j++) pages[off + j] = base + offset + j;
  return refs;
}

/**
 * gup_pgd_range(): the lockless walk. For each PTE: read it (load #1), grab the page with one
 * atomic RMW, re-read the PTE (load #2) and undo with the same flags if it changed — the GUP half
 * of the store-buffering pair whose other half is "clear PTE, then check pinned".
 *
 * A virtual page is mapped at exactly one level (its VMA's kind decides), so the walk reads the
 * PTE first and looks at the PMD/PUD only when the PTE is empty. THP collapse is not modelled, so
 * a PTE-level entry's PMD never changes under the walk and only the PTE is re-read.
 *
 * With no access hook installed, the leading run of small pages goes through gup_pte_range_small()
 * first; whatever it leaves is walked here, through Mem.
 */
function gup_fast(k: KernelContext, mm: MmStruct, vpn0: number, nr: number, flags: number, pages: PageArray, off: number): number {
  const m = k.mem;
  const pt = mm.pt;
  const write = (flags & FOLL_WRITE) !== 0;
  const longterm = (flags & FOLL_LONGTERM) !== 0;
  // Stryker disable next-line all: fault switch, covered by test/faults
  const recheck = !k.fault('gup-fast-no-recheck');
  const recheckPmd = k.spec.fastRecheckPmd;
  // The store-buffering contract oracle (contract oracles only): stamps right after the PTE reads
  // and the grab, lab Atomics only (no scheduling point); the specialised loop has none.
  const sb = (flags & FOLL_PIN) !== 0 ? k.sbContract : null;
  let i = 0;
  // The specialised loop has no switch for the faults that change the grab or the re-check
  // (plain-refcount, gup-fast-no-recheck: KernelContext.fastSmallPath); they walk the general path.
  // The specialised loops write with Atomics directly: only without a hook or a write map (trackWrites).
  if (m.hook === null && m.dirty === null && k.fastSmallPath === true && !longterm && sb === null) {
    i = gup_pte_range_small(k, mm, vpn0, nr, flags, pages, off);
    if (i < 0) return ~i;
  }
  while (i < nr) {
    const vpn = vpn0 + i;
    const pteIdx = pt.pteBase + vpn;
    // v6.3+: gup_pmd_range() reads the PMD before the PTE table under it, and re-checks it later.
    const pmdIdx = recheckPmd ? pt.pmd(vpn) : 0;
    const pmdSeen = recheckPmd ? m.load(pmdIdx) : 0;
    const pte = m.load(pteIdx);
    const readAt = sb !== null ? sb.stamp() : 0;
    if (pte === 0) {
      // No PTE: a hugetlb leaf at the PMD or PUD level, or nothing mapped.
      const leafIdx = pt.pmd(vpn);
      const pmd = m.load(leafIdx);
      let n = 0;
      if ((pmd & _PAGE_HUGE) !== 0) {
        n = gup_huge(leafIdx, pmd, 9, vpn, nr - i, flags, pages, off + i);
      } else {
        const pudIdx = pt.pud(vpn);
        const pud = m.load(pudIdx);
        if ((pud & _PAGE_HUGE) !== 0) n = gup_huge(pudIdx, pud, 18, vpn, nr - i, flags, pages, off + i);
      }
      if (n === 0) break;
      i += n;
      continue;
    }
    if ((pte & _PAGE_PRESENT) === 0 || (write && (pte & _PAGE_RW) === 0)) break;
    if (longterm && (pte & _PAGE_DEVMAP) !== 0) break;
    const page = pte >>> 7;
    const head = __try_grab_compound_head(k, page, 1, flags);
    if (head < 0) break;
    const grabbedAt = sb !== null ? sb.stamp() : 0;
    if (longterm && (!fast_longterm_pinnable(k, head) || (write && !gup_fast_folio_allowed(head)))) {
      put_compound_head(head, 1, flags);
      break;
    }
    if (recheck && ((recheckPmd && m.load(pmdIdx) !== pmdSeen) || m.load(pteIdx) !== pte)) {
      k.vmstatAdd(VMSTAT.gup_fast_pte_changed, 1);
      undo_grab(head, 1, flags);
      break;
    }
    // The last PTE read that validated the grab: the re-check, or the first read without one.
    const validatedAt = sb === null ? 0 : recheck ? sb.stamp() : readAt;
    // (B5) v6.3/mm/gup.c:2425: a R/O pin of a possibly shared anon page goes to the slow path.
    if ((pte & _PAGE_RW) === 0 && gup_must_unshare(flags, page)) {
      put_compound_head(head, 1, flags);
      break;
    }
    pages[off + i] = page;
    if (sb !== null) sb.gupKept(page, pteIdx, pte, grabbedAt, validatedAt);
    i++;
  }
  return i;
}

/**
 * gup_pte_range() specialised for its common case: PTE-mapped small pages (pfn >= smallStart: its
 * own head, the bias in every era), no FOLL_LONGTERM, no fault enabled, and no access hook
 * installed — so every access is a bare Atomics operation on mem.i32, exactly the protocol's:
 * PTE load, refcount compareExchange, PTE re-load. nr_foll_pin_acquired is raised once per call.
 *
 * Returns the number of pages taken. It stops, without having taken it, at the first page the
 * general walk must handle — a PTE that is empty (a hugetlb leaf?), not present or not writable; a
 * large folio; a refcount of 0 or below (the general walk then fails, or WARNs, on what its own
 * accesses find) — and the general walk reads that PTE again: an extra load no hook can see. If
 * the PTE changed under a grab, the grab is undone as gup_fast() undoes it and ~taken is returned.
 */
function gup_pte_range_small(k: KernelContext, mm: MmStruct, vpn0: number, nr: number, flags: number, pages: PageArray, off: number): number {
  const i32 = k.mem.i32;
  const pteIdx0 = mm.pt.pteBase + vpn0;
  const pmdBase = mm.pt.pmdBase;
  const pteWant = _PAGE_PRESENT | ((flags & FOLL_WRITE) !== 0 ? _PAGE_RW : 0);
  const smallStart = k.layout.smallStart;
  const refBase = k.layout.pageOff + PG.REFCOUNT;
  const pageWords = STRUCT_PAGE_WORDS;
  const pin = (flags & FOLL_PIN) !== 0;
  // v6.3+: try_get_folio(+1), then folio_ref_add(+1023); before: one RMW of the whole bias.
  const twoStep = pin && k.spec.twoStepSmallPin;
  const refs = pin && !twoStep ? GUP_PIN_COUNTING_BIAS : 1;
  const recheckPmd = k.spec.fastRecheckPmd;
  // A R/O pin of a read-only entry may need gup_must_unshare(): the general walk asks.
  const roPinCheck = pin && (flags & FOLL_WRITE) === 0 && k.spec.anonExclusive;
  let i = 0;
  for (; i < nr; i++) {
    const vpn = vpn0 + i;
    // gup_pmd_range() reads the PMD once per table; the re-check compares against that value.
    const pmd = recheckPmd ? Atomics.load(i32, pmdBase + (vpn >>> 9)) : 0;
    const pte = Atomics.load(i32, pteIdx0 + i);
    if ((pte & pteWant) !== pteWant || (roPinCheck && (pte & _PAGE_RW) === 0)) break;
    const page = pte >>> 7;
    if (page < smallStart) break;
    // try_get_compound_head(): add unless zero or negative, from the guess "mapped once".
    const idx = refBase + page * pageWords;
    let v = 1;
    let seen = Atomics.compareExchange(i32, idx, v, v + refs);
    while (seen !== v && seen > 0) {
      v = seen;
      seen = Atomics.compareExchange(i32, idx, v, (v + refs) | 0);
    }
    if (seen !== v) break;
    if (twoStep) Atomics.add(i32, idx, GUP_PIN_COUNTING_BIAS - 1);
    if ((recheckPmd && Atomics.load(i32, pmdBase + (vpn >>> 9)) !== pmd) || Atomics.load(i32, pteIdx0 + i) !== pte) {
      if (pin) k.vmstatAdd(NR_FOLL_PIN_ACQUIRED, i + 1);
      k.vmstatAdd(VMSTAT.gup_fast_pte_changed, 1);
      undo_grab(page, 1, flags);
      return ~i;
    }
    pages[off + i] = page;
  }
  if (pin && i !== 0) k.vmstatAdd(NR_FOLL_PIN_ACQUIRED, i);
  return i;
}

/**
 * internal_get_user_pages_fast(): gup-fast, then the slow path for whatever it could not take.
 * If the fast pass took k > 0 pages and the slow remainder fails, it returns k: the caller has to
 * release the pages already taken.
 */
function internal_get_user_pages_fast(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray): number {
  const k = current;
  if (k.WARN_ON_ONCE((gup_flags & ~k.spec.fastAllowedFlags) !== 0, 'internal_get_user_pages_fast:flags')) return -EINVAL;
  if (!(nr_pages > 0)) return 0;
  const vpn = vpnRange(k, start, nr_pages);
  if (vpn < 0) return -EFAULT;
  const pin = (gup_flags & FOLL_PIN) !== 0;
  if (pin) mm_set_has_pinned_flag(mm);
  // v6.3/mm/gup.c:2911-2944: a FOLL_PIN walk reads write_protect_seq first (odd: fork is
  // write-protecting, go slow) and undoes everything if it changed meanwhile. The fault
  // gup-fast-no-wp-seq (native before 57efa1fe5957: rfc-2019, v5.7) reads none.
  const seqIdx = mm.base + MM.WRITE_PROTECT_SEQ;
  const wpSeq = pin && !k.fault('gup-fast-no-wp-seq');
  const seq = wpSeq ? k.mem.load(seqIdx) : 0;
  // v5.7/mm/gup.c:2795-2804 (17839856fd58): the fast walk asks for writable entries even for reads.
  const walkFlags = k.spec.gupBreaksCow ? gup_flags | FOLL_WRITE : gup_flags;
  let nr = (seq & 1) !== 0 ? 0 : gup_fast(k, mm, vpn, nr_pages, walkFlags, pages, 0);
  if (wpSeq && nr > 0 && k.mem.load(seqIdx) !== seq) {
    unpin_user_pages(pages, nr); // unpin_user_pages_lockless()
    nr = 0;
  }
  if (nr === nr_pages) return nr;
  k.vmstatAdd(VMSTAT.gup_fast_fallback, 1);
  const ret = __gup_longterm_unlocked(mm, vpn + nr, nr_pages - nr, gup_flags, pages, nr);
  if (ret < 0) return nr > 0 ? nr : ret;
  return nr + ret;
}

function slow_entry(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null, longterm_path: boolean): number {
  mmap_assert_locked(mm);
  if (!(nr_pages > 0)) return 0;
  const vpn = vpnRange(current, start, nr_pages);
  if (vpn < 0) return -EFAULT;
  if ((gup_flags & FOLL_PIN) !== 0) mm_set_has_pinned_flag(mm);
  return longterm_path
    ? __gup_longterm_locked(mm, vpn, nr_pages, pages, 0, gup_flags)
    : __get_user_pages_locked(mm, vpn, nr_pages, pages, 0, gup_flags);
}

// ---- the exported family -----------------------------------------------------------------

/**
 * One exported entry point's argument check, as its era's tree has it (EraSpec.gupArgRules).
 * Returns the flags to use, or INVALID.
 *
 *  - rfc-2019 rules (the postings, v5.7): a get_* entry WARNs on FOLL_PIN, a pin_* entry on
 *    FOLL_GET, and returns -EINVAL.
 *  - is_valid_gup_args (v6.3/mm/gup.c:2103-2155): a caller's FOLL_PIN, FOLL_TRIED or FOLL_REMOTE
 *    (internal only), FOLL_GET and FOLL_PIN together, FOLL_LONGTERM without FOLL_PIN, or GET/PIN
 *    without a pages array: one WARN each, and the entry returns `invalid` (-EINVAL, or 0 for
 *    pin_user_pages and pin_user_pages_remote: v6.3/mm/gup.c:3121, 3152).
 */
const INVALID = -1;
interface Entry {
  readonly pin: boolean;
  /** The flags the entry sets (is_valid_gup_args' to_set). */
  readonly toSet: number;
  /** What the entry returns for invalid arguments under is_valid_gup_args. */
  readonly invalid: number;
  readonly site: WarnSite;
}

function gup_args(e: Entry, gup_flags: number, pages: PageArray | null): number {
  const k = current;
  if (k.spec.gupArgRules === 'rfc-2019') {
    if (k.WARN_ON_ONCE((gup_flags & (e.pin ? FOLL_GET : FOLL_PIN)) !== 0, e.site)) return INVALID;
    return gup_flags | e.toSet;
  }
  if (k.WARN_ON_ONCE((gup_flags & (FOLL_PIN | FOLL_TRIED | FOLL_REMOTE)) !== 0, 'is_valid_gup_args:internal flag')) return INVALID;
  const flags = gup_flags | e.toSet;
  if (k.WARN_ON_ONCE((flags & (FOLL_PIN | FOLL_GET)) === (FOLL_PIN | FOLL_GET), 'is_valid_gup_args:FOLL_GET|FOLL_PIN')) return INVALID;
  if (k.WARN_ON_ONCE((flags & FOLL_PIN) === 0 && (flags & FOLL_LONGTERM) !== 0, 'is_valid_gup_args:FOLL_LONGTERM without FOLL_PIN')) return INVALID;
  if (k.WARN_ON_ONCE((flags & (FOLL_GET | FOLL_PIN)) !== 0 && pages === null, 'is_valid_gup_args:no pages')) return INVALID;
  return flags;
}

/** The value an entry returns for arguments its era refuses. */
function invalid(e: Entry): number {
  return current.spec.gupArgRules === 'rfc-2019' ? -EINVAL : e.invalid;
}

const GUP_FAST: Entry = { pin: false, toSet: FOLL_GET, invalid: -EINVAL, site: 'get_user_pages_fast:FOLL_PIN' };
const PUP_FAST: Entry = { pin: true, toSet: FOLL_PIN, invalid: -EINVAL, site: 'pin_user_pages_fast:FOLL_GET' };
const PLP_FAST: Entry = { pin: true, toSet: FOLL_PIN | FOLL_LONGTERM, invalid: -EINVAL, site: 'pin_longterm_pages_fast:FOLL_GET' };
const GUP: Entry = { pin: false, toSet: FOLL_TOUCH, invalid: -EINVAL, site: 'get_user_pages:FOLL_PIN' };
const GUP_REMOTE: Entry = { pin: false, toSet: FOLL_TOUCH | FOLL_REMOTE, invalid: -EINVAL, site: 'get_user_pages_remote:FOLL_PIN' };
const PUP: Entry = { pin: true, toSet: FOLL_PIN, invalid: 0, site: 'pin_user_pages:FOLL_GET' };
const PLP: Entry = { pin: true, toSet: FOLL_PIN | FOLL_LONGTERM, invalid: 0, site: 'pin_longterm_pages:FOLL_GET' };
const PUP_REMOTE: Entry = { pin: true, toSet: FOLL_PIN | FOLL_TOUCH | FOLL_REMOTE, invalid: 0, site: 'pin_user_pages_remote:FOLL_GET' };
const PLP_REMOTE: Entry = {
  pin: true, toSet: FOLL_PIN | FOLL_LONGTERM | FOLL_TOUCH | FOLL_REMOTE, invalid: 0, site: 'pin_longterm_pages_remote:FOLL_GET',
};

/**
 * get_user_pages_fast() — take plain (FOLL_GET) references without mmap_lock, falling back to the
 * slow path. Case 4 (struct page manipulation only). FOLL_PIN from a caller: WARN, -EINVAL.
 * Returns the number of pages taken (maybe fewer than asked), 0 for nr_pages <= 0, or -errno.
 */
export function get_user_pages_fast(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray): number {
  const flags = gup_args(GUP_FAST, gup_flags, pages);
  if (flags === INVALID) return invalid(GUP_FAST);
  // The postings' gup-fast takes a plain reference with neither flag set; v5.7 sets FOLL_GET
  // (v5.7/mm/gup.c:2861): the same reference.
  return internal_get_user_pages_fast(mm, start, nr_pages, current.spec.gupArgRules === 'rfc-2019' ? gup_flags : flags, pages);
}

/**
 * pin_user_pages_fast() — FOLL_PIN without mmap_lock; release with unpin_user_page(s).
 * Case 1 (DIO), not Case 2 (RDMA). FOLL_GET from a caller: WARN, -EINVAL.
 */
export function pin_user_pages_fast(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray): number {
  const flags = gup_args(PUP_FAST, gup_flags, pages);
  if (flags === INVALID) return invalid(PUP_FAST);
  return internal_get_user_pages_fast(mm, start, nr_pages, flags, pages);
}

/**
 * pin_longterm_pages_fast() — FOLL_PIN | FOLL_LONGTERM without mmap_lock. Case 2 (RDMA): CMA and
 * movable pages are migrated before the pin holds; DAX refuses with -EOPNOTSUPP. The postings'
 * name; from v5.7 it is pin_user_pages_fast(FOLL_LONGTERM), which is what it does there.
 */
export function pin_longterm_pages_fast(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray): number {
  const flags = gup_args(PLP_FAST, gup_flags, pages);
  if (flags === INVALID) return invalid(PLP_FAST);
  return internal_get_user_pages_fast(mm, start, nr_pages, flags, pages);
}

/**
 * get_user_pages() — FOLL_GET references with mmap_lock held by the caller (Case 4). `pages` may be
 * null (fault in only). FOLL_PIN from a caller: WARN, -EINVAL (and, under is_valid_gup_args,
 * FOLL_LONGTERM without FOLL_PIN too).
 */
export function get_user_pages(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null): number {
  const flags = gup_args(GUP, gup_flags, pages);
  if (flags === INVALID) return invalid(GUP);
  return slow_entry(mm, start, nr_pages, flags, pages, true);
}

/** get_user_pages_remote() — as get_user_pages() on another process's mm (caller holds its mmap_lock). */
export function get_user_pages_remote(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null): number {
  const flags = gup_args(GUP_REMOTE, gup_flags, pages);
  if (flags === INVALID) return invalid(GUP_REMOTE);
  return slow_entry(mm, start, nr_pages, flags, pages, true);
}

/**
 * pin_user_pages() — FOLL_PIN with mmap_lock held by the caller (Case 1). FOLL_GET: WARN, and
 * -EINVAL (rfc-2019, v5.7) or 0 (v6.3+).
 */
export function pin_user_pages(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null): number {
  const flags = gup_args(PUP, gup_flags, pages);
  if (flags === INVALID) return invalid(PUP);
  return slow_entry(mm, start, nr_pages, flags, pages, true);
}

/** pin_longterm_pages() — FOLL_PIN | FOLL_LONGTERM with mmap_lock held by the caller (Case 2). */
export function pin_longterm_pages(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null): number {
  const flags = gup_args(PLP, gup_flags, pages);
  if (flags === INVALID) return invalid(PLP);
  return slow_entry(mm, start, nr_pages, flags, pages, true);
}

/**
 * pin_user_pages_remote() — FOLL_PIN on another process's mm (caller holds its mmap_lock). The
 * postings route it through __get_user_pages_locked (no longterm migration); v6.3 through
 * __gup_longterm_locked (v6.3/mm/gup.c:3122), which for a non-longterm pin is the same call.
 */
export function pin_user_pages_remote(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null): number {
  const flags = gup_args(PUP_REMOTE, gup_flags, pages);
  if (flags === INVALID) return invalid(PUP_REMOTE);
  return slow_entry(mm, start, nr_pages, flags, pages, current.spec.gupArgRules !== 'rfc-2019');
}

/**
 * pin_longterm_pages_remote() — FOLL_PIN | FOLL_LONGTERM on another process's mm. Unlike the
 * postings (which skipped it), the model runs the longterm migration loop here, as later kernels do.
 */
export function pin_longterm_pages_remote(mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: PageArray | null): number {
  const flags = gup_args(PLP_REMOTE, gup_flags, pages);
  if (flags === INVALID) return invalid(PLP_REMOTE);
  return slow_entry(mm, start, nr_pages, flags, pages, true);
}

// ---- release -----------------------------------------------------------------------------

/** unpin_user_page() — release one page taken by pin_user_pages*(). */
export function unpin_user_page(page: number): void {
  const k = current;
  __put_compound_head(k, folioHead(k.layout, page), 1, FOLL_PIN);
}

/** unpin_user_pages() — release npages pins; negative entries (NULL) are skipped; a -errno count WARNs. */
export function unpin_user_pages(pages: PageArray, npages: number): void {
  const k = current;
  if (k.WARN_ON_ONCE(npages < 0, 'unpin_user_pages:IS_ERR_VALUE')) return;
  let i = 0;
  // stats-after-put moves the statistic behind each put: put_compound_head keeps that order.
  if (k.mem.hook === null && k.mem.dirty === null && k.unpinSmallPath === true) i = unpin_user_pages_small(k, pages, npages);
  if (k.spec.unpinPerFolio) {
    for (; i < npages; ) {
      const nr = gup_folio_next(k, pages, npages, i);
      const page = pages[i]!;
      if (page >= 0) __put_compound_head(k, folioHead(k.layout, page), nr, FOLL_PIN);
      i += nr;
    }
    return;
  }
  for (; i < npages; i++) {
    const page = pages[i]!;
    if (page >= 0) __put_compound_head(k, folioHead(k.layout, page), 1, FOLL_PIN);
  }
}

/**
 * gup_folio_next() (v6.3/mm/gup.c:276): how many entries from `i` on belong to the folio of
 * pages[i] (NULL entries each form a run of one).
 */
function gup_folio_next(k: KernelContext, pages: PageArray, npages: number, i: number): number {
  const first = pages[i]!;
  if (first < 0) return 1;
  const head = folioHead(k.layout, first);
  let nr = i + 1;
  while (nr < npages) {
    const p = pages[nr]!;
    if (p < 0 || folioHead(k.layout, p) !== head) break;
    nr++;
  }
  return nr - i;
}

/**
 * unpin_user_pages() specialised for its common case: small pages (its own head, the bias in
 * every era), no fault enabled and no access hook installed — one bare Atomics.sub per page.
 * nr_foll_pin_released is raised once for the run. Returns how many entries it released; the
 * caller goes on from the first entry that is not a small page (NULL, or a large folio).
 */
function unpin_user_pages_small(k: KernelContext, pages: PageArray, npages: number): number {
  const i32 = k.mem.i32;
  const smallStart = k.layout.smallStart;
  const refBase = k.layout.pageOff + PG.REFCOUNT;
  const genBase = k.layout.pageOff + PG.GEN;
  const zoneBase = k.layout.pageOff + PG.ZONE;
  const pageWords = STRUCT_PAGE_WORDS;
  const bias = GUP_PIN_COUNTING_BIAS;
  // rfc-2019 and v5.7 touch the page for the statistic after the put (fault stats-after-put).
  const late = k.fault('stats-after-put');
  const kasan = late && k.kasan;
  let counted = 0;
  let i = 0;
  for (; i < npages; i++) {
    const page = pages[i]!;
    if (page < smallStart) break;
    const gen = kasan ? Atomics.load(i32, genBase + page * pageWords) : 0;
    const old = Atomics.sub(i32, refBase + page * pageWords, bias);
    if (old <= bias) {
      // The final put (frees the page) or an underflow (BUG): count the releases so far first.
      k.vmstatAdd(NR_FOLL_PIN_RELEASED, i + 1 - counted);
      counted = i + 1;
      put_page_refs_last(k, page, bias, old);
    }
    // page_pgdat() after the put: a bare load of the page's zone word, or the model's KASAN check.
    if (kasan) page_pgdat_after_put(k, page, gen);
    else if (late) Atomics.load(i32, zoneBase + page * pageWords);
  }
  if (i !== counted) k.vmstatAdd(NR_FOLL_PIN_RELEASED, i - counted);
  return i;
}

/**
 * unpin_user_pages_dirty_lock() — for each page: if make_dirty and the page is clean,
 * set_page_dirty_lock(); then unpin. The fault unpin-without-dirty skips the dirtying.
 */
export function unpin_user_pages_dirty_lock(pages: PageArray, npages: number, make_dirty: boolean): void {
  // Stryker disable next-line all: fault switch, covered by test/faults
  const skipDirty = current.fault('unpin-without-dirty');
  if (!make_dirty || skipDirty) {
    unpin_user_pages(pages, npages);
    return;
  }
  const k = current;
  if (k.WARN_ON_ONCE(npages < 0, 'unpin_user_pages:IS_ERR_VALUE')) return;
  // v6.3+ (v6.3/mm/gup.c:313-336): one folio_mark_dirty and one gup_put_folio(nr) per folio run;
  // earlier trees, one page at a time (v5.7/mm/gup.c unpin_user_pages_dirty_lock).
  const perFolio = k.spec.unpinPerFolio;
  for (let i = 0; i < npages; ) {
    const nr = perFolio ? gup_folio_next(k, pages, npages, i) : 1;
    const page = pages[i]!;
    i += nr;
    if (page < 0) continue;
    if (!PageDirty(page)) set_page_dirty_lock(page);
    __put_compound_head(k, folioHead(k.layout, page), nr, FOLL_PIN);
  }
}

/** The seed's names (fc1d8e7cca2d), renamed to unpin_* in f1f6a7dd9b53. */
export const put_user_page = unpin_user_page;
export const put_user_pages = unpin_user_pages;
export const put_user_pages_dirty_lock = unpin_user_pages_dirty_lock;
