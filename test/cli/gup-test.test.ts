// pinlab gup-test against the selftest's own usage lines (tools/testing/selftests/mm/run_vmtests.sh
// style: -a -n 512 -r 10 -m 256, -L -S -n 32, -ct -F 0x1 -n 32), output parsed line by line.
import { describe, expect, it } from 'vitest';
import { gupTestMain, parseGupTestArgs } from '../../src/cli/gup-test.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { getopt, strtol0 } from '../../src/cli/getopt.js';

async function gupTest(line: string): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  let out = '';
  let err = '';
  const code = await gupTestMain(line.split(/\s+/).filter(Boolean), {
    stdout: { write: (s: string) => ((out += s), true) } as never,
    stderr: { write: (s: string) => ((err += s), true) } as never,
  });
  return { code, stdout: out.split('\n').slice(0, -1), stderr: err.split('\n').slice(0, -1) };
}

/** The TAP frame every run prints: header, plan, and the totals last. */
function tap(stdout: string[], threads: number): { body: string[]; totals: Record<string, number> } {
  expect(stdout[0]).toBe('TAP version 13');
  expect(stdout[1]).toBe(`1..${threads}`);
  const m = /^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)$/.exec(stdout.at(-1)!);
  expect(m, stdout.at(-1)).not.toBeNull();
  return { body: stdout.slice(2, -1), totals: { pass: Number(m![1]), fail: Number(m![2]) } };
}

const TIME = /^# (\w+): Time: get:(\d+) put:(\d+) us# $/;

describe('getopt as glibc does it', () => {
  it('grouped flags, attached and separate arguments, permuted operands, strtol base 0', () => {
    expect(getopt(['-ct', '-F', '0x1', '-n32', '0', '19'], 'm:r:n:F:f:abcj:tTLUuwWSHpz')).toEqual({
      opts: [{ opt: 'c' }, { opt: 't' }, { opt: 'F', arg: '0x1' }, { opt: 'n', arg: '32' }],
      operands: ['0', '19'],
    });
    expect(getopt(['-q'], 'ab').error).toBe("invalid option -- 'q'");
    expect(getopt(['-n'], 'n:').error).toBe("option requires an argument -- 'n'");
    expect([strtol0('0x1000'), strtol0('010'), strtol0('-3'), strtol0('12x')]).toEqual([4096, 8, -3, null]);
  });
});

describe('pinlab gup-test', () => {
  it('-a -n 512 -r 10 -m 256: ten PIN_FAST_BENCHMARK time lines, every page verified dma-pinned', async () => {
    const r = await gupTest('-a -n 512 -r 10 -m 256');
    expect(r.code).toBe(ExitCode.Ok);
    const { body, totals } = tap(r.stdout, 1);
    const times = body.filter((l) => TIME.test(l)).map((l) => TIME.exec(l)!);
    expect(times).toHaveLength(10);
    for (const t of times) {
      expect(t[1]).toBe('PIN_FAST_BENCHMARK');
      expect(Number(t[2])).toBeGreaterThan(0);
    }
    expect(body).toContain(`# verify_dma_pinned: ${10 * 65536} pages checked, 0 not dma-pinned, 0 not longterm-pinnable`);
    expect(body.at(-1)).toBe('ok 1 ioctl status 0');
    expect(totals).toEqual({ pass: 1, fail: 0 });
  });

  it('-L -n 32: PIN_LONGTERM_BENCHMARK on anonymous memory, 128 MB by default, every page verified', async () => {
    const r = await gupTest('-L -n 32');
    expect(r.code).toBe(ExitCode.Ok);
    const { body } = tap(r.stdout, 1);
    expect(TIME.exec(body[0]!)?.[1]).toBe('PIN_LONGTERM_BENCHMARK');
    expect(body).toContain('# verify_dma_pinned: 32768 pages checked, 0 not dma-pinned, 0 not longterm-pinnable');
    expect(body.at(-1)).toBe('ok 1 ioctl status 0');
  });

  it("-L -S -n 32: the model's page cache is dirty-tracked, so v6.18 refuses the writable longterm pin: size 0", async () => {
    // v6.18/mm/gup.c:1182-1197 (writable_file_mapping_allowed): -EFAULT, and __gup_test_ioctl
    // truncates the run at the first failing call (v6.18/mm/gup_test.c). The selftest's default
    // /dev/zero mapping is shmem, which needs no dirty tracking; the model has no shmem.
    const r = await gupTest('-L -S -n 32');
    expect(r.code).toBe(ExitCode.Ok);
    const { body } = tap(r.stdout, 1);
    expect(body[0]).toMatch(/^# PIN_LONGTERM_BENCHMARK: Time: get:\d+ put:\d+ us# , truncated \(size: 0\)# $/);
    expect(body).toContain('# verify_dma_pinned: 0 pages checked, 0 not dma-pinned, 0 not longterm-pinnable');
  });

  it('-ct -F 0x1 -n 32: DUMP_USER_PAGES_TEST dumps page 0 (held by one mapping and the GUP reference)', async () => {
    const r = await gupTest('-ct -F 0x1 -n 32 -m 16');
    expect(r.code).toBe(ExitCode.Ok);
    const { body } = tap(r.stdout, 1);
    expect(body).toContain('# DUMP_USER_PAGES_TEST: done');
    expect(body.some((l) => l.startsWith('# MADV_HUGEPAGE (-t): advice only'))).toBe(true);
    expect(body.at(-1)).toBe('ok 1 ioctl status 0');
    expect(r.stderr[0]).toMatch(/^kernel: ---- page #0, starting from user virt addr: 0x[0-9a-f]+$/);
    expect(r.stderr[1]).toMatch(/^kernel: page:pfn \d+ refcount:2 mapcount:1 /);
  });

  it('dump operands are 0-based and out-of-range ones are zeroed, as dump_pages_test() does', async () => {
    const r = await gupTest('-c -n 32 -m 1 0 19 0x1000');
    expect(r.stderr.filter((l) => l.includes('---- page #')).map((l) => /#(\d+)/.exec(l)![1])).toEqual(['0', '19']);
    expect(r.stderr).toContain('kernel: ZEROING due to out of range: .which_pages[2]: 4097');
  });

  it('-j 2 -H: two threads pin the same hugetlb region at once; both verified', async () => {
    const r = await gupTest('-a -H -m 4 -n 64 -j 2 -r 3');
    expect(r.code).toBe(ExitCode.Ok);
    const { body, totals } = tap(r.stdout, 2);
    expect(body.filter((l) => TIME.test(l))).toHaveLength(6);
    expect(body.filter((l) => l === '# verify_dma_pinned: 3072 pages checked, 0 not dma-pinned, 0 not longterm-pinnable')).toHaveLength(2);
    expect(body.filter((l) => /^ok [12] ioctl status 0$/.test(l))).toHaveLength(2);
    expect(totals).toEqual({ pass: 2, fail: 0 });
  });

  it('a flag gup-fast refuses truncates the run to size 0 with a WARN, as the kernel returns -EINVAL', async () => {
    // -F is in the selftest's tree's encoding: v6.18's FOLL_PIN is 1 << 19 (mm/internal.h:1438),
    // which is_valid_gup_args() refuses from a caller.
    const r = await gupTest('-u -F 0x80000 -m 1 -n 8');
    const { body } = tap(r.stdout, 1);
    expect(body[0]).toMatch(/^# GUP_FAST_BENCHMARK: Time: get:\d+ put:\d+ us# , truncated \(size: 0\)# $/);
    expect(r.stderr.some((l) => /^kernel: WARNING: is_valid_gup_args:internal flag/.test(l))).toBe(true);
  });

  it("-F speaks v6.18's FOLL_* bits: 0x100 is FOLL_LONGTERM; a bit the model has no counterpart for is exit 2", async () => {
    const ok = await gupTest('-a -F 0x100 -m 1 -n 8');
    expect(ok.code).toBe(ExitCode.Ok);
    expect(tap(ok.stdout, 1).body[0]).toMatch(/^# PIN_FAST_BENCHMARK: Time: get:\d+ put:\d+ us# $/);
    const bad = await gupTest('-a -F 0x400 -m 1 -n 8'); // FOLL_PCI_P2PDMA
    expect(bad.code).toBe(ExitCode.BadInput);
    expect(bad.stderr[0]).toContain('-F 0x400');
  });

  it('bad command lines: exit 2 with the problem named', async () => {
    for (const [line, msg] of [
      ['-x', "invalid option -- 'x'"],
      ['-n', "option requires an argument -- 'n'"],
      ['-m lots', "option -m: 'lots' is not a number"],
      ['-f /etc/hosts -a', '-f /etc/hosts without -S maps a file MAP_PRIVATE'],
      ['-j 0', '-j: threads must be in [1, 64]'],
    ] as const) {
      const r = await gupTest(line);
      expect(r.code, line).toBe(ExitCode.BadInput);
      expect(r.stderr[0], line).toContain(msg);
      expect(r.stdout.at(-1)).toBe('Bail out! Wrong argument');
    }
    expect(parseGupTestArgs(['-n', '-1', '-m', '8'])).toMatchObject({ nrPages: 32768 }); // -n before -m: size / psize() of the default 128 MB
  });
});
