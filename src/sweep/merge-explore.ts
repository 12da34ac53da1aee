/**
 * `pinlab merge` of explore campaign shards (`pinlab explore --shard i/N --json`): the trials of
 * every shard joined into the campaign's report. A trial is a pure function of (scenario, options,
 * seed, trial), so merging every shard gives the unsharded campaign's trials, failures and
 * schedule hash — for a clean campaign, or with every failure kept (a campaign that stops at its
 * first failure stops at different trials in each shard; the merge keeps all the shards ran).
 */
import { isDeepStrictEqual } from 'node:util';
import type { ExploreReport } from '../explore/explore.js';
import { fnv32 } from '../sched/hash.js';
import { pctBound } from '../sched/pct.js';
import { ScenarioError } from '../scenario/schema.js';

const SAME = ['scenario', 'strategy', 'depth', 'seed', 'points', 'opsPerActor', 'mmSteps', 'mmIntervalUs', 'maxSteps', 'trialsRequested'] as const;

/** Merge explore shard reports of one campaign. Throws ScenarioError naming a mismatch or a report without trial hashes. */
export function mergeExplores(reports: readonly ExploreReport[], names: readonly string[] = []): ExploreReport {
  const first = reports[0];
  if (first === undefined) throw new ScenarioError(['merge: no report given']);
  const name = (i: number) => names[i] ?? `report ${i + 1}`;
  for (const [i, r] of reports.entries()) {
    if (r.trialHashes === undefined) throw new ScenarioError([`${name(i)}: an explore report without --shard (no trial hashes to merge)`]);
    for (const k of SAME) if (!isDeepStrictEqual(r[k], first[k])) throw new ScenarioError([`${name(i)}: a different ${k} than ${name(0)}`]);
  }
  const byTrial = new Map<number, number>();
  for (const r of reports) for (const [t, h] of r.trialHashes!) byTrial.set(t, h);
  const order = [...byTrial.keys()].sort((a, b) => a - b);
  const failures = reports.flatMap((r) => r.failures).sort((a, b) => a.trial - b.trial).filter((f, i, xs) => i === 0 || xs[i - 1]!.trial !== f.trial);
  const sum = (f: (r: ExploreReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const trials = order.length;
  const steps = sum((r) => r.steps);
  const durationMs = sum((r) => r.durationMs);
  const counters = { ...first.counters };
  for (const key of Object.keys(counters) as (keyof typeof counters)[]) counters[key] = sum((r) => r.counters[key]);
  const head = failures[0];
  const shards = reports.flatMap((r) => r.shards ?? []).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const merged: ExploreReport = {
    ...first,
    outcome: head === undefined ? 'clean' : head.outcome === 'clean' ? 'internal' : head.outcome,
    trials, steps, switches: sum((r) => r.switches), durationMs, counters,
    stepsPerSec: Math.round((steps * 1000) / Math.max(1, durationMs)),
    trialsPerSec: Math.round((trials * 1000 * 10) / Math.max(1, durationMs)) / 10,
    meanStepsPerTrial: trials > 0 ? Math.round(steps / trials) : 0,
    scheduleHash: fnv32(order.map((t) => byTrial.get(t)!)),
    failures,
    stoppedBy: reports.some((r) => r.stoppedBy === 'signal') ? 'signal' : head !== undefined ? 'failure' : 'trials',
    shards,
    trialHashes: order.map((t) => [t, byTrial.get(t)!]),
  };
  if (head !== undefined) merged.failure = head;
  else delete merged.failure;
  if (first.pct) merged.pct = { ...first.pct, ...pctBound(first.pct.n, first.pct.k, first.pct.d, trials - failures.length) };
  return merged;
}
