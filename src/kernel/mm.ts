/**
 * mm_struct: the mmap_lock (a reader-writer semaphore on Atomics.wait/notify), MMF_* flags,
 * write_protect_seq, and the VMA table, all in the SAB so every thread sees one address space.
 */
import { MM, PMD_ORDER, PUD_ORDER, VMA, VMA_KIND, VMA_WORDS, VM_SHARED, VM_WRITE, type VmaKind } from '../mem/layout.js';
import { EINVAL, ENOMEM } from './constants.js';
import { current } from './current.js';
import { PageTables, spin_lock, spin_unlock } from './pgtable.js';
import { MAX_FOLIO_ORDER } from './alloc.js';

export const PAGE_SIZE = 4096;

export class MmStruct {
  readonly base: number;
  readonly pt: PageTables;
  /** This thread has seen MMF_HAS_PINNED set (it is never cleared). */
  hasPinnedSeen = false;
  constructor(readonly id: number) {
    const l = current.layout;
    if (!Number.isInteger(id) || id < 0 || id >= l.config.nrMms) throw new RangeError(`mm ${id} outside [0, ${l.config.nrMms})`);
    this.base = l.mmOff + id * l.mmWords;
    this.pt = new PageTables(id);
  }
  get lockWord(): number {
    return this.base + MM.MMAP_LOCK;
  }
  /** Pages of virtual address space. */
  get vaPages(): number {
    return current.layout.vaPages;
  }
}

const mmCache = new WeakMap<object, Map<number, MmStruct>>();

/** The MmStruct handle for an mm id of the current machine (cached per thread and machine). */
export function mm_of(id: number): MmStruct {
  let byId = mmCache.get(current.mem);
  if (byId === undefined) {
    byId = new Map();
    mmCache.set(current.mem, byId);
  }
  let mm = byId.get(id);
  if (mm === undefined) {
    mm = new MmStruct(id);
    byId.set(id, mm);
  }
  return mm;
}

/** The VMA table lock: held for VMA edits and rmap walks (the i_mmap_rwsem / anon_vma lock role). */
export function vma_lock(mm: MmStruct): void {
  spin_lock(mm.base + MM.VMA_LOCK);
}
export function vma_unlock(mm: MmStruct): void {
  spin_unlock(mm.base + MM.VMA_LOCK);
}

/** A VMA as read from the table (a snapshot; valid while the caller holds mmap_lock). */
export interface Vma {
  slot: number;
  start: number; // first vpn
  end: number; // one past the last vpn
  kind: VmaKind;
  flags: number;
  file: number;
  pgoff: number;
  order: number;
}

// ---- mmap_lock -------------------------------------------------------------------------

/** mmap_read_lock(): shared; waits while a writer holds or waits for the lock (no writer starvation). */
export function mmap_read_lock(mm: MmStruct): void {
  const m = current.mem;
  const lw = mm.lockWord;
  const ww = mm.base + MM.MMAP_LOCK_WAITERS;
  for (;;) {
    const v = m.load(lw);
    if (v >= 0 && m.load(ww) === 0) {
      if (m.cas(lw, v, v + 1) === v) break;
      continue;
    }
    m.wait(lw, v, 2);
  }
  current.readLocks.set(mm.id, (current.readLocks.get(mm.id) ?? 0) + 1);
  current.lockdep?.acquired(lw);
}

export function mmap_read_trylock(mm: MmStruct): boolean {
  const m = current.mem;
  const v = m.load(mm.lockWord);
  if (v < 0 || m.load(mm.base + MM.MMAP_LOCK_WAITERS) !== 0 || m.cas(mm.lockWord, v, v + 1) !== v) return false;
  current.readLocks.set(mm.id, (current.readLocks.get(mm.id) ?? 0) + 1);
  current.lockdep?.acquired(mm.lockWord);
  return true;
}

export function mmap_read_unlock(mm: MmStruct): void {
  const held = current.readLocks.get(mm.id) ?? 0;
  if (held === 0) current.BUG('mmap_lock:unbalanced unlock', `mm ${mm.id} read unlock without the lock`);
  if (held === 1) current.readLocks.delete(mm.id);
  else current.readLocks.set(mm.id, held - 1);
  current.lockdep?.released(mm.lockWord);
  const old = current.mem.sub(mm.lockWord, 1);
  if (old === 1) current.mem.notify(mm.lockWord);
}

export function mmap_write_lock(mm: MmStruct): void {
  const m = current.mem;
  const lw = mm.lockWord;
  const ww = mm.base + MM.MMAP_LOCK_WAITERS;
  m.add(ww, 1);
  for (;;) {
    const v = m.cas(lw, 0, -1);
    if (v === 0) break;
    m.wait(lw, v, 2);
  }
  m.sub(ww, 1);
  current.writeLocks.add(mm.id);
  current.lockdep?.acquired(lw);
}

export function mmap_write_unlock(mm: MmStruct): void {
  if (!current.writeLocks.delete(mm.id)) current.BUG('mmap_lock:unbalanced unlock', `mm ${mm.id} write unlock without the lock`);
  current.lockdep?.released(mm.lockWord);
  current.mem.store(mm.lockWord, 0);
  current.mem.notify(mm.lockWord);
}

/** mmap_assert_locked(): lockdep's check that this thread holds the lock (WARN, never throws). */
export function mmap_assert_locked(mm: MmStruct): boolean {
  const ok = current.writeLocks.has(mm.id) || (current.readLocks.get(mm.id) ?? 0) > 0;
  return !current.WARN_ON_ONCE(!ok, 'mmap_assert_locked');
}

// ---- VMAs --------------------------------------------------------------------------------

function vmaWord(mm: MmStruct, slot: number, f: number): number {
  return mm.base + MM.VMAS + slot * VMA_WORDS + f;
}

function readVma(mm: MmStruct, slot: number): Vma {
  const m = current.mem;
  return {
    slot,
    start: m.load(vmaWord(mm, slot, VMA.START)),
    end: m.load(vmaWord(mm, slot, VMA.END)),
    kind: m.load(vmaWord(mm, slot, VMA.KIND)) as VmaKind,
    flags: m.load(vmaWord(mm, slot, VMA.FLAGS)),
    file: m.load(vmaWord(mm, slot, VMA.FILE)),
    pgoff: m.load(vmaWord(mm, slot, VMA.PGOFF)),
    order: m.load(vmaWord(mm, slot, VMA.ORDER)),
  };
}

export function writeVma(mm: MmStruct, slot: number, v: Omit<Vma, 'slot'>): void {
  const m = current.mem;
  m.store(vmaWord(mm, slot, VMA.START), v.start);
  m.store(vmaWord(mm, slot, VMA.END), v.end);
  m.store(vmaWord(mm, slot, VMA.KIND), v.kind);
  m.store(vmaWord(mm, slot, VMA.FLAGS), v.flags);
  m.store(vmaWord(mm, slot, VMA.FILE), v.file);
  m.store(vmaWord(mm, slot, VMA.PGOFF), v.pgoff);
  m.store(vmaWord(mm, slot, VMA.ORDER), v.order);
  m.add(mm.base + MM.VMA_GEN, 1);
}

export function vmas(mm: MmStruct): Vma[] {
  const n = current.mem.load(mm.base + MM.NR_VMAS);
  const out: Vma[] = [];
  for (let s = 0; s < n; s++) out.push(readVma(mm, s));
  return out;
}

/** find_vma(): the VMA containing vpn, or null. Caller holds mmap_lock. */
export function find_vma(mm: MmStruct, vpn: number): Vma | null {
  const n = current.mem.load(mm.base + MM.NR_VMAS);
  for (let s = 0; s < n; s++) {
    const start = current.mem.load(vmaWord(mm, s, VMA.START));
    if (vpn >= start && vpn < current.mem.load(vmaWord(mm, s, VMA.END))) return readVma(mm, s);
  }
  return null;
}

/** Remove the VMA in `slot` (the last one moves into its place). Caller holds mmap_lock for write. */
export function removeVma(mm: MmStruct, slot: number): void {
  const m = current.mem;
  const n = m.load(mm.base + MM.NR_VMAS);
  if (slot !== n - 1) {
    const last = readVma(mm, n - 1);
    writeVma(mm, slot, last);
  }
  m.store(mm.base + MM.NR_VMAS, n - 1);
  m.add(mm.base + MM.VMA_GEN, 1);
}

export function insertVma(mm: MmStruct, v: Omit<Vma, 'slot'>): number {
  const m = current.mem;
  const n = m.load(mm.base + MM.NR_VMAS);
  if (n >= current.layout.config.maxVmas) return -ENOMEM;
  writeVma(mm, n, v);
  m.store(mm.base + MM.NR_VMAS, n + 1);
  return n;
}

export type MapKind = 'anon' | 'file' | 'dax' | 'cma' | 'hugetlb';
export const MAP_KINDS: Record<MapKind, VmaKind> = {
  anon: VMA_KIND.ANON, file: VMA_KIND.FILE, dax: VMA_KIND.DAX, cma: VMA_KIND.CMA, hugetlb: VMA_KIND.HUGETLB,
};

export interface MmapRequest {
  /** Length in bytes (rounded up to a page, or to the huge page size). */
  length: number;
  kind: MapKind;
  /** PROT_WRITE (reads are always allowed). Default true. */
  write?: boolean;
  /** File id for kind 'file' and 'dax' (file mappings are MAP_SHARED). */
  file?: number;
  /** Byte offset into the file. */
  offset?: number;
  /** Folio order: anon 0..5 (PTE-mapped large folios), hugetlb 9 (2 MB) or 18 (1 GB). */
  order?: number;
  /** MAP_FIXED address in bytes. */
  addr?: number;
}

/**
 * do_mmap() (vm_mmap: takes mmap_lock for write). Returns the start address in bytes or -errno.
 * No pages are populated: the first access or GUP faults them in.
 */
export function do_mmap(mm: MmStruct, req: MmapRequest): number {
  const kind = MAP_KINDS[req.kind];
  if (kind === undefined) return -EINVAL;
  const order = req.order ?? (req.kind === 'hugetlb' ? PMD_ORDER : 0);
  if (req.kind === 'hugetlb' ? order !== PMD_ORDER && order !== PUD_ORDER : order < 0 || order > MAX_FOLIO_ORDER) return -EINVAL;
  if ((req.kind === 'file' || req.kind === 'dax') && (req.file === undefined || req.file < 0 || req.file >= current.layout.config.nrFiles)) return -EINVAL;
  if (!(req.length > 0)) return -EINVAL;
  const align = 1 << order;
  const pages = Math.ceil(req.length / PAGE_SIZE / align) * align;
  const offset = req.offset ?? 0;
  if (offset % PAGE_SIZE !== 0) return -EINVAL;
  const pgoff = offset / PAGE_SIZE;
  if (req.kind === 'file' || req.kind === 'dax') {
    if (pgoff + pages > current.layout.config.filePages) return -EINVAL;
  }
  mmap_write_lock(mm);
  try {
    let start: number;
    if (req.addr !== undefined) {
      if (req.addr % (PAGE_SIZE * align) !== 0) return -EINVAL;
      start = req.addr / PAGE_SIZE;
      if (start + pages > mm.vaPages || overlaps(mm, start, start + pages)) return -EINVAL;
    } else {
      start = findFreeRange(mm, pages, align);
      if (start < 0) return -ENOMEM;
    }
    const flags = (req.write ?? true ? VM_WRITE : 0) | (req.kind === 'file' || req.kind === 'dax' ? VM_SHARED : 0) | 1;
    vma_lock(mm);
    const slot = insertVma(mm, { start, end: start + pages, kind, flags, file: req.file ?? 0, pgoff, order });
    vma_unlock(mm);
    if (slot < 0) return slot;
    return start * PAGE_SIZE;
  } finally {
    mmap_write_unlock(mm);
  }
}

function overlaps(mm: MmStruct, start: number, end: number): boolean {
  return vmas(mm).some((v) => v.start < end && start < v.end);
}

/** First fit above a guard page, aligned; VMAs never abut so a walk never runs into a neighbour. */
function findFreeRange(mm: MmStruct, pages: number, align: number): number {
  const taken = vmas(mm).sort((a, b) => a.start - b.start);
  let cand = Math.max(align, 16);
  cand = Math.ceil(cand / align) * align;
  for (const v of taken) {
    if (cand + pages < v.start) return cand;
    cand = Math.ceil((v.end + 1) / align) * align;
  }
  return cand + pages <= mm.vaPages ? cand : -1;
}

