/**
 * Vacuous runs: a run (or an explore campaign) that found no violation but did not exercise what
 * it was asked to — a client kind that took no pins or made no accesses (ODP on a mapping it
 * cannot walk, hugetlb/CMA clients without such pages, a region larger than the machine, a run
 * shorter than its warm-up), a coordinator that did no mm operation — proves nothing; the CLI
 * says VACUOUS and exits 4 instead of CLEAN.
 */
import { type Scenario } from '../scenario/schema.js';

/** The statistic that shows a client kind did its job: pins for DIO and RDMA, references for GET, accesses for ODP. */
export const WORK_STAT: Readonly<Record<string, string>> = { dio: 'pins', rdma: 'pins', get: 'gets', odp: 'odp_accesses' };

const NOTHING_DONE: Readonly<Record<string, string>> = { dio: 'took no pins', rdma: 'took no pins', get: 'took no references', odp: 'made no access' };

/** Add each actor's work statistic (actors in plan order: the scenario's clients expanded by count). */
export function addWork(work: Map<string, number>, s: Scenario, statsOf: (actor: number) => Record<string, number> | undefined): void {
  let actor = 0;
  for (const c of s.clients) {
    for (let j = 0; j < c.count; j++, actor++) work.set(c.kind, (work.get(c.kind) ?? 0) + (statsOf(actor)?.[WORK_STAT[c.kind]!] ?? 0));
  }
}

/** One reason per client kind of the scenario that did no work (`where`: " in any trial", ""). */
export function vacuousKinds(s: Scenario, work: ReadonlyMap<string, number>, where = ''): string[] {
  const kinds = [...new Set(s.clients.map((c) => c.kind))];
  return kinds.filter((k) => (work.get(k) ?? 0) === 0).map((k) => `${k} clients ${NOTHING_DONE[k]}${where}`);
}
