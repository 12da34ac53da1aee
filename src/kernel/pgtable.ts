/**
 * Page-table entries and their walk. Each mm has flat PUD (1 GB), PMD (2 MB) and PTE (4 KB)
 * arrays in the SAB; a PUD or PMD entry with _PAGE_HUGE set is a leaf mapping a hugetlb page.
 * One 32-bit word per entry, so a PTE is read and replaced atomically as in the kernel.
 */
import { PMD_ORDER, PUD_ORDER } from '../mem/layout.js';
import { current } from './current.js';

export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_DIRTY = 1 << 2;
export const _PAGE_ACCESSED = 1 << 3;
export const _PAGE_HUGE = 1 << 4; // PMD/PUD leaf
export const _PAGE_MIGRATION = 1 << 5; // a non-present migration entry (swp_entry)
export const _PAGE_DEVMAP = 1 << 6;
const PFN_SHIFT = 7;

export const pte_present = (pte: number): boolean => (pte & _PAGE_PRESENT) !== 0;
export const pte_write = (pte: number): boolean => (pte & _PAGE_RW) !== 0;
export const pte_dirty = (pte: number): boolean => (pte & _PAGE_DIRTY) !== 0;
export const pte_huge = (pte: number): boolean => (pte & _PAGE_HUGE) !== 0;
export const pte_devmap = (pte: number): boolean => (pte & _PAGE_DEVMAP) !== 0;
export const is_migration_entry = (pte: number): boolean => (pte & (_PAGE_MIGRATION | _PAGE_PRESENT)) === _PAGE_MIGRATION;
export const pte_none = (pte: number): boolean => pte === 0;
export const pte_pfn = (pte: number): number => pte >>> PFN_SHIFT;
export const pfn_pte = (pfn: number, bits: number): number => ((pfn << PFN_SHIFT) | bits) | 0;
/** pte_wrprotect(): clear the write bit only; the dirty bit stays (a fork's COW child keeps it, v6.3/mm/memory.c:939-941). */
export const pte_wrprotect = (pte: number): number => pte & ~_PAGE_RW;
/** pte_mkclean(): clear the dirty bit (page_mkclean_one pairs it with pte_wrprotect, v6.3/mm/rmap.c:965-966). */
export const pte_mkclean = (pte: number): number => pte & ~_PAGE_DIRTY;
export const make_migration_entry = (pfn: number, write: boolean): number =>
  pfn_pte(pfn, _PAGE_MIGRATION | (write ? _PAGE_RW : 0));

/** Word indices of one mm's page-table arrays. */
export class PageTables {
  readonly pudBase: number;
  readonly pmdBase: number;
  readonly pteBase: number;
  readonly ptlBase: number;
  constructor(mmId: number) {
    const l = current.layout;
    this.pudBase = l.pgtOff + mmId * l.pgtWordsPerMm;
    this.pmdBase = this.pudBase + l.pudEntries;
    this.pteBase = this.pmdBase + l.pmdEntries;
    this.ptlBase = this.pteBase + l.vaPages;
  }
  pud(vpn: number): number {
    return this.pudBase + (vpn >>> PUD_ORDER);
  }
  pmd(vpn: number): number {
    return this.pmdBase + (vpn >>> PMD_ORDER);
  }
  pte(vpn: number): number {
    return this.pteBase + vpn;
  }
  /** pte_lockptr(): the split PTE lock guarding this PMD's table. */
  ptl(vpn: number): number {
    return this.ptlBase + (vpn >>> PMD_ORDER);
  }
}

/**
 * A futex-style spinlock word (0 free, 1 held, 2 held with waiters): the page-table lock that
 * the slow GUP path and every mm-side PTE change take. gup-fast takes none.
 */
export function spin_lock(idx: number): void {
  spin_acquire(idx);
  current.lockdep?.acquired(idx);
}

function spin_acquire(idx: number): void {
  const m = current.mem;
  let c = m.cas(idx, 0, 1);
  if (c === 0) return;
  for (let spins = 0; spins < 100; spins++) {
    c = m.cas(idx, 0, 1);
    if (c === 0) return;
  }
  if (c !== 2) c = m.xchg(idx, 2);
  while (c !== 0) {
    m.wait(idx, 2, 5);
    c = m.xchg(idx, 2);
  }
}

export function spin_unlock(idx: number): void {
  current.lockdep?.released(idx);
  const m = current.mem;
  if (m.xchg(idx, 0) === 2) m.notify(idx, 1);
}

/** The entry that maps vpn: which word, its value, and the order it maps (0, 9 or 18). */
export interface Walk {
  idx: number;
  entry: number;
  order: number;
}

/**
 * A walk result of the caller's own. Not a module-level scratch one: in the in-thread explore
 * engine every participant runs this code on one thread, and another may walk between a walk and
 * the use of its result.
 */
export function newWalk(): Walk {
  // Stryker disable next-line ObjectLiteral: walk() writes every field before any is read
  return { idx: 0, entry: 0, order: 0 };
}

/** Lockless walk (gup-fast's READ_ONCE of pud, pmd, pte). */
export function walk(pt: PageTables, vpn: number, out: Walk): Walk {
  const m = current.mem;
  const pudIdx = pt.pud(vpn);
  const pud = m.load(pudIdx);
  if (pud !== 0 && pte_huge(pud)) {
    out.idx = pudIdx;
    out.entry = pud;
    out.order = PUD_ORDER;
    return out;
  }
  const pmdIdx = pt.pmd(vpn);
  const pmd = m.load(pmdIdx);
  if (pmd !== 0 && pte_huge(pmd)) {
    out.idx = pmdIdx;
    out.entry = pmd;
    out.order = PMD_ORDER;
    return out;
  }
  out.idx = pt.pte(vpn);
  out.entry = m.load(out.idx);
  out.order = 0;
  return out;
}
