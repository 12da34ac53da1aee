/**
 * Vacuous runs: a run (or an explore campaign) that found no violation but did not exercise what
 * it was asked to — a client kind that took no pins or made no accesses (ODP on a mapping it
 * cannot walk, hugetlb/CMA clients without such pages, a region larger than the machine, a run
 * shorter than its warm-up), a coordinator that did no mm operation — proves nothing; the CLI
 * says VACUOUS and exits 4 instead of CLEAN.
 */
import { type Scenario } from '../scenario/schema.js';

/**
 * The work a client kind did, from its statistics: pins for DIO and RDMA, references for GET; for
 * ODP, device accesses plus device faults whose walk found the page (an install or a retry).
 */
export function workOf(kind: string, stats: Record<string, number> | undefined): number {
  if (stats === undefined) return 0;
  switch (kind) {
    case 'odp':
      return (stats['odp_accesses'] ?? 0) + Math.max(0, (stats['odp_faults'] ?? 0) - (stats['gup_fails'] ?? 0));
    case 'get':
      return stats['gets'] ?? 0;
    default:
      return stats['pins'] ?? 0;
  }
}

const NOTHING_DONE: Readonly<Record<string, string>> = {
  dio: 'took no pins', rdma: 'took no pins', custom: 'took no pins', get: 'took no references', odp: 'made no access and mapped no page',
};

/** Add each actor's work statistic (actors in plan order: the scenario's clients expanded by count). */
export function addWork(work: Map<string, number>, s: Scenario, statsOf: (actor: number) => Record<string, number> | undefined): void {
  let actor = 0;
  for (const c of s.clients) {
    for (let j = 0; j < c.count; j++, actor++) work.set(c.kind, (work.get(c.kind) ?? 0) + workOf(c.kind, statsOf(actor)));
  }
}

/** One reason per client kind of the scenario that did no work (`where`: " in any trial", ""). */
export function vacuousKinds(s: Scenario, work: ReadonlyMap<string, number>, where = ''): string[] {
  const kinds = [...new Set(s.clients.map((c) => c.kind))];
  return kinds.filter((k) => (work.get(k) ?? 0) === 0).map((k) => `${k} clients ${NOTHING_DONE[k] ?? 'took no pins'}${where}`);
}
