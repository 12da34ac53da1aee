/** The outcome metrics of a stress run, from the coordinator's counters and samples (report/metrics.ts). */
import { latencySummary } from '../util/stats.js';
import type { RunMetrics } from '../report/metrics.js';
import type { ActorReport, Violation } from '../report/types.js';
import type { MmSamples } from './mmops.js';

const PAGE_BYTES = 4096;
const FAIL_PREFIX = 'fail_';

export interface MetricsInput {
  mm: Readonly<Record<string, number>>;
  samples: Readonly<MmSamples>;
  actors: readonly ActorReport[];
  violations: readonly Violation[];
  falsePositives: Readonly<Record<string, number>>;
  /** The run's length, ms (the rates' denominator). */
  runMs: number;
}

/** Compute RunMetrics (every field present; zeros where the policy never acted). */
export function computeMetrics(x: MetricsInput): RunMetrics {
  const mm = (k: string): number => x.mm[k] ?? 0;
  const sec = Math.max(1, x.runMs) / 1000;
  const clientOpsPerSec: Record<string, number> = {};
  const pinFailures: Record<string, number> = {};
  for (const a of x.actors) {
    clientOpsPerSec[a.kind] = (clientOpsPerSec[a.kind] ?? 0) + a.ops / sec;
    for (const [k, v] of Object.entries(a.stats)) {
      if (!k.startsWith(FAIL_PREFIX) || v === 0) continue;
      const errno = k.slice(FAIL_PREFIX.length);
      const name = errno === 'zero' || errno === 'other' ? errno : errno.toUpperCase();
      pinFailures[name] = (pinFailures[name] ?? 0) + v;
    }
  }
  for (const k of Object.keys(clientOpsPerSec)) clientOpsPerSec[k] = Math.round(clientOpsPerSec[k]! * 10) / 10;
  const waits = x.samples.waitsUs;
  const bounced = mm('io:bounced');
  return {
    lostWrites: x.violations.filter((v) => v.kind === 'lost-write').length,
    unstablePages: mm('io:unstable'),
    bounced: { pages: bounced, bytes: bounced * PAGE_BYTES },
    dirtyAtEnd: { pages: x.samples.dirtyPages, oldestAgeMs: Math.round(x.samples.oldestDirtyAgeMs * 10) / 10 },
    writeback: {
      pages: mm('io:completed'),
      pagesPerSec: Math.round((mm('io:completed') / sec) * 10) / 10,
      latencyUs: latencySummary(x.samples.writebackUs),
    },
    clientOpsPerSec,
    pinFailures,
    revoke: {
      requests: mm('revoke:requested'), ok: x.samples.revokesOk, failed: x.samples.revokesUs.length - x.samples.revokesOk,
      roundTripUs: latencySummary(x.samples.revokesUs),
    },
    waits: {
      count: waits.length, ok: x.samples.waitsOk, timeouts: waits.length - x.samples.waitsOk,
      totalMs: Math.round(waits.reduce((a, b) => a + b, 0) / 100) / 10, maxMs: waits.length === 0 ? 0 : Math.max(...waits) / 1000,
    },
    falsePositives: { ...x.falsePositives },
    pinBlocked: { migrations: mm('migrate:failed-pinned'), reclaims: mm('reclaim:pinned') },
  };
}
