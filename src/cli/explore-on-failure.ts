/**
 * `pinlab run --explore-on-failure`: hand the run's first violation to the bridge
 * (src/explore/bridge.ts), shrink what it found in the configuration that found it, write the
 * schedule files, and return the link the run report carries. Loaded only when asked for; releases
 * the explore threads before returning (the run command has no other use for them).
 */
import { join } from 'node:path';
import { type RunExploreLink, type RunReport } from '../report/types.js';

export async function exploreOnFailure(
  report: RunReport, o: { seconds: number; outDir: string; signal?: AbortSignal; seed?: number },
): Promise<RunExploreLink | null> {
  const { exploreFromReport } = await import('../explore/bridge.js');
  const { shutdownExplore } = await import('../explore/explore.js');
  try {
    const b = await exploreFromReport(report, {
      timeMs: o.seconds * 1000, seed: o.seed ?? report.scenario.seed, ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    if (b === null) return null;
    const r = b.report;
    const target = `${b.target.oracle}: ${b.target.kind}`;
    const by = r.smallScope.foundBy;
    const failure = r.failure;
    if (failure === undefined || by === undefined) return { reproduced: false, target, trials: r.trials, durationMs: r.durationMs };
    // Only the reproducing trial's schedule is written (the campaign passes over other failures).
    const { writeScheduleFile } = await import('../sched/schedule.js');
    const scheduleFile = join(o.outDir, `schedule-${by.scenario.name}-${failure.schedule?.strategy ?? 'x'}-t${failure.trial}.json`.replace(/[^\w./-]+/g, '_'));
    if (failure.schedule !== undefined) writeScheduleFile(scheduleFile, failure.schedule);
    const link: RunExploreLink = {
      reproduced: true, target, trials: r.trials, durationMs: r.durationMs, configuration: by.id,
      ...(failure.schedule !== undefined ? { scheduleFile } : {}),
    };
    // Shrink in the configuration that found it (a quarter of the budget, at least 5 s).
    const { shrinkFailure } = await import('../explore/shrink.js');
    const shrunk = await shrinkFailure(by.scenario, { ...by.options }, failure, {
      timeoutMs: Math.max(5000, (o.seconds * 1000) / 4), ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    if (shrunk.stats.verified && shrunk.schedule !== failure.schedule) {
      const path = scheduleFile.replace(/\.json$/, '') + '.shrunk.json';
      writeScheduleFile(path, shrunk.schedule);
      link.shrunkScheduleFile = path;
    }
    return link;
  } finally {
    await shutdownExplore();
  }
}
