/**
 * Small-scope configurations of a scenario (the small-scope hypothesis: most protocol bugs show
 * with two actors on one or two pages). From any scenario, three tiers:
 *
 *  - small: each client entry alone, each pair of entries (and two actors of an entry that has
 *    several), each with the coordinator running one mm operation kind at a time (or none), on
 *    one or two pages, two operations per actor;
 *  - widen: what a kernel developer varies next, one dimension at a time away from the scenario —
 *    the mapping (every mapping the machine offers that the client kind can use and the era does
 *    not refuse: anon, file, CMA/movable, hugetlb of each huge page size the machine has), two
 *    actors sharing one region (the only way two anon/CMA/hugetlb clients touch the same pages),
 *    the other GUP path (gup-fast or the mmap_lock slow path), longer operation sequences (3 and
 *    4 ops, 3 to 6 mm steps), two mm kinds in one trial (writeback then reclaim, ...), and the
 *    spacing of the mm steps (0, 30, 100 µs: back to back, or spread so that I/O completes);
 *  - wide: triples of entries with the scenario's mm mix, and the scenario itself.
 *
 * Every derived client gets rates scaled to its trial (toTrial): a registration held for hundreds
 * of operations, or a write ratio of one in 200,000, is a stress run's setting and would never
 * fire in a trial of a few operations.
 *
 * Each widen family is derived from the scenario's own entries and the machine/era facts, never
 * from a fault: nothing here knows which bug it is looking for. The families are interleaved
 * (a round-robin over families; the small ones vary their own dimension fastest, the large ones
 * are taken in a strided order) so that a campaign that reaches only a prefix of the tier has
 * still seen every family and every value of what each one widens.
 * A pure function of the scenario: the same scenario gives the same configurations in the same
 * order, so a campaign over them stays deterministic.
 */
import { ERA_SPECS } from '../kernel/era/index.js';
import { type ClientSpec, type Scenario, ScenarioSchema } from './schema.js';

/** The mm operation kinds (MmOps' names). */
export const MM_KINDS = ['writeback', 'munmap', 'migrate', 'reclaim', 'truncate'] as const;
export type MmKind = (typeof MM_KINDS)[number];

/** The widen tier's families (what each one varies). */
export const WIDEN_FAMILIES = ['mapping', 'shared', 'gup-path', 'longer', 'mm-pair'] as const;
export type WidenFamily = (typeof WIDEN_FAMILIES)[number];

/** One small configuration: a derived scenario and the explore workload to run on it. */
export interface SmallConfig {
  /** "dio+odp / munmap / 1p": the client entries (by kind), the mm kind(s), the pages, what was widened. */
  id: string;
  scenario: Scenario;
  opsPerActor: number;
  mmSteps: number;
  mmIntervalUs: number;
  /** 'small' first; 'widen' is brought in as the campaign goes on; 'wide' (triples, the scenario) last. */
  tier: 'small' | 'widen' | 'wide';
  /** The widen tier's family. */
  family?: WidenFamily;
}

const SMALL_OPS = 2;
const SMALL_MM_STEPS = 2;
/** Logical µs between the coordinator's mm steps, alternately: back to back, or spread into the clients' operations. */
const INTERVALS = [0, 30] as const;
/** The widen tier's workload levels: longer client sequences, more mm steps, and wider spacing (I/O completes between steps). */
const LEVELS = [
  { ops: 3, mmSteps: 3, intervals: [0, 30] },
  { ops: 4, mmSteps: 4, intervals: [30, 100] },
  { ops: 3, mmSteps: 6, intervals: [0, 100] },
] as const;
/** Operations per actor of the longer family's trials without mm steps. */
const SOLO_OPS = [4, 8, 16] as const;
/** Pages a hugetlb region gets in a derived configuration: one huge page of its size. */
const HUGE_PAGES = { '2m': 512, '1g': 1 << 18 } as const;

type Mapping = ClientSpec['mapping'];
type Mm = Scenario['mm'];

function shrinkClient(c: ClientSpec, pages: number, count: number): ClientSpec {
  const huge = c.mapping === 'hugetlb';
  // A hugetlb region is whole huge pages: keep it; everything else gets `pages` pages at offset 0
  // (file clients of the same file then share pages, which is where they race).
  if (huge) return { ...c, count };
  return { ...c, count, pages: Math.min(c.pages, pages), bufferPages: Math.min(c.bufferPages, pages), offset: 0 };
}

/**
 * The mappings a client kind can use on this machine and era (the fuzzer's rules, src/scenario/random.ts):
 * fork anon only, buffered file only, ODP no hugetlb (its walk reads the PTE level), GET no
 * hugetlb, RDMA no file where the era refuses writable longterm file pins (v6.5+), CMA when the
 * machine has movable frames, hugetlb when it has huge pages. A custom client keeps its own.
 */
function mappingsFor(s: Scenario, c: ClientSpec): { mapping: Mapping; hugePage?: '2m' | '1g' }[] {
  if (c.kind === 'custom') return [];
  if (c.kind === 'fork') return [{ mapping: 'anon' }];
  if (c.kind === 'buffered') return [{ mapping: 'file' }];
  const out: { mapping: Mapping; hugePage?: '2m' | '1g' }[] = [{ mapping: 'anon' }];
  if (!(c.kind === 'rdma' && ERA_SPECS[s.era].refuseLongtermFile)) out.push({ mapping: 'file' });
  if (s.machine.movableFrames > 0) out.push({ mapping: 'cma' });
  if (c.kind === 'dio' || c.kind === 'rdma') {
    if (s.machine.huge2mPages > 0) out.push({ mapping: 'hugetlb', hugePage: '2m' });
    // A whole 1 GB page costs 2^18 accesses to fault in: only when the machine offers one and the scenario already uses it.
    if (s.machine.huge1gPages > 0 && s.clients.some((x) => x.hugePage === '1g')) out.push({ mapping: 'hugetlb', hugePage: '1g' });
  }
  return out;
}

/** `c` moved to `m`: one page (or one huge page) of it, at offset 0 of its file. */
function remap(c: ClientSpec, m: { mapping: Mapping; hugePage?: '2m' | '1g' }, count: number, shared: boolean): ClientSpec {
  if (m.mapping === 'hugetlb') {
    const huge = m.hugePage ?? '2m';
    return { ...c, count, shared, mapping: 'hugetlb', hugePage: huge, pages: HUGE_PAGES[huge], bufferPages: Math.min(c.bufferPages, 2), offset: 0 };
  }
  return { ...c, count, shared, mapping: m.mapping, hugePage: c.hugePage, pages: 1, bufferPages: 1, offset: 0 };
}

const label = (s: Scenario, entries: readonly number[]): string => {
  const name = (i: number): string => {
    const c = s.clients[i]!;
    const base = c.name ?? c.kind;
    // Two entries of one kind: tell them apart by mapping.
    return s.clients.filter((x) => (x.name ?? x.kind) === base).length > 1 ? `${base}:${c.mapping}` : base;
  };
  return entries.map(name).join('+');
};

const mappingLabel = (c: ClientSpec): string => (c.mapping === 'hugetlb' ? `hugetlb-${c.hugePage}` : c.mapping);

const NO_MM = Object.fromEntries(MM_KINDS.map((k) => [k, 0])) as Record<MmKind, number>;

/** The scenario's mm weights with only `kinds` on (weight 1 each). */
const mmOnly = (s: Scenario, kinds: readonly MmKind[]): Mm => ({ ...s.mm, ...NO_MM, ...Object.fromEntries(kinds.map((k) => [k, 1])) });

/**
 * Interleave lists: one from each in turn. The `strided` ones are first put in a strided order
 * (index i of the result is element (i * stride) mod n, stride coprime with n), so that a prefix
 * of a large family spreads over all its dimensions instead of exhausting the first one.
 */
function interleave<T>(lists: readonly { xs: T[]; strided: boolean }[]): T[] {
  const ordered = lists.map(({ xs, strided }) => {
    const n = xs.length;
    if (!strided) return xs;
    let stride = Math.max(1, Math.round(n * 0.618)); // the golden-ratio stride
    while (gcd(stride, n) !== 1) stride++;
    return xs.map((_, i) => xs[(i * stride) % n]!);
  });
  const out: T[] = [];
  const total = ordered.reduce((n, xs) => n + xs.length, 0);
  for (let i = 0; out.length < total; i++) {
    for (const xs of ordered) if (i < xs.length) out.push(xs[i]!);
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The small-scope configurations of `s`: small tier first, then widen, then wide. */
export function smallScopeConfigs(s: Scenario): SmallConfig[] {
  const n = s.clients.length;
  const groups: { entries: number[]; counts: number[] }[] = [];
  for (let i = 0; i < n; i++) groups.push({ entries: [i], counts: [1] });
  for (let i = 0; i < n; i++) if (s.clients[i]!.count >= 2) groups.push({ entries: [i], counts: [2] });
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) groups.push({ entries: [i, j], counts: [1, 1] });
  const present = MM_KINDS.filter((k) => s.mm[k] > 0);
  const kinds: (MmKind | 'none')[] = [...present, 'none'];
  const who = (g: { entries: number[]; counts: number[] }): string => (g.counts[0] === 2 ? `2×${label(s, g.entries)}` : label(s, g.entries));
  const out: SmallConfig[] = [];
  for (const pages of [1, 2]) {
    for (const interval of INTERVALS) {
      for (const g of groups) {
        for (const mk of kinds) {
          if (mk === 'none' && interval !== 0) continue; // no mm step to spread
          const clients = g.entries.map((i, k) => shrinkClient(s.clients[i]!, pages, g.counts[k]!));
          out.push({
            id: `${who(g)} / ${mk} / ${pages}p${mk !== 'none' && interval > 0 ? ` / +${interval}µs` : ''}`,
            scenario: { ...s, name: `${s.name}.small`, clients, mm: mmOnly(s, mk === 'none' ? [] : [mk]) },
            opsPerActor: SMALL_OPS, mmSteps: mk === 'none' ? 0 : SMALL_MM_STEPS, mmIntervalUs: mk === 'none' ? 0 : interval, tier: 'small',
          });
        }
      }
    }
  }
  out.push(...widenConfigs(s, groups, who, present));
  // The wider tier: triples of entries with the scenario's own mm mix, then the scenario itself.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      for (let k = j + 1; k < n; k++) {
        out.push({
          id: `${label(s, [i, j, k])} / mixed / 2p`,
          scenario: { ...s, name: `${s.name}.wide`, clients: [i, j, k].map((e) => shrinkClient(s.clients[e]!, 2, 1)) },
          opsPerActor: 3, mmSteps: 3, mmIntervalUs: 20, tier: 'wide',
        });
      }
    }
  }
  // Rates tuned for a stress run of seconds (a registration held 300 operations, one write in
  // 200,000) never fire in a trial of a few operations: scale them to the trial.
  const scaled = out.map((c) => ({ ...c, scenario: { ...c.scenario, clients: c.scenario.clients.map((x) => toTrial(x, c.opsPerActor)) } }));
  scaled.push({ id: 'the scenario as given', scenario: s, opsPerActor: 2, mmSteps: 3, mmIntervalUs: 0, tier: 'wide' });
  return scaled;
}

/**
 * A client's rates scaled to a trial of `ops` operations: an RDMA registration is released within
 * it (holdOps at most ops - 1, so deregistration and its unpin run), and a client that writes at
 * all writes at least every other operation (a read-only one stays read-only).
 */
function toTrial(c: ClientSpec, ops: number): ClientSpec {
  const holdOps = Math.min(c.holdOps, Math.max(1, ops - 1));
  const writeRatio = c.writeRatio > 0 ? Math.max(c.writeRatio, 0.5) : 0;
  return holdOps === c.holdOps && writeRatio === c.writeRatio ? c : { ...c, holdOps, writeRatio };
}

/** The widen tier (see the module comment): one list per family, interleaved, invalid derivations dropped. */
function widenConfigs(
  s: Scenario, groups: readonly { entries: number[]; counts: number[] }[], who: (g: { entries: number[]; counts: number[] }) => string,
  present: readonly MmKind[],
): SmallConfig[] {
  const pairs: MmKind[][] = [];
  for (let i = 0; i < present.length; i++) for (let j = i + 1; j < present.length; j++) pairs.push([present[i]!, present[j]!]);
  const level = LEVELS[0];
  const seen = new Set<string>();
  const families = new Map<WidenFamily, SmallConfig[]>(WIDEN_FAMILIES.map((f) => [f, []]));
  const add = (family: WidenFamily, id: string, clients: ClientSpec[], mm: readonly MmKind[], ops: number, mmSteps: number, interval: number): void => {
    const full = `${id} / ${mm.length === 0 ? 'none' : mm.join('+')}${mm.length > 0 && interval > 0 ? ` / +${interval}µs` : ''} / ${ops}ops${mm.length > 0 ? ` ${mmSteps}mm` : ''}`;
    if (seen.has(full)) return;
    const scenario = { ...s, name: `${s.name}.widen`, clients, mm: mmOnly(s, mm) };
    // A derivation the machine cannot hold (say, two hugetlb regions on a machine with one huge page)
    // is left out; only the families that change mappings can make one (the others shrink valid entries).
    if ((family === 'mapping' || family === 'shared') && !ScenarioSchema.safeParse(scenario).success) return;
    seen.add(full);
    families.get(family)!.push({ id: full, scenario, opsPerActor: ops, mmSteps: mm.length === 0 ? 0 : mmSteps, mmIntervalUs: mm.length === 0 ? 0 : interval, tier: 'widen', family });
  };
  // Each kind's other mappings, alone and as two actors sharing the region. The small families
  // vary their own dimension fastest (every kind's every new mapping before the next mm kind), so
  // a prefix of one covers what it widens; 'none' first: the cheapest trials.
  const byKind = new Map<string, number>();
  s.clients.forEach((c, i) => byKind.set(c.name ?? c.kind, byKind.get(c.name ?? c.kind) ?? i));
  const remaps: { c: ClientSpec; m: { mapping: Mapping; hugePage?: '2m' | '1g' } }[] = [];
  for (const i of byKind.values()) {
    const c = s.clients[i]!;
    const used = new Set(s.clients.filter((x) => (x.name ?? x.kind) === (c.name ?? c.kind)).map((x) => `${x.mapping}/${x.hugePage}`));
    for (const m of mappingsFor(s, c)) if (!used.has(`${m.mapping}/${m.hugePage ?? c.hugePage}`)) remaps.push({ c, m });
  }
  const noneFirst: (MmKind | 'none')[] = ['none', ...present];
  for (const mk of noneFirst) {
    for (const [count, shared] of [[1, false], [2, true]] as const) {
      for (const { c, m } of remaps) {
        const r = remap(c, m, count, shared);
        const name = `${count === 2 ? '2×' : ''}${c.name ?? c.kind}:${mappingLabel(r)}${shared ? ' shared' : ''}`;
        add('mapping', name, [r], mk === 'none' ? [] : [mk], level.ops, level.mmSteps, level.intervals[count - 1]!);
      }
    }
    s.clients.forEach((c, i) => {
      const name = label(s, [i]);
      // Two actors of an entry on one shared region (file entries already share through the page cache).
      // (Not a fork client: its cow.c cases own their region, unmapping and remapping it.)
      if (c.mapping !== 'file' && c.kind !== 'custom' && c.kind !== 'fork') add('shared', `2×${name} shared`, [remap(c, c, 2, true)], mk === 'none' ? [] : [mk], level.ops, level.mmSteps, 0);
      // The other GUP path: gup-fast clients through the mmap_lock slow path and back.
      if (c.kind === 'dio' || c.kind === 'rdma' || c.kind === 'get') {
        add('gup-path', `${name} ${c.fast ? 'slow' : 'fast'}`, [{ ...shrinkClient(c, 1, 1), fast: !c.fast }], mk === 'none' ? [] : [mk], level.ops, level.mmSteps, 30);
      }
    });
  }
  // Longer sequences and wider spacing, each group on one and two pages, one mm kind at a time.
  for (const lv of LEVELS) {
    for (const pages of [1, 2]) {
      for (const g of groups) {
        const clients = g.entries.map((i, k) => shrinkClient(s.clients[i]!, pages, g.counts[k]!));
        for (const mk of present) {
          for (const interval of lv.intervals) add('longer', `${who(g)} / ${pages}p`, clients, [mk], lv.ops, lv.mmSteps, interval);
        }
        // The clients alone, for as long as their own multi-step protocols take (a fork cycle of cow.c is a dozen operations).
        if (lv === LEVELS[0]) for (const ops of SOLO_OPS) add('longer', `${who(g)} / ${pages}p`, clients, [], ops, 0, 0);
      }
    }
  }
  // Two mm kinds in one trial (the coordinator draws each step from the pair): one page, then two.
  for (const lv of [LEVELS[0], LEVELS[2]]) {
    for (const pages of [1, 2]) {
      for (const g of groups) {
        for (const pair of pairs) {
          add('mm-pair', `${who(g)} / ${pages}p`, g.entries.map((i, k) => shrinkClient(s.clients[i]!, pages, g.counts[k]!)), pair, lv.ops, lv.mmSteps, lv.intervals[1]!);
        }
      }
    }
  }
  return interleave([...families].map(([f, xs]) => ({ xs, strided: f === 'longer' || f === 'mm-pair' })));
}
