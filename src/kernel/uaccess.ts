/**
 * The CPU's own accesses to user memory: get_user() / put_user() of one data word, through the
 * process's page table, faulting as a user access does (a write to a read-only private anon entry
 * is do_wp_page: COW). The access is made under the entry's PT lock, so it is atomic with respect
 * to every PTE change (a TLB that is always flushed in time; Jann Horn's fork-snapshot race of
 * kernel-notes 4.4 is not modelled).
 */
import { EFAULT } from './constants.js';
import { current } from './current.js';
import { handle_mm_fault, leaf_ptl } from './fault.js';
import { page_data } from './filemap.js';
import { type MmStruct, PAGE_SIZE, find_vma, mmap_read_lock, mmap_read_unlock } from './mm.js';
import { _PAGE_PRESENT, _PAGE_RW, spin_lock, spin_unlock, walk, newWalk } from './pgtable.js';


/** One access: 0 or -errno; `out[0]` receives the pfn reached, `out[1]` the word read. */
function access_user_word(mm: MmStruct, addr: number, word: number, write: boolean, value: number, out: Int32Array): number {
  const m = current.mem;
  const vpn = Math.floor(addr / PAGE_SIZE);
  if (!(word >= 0 && word < current.layout.config.wordsPerPage) || vpn < 0 || vpn >= mm.vaPages) return -EFAULT;
  const uWalk = newWalk();
  mmap_read_lock(mm);
  try {
    for (;;) {
      const w = walk(mm.pt, vpn, uWalk);
      const ptl = leaf_ptl(mm.pt, vpn, w.order);
      spin_lock(ptl);
      const e = m.load(w.idx);
      if ((e & _PAGE_PRESENT) !== 0 && (!write || (e & _PAGE_RW) !== 0)) {
        const pfn = (e >>> 7) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0);
        const at = page_data(pfn) + word;
        if (write) m.store(at, value);
        else out[1] = m.load(at);
        spin_unlock(ptl);
        out[0] = pfn;
        return 0;
      }
      spin_unlock(ptl);
      const vma = find_vma(mm, vpn);
      if (vma === null) return -EFAULT;
      const ret = handle_mm_fault(mm, vma, vpn, write);
      if (ret < 0) return ret;
    }
  } finally {
    mmap_read_unlock(mm);
  }
}

/**
 * get_user(): the data word `word` of the page mapped at `addr` in `mm` (faulting it in). Returns
 * the value, or throws a RangeError for an address outside every VMA (user space would SIGSEGV).
 * `pfn`, when given, receives the frame read.
 */
export function get_user(mm: MmStruct, addr: number, word: number, pfn: Int32Array | null = null): number {
  const out = pfn !== null && pfn.length >= 2 ? pfn : new Int32Array(2);
  const r = access_user_word(mm, addr, word, false, 0, out);
  if (r < 0) throw new RangeError(`get_user: no mapping at ${addr} in mm ${mm.id} (${r})`);
  if (pfn !== null && pfn !== out) pfn[0] = out[0]!;
  return out[1]!;
}

/**
 * put_user(): store `value` into data word `word` of the page at `addr` in `mm`, write-faulting
 * it first (COW of a shared anon page). Returns 0 or -errno (-EFAULT: no writable mapping).
 * `pfn`, when given, receives the frame written.
 */
export function put_user(mm: MmStruct, addr: number, word: number, value: number, pfn: Int32Array | null = null): number {
  const out = pfn !== null && pfn.length >= 2 ? pfn : new Int32Array(2);
  const r = access_user_word(mm, addr, word, true, value, out);
  if (pfn !== null && pfn !== out) pfn[0] = out[0]!;
  return r;
}
