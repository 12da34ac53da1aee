// What the oracle tests share: fault pages in on one thread and find the frame behind an address.
import { expect } from 'vitest';
import * as K from '../../src/kernel/index.js';

/** Bytes per page. */
export const PAGE = 4096;

/** Fault `nr` pages in at `addr` for writing (get_user_pages under the mmap lock), all of them. */
export function populate(mm: K.MmStruct, addr: number, nr: number): void {
  K.mmap_read_lock(mm);
  expect(K.get_user_pages(mm, addr, nr, K.FOLL_WRITE, null)).toBe(nr);
  K.mmap_read_unlock(mm);
}

/** The pfn mapped at `addr` (a subpage of a huge leaf included). */
export function pfnAt(mm: K.MmStruct, addr: number): number {
  const vpn = addr / PAGE;
  const w = K.walk(mm.pt, vpn, { idx: 0, entry: 0, order: 0 });
  return K.pte_pfn(w.entry) + (w.order !== 0 ? vpn & ((1 << w.order) - 1) : 0);
}
