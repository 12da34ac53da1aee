/**
 * Small-scope configurations of a scenario (the small-scope hypothesis: most protocol bugs show
 * with two actors on one or two pages). From any scenario: each client entry alone, each pair of
 * entries (and two actors of an entry that has several), each with the coordinator running one mm
 * operation kind at a time (or none), on one or two pages, with short operation sequences; then a
 * wider tier — triples of entries with every mm kind of the scenario, and the scenario itself.
 * A pure function of the scenario: the same scenario gives the same configurations in the same
 * order, so a campaign over them stays deterministic.
 */
import { type ClientSpec, type Scenario } from './schema.js';

/** The mm operation kinds (MmOps' names). */
export const MM_KINDS = ['writeback', 'munmap', 'migrate', 'reclaim', 'truncate'] as const;
export type MmKind = (typeof MM_KINDS)[number];

/** One small configuration: a derived scenario and the explore workload to run on it. */
export interface SmallConfig {
  /** "dio+odp / munmap / 1p": the client entries (by kind), the mm kind, the pages. */
  id: string;
  scenario: Scenario;
  opsPerActor: number;
  mmSteps: number;
  mmIntervalUs: number;
  /** 'small' first; 'wide' joins the campaign after every small configuration ran once. */
  tier: 'small' | 'wide';
}

const SMALL_OPS = 2;
const SMALL_MM_STEPS = 2;
/** Logical µs between the coordinator's mm steps, alternately: back to back, or spread into the clients' operations. */
const INTERVALS = [0, 30] as const;

function shrinkClient(c: ClientSpec, pages: number, count: number): ClientSpec {
  const huge = c.mapping === 'hugetlb';
  // A hugetlb region is whole huge pages: keep it; everything else gets `pages` pages at offset 0
  // (file clients of the same file then share pages, which is where they race).
  if (huge) return { ...c, count };
  return { ...c, count, pages: Math.min(c.pages, pages), bufferPages: Math.min(c.bufferPages, pages), offset: 0 };
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

/** The small-scope configurations of `s`, small tier first. */
export function smallScopeConfigs(s: Scenario): SmallConfig[] {
  const n = s.clients.length;
  const groups: { entries: number[]; counts: number[] }[] = [];
  for (let i = 0; i < n; i++) groups.push({ entries: [i], counts: [1] });
  for (let i = 0; i < n; i++) if (s.clients[i]!.count >= 2) groups.push({ entries: [i], counts: [2] });
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) groups.push({ entries: [i, j], counts: [1, 1] });
  const kinds: (MmKind | 'none')[] = [...MM_KINDS.filter((k) => s.mm[k] > 0), 'none'];
  const noMm = Object.fromEntries(MM_KINDS.map((k) => [k, 0])) as Record<MmKind, number>;
  const out: SmallConfig[] = [];
  for (const pages of [1, 2]) {
    for (const interval of INTERVALS) {
      for (const g of groups) {
        for (const mk of kinds) {
          if (mk === 'none' && interval !== 0) continue; // no mm step to spread
          const clients = g.entries.map((i, k) => shrinkClient(s.clients[i]!, pages, g.counts[k]!));
          const who = g.counts[0] === 2 ? `2×${label(s, g.entries)}` : label(s, g.entries);
          out.push({
            id: `${who} / ${mk} / ${pages}p${mk !== 'none' && interval > 0 ? ` / +${interval}µs` : ''}`,
            scenario: { ...s, name: `${s.name}.small`, clients, mm: { ...s.mm, ...noMm, ...(mk !== 'none' ? { [mk]: 1 } : {}) } },
            opsPerActor: SMALL_OPS, mmSteps: mk === 'none' ? 0 : SMALL_MM_STEPS, mmIntervalUs: mk === 'none' ? 0 : interval, tier: 'small',
          });
        }
      }
    }
  }
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
  out.push({ id: 'the scenario as given', scenario: s, opsPerActor: 2, mmSteps: 3, mmIntervalUs: 0, tier: 'wide' });
  return out;
}
