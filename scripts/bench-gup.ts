/**
 * GUP benchmark: raw Atomics.add+Atomics.sub pairs against pin_user_pages_fast+unpin on one
 * 4 KB page per call and on 512 pages per call, measured side by side in one run and printed
 * as ratios (the machines are shared and noisy: compare within a run, never across runs).
 *
 * Per era (issue 8): each era is timed against its own protocol floor — a bare loop of exactly the
 * shared accesses that era's pin+unpin of a small page needs — in a process of its own (so one
 * era's JIT state does not colour another's):
 *   rfc-2019, v5.7  PTE load, refcount compareExchange (+1024), PTE re-load, unpin sub, and the
 *                   struct page read of the statistic after the put (page_pgdat) = 5
 *   v6.3, v6.18     PMD load, PTE load, compareExchange (+1), add (+1023), PMD re-load, PTE
 *                   re-load, unpin sub = 7 (v6.3/mm/gup.c:2375-2421, 180-192)
 * Target: each era's 512-page rate is at least 95 % of its floor. (The model's KASAN, which reads
 * the struct page twice more per unpin in the stats-after-put eras, is off here.)
 * Also, from issue 2: 1 page per call >= 1/3 of the raw pair rate (v6.3 and v6.18 need seven
 * accesses where the raw pair is two, so their floor sits below that line: it is printed, not judged).
 * Usage: npx tsx scripts/bench-gup.ts [--ms 300] [--rounds 5] [--era NAME]   (no --era: every era)
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as K from '../src/kernel/index.js';
import { tuneV8ForHotPaths } from '../src/util/v8-tuning.js';
import { ERAS, type Era } from '../src/mem/layout.js';

const { values } = parseArgs({
  options: {
    'no-tune': { type: 'boolean', default: false }, ms: { type: 'string', default: '300' }, rounds: { type: 'string', default: '5' },
    era: { type: 'string' }, json: { type: 'boolean', default: false },
  },
});
if (values.era === undefined) {
  // Every era, each in a child process, then one table.
  const rows = ERAS.map((e) => {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, '--era', e, '--json', '--ms', values.ms!, '--rounds', values.rounds!], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number | string>;
  });
  const f = (x: number | string): string => `${(Number(x) / 1e6).toFixed(1)} M/s`;
  console.log(`pinlab GUP benchmark per era (${values.rounds} rounds of ${values.ms} ms, medians; each era in its own process)`);
  console.log('era        accesses  raw pair   1 page/call (ratio)    512/call (ratio)      floor     512/call of floor (median per-round ratio)');
  let ok = true;
  for (const r of rows) {
    const share = Number(r.share); // the median of per-round model/floor ratios
    ok &&= share >= 0.95;
    console.log(
      `${String(r.era).padEnd(10)} ${String(r.accesses).padStart(8)}  ${f(r.raw).padStart(9)}  ${f(r.one).padStart(10)} (${(Number(r.one) / Number(r.raw)).toFixed(3)})` +
        `  ${f(r.many).padStart(10)} (${(Number(r.many) / Number(r.raw)).toFixed(3)})  ${f(r.floor).padStart(10)}  ${(100 * share).toFixed(0)} %`,
    );
  }
  console.log(ok ? 'every era reaches >= 95 % of its floor' : 'AN ERA IS BELOW 95 % OF ITS FLOOR');
  process.exit(0);
}
if (!process.argv.includes('--no-tune')) tuneV8ForHotPaths();
const ms = Number(values.ms);
const rounds = Number(values.rounds);
const era = values.era as Era;
if (!ERAS.includes(era)) throw new Error(`--era must be one of ${ERAS.join(', ')}`);

/** Run fn(batch) repeatedly for ~ms milliseconds; returns operations per second. */
function rate(fn: (n: number) => number): number {
  const batch = 1000;
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    ops += fn(batch);
    t = performance.now();
  }
  return (ops / (t - t0)) * 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Setup cost of the largest machine the layout must hold.
const tBoot = performance.now();
K.boot({ normalFrames: 1 << 20, movableFrames: 0, daxFrames: 0, huge2mPages: 0, wordsPerPage: 16 }, { era });
const bootMs = performance.now() - tBoot;

const k = K.boot({ normalFrames: 8192, huge2mPages: 0 }, { era });
k.kasan = false; // time the kernel's own accesses, not the model's detector
const mm = K.mm_of(0);
const addr = K.do_mmap(mm, { length: 512 * 4096, kind: 'anon' });
const pages = new Int32Array(512);
if (K.pin_user_pages_fast(mm, addr, 512, K.FOLL_WRITE, pages) !== 512) throw new Error('prefault failed');
K.unpin_user_pages(pages, 512);

const raw = new Int32Array(new SharedArrayBuffer(64 * 4));
const rawPair = (n: number): number => {
  for (let i = 0; i < n; i++) {
    Atomics.add(raw, 16, 1);
    Atomics.sub(raw, 16, 1);
  }
  return n;
};
const one = new Int32Array(1);
const pin1 = (n: number): number => {
  for (let i = 0; i < n; i++) {
    K.pin_user_pages_fast(mm, addr, 1, K.FOLL_WRITE, one);
    K.unpin_user_page(one[0]!);
  }
  return n;
};
const pin512 = (n: number): number => {
  const calls = Math.max(1, n >> 9);
  for (let i = 0; i < calls; i++) {
    const got = K.pin_user_pages_fast(mm, addr, 512, K.FOLL_WRITE, pages);
    K.unpin_user_pages(pages, got);
  }
  return calls * 512;
};

// The protocol's floor: exactly the shared accesses this era's pin+unpin of one small page needs,
// in a bare loop on 512 pages (see the file comment).
const spec = K.ERA_SPECS[era];
const floorMem = new Int32Array(new SharedArrayBuffer(1 << 22));
const PMD0 = 512;
const PTE0 = 1024;
const REF0 = 4096;
for (let i = 0; i < 512; i++) {
  Atomics.store(floorMem, PTE0 + i, (i << 7) | 3);
  Atomics.store(floorMem, REF0 + i * 16, 1);
}
const floorPages = new Int32Array(512);
const floorOneStep = (n: number): number => {
  const calls = Math.max(1, n >> 9);
  for (let c = 0; c < calls; c++) {
    for (let i = 0; i < 512; i++) {
      const pte = Atomics.load(floorMem, PTE0 + i);
      const idx = REF0 + (pte >>> 7) * 16;
      let v = 1;
      for (;;) {
        const seen = Atomics.compareExchange(floorMem, idx, v, v + 1024);
        if (seen === v) break;
        v = seen;
      }
      if (Atomics.load(floorMem, PTE0 + i) !== pte) throw new Error('floor: PTE changed');
      floorPages[i] = pte >>> 7;
    }
    for (let i = 0; i < 512; i++) {
      const idx = REF0 + floorPages[i]! * 16;
      Atomics.sub(floorMem, idx, 1024);
      Atomics.load(floorMem, idx + 1); // page_pgdat() after the put
    }
  }
  return calls * 512;
};
const floorTwoStep = (n: number): number => {
  const calls = Math.max(1, n >> 9);
  for (let c = 0; c < calls; c++) {
    for (let i = 0; i < 512; i++) {
      const pmd = Atomics.load(floorMem, PMD0);
      const pte = Atomics.load(floorMem, PTE0 + i);
      const idx = REF0 + (pte >>> 7) * 16;
      let v = 1;
      for (;;) {
        const seen = Atomics.compareExchange(floorMem, idx, v, v + 1);
        if (seen === v) break;
        v = seen;
      }
      Atomics.add(floorMem, idx, 1023);
      if (Atomics.load(floorMem, PMD0) !== pmd || Atomics.load(floorMem, PTE0 + i) !== pte) throw new Error('floor: PTE changed');
      floorPages[i] = pte >>> 7;
    }
    for (let i = 0; i < 512; i++) Atomics.sub(floorMem, REF0 + floorPages[i]! * 16, 1024);
  }
  return calls * 512;
};
const floor512 = spec.twoStepSmallPin ? floorTwoStep : floorOneStep;
const accesses = spec.twoStepSmallPin ? 7 : 5;

// Each round times the model right beside its floor (pairs in alternating order) and keeps the
// ratio: on a shared machine the CPU share moves between rounds, much less within one.
const r = { raw: [] as number[], one: [] as number[], many: [] as number[], floor: [] as number[], share: [] as number[] };
for (let round = 0; round < rounds + 1; round++) {
  const a = rate(rawPair);
  const b = rate(pin1);
  const [c, d] = round % 2 === 0 ? [rate(pin512), rate(floor512)] : (([y, x]) => [x, y])([rate(floor512), rate(pin512)]);
  if (round === 0) continue; // warm-up: let the JIT settle
  r.raw.push(a);
  r.one.push(b);
  r.many.push(c!);
  r.floor.push(d!);
  r.share.push(c! / d!);
}
const vm = K.readVmstat(k.mem);
if (vm.nr_foll_pin_acquired !== vm.nr_foll_pin_released) throw new Error('pin counters do not balance');

const rawM = median(r.raw);
const oneM = median(r.one);
const manyM = median(r.many);
const floorM = median(r.floor);
const shareM = median(r.share);
if (values.json) {
  console.log(JSON.stringify({ era, accesses, raw: rawM, one: oneM, many: manyM, floor: floorM, share: shareM }));
  process.exit(0);
}
const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`;
console.log(`pinlab GUP benchmark (era ${era}, ${rounds} rounds of ${ms} ms each, medians)`);
console.log(`boot 1,048,576 frames: ${bootMs.toFixed(0)} ms`);
console.log(`raw Atomics.add+sub pair:                ${fmt(rawM)}`);
console.log(`pin_user_pages_fast+unpin, 1 page/call:  ${fmt(oneM)} pages   ratio ${(oneM / rawM).toFixed(3)} (target >= 0.333)`);
console.log(`pin_user_pages_fast+unpin, 512/call:     ${fmt(manyM)} pages   ratio ${(manyM / rawM).toFixed(3)}`);
console.log(`era floor (${accesses} bare Atomics/page):      ${fmt(floorM)} pages   ratio ${(floorM / rawM).toFixed(3)}; 512/call reaches ${(100 * shareM).toFixed(0)}% of it (median of per-round ratios; target >= 95%)`);
console.log(shareM >= 0.95 ? 'target met' : 'TARGET MISSED');
