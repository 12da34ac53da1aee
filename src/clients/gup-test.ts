/**
 * mm/gup_test.c on the model: the debugfs test module's ioctl, __gup_test_ioctl()
 * (kernel-src/v6.18/mm/gup_test.c:100-204), with put_back_pages() (:10-37), verify_dma_pinned()
 * (:39-67) and dump_pages_test() (:69-98). A GUP user like the others; `pinlab gup-test` drives it
 * from worker threads with the selftest's command line (src/cli/gup-test.ts).
 *
 * What the kernel writes to its log (WARN, dump_page, pr_info) is returned as `log` lines.
 */
import { FOLL_LONGTERM } from '../kernel/constants.js';
import { get_user_pages, get_user_pages_fast, pin_user_pages, pin_user_pages_fast, unpin_user_pages } from '../kernel/gup.js';
import { type MmStruct, PAGE_SIZE, mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { compound_head, compound_order, page_mapcount, page_ref_count, page_zonenum, put_page } from '../kernel/page.js';
import { compound_pincount, page_maybe_dma_pinned } from '../kernel/pin.js';
import { ZONE } from '../mem/layout.js';

/** The ioctl commands of mm/gup_test.h:7-12 (the `_IOWR('g', n, …)` numbers). */
export const GUP_CMD = {
  GUP_FAST_BENCHMARK: 1,
  PIN_FAST_BENCHMARK: 2,
  PIN_LONGTERM_BENCHMARK: 3,
  GUP_BASIC_TEST: 4,
  PIN_BASIC_TEST: 5,
  DUMP_USER_PAGES_TEST: 6,
} as const;
export type GupCmd = (typeof GUP_CMD)[keyof typeof GUP_CMD];
export const GUP_CMD_NAMES: Record<GupCmd, string> = Object.fromEntries(Object.entries(GUP_CMD).map(([k, v]) => [v, k])) as Record<GupCmd, string>;

/** mm/gup_test.h:17,19. */
export const GUP_TEST_MAX_PAGES_TO_DUMP = 8;
export const GUP_TEST_FLAG_DUMP_PAGES_USE_PIN = 0x1;

/** struct gup_test (mm/gup_test.h:21-34); addr and size in bytes. */
export interface GupTest {
  get_delta_usec: number;
  put_delta_usec: number;
  addr: number;
  size: number;
  nr_pages_per_call: number;
  gup_flags: number;
  test_flags: number;
  /** 1-based page numbers to dump (0: none). */
  which_pages: number[];
}

/** What one ioctl did: its return value, the updated struct, kernel log lines and the verify_dma_pinned outcome. */
export interface GupTestResult {
  ret: number;
  gup: GupTest;
  log: string[];
  /** Pages verify_dma_pinned() checked, and the first index it warned about (-1: none). */
  verified: number;
  notPinned: number;
  notPinnable: number;
}

const usec = (ms: number): number => Math.max(0, Math.round(ms * 1000));

/** dump_page(): one line with the fields mm/debug.c prints that the model has. */
export function dump_page(page: number, reason: string): string {
  const head = compound_head(page);
  return (
    `page:pfn ${page} refcount:${page_ref_count(head)} mapcount:${page_mapcount(page)} head:${head} order:${compound_order(head)}` +
    (compound_order(head) > 0 ? ` pincount:${compound_pincount(head)}` : '') +
    ` zone:${page_zonenum(page)}\npage dumped because: ${reason}`
  );
}

/** The ioctl on `mm` (current->mm). gup.which_pages is 1-based, as the selftest fills it. */
export function gup_test_ioctl(mm: MmStruct, cmd: GupCmd, input: GupTest): GupTestResult {
  const gup: GupTest = { ...input, which_pages: [...input.which_pages] };
  const log: string[] = [];
  const needs_mmap_lock = cmd !== GUP_CMD.GUP_FAST_BENCHMARK && cmd !== GUP_CMD.PIN_FAST_BENCHMARK;
  let nr_pages = Math.floor(gup.size / PAGE_SIZE);
  const pages = new Int32Array(nr_pages);
  const out = (ret: number): GupTestResult => ({ ret, gup, log, verified: 0, notPinned: 0, notPinnable: 0 });
  if (cmd < 1 || cmd > 6) return out(-22); // -EINVAL: default case, before any work
  if (needs_mmap_lock) mmap_read_lock(mm);
  try {
    let i = 0;
    let nr = gup.nr_pages_per_call;
    let addr = gup.addr;
    let next: number;
    const end = gup.addr + gup.size;
    let t0 = performance.now();
    for (; addr < end; addr = next) {
      if (nr !== gup.nr_pages_per_call) break;
      next = addr + nr * PAGE_SIZE;
      if (next > end) {
        next = end;
        nr = Math.floor((next - addr) / PAGE_SIZE);
      }
      const at = pages.subarray(i);
      switch (cmd) {
        case GUP_CMD.GUP_FAST_BENCHMARK:
          nr = get_user_pages_fast(mm, addr, nr, gup.gup_flags, at);
          break;
        case GUP_CMD.GUP_BASIC_TEST:
          nr = get_user_pages(mm, addr, nr, gup.gup_flags, at);
          break;
        case GUP_CMD.PIN_FAST_BENCHMARK:
          nr = pin_user_pages_fast(mm, addr, nr, gup.gup_flags, at);
          break;
        case GUP_CMD.PIN_BASIC_TEST:
          nr = pin_user_pages(mm, addr, nr, gup.gup_flags, at);
          break;
        case GUP_CMD.PIN_LONGTERM_BENCHMARK:
          nr = pin_user_pages(mm, addr, nr, gup.gup_flags | FOLL_LONGTERM, at);
          break;
        case GUP_CMD.DUMP_USER_PAGES_TEST:
          nr =
            (gup.test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) !== 0
              ? pin_user_pages(mm, addr, nr, gup.gup_flags, at)
              : get_user_pages(mm, addr, nr, gup.gup_flags, at);
          break;
      }
      if (nr <= 0) break;
      i += nr;
    }
    gup.get_delta_usec = usec(performance.now() - t0);
    // Shifting the meaning of nr_pages: now it is the actual number pinned (gup_test.c:176-177).
    nr_pages = i;
    gup.size = addr - gup.addr;

    // verify_dma_pinned() (gup_test.c:39-67): every page a pin command returned reads dma-pinned,
    // and a longterm pin's pages are longterm-pinnable (not ZONE_MOVABLE/CMA). WARN stops at the first.
    let verified = 0;
    let notPinned = 0;
    let notPinnable = 0;
    if (cmd === GUP_CMD.PIN_FAST_BENCHMARK || cmd === GUP_CMD.PIN_BASIC_TEST || cmd === GUP_CMD.PIN_LONGTERM_BENCHMARK) {
      for (let j = 0; j < nr_pages; j++) {
        verified++;
        const page = pages[j]!;
        if (!page_maybe_dma_pinned(page)) {
          notPinned++;
          log.push(`WARNING: pages[${j}] is NOT dma-pinned`, dump_page(compound_head(page), 'gup_test failure'));
          break;
        } else if (cmd === GUP_CMD.PIN_LONGTERM_BENCHMARK && page_zonenum(compound_head(page)) === ZONE.MOVABLE) {
          notPinnable++;
          log.push(`WARNING: pages[${j}] is NOT pinnable but pinned`, dump_page(compound_head(page), 'gup_test failure'));
          break;
        }
      }
    }

    // dump_pages_test() (gup_test.c:69-98).
    if (cmd === GUP_CMD.DUMP_USER_PAGES_TEST) {
      for (let j = 0; j < GUP_TEST_MAX_PAGES_TO_DUMP; j++) {
        if ((gup.which_pages[j] ?? 0) > nr_pages) {
          log.push(`ZEROING due to out of range: .which_pages[${j}]: ${gup.which_pages[j]}`);
          gup.which_pages[j] = 0;
        }
      }
      for (let j = 0; j < GUP_TEST_MAX_PAGES_TO_DUMP; j++) {
        const index = gup.which_pages[j] ?? 0;
        if (index) {
          log.push(
            `---- page #${index - 1}, starting from user virt addr: 0x${gup.addr.toString(16)}`,
            dump_page(pages[index - 1]!, 'gup_test: dump_pages() test'),
          );
        }
      }
    }

    // put_back_pages() (gup_test.c:10-37), timed.
    t0 = performance.now();
    const pin =
      cmd === GUP_CMD.PIN_FAST_BENCHMARK ||
      cmd === GUP_CMD.PIN_BASIC_TEST ||
      cmd === GUP_CMD.PIN_LONGTERM_BENCHMARK ||
      (cmd === GUP_CMD.DUMP_USER_PAGES_TEST && (gup.test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) !== 0);
    if (pin) unpin_user_pages(pages, nr_pages);
    else for (let j = 0; j < nr_pages; j++) put_page(pages[j]!);
    gup.put_delta_usec = usec(performance.now() - t0);
    return { ret: 0, gup, log, verified, notPinned, notPinnable };
  } finally {
    if (needs_mmap_lock) mmap_read_unlock(mm);
  }
}
