/**
 * The stress-to-explore bridge: a violation found by `pinlab run` becomes a small explore campaign
 * built from what the report names — the client entries of the actors involved, the mm operation
 * kinds the coordinator's last events show, the scenario's faults, era and policy — explored by
 * small-scope configurations until a trial reproduces the same oracle and violation kind. The
 * failing trial's schedule file then replays it deterministically (and shrinks like any other).
 */
import { type ExploreOptions } from './explore.js';
import { type RunReport, type Violation } from '../report/types.js';
import { parseScenario, type Scenario } from '../scenario/schema.js';
import { MM_KINDS, type MmKind } from '../scenario/small-scope.js';
import { type SmallScopeReport, exploreSmallScope } from './small-scope.js';

/** What the bridge is after: the report's first violation, by oracle and kind. */
export interface BridgeTarget {
  oracle: string;
  kind: string;
  actors: string[];
}

/** The target of a run report: its first violation (null: the run found none). */
export function bridgeTarget(r: Pick<RunReport, 'violations'>): BridgeTarget | null {
  const v = r.violations[0];
  return v === undefined ? null : { oracle: v.oracle, kind: v.kind, actors: [...v.actors] };
}

/** Same oracle, same kind: what "reproduced" means for the bridge. */
export const reproduces = (t: BridgeTarget, v: Pick<Violation, 'oracle' | 'kind'>): boolean => v.oracle === t.oracle && v.kind === t.kind;

/**
 * The scenario the bridge explores: the run's scenario reduced to the client entries of the
 * violation's actors (all entries when it names none of them) and to the mm kinds in the
 * coordinator's recorded events (the scenario's own when it shows none); delay off.
 */
export function bridgeScenario(r: Pick<RunReport, 'scenario' | 'violations'>): Scenario {
  const s = parseScenario(r.scenario);
  const v = r.violations[0];
  const prefixes = new Set((v?.actors ?? []).filter((a) => a !== 'coordinator').map((a) => a.replace(/#\d+$/, '')));
  const entries = s.clients.filter((c) => prefixes.has(c.name ?? c.kind));
  const seen = new Set<MmKind>();
  for (const evs of Object.values(v?.events ?? {})) for (const e of evs) if ((MM_KINDS as readonly string[]).includes(e.event)) seen.add(e.event as MmKind);
  const kinds = MM_KINDS.filter((k) => s.mm[k] > 0 && (seen.size === 0 || seen.has(k)));
  const mm = Object.fromEntries(MM_KINDS.map((k) => [k, kinds.includes(k) ? s.mm[k] : 0]));
  return parseScenario({ ...s, name: `${s.name}.bridge`, delay: 'off', clients: entries.length > 0 ? entries : s.clients, mm: { ...s.mm, ...mm } });
}

/**
 * Explore the bridge scenario of run report `r` until a trial reproduces its first violation
 * (same oracle and kind), within `options` (a time or trial budget; default 60 s). Failures of
 * another oracle or kind are passed over. Null when the report has no violation.
 */
export async function exploreFromReport(r: Pick<RunReport, 'scenario' | 'violations'>, options: ExploreOptions = {}): Promise<{ target: BridgeTarget; report: SmallScopeReport } | null> {
  const target = bridgeTarget(r);
  if (target === null) return null;
  const report = await exploreSmallScope(bridgeScenario(r), {
    ...(options.trials === undefined && options.timeMs === undefined ? { timeMs: 60_000 } : {}),
    ...options,
    accept: (vs) => vs.some((v) => reproduces(target, v)),
  });
  return { target, report };
}
