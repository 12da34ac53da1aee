/**
 * The one documented layout of pinlab's SharedArrayBuffer.
 *
 * Everything that more than one thread touches lives in a single Int32Array over one
 * SharedArrayBuffer. Regions, in order (offsets in 32-bit words):
 *
 *   header        16 words: magic, layout version, stop word, run flags
 *   vmstat        per-cpu counter blocks (one 64-byte line per cpu per 16 items), like the
 *                 kernel's per-cpu vmstat diffs; readers sum across cpus
 *   warn          one counter per WARN_ON_ONCE call site, one per BUG site
 *   mm            one block per mm_struct: mmap_lock word, flags (MMF_HAS_PINNED),
 *                 write_protect_seq, VMA count and the VMA table
 *   pgtables      per mm: PUD entries (1 GB), PMD entries (2 MB), PTE entries (4 KB), flat, then
 *                 one page-table spinlock word per PMD entry (split PTE locks)
 *   struct page   16 words (64 bytes, as in the kernel) per frame, so per-page hot words
 *                 of different pages never share a cache line
 *   buddy         allocator bitmaps (one bit per frame; one bit per huge page for hugetlb pools)
 *   page cache    per file: one slot per page index holding pfn+1 (0 = not cached)
 *   backing store per file page: wordsPerPage words (the "disk")
 *   page data     per frame: wordsPerPage words (the page contents)
 *
 * Physical frames are laid out by zone:
 *   [hugetlb 1G pool][hugetlb 2M pool][large-folio pools][normal][movable/CMA][dax]
 * The 1 GB pool comes first so every 1 GB page is naturally aligned; the 2 MB pool follows at a
 * multiple of 512; each large-folio pool (PTE-mapped folios of order 1..5) starts 32-aligned.
 *
 * Folio geometry is fixed at boot, as hugetlb pools are in the kernel: a frame's compound head and
 * order never change, so `folioHead()` derives them from the pfn without touching memory (the
 * struct page fields are still written at boot for readers of the page array). This keeps gup-fast
 * at the protocol's own shared accesses: PTE load, refcount RMW, PTE re-load.
 */

export const LAYOUT_MAGIC = 0x70696e6c; // "pinl"
export const LAYOUT_VERSION = 1;

export const PAGE_SHIFT = 12;
export const PMD_ORDER = 9; // 2 MB
export const PUD_ORDER = 18; // 1 GB
export const PTRS_PER_PMD_PAGE = 1 << PMD_ORDER;
export const PTRS_PER_PUD_PAGE = 1 << PUD_ORDER;

/** Words per struct page; 64 bytes keeps each page's refcount on its own cache line. */
export const STRUCT_PAGE_WORDS = 16;
/** struct page field offsets. */
export const PG = {
  REFCOUNT: 0, // _refcount
  FLAGS: 1, // page flags (PG_*)
  MAPPING: 2, // 0 none, >0 file id + 1, <0 -(mm id + 1) for anon
  INDEX: 3, // file page offset, or the virtual page number for anon
  COMPOUND_HEAD: 4, // head pfn + 1 on tail pages, 0 otherwise
  COMPOUND_ORDER: 5, // on the head page
  PINCOUNT: 6, // hpage_pinned_refcount (v5.7, on page[2]) / folio->_pincount (v6.3, on page[1])
  MAPCOUNT: 7, // number of PTE/PMD/PUD mappings (on the head for huge mappings)
  GEN: 8, // allocation generation, bumped on every allocation of this frame
  ZONE: 9, // zone id (constant after setup)
} as const;

/** Page flag bits (a model of the PG_* bits we need). */
export const PG_locked = 1 << 0;
export const PG_dirty = 1 << 1;
export const PG_writeback = 1 << 2;
export const PG_head = 1 << 3;
export const PG_tail = 1 << 4;
export const PG_lru = 1 << 5;
export const PG_anon = 1 << 6;
export const PG_buddy = 1 << 7; // free, owned by the allocator
export const PG_hugetlb = 1 << 8;
export const PG_uptodate = 1 << 9;
export const PG_private = 1 << 10; // fs buffers attached (kernel-notes 4.1)
export const PG_devmap = 1 << 11; // ZONE_DEVICE / fsdax page
/** PageAnonExclusive (6c287605fd56): this anon page is mapped by one process only and may be pinned. */
export const PG_anon_exclusive = 1 << 12;

export const ZONE = { HUGE_1G: 0, HUGE_2M: 1, FOLIO: 2, NORMAL: 3, MOVABLE: 4, DAX: 5 } as const;
export type ZoneId = (typeof ZONE)[keyof typeof ZONE];
export const NR_ZONES = 6;
export const ZONE_NAMES = ['hugetlb-1G', 'hugetlb-2M', 'large-folio', 'Normal', 'Movable', 'Device(dax)'] as const;

/** mm_struct field offsets. */
export const MM = {
  MMAP_LOCK: 0, // rwsem: readers count, -1 when write-locked
  MMAP_LOCK_WAITERS: 1,
  FLAGS: 2, // MMF_* bits
  WRITE_PROTECT_SEQ: 3, // seqcount, odd while fork write-protects
  NR_VMAS: 4,
  VMA_GEN: 5, // bumped on every VMA table change (for lockless readers to detect churn)
  VMA_LOCK: 6, // spinlock for VMA table edits and rmap walks (the i_mmap_rwsem / anon_vma lock role)
  VMAS: 16, // start of the VMA table
} as const;
export const MMF_HAS_PINNED = 1 << 0;

/** VMA record layout. */
export const VMA_WORDS = 8;
export const VMA = {
  START: 0, // first virtual page number
  END: 1, // one past the last virtual page number
  KIND: 2, // VmaKind
  FLAGS: 3, // VM_* bits
  FILE: 4, // file id for file-backed VMAs
  PGOFF: 5, // file page offset of START
  ORDER: 6, // folio order used to populate this VMA (0, 1..8 PTE-mapped, 9 PMD leaf, 18 PUD leaf)
} as const;
export const VMA_KIND = { ANON: 1, FILE: 2, DAX: 3, CMA: 4, HUGETLB: 5 } as const;
export type VmaKind = (typeof VMA_KIND)[keyof typeof VMA_KIND];
export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_SHARED = 1 << 2;

/** The kernels pinlab models, each one tree or posting (DESIGN.md §3; src/kernel/era/ says what each is). */
export const ERAS = ['rfc-2019', 'v5.7', 'v6.3', 'v6.18'] as const;
export type Era = (typeof ERAS)[number];
/** Old era names that still load: `seed-2019` was the name of `rfc-2019` before eras were trees. */
export const ERA_ALIASES: Readonly<Record<string, Era>> = { 'seed-2019': 'rfc-2019' };

export interface MachineConfig {
  /** Frames in ZONE_NORMAL. */
  normalFrames: number;
  /** Frames in ZONE_MOVABLE / CMA (FOLL_LONGTERM migrates out of here). */
  movableFrames: number;
  /** fsdax device frames (FOLL_LONGTERM refuses these). */
  daxFrames: number;
  /** hugetlb pools, in huge pages. */
  huge2mPages: number;
  huge1gPages: number;
  /** Pools of PTE-mapped large folios (mTHP), by order 1..5: `count` folios each. */
  folioPools: { order: number; count: number }[];
  /** Data words per page (a 4 KB page is modelled by this many 32-bit words). */
  wordsPerPage: number;
  nrMms: number;
  /** Virtual address space per mm, in 4 KB pages; rounded up to a multiple of 2^18 (1 GB). */
  vaPages: number;
  maxVmas: number;
  nrFiles: number;
  /** Pages per file (page cache slots and backing store). */
  filePages: number;
  /** Per-cpu vmstat slots: one per actor thread plus the coordinator. */
  nrCpus: number;
}

export const DEFAULT_CONFIG: MachineConfig = {
  normalFrames: 4096,
  movableFrames: 1024,
  daxFrames: 256,
  huge2mPages: 4,
  huge1gPages: 0,
  folioPools: [
    { order: 1, count: 64 },
    { order: 2, count: 32 },
    { order: 4, count: 8 },
  ],
  wordsPerPage: 16,
  nrMms: 2,
  vaPages: 1 << 18,
  maxVmas: 32,
  nrFiles: 2,
  filePages: 1024,
  nrCpus: 8,
};

export const VMSTAT_ITEMS = [
  'nr_foll_pin_acquired',
  'nr_foll_pin_released',
  'pgfault',
  'gup_fast_fallback',
  'gup_fast_pte_changed',
  'gup_slow_calls',
  'pgmigrate_success',
  'pgmigrate_fail',
  'longterm_migrate_retry',
  'nr_page_alloc',
  'nr_page_free',
  'pin_refused_overflow',
  'nr_dirtied',
  'nr_written',
] as const;
export type VmstatItem = (typeof VMSTAT_ITEMS)[number];
export const VMSTAT_STRIDE = 16; // one 64-byte line per cpu

export interface Layout {
  readonly config: MachineConfig;
  readonly totalFrames: number;
  /** First pfn of each zone, indexed by ZONE id, plus the end at index 5. */
  readonly zoneStart: readonly number[];
  /** First pfn of the small-page zones (Normal, Movable, DAX): every frame from here on is order 0. */
  readonly smallStart: number;
  /** Large-folio pools: first pfn, end pfn, order (sorted by start). */
  readonly pools: readonly { start: number; end: number; order: number }[];
  readonly vaPages: number;
  readonly headerOff: number;
  readonly vmstatOff: number;
  readonly warnOff: number;
  readonly bugOff: number;
  readonly mmOff: number;
  readonly mmWords: number;
  readonly pgtOff: number;
  readonly pgtWordsPerMm: number;
  readonly pudEntries: number;
  readonly pmdEntries: number;
  readonly pageOff: number;
  readonly buddyOff: number;
  readonly buddyWords: number;
  readonly pageCacheOff: number;
  readonly backingOff: number;
  readonly dataOff: number;
  readonly totalWords: number;
}

/** Counters for WARN_ON_ONCE and BUG sites; a reserved block, sites are registered by name. */
export const MAX_WARN_SITES = 64;
export const MAX_BUG_SITES = 32;

export const HDR = { MAGIC: 0, VERSION: 1, STOP: 2, RUN_FLAGS: 3, ALLOC_GEN: 4 } as const;

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`machine config: ${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
}

const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/** Compute the layout for a configuration. Throws a RangeError naming the bad field. */
export function computeLayout(partial: Partial<MachineConfig> = {}): Layout {
  const config: MachineConfig = { ...DEFAULT_CONFIG, ...partial };
  checkInt('normalFrames', config.normalFrames, 1, 1 << 24);
  checkInt('movableFrames', config.movableFrames, 0, 1 << 24);
  checkInt('daxFrames', config.daxFrames, 0, 1 << 24);
  checkInt('huge2mPages', config.huge2mPages, 0, 1 << 14);
  checkInt('huge1gPages', config.huge1gPages, 0, 64);
  checkInt('wordsPerPage', config.wordsPerPage, 1, 1024);
  if (!Array.isArray(config.folioPools)) throw new RangeError('machine config: folioPools must be an array of {order, count}');
  config.folioPools.forEach((p, i) => {
    checkInt(`folioPools[${i}].order`, p.order, 1, 5);
    checkInt(`folioPools[${i}].count`, p.count, 0, 1 << 16);
  });
  checkInt('nrMms', config.nrMms, 1, 256);
  checkInt('vaPages', config.vaPages, 1, 1 << 24);
  checkInt('maxVmas', config.maxVmas, 1, 4096);
  checkInt('nrFiles', config.nrFiles, 0, 1024);
  checkInt('filePages', config.filePages, 0, 1 << 22);
  checkInt('nrCpus', config.nrCpus, 1, 256);

  const zoneStart: number[] = [];
  let pfn = 0;
  zoneStart[ZONE.HUGE_1G] = pfn;
  pfn += config.huge1gPages * PTRS_PER_PUD_PAGE;
  zoneStart[ZONE.HUGE_2M] = pfn;
  pfn += config.huge2mPages * PTRS_PER_PMD_PAGE;
  zoneStart[ZONE.FOLIO] = pfn;
  const pools: { start: number; end: number; order: number }[] = [];
  for (const p of config.folioPools) {
    if (p.count === 0) continue;
    pools.push({ start: pfn, end: pfn + (p.count << p.order), order: p.order });
    pfn = roundUp(pfn + (p.count << p.order), 32);
  }
  zoneStart[ZONE.NORMAL] = pfn;
  pfn += config.normalFrames;
  zoneStart[ZONE.MOVABLE] = pfn;
  pfn += config.movableFrames;
  zoneStart[ZONE.DAX] = pfn;
  pfn += config.daxFrames;
  zoneStart[NR_ZONES] = pfn;
  const totalFrames = pfn;
  if (totalFrames >= 1 << 25) throw new RangeError(`machine config: ${totalFrames} frames exceed the PTE pfn field (2^25)`);

  const vaPages = roundUp(config.vaPages, PTRS_PER_PUD_PAGE);
  const pudEntries = vaPages >>> PUD_ORDER;
  const pmdEntries = vaPages >>> PMD_ORDER;

  let off = 0;
  const headerOff = off;
  off += 16;
  const vmstatOff = off;
  off += config.nrCpus * roundUp(VMSTAT_ITEMS.length, VMSTAT_STRIDE);
  const warnOff = off;
  off += MAX_WARN_SITES;
  const bugOff = off;
  off += MAX_BUG_SITES;
  off = roundUp(off, 16);
  const mmOff = off;
  const mmWords = roundUp(MM.VMAS + config.maxVmas * VMA_WORDS, 16);
  off += config.nrMms * mmWords;
  const pgtOff = off;
  const pgtWordsPerMm = roundUp(pudEntries + pmdEntries + vaPages + pmdEntries, 16);
  off += config.nrMms * pgtWordsPerMm;
  const pageOff = off;
  off += totalFrames * STRUCT_PAGE_WORDS;
  const buddyOff = off;
  const buddyWords = roundUp(Math.ceil(totalFrames / 32), 16);
  off += buddyWords;
  const pageCacheOff = off;
  off += roundUp(config.nrFiles * config.filePages, 16);
  const backingOff = off;
  off += config.nrFiles * config.filePages * config.wordsPerPage;
  off = roundUp(off, 16);
  const dataOff = off;
  off += totalFrames * config.wordsPerPage;
  const totalWords = off;
  if (totalWords * 4 > 8 * 2 ** 30) throw new RangeError(`machine config: needs ${totalWords * 4} bytes, over the 8 GiB limit`);

  return {
    config, totalFrames, zoneStart, smallStart: zoneStart[ZONE.NORMAL]!, pools, vaPages, headerOff, vmstatOff, warnOff, bugOff, mmOff, mmWords,
    pgtOff, pgtWordsPerMm, pudEntries, pmdEntries, pageOff, buddyOff, buddyWords, pageCacheOff,
    backingOff, dataOff, totalWords,
  };
}

/** Index of word `field` of struct page `pfn`. */
export const pageWord = (l: Layout, pfn: number, field: number): number =>
  l.pageOff + pfn * STRUCT_PAGE_WORDS + field;

/** The compound head of a frame: a pure function of the pfn (folio geometry is fixed at boot). */
export function folioHead(l: Layout, pfn: number): number {
  // Small pages are the hot case: one compare, small enough for TurboFan to inline everywhere.
  return pfn >= l.smallStart ? pfn : folioHeadSlow(l, pfn);
}

function folioHeadSlow(l: Layout, pfn: number): number {
  const zs = l.zoneStart;
  if (pfn >= zs[ZONE.FOLIO]!) {
    for (let i = 0; i < l.pools.length; i++) {
      const p = l.pools[i]!;
      if (pfn < p.end) return pfn >= p.start ? p.start + ((pfn - p.start) & ~((1 << p.order) - 1)) : pfn;
    }
    return pfn; // alignment padding after the last pool
  }
  if (pfn >= zs[ZONE.HUGE_2M]!) return zs[ZONE.HUGE_2M]! + ((pfn - zs[ZONE.HUGE_2M]!) & ~(PTRS_PER_PMD_PAGE - 1));
  return pfn & ~(PTRS_PER_PUD_PAGE - 1);
}

/** The folio order of a frame's folio (0 for a small page). */
export function folioOrder(l: Layout, pfn: number): number {
  return pfn >= l.smallStart ? 0 : folioOrderSlow(l, pfn);
}

function folioOrderSlow(l: Layout, pfn: number): number {
  const zs = l.zoneStart;
  if (pfn >= zs[ZONE.FOLIO]!) {
    for (let i = 0; i < l.pools.length; i++) {
      const p = l.pools[i]!;
      if (pfn < p.end) return pfn >= p.start ? p.order : 0;
    }
    return 0;
  }
  return pfn >= zs[ZONE.HUGE_2M]! ? PMD_ORDER : PUD_ORDER;
}
