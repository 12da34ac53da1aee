/**
 * Flag values and constants exactly as the seed patch defines them (include/linux/mm.h, 2019):
 * the #define FOLL_* table, plus GUP_PIN_COUNTING_BIAS and Linux errno numbers.
 */
export const FOLL_WRITE = 0x01; // check pte is writable
export const FOLL_TOUCH = 0x02; // mark page accessed
export const FOLL_GET = 0x04; // do get_page on page
export const FOLL_DUMP = 0x08; // give error on hole if it would be zero
export const FOLL_FORCE = 0x10; // get_user_pages read/write w/o permission
export const FOLL_NOWAIT = 0x20; // if a disk transfer is needed, start the IO and return without waiting
export const FOLL_POPULATE = 0x40; // fault in page
export const FOLL_SPLIT = 0x80; // don't return transhuge pages, split them
export const FOLL_HWPOISON = 0x100; // check page is hwpoisoned
export const FOLL_NUMA = 0x200; // force NUMA hinting page fault
export const FOLL_MIGRATION = 0x400; // wait for page to replace migration entry
export const FOLL_TRIED = 0x800; // a retry, previous pass started an IO
export const FOLL_MLOCK = 0x1000; // lock present pages
export const FOLL_REMOTE = 0x2000; // we are working on non-current tsk/mm
export const FOLL_COW = 0x4000; // internal GUP flag
export const FOLL_ANON = 0x8000; // don't do file mappings
export const FOLL_LONGTERM = 0x10000; // mapping lifetime is indefinite
export const FOLL_SPLIT_PMD = 0x20000; // split huge pmd before returning
export const FOLL_PIN = 0x40000; // pages must be released via put_user_page()

/** The seed's flag table, for tests and `pinlab list`. */
export const FOLL_FLAGS = {
  FOLL_WRITE, FOLL_TOUCH, FOLL_GET, FOLL_DUMP, FOLL_FORCE, FOLL_NOWAIT, FOLL_POPULATE, FOLL_SPLIT,
  FOLL_HWPOISON, FOLL_NUMA, FOLL_MIGRATION, FOLL_TRIED, FOLL_MLOCK, FOLL_REMOTE, FOLL_COW, FOLL_ANON,
  FOLL_LONGTERM, FOLL_SPLIT_PMD, FOLL_PIN,
} as const;

/** The only flags the seed's internal_get_user_pages_fast() accepts. */
export const GUP_FAST_ALLOWED_FLAGS = FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN;

/** "a medium-large value (GUP_PIN_COUNTING_BIAS, initially chosen to be 1024: 10 bits)" */
export const GUP_PIN_COUNTING_BIAS = 1 << 10;

/** Linux errno numbers; GUP returns them negated. */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOMEM = 12;
export const EAGAIN = 11;
export const ENOSPC = 28;
export const EOPNOTSUPP = 95;

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [EINTR]: 'EINTR', [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST', [EINVAL]: 'EINVAL', [ENOMEM]: 'ENOMEM', [EAGAIN]: 'EAGAIN', [ENOSPC]: 'ENOSPC',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
};

/** "-EINVAL" for -22, or the number itself for a count. */
export function errname(ret: number): string {
  return ret < 0 ? `-${ERRNO_NAMES[-ret] ?? String(-ret)}` : String(ret);
}
