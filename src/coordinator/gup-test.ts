/**
 * `pinlab gup-test` on the model, the selftest's main() (tools/testing/selftests/mm/gup_test.c:92-274)
 * minus the command line: boot a machine, mmap the region (anonymous private as /dev/zero, shared
 * page cache for -S, hugetlb for -H), fault it in from "user space" unless FOLL_TOUCH (-z) asks
 * GUP to, then run the ioctl on `nthreads` worker threads at once.
 */
import { PMD_ORDER, type Era } from '../mem/layout.js';
import { boot } from '../kernel/boot.js';
import { readWarnings } from '../kernel/context.js';
import { handle_mm_fault } from '../kernel/fault.js';
import { PAGE_SIZE, do_mmap, find_vma, mm_of, mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { FOLL_TOUCH } from '../kernel/constants.js';
import { CURRENT_ERA } from '../kernel/era/index.js';
import { type GupCmd, type GupTest, type GupTestResult } from '../clients/gup-test.js';
import { startWorker, workerUrl } from '../util/worker-url.js';
import type { GupThreadData } from '../../workers/gup-test-thread.js';

export interface GupTestRunOptions {
  cmd: GupCmd;
  /** Region size in bytes. */
  size: number;
  repeats: number;
  nrPagesPerCall: number;
  gupFlags: number;
  testFlags: number;
  /** 1-based page numbers to dump (DUMP_USER_PAGES_TEST). */
  whichPages: number[];
  nthreads: number;
  mapping: 'anon' | 'file' | 'hugetlb';
  /** FOLL_TOUCH: GUP faults the pages in (-z); otherwise they are touched first. */
  touch: boolean;
  era?: Era;
  /** Called with each ioctl's result as a thread posts it (thread index 0-based). */
  onResult: (thread: number, r: GupTestResult) => void;
}

export interface GupTestRun {
  /** mmap() failed with this -errno (nothing ran). */
  mmapError?: number;
  /** Per thread: the last ioctl status (0 ok), or the thread's error. */
  threads: Array<{ status: number; error?: string }>;
  /** WARN_ON_ONCE sites the model counted during the run. */
  warnings: Record<string, number>;
}

const isBenchmark = (cmd: GupCmd): boolean => cmd === 1 || cmd === 2 || cmd === 3;

/** Run the test; resolves when every thread has finished. */
export async function runGupTest(o: GupTestRunOptions): Promise<GupTestRun> {
  const pages = Math.floor(o.size / PAGE_SIZE);
  const huge = o.mapping === 'hugetlb' ? Math.ceil(o.size / (2 << 20)) : 0;
  const k = boot(
    {
      normalFrames: Math.max(1024, pages + 1024),
      movableFrames: 0,
      huge2mPages: huge,
      wordsPerPage: 1,
      nrFiles: 1,
      filePages: Math.max(1, pages),
      nrMms: 1,
      nrCpus: o.nthreads + 1,
      vaPages: Math.max(1 << 18, 2 * pages + (1 << 12)),
    },
    { era: o.era ?? CURRENT_ERA, cpu: 0 },
  );
  const mm = mm_of(0);
  const addr = do_mmap(mm, { length: pages * PAGE_SIZE, kind: o.mapping, file: 0, offset: 0, ...(o.mapping === 'hugetlb' ? { order: PMD_ORDER } : {}) });
  if (addr < 0) return { mmapError: addr, threads: [], warnings: {} };
  let gupFlags = o.gupFlags;
  if (o.touch) {
    gupFlags |= FOLL_TOUCH;
  } else {
    // for (; p < gup.addr + size; p += psize()) p[0] = 0;  — a write fault per page (gup_test.c:256-257)
    mmap_read_lock(mm);
    try {
      const vma = find_vma(mm, addr / PAGE_SIZE)!;
      const step = o.mapping === 'hugetlb' ? 512 : 1;
      for (let vpn = addr / PAGE_SIZE; vpn < addr / PAGE_SIZE + pages; vpn += step) handle_mm_fault(mm, vma, vpn, true);
    } finally {
      mmap_read_unlock(mm);
    }
  }
  const gup: GupTest = {
    get_delta_usec: 0,
    put_delta_usec: 0,
    addr,
    size: pages * PAGE_SIZE,
    nr_pages_per_call: o.nrPagesPerCall,
    gup_flags: gupFlags,
    test_flags: o.testFlags,
    which_pages: o.whichPages,
  };
  const url = workerUrl('../../workers/gup-test-thread', import.meta.url);
  const threads = await Promise.all(
    Array.from(
      { length: o.nthreads },
      (_, t) =>
        new Promise<{ status: number; error?: string }>((done) => {
          const data: GupThreadData = {
            machineSab: k.mem.sab,
            machineConfig: k.layout.config,
            era: k.era,
            cpu: t + 1,
            cmd: o.cmd,
            gup,
            repeats: isBenchmark(o.cmd) ? o.repeats : 1,
          };
          const w = startWorker(url, { workerData: data });
          let status = 0;
          w.on('message', (r: GupTestResult) => {
            status = r.ret;
            o.onResult(t, r);
          });
          w.once('error', (e) => done({ status: -1, error: e instanceof Error ? e.message : String(e) }));
          w.once('exit', () => done({ status }));
        }),
    ),
  );
  return { threads, warnings: readWarnings(k.mem).warn as Record<string, number> };
}
