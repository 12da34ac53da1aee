/**
 * `pinlab gup-test [options] [page...]`: the kernel selftest tools/testing/selftests/mm/gup_test.c
 * (v6.18) on the model, with its command line and its output.
 *
 * Command line: the selftest's getopt string "m:r:n:F:f:abcj:tTLUuwWSHpz" (gup_test.c:101) and
 * meanings (:102-179): -a PIN_FAST_BENCHMARK, -b PIN_BASIC_TEST, -L PIN_LONGTERM_BENCHMARK,
 * -c DUMP_USER_PAGES_TEST (pages to dump as operands, 0-based; default page 0), -p dump with a pin,
 * -U GUP_BASIC_TEST, -u GUP_FAST_BENCHMARK (the default), -F gup_flags (strtol base 0),
 * -m size in MB (default 128), -r repeats, -n pages per call (negative: all), -j threads,
 * -w/-W write or not (FOLL_WRITE, default write), -S MAP_SHARED, -H MAP_HUGETLB, -z FOLL_TOUCH
 * instead of faulting in from user space, -t/-T MADV_HUGEPAGE/MADV_NOHUGEPAGE, -f file.
 *
 * Output: kselftest TAP as the selftest prints it — `TAP version 13`, `1..<threads>`, per repeat
 * `# <CMD>: Time: get:N put:N us# ` (ksft_print_msg prefixes "# " to both halves of the line,
 * gup_test.c:66-71), `ok N ioctl status 0` (:88), and `# Totals: pass:… ` at ksft_exit_pass.
 * What the kernel module logs (verify_dma_pinned's WARNs, dump_page) goes to stderr as `kernel:`
 * lines, where dmesg would have it. pinlab adds one `# verify_dma_pinned: …` comment per thread.
 *
 * Model counterparts: the region is the model's anonymous memory (/dev/zero, MAP_PRIVATE), its
 * page cache (-S: shared), or 2 MB hugetlb pages (-H). There is no counterpart for a private
 * mapping of a real file (-f FILE without -S: copy-on-write of file pages is not modelled): that is
 * an error. -t/-T are advice (madvise) in the kernel too; the model has no THP, so they change
 * nothing and say so. Exit: 0 when every thread's ioctl succeeded and verify_dma_pinned found no
 * unpinned page; 1 otherwise (the selftest exits 0 regardless); 2 for a bad command line.
 */
import { GUP_CMD, GUP_CMD_NAMES, type GupCmd, type GupTestResult } from '../clients/gup-test.js';
import { errname } from '../kernel/constants.js';
import { CURRENT_ERA, ERA_SPECS, FOLL_UNKNOWN, follTranslator } from '../kernel/era/index.js';
import { ExitCode } from './exit-codes.js';
import { getopt, strtol0 } from './getopt.js';
import type { OutStream } from './progress.js';

/** The selftest's getopt string (tools/testing/selftests/mm/gup_test.c:101). */
export const GUP_TEST_OPTSTRING = 'm:r:n:F:f:abcj:tTLUuwWSHpz';
const MB = 1 << 20;
const FOLL_WRITE = 0x01;

export interface GupTestIO {
  stdout: OutStream;
  stderr: OutStream;
}

/** Parsed command line, in the selftest's variables. */
export interface GupTestArgs {
  cmd: GupCmd;
  size: number;
  repeats: number;
  nrPages: number;
  gupFlags: number;
  testFlags: number;
  whichPages: number[];
  nthreads: number;
  write: boolean;
  shared: boolean;
  hugetlb: boolean;
  touch: boolean;
  thp: -1 | 0 | 1;
  file: string;
}

/** The flags that choose the ioctl command (gup_test.c:103-122, 151-156). */
const CMD_OF: Partial<Record<string, GupCmd>> = {
  a: GUP_CMD.PIN_FAST_BENCHMARK,
  b: GUP_CMD.PIN_BASIC_TEST,
  L: GUP_CMD.PIN_LONGTERM_BENCHMARK,
  c: GUP_CMD.DUMP_USER_PAGES_TEST,
  U: GUP_CMD.GUP_BASIC_TEST,
  u: GUP_CMD.GUP_FAST_BENCHMARK,
};

/** Parse the selftest's command line; returns the args or a one-line problem. */
export function parseGupTestArgs(argv: readonly string[]): GupTestArgs | { error: string } {
  const g = getopt(argv, GUP_TEST_OPTSTRING);
  if (g.error !== undefined) return { error: g.error };
  const a: GupTestArgs = {
    cmd: GUP_CMD.GUP_FAST_BENCHMARK,
    size: 128 * MB,
    repeats: 1,
    nrPages: 1,
    gupFlags: 0,
    testFlags: 0,
    whichPages: [],
    nthreads: 1,
    write: true,
    shared: false,
    hugetlb: false,
    touch: false,
    thp: -1,
    file: '/dev/zero',
  };
  const num = (o: string, s: string): number | { error: string } => {
    const v = strtol0(s);
    return v === null ? { error: `option -${o}: '${s}' is not a number` } : v;
  };
  for (const { opt, arg } of g.opts) {
    const v = arg !== undefined && 'mrnFj'.includes(opt) ? num(opt, arg) : 0;
    if (typeof v === 'object') return v;
    const cmd = CMD_OF[opt];
    if (cmd !== undefined) {
      a.cmd = cmd;
      // -c: dump page 0 (index 1) unless operands name pages (gup_test.c:112-122).
      if (opt === 'c') a.whichPages = [1];
      continue;
    }
    switch (opt) {
      case 'p': // GUP_TEST_FLAG_DUMP_PAGES_USE_PIN
        a.testFlags |= 0x1;
        break;
      case 'F':
        a.gupFlags = v;
        break;
      case 'j':
        a.nthreads = v;
        break;
      case 'm':
        a.size = v * MB;
        break;
      case 'r':
        a.repeats = v;
        break;
      case 'n':
        a.nrPages = v;
        break;
      case 't':
        a.thp = 1;
        break;
      case 'T':
        a.thp = 0;
        break;
      case 'w':
        a.write = true;
        break;
      case 'W':
        a.write = false;
        break;
      case 'f':
        a.file = arg!;
        break;
      case 'S':
        a.shared = true;
        break;
      case 'H':
        a.hugetlb = true;
        break;
      case 'z':
        a.touch = true;
        break;
    }
    // -n negative: size / psize() with the size known so far (gup_test.c:140-144).
    if (opt === 'n' && v < 0) a.nrPages = Math.floor(a.size / 4096);
  }
  if (g.operands.length > 0) {
    const pages: number[] = [];
    for (const s of g.operands.slice(0, 8)) {
      const v = strtol0(s);
      if (v === null) return { error: `page index '${s}' is not a number` };
      pages.push(v + 1); // 1-based, as gup_test.c:198 encodes it
    }
    a.whichPages = pages;
  }
  if (a.size <= 0) return { error: `-m: the size must be at least 1 MB, got ${a.size / MB} MB` };
  if (a.nthreads < 1 || a.nthreads > 64) return { error: `-j: threads must be in [1, 64], got ${a.nthreads}` };
  if (a.repeats < 0) return { error: `-r: repeats must be >= 0, got ${a.repeats}` };
  if (a.size / 4096 > 1 << 20) return { error: `-m: the model's machine holds at most 4096 MB, got ${a.size / MB} MB` };
  if (a.file !== '/dev/zero' && !a.shared && !a.hugetlb) {
    return {
      error: `-f ${a.file} without -S maps a file MAP_PRIVATE (copy-on-write file pages): the model has no counterpart; add -S for the shared page cache`,
    };
  }
  return a;
}

const isBenchmark = (cmd: GupCmd): boolean =>
  cmd === GUP_CMD.GUP_FAST_BENCHMARK || cmd === GUP_CMD.PIN_FAST_BENCHMARK || cmd === GUP_CMD.PIN_LONGTERM_BENCHMARK;

/** Run `pinlab gup-test` with argv (after the command name); resolves to the exit code. */
export async function gupTestMain(argv: readonly string[], io: GupTestIO): Promise<ExitCode> {
  const out = (s: string): void => void io.stdout.write(s);
  const err = (s: string): void => void io.stderr.write(s);
  if (argv.includes('--help') || argv.includes('-h')) {
    out(
      `usage: pinlab gup-test [-abcLUu] [-m MB] [-r repeats] [-n pages] [-F flags] [-j threads] [-wWSHzptT] [-f file] [page...]\n` +
        `  the kernel selftest tools/testing/selftests/mm/gup_test.c on the model (getopt "${GUP_TEST_OPTSTRING}")\n`,
    );
    return ExitCode.Ok;
  }
  const a = parseGupTestArgs(argv);
  if ('error' in a) {
    err(`pinlab gup-test: ${a.error}\n`);
    out('TAP version 13\nBail out! Wrong argument\n');
    return ExitCode.BadInput;
  }
  // -F is a raw flag word in the selftest's own tree (v6.18: the FOLL_* enum of mm_types.h and
  // mm/internal.h); the model's API takes its named constants, so translate it (era/foll.ts).
  const gupFlags = follTranslator(ERA_SPECS[CURRENT_ERA].foll)(a.gupFlags);
  if ((gupFlags & FOLL_UNKNOWN) !== 0) {
    err(
      `pinlab gup-test: -F 0x${a.gupFlags.toString(16)}: a bit that ${CURRENT_ERA}'s FOLL_* flags do not define, or one the model has no counterpart for (FOLL_NOFAULT, FOLL_INTERRUPTIBLE, FOLL_PCI_P2PDMA, ...)\n`,
    );
    out('TAP version 13\nBail out! Wrong argument\n');
    return ExitCode.BadInput;
  }
  // ksft_print_header(); ksft_set_plan(nthreads) (gup_test.c:206-207)
  out('TAP version 13\n');
  out(`1..${a.nthreads}\n`);
  if (a.thp !== -1)
    out(
      `# ${a.thp === 1 ? 'MADV_HUGEPAGE (-t)' : 'MADV_NOHUGEPAGE (-T)'}: advice only; the model has no transparent huge pages, the region stays in base pages\n`,
    );
  const { runGupTest } = await import('../coordinator/gup-test.js');
  const name = GUP_CMD_NAMES[a.cmd];
  const results: Array<{ status: number; notPinned: number; notPinnable: number; verified: number }> = [];
  const run = await runGupTest({
    cmd: a.cmd,
    size: a.size,
    repeats: a.repeats,
    nrPagesPerCall: a.nrPages,
    gupFlags: gupFlags | (a.write ? FOLL_WRITE : 0),
    era: CURRENT_ERA,
    testFlags: a.testFlags,
    whichPages: a.whichPages,
    nthreads: a.nthreads,
    touch: a.touch,
    mapping: a.hugetlb ? 'hugetlb' : a.shared ? 'file' : 'anon',
    onResult: (t: number, r: GupTestResult) => {
      const acc = (results[t] ??= { status: 0, notPinned: 0, notPinnable: 0, verified: 0 });
      acc.status = r.ret;
      acc.notPinned += r.notPinned;
      acc.notPinnable += r.notPinnable;
      acc.verified += r.verified;
      for (const l of r.log) for (const line of l.split('\n')) err(`kernel: ${line}\n`);
      if (r.ret !== 0) return;
      if (isBenchmark(a.cmd)) {
        out(
          `# ${name}: Time: get:${r.gup.get_delta_usec} put:${r.gup.put_delta_usec} us# ${r.gup.size !== a.size ? `, truncated (size: ${r.gup.size})# ` : ''}\n`,
        );
      } else {
        out(`# ${name}: done\n`);
        if (r.gup.size !== a.size) out(`# Truncated (size: ${r.gup.size})\n`);
      }
    },
  });
  if (run.mmapError !== undefined) {
    out(`Bail out! mmap: ${errname(run.mmapError)}\n`);
    out('# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n');
    return ExitCode.BadInput;
  }
  let pass = 0;
  let fail = 0;
  let clean = true;
  run.threads.forEach((t, i) => {
    const r = results[i] ?? { status: t.status, notPinned: 0, notPinnable: 0, verified: 0 };
    // The selftest's status is ioctl()'s: -1 (errno set) when the module returned an error.
    const status = t.error !== undefined || r.status !== 0 ? -1 : 0;
    if (t.error !== undefined) err(`pinlab gup-test: thread ${i + 1} failed: ${t.error}\n`);
    else if (r.status !== 0) err(`pinlab gup-test: thread ${i + 1}: ioctl: ${errname(r.status)}\n`);
    if (isBenchmark(a.cmd) || a.cmd === GUP_CMD.PIN_BASIC_TEST) {
      out(`# verify_dma_pinned: ${r.verified} pages checked, ${r.notPinned} not dma-pinned, ${r.notPinnable} not longterm-pinnable\n`);
    }
    out(`${status === 0 ? 'ok' : 'not ok'} ${i + 1} ioctl status ${status}\n`);
    if (status === 0) pass++;
    else fail++;
    if (status !== 0 || r.notPinned > 0 || r.notPinnable > 0) clean = false;
  });
  for (const [site, n] of Object.entries(run.warnings)) err(`kernel: WARNING: ${site} (${n}x)\n`);
  out(`# Totals: pass:${pass} fail:${fail} xfail:0 xpass:0 skip:0 error:0\n`);
  return clean ? ExitCode.Ok : ExitCode.Violation;
}
