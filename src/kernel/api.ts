/**
 * The model's public API, `pinlab/kernel`: the functions and constants a GUP user, a test or a
 * gup_test-style benchmark calls, with the kernel's names and argument order (mm/gup.c,
 * include/linux/mm.h). The runtime — the SharedArrayBuffer layout, KernelContext internals,
 * `current` switching, scheduling hooks — stays private, as loom keeps its scheduler private.
 *
 * Conventions (every function below): addresses are byte addresses; `pages` receives pfns (a pfn
 * is the model's `struct page *`); errors are Linux errnos returned negative; WARN_ON_ONCE is
 * counted per call site (see `readWarnings`), never thrown; a BUG() throws `KernelBug`. All calls
 * act on the calling thread's machine: the one `boot()` made, or the actor's (inside a client).
 */
export {
  FOLL_WRITE,
  FOLL_TOUCH,
  FOLL_GET,
  FOLL_DUMP,
  FOLL_FORCE,
  FOLL_NOWAIT,
  FOLL_POPULATE,
  FOLL_SPLIT,
  FOLL_HWPOISON,
  FOLL_NUMA,
  FOLL_MIGRATION,
  FOLL_TRIED,
  FOLL_MLOCK,
  FOLL_REMOTE,
  FOLL_COW,
  FOLL_ANON,
  FOLL_LONGTERM,
  FOLL_SPLIT_PMD,
  FOLL_PIN,
  FOLL_FLAGS,
  GUP_FAST_ALLOWED_FLAGS,
  GUP_PIN_COUNTING_BIAS,
  EPERM,
  ENOENT,
  EINTR,
  EFAULT,
  EBUSY,
  EEXIST,
  EINVAL,
  ENOMEM,
  EAGAIN,
  ENOSPC,
  EOPNOTSUPP,
  ERRNO_NAMES,
  errname,
} from './constants.js';
export { boot, type ContextOptions } from './boot.js';
export { KernelBug, type KernelContext, readVmstat, readWarnings, VMSTAT } from './context.js';
export {
  get_user_pages_fast,
  pin_user_pages_fast,
  pin_longterm_pages_fast,
  get_user_pages,
  get_user_pages_remote,
  pin_user_pages,
  pin_longterm_pages,
  pin_user_pages_remote,
  pin_longterm_pages_remote,
  unpin_user_page,
  unpin_user_pages,
  unpin_user_pages_dirty_lock,
  put_user_page,
  put_user_pages,
  put_user_pages_dirty_lock,
  type PageArray,
} from './gup.js';
export { page_dma_pinned, page_maybe_dma_pinned, compound_pincount } from './pin.js';
export {
  compound_head,
  PageHead,
  PageTail,
  PageCompound,
  compound_order,
  compound_nr,
  page_ref_count,
  page_count,
  page_mapcount,
  page_zonenum,
  get_page,
  try_get_page,
  put_page,
  page_ref_freeze,
  page_ref_unfreeze,
  PageDirty,
  trylock_page,
  lock_page,
  unlock_page,
  set_page_dirty,
  set_page_dirty_lock,
} from './page.js';
export {
  PAGE_SIZE,
  type MmStruct,
  mm_of,
  mmap_read_lock,
  mmap_read_trylock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  do_mmap,
  find_vma,
  vmas,
} from './mm.js';
export { do_munmap, zap_page_range } from './mmap.js';
export { handle_mm_fault } from './fault.js';
export { dup_mmap, exit_mmap } from './fork.js';
export { get_user, put_user } from './uaccess.js';
export { filemap_read, find_get_page, generic_perform_write, page_data, wait_on_page_writeback } from './filemap.js';
export { migrate_page } from './migrate.js';
export { page_mkclean, PageWriteback, writepage, write_one_page } from './writeback.js';
export { shrink_page } from './reclaim.js';
export { truncate_inode_pages_range, unmap_mapping_range } from './truncate.js';
// The eras: what each kernel is (src/kernel/era/), its FOLL_* bit values, and the translation of a
// raw flag word of that tree into the names above.
export {
  CURRENT_ERA,
  ERA_SPECS,
  eraSpec,
  resolveEra,
  erasWithNative,
  follTranslator,
  FOLL_BITS_2019,
  FOLL_BITS_ENUM,
  FOLL_UNKNOWN,
  type EraSpec,
  type FollBits,
} from './era/index.js';
