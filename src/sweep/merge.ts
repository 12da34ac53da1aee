/**
 * `pinlab merge`: join sweep reports of one grid (its shards, or reruns of some cells) into one.
 * Runs are keyed by (cell, repeat); the summaries are recomputed from the joined runs, so merging
 * every shard of a sweep gives the report of the unsharded sweep (up to durationMs and shards).
 */
import { isDeepStrictEqual } from 'node:util';
import { ScenarioError } from '../scenario/schema.js';
import type { SweepReport, SweepRun } from '../report/sweep-types.js';
import { gridCells } from './grid.js';
import { assembleCells } from './sweep.js';

/** Merge sweep reports of the same base, axes and repeat. Throws ScenarioError naming the mismatch. */
export function mergeSweeps(reports: readonly SweepReport[], names: readonly string[] = []): SweepReport {
  if (reports.length === 0) throw new ScenarioError(['merge: no report given']);
  const first = reports[0]!;
  const name = (i: number) => names[i] ?? `report ${i + 1}`;
  for (const [i, r] of reports.entries()) {
    if (r.kind !== 'sweep') throw new ScenarioError([`${name(i)}: not a sweep report (kind ${String(r.kind)})`]);
    if (!isDeepStrictEqual(r.base, first.base)) throw new ScenarioError([`${name(i)}: a different base scenario than ${name(0)}`]);
    if (!isDeepStrictEqual(r.axes, first.axes)) throw new ScenarioError([`${name(i)}: different --vary axes than ${name(0)}`]);
    if (r.repeat !== first.repeat) throw new ScenarioError([`${name(i)}: --repeat ${r.repeat}, ${name(0)} has ${first.repeat}`]);
  }
  const byKey = new Map<string, SweepRun>();
  for (const r of reports) {
    for (const run of r.runs) {
      const key = `${run.cell}/${run.repeat}`;
      if (!byKey.has(key)) byKey.set(key, run); // a run in two reports (overlapping shards): the first is kept
    }
  }
  const runs = [...byKey.values()];
  const grid = gridCells(first.base, first.axes);
  const shards = reports.flatMap((r) => r.shards).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const expected = grid.length * first.repeat;
  return {
    ...first,
    shards: shards.filter((s, i) => i === 0 || s[0] !== shards[i - 1]![0] || s[1] !== shards[i - 1]![1]),
    status: reports.some((r) => r.status === 'interrupted') ? 'interrupted' : runs.length === expected ? 'complete' : 'partial',
    durationMs: reports.reduce((a, r) => a + r.durationMs, 0),
    cells: assembleCells(grid, runs, (assign) => first.cells.find((c) => isDeepStrictEqual(c.assign, assign))?.command ?? ''),
    runs,
  };
}
