/**
 * The outcome metrics of a run (`RunReport.metrics`): what a writeback policy costs and what it
 * loses, for the research questions of ../shared/reference/research-questions.md §3.3. The zod
 * schema is the contract: `pinlab run --json` writes exactly this shape (test/report/metrics.test.ts).
 */
import { z } from 'zod';

const Count = z.number().int().nonnegative();
const Latency = z.object({ p50: z.number().nonnegative(), p99: z.number().nonnegative(), max: z.number().nonnegative() }).strict();

/** The metrics' schema, version 1 (fields may be added, never renamed). */
export const RunMetricsSchema = z
  .object({
    /** O3 lost-write violations reported (the violation log keeps at most 256). */
    lostWrites: Count,
    /** Writeback I/Os whose page changed while under writeback without a bounce copy (mm `io:unstable`). */
    unstablePages: Count,
    /** Writeback I/Os that wrote a bounce copy (snapshot), and their volume at 4 KiB per page. */
    bounced: z.object({ pages: Count, bytes: Count }).strict(),
    /** Page-cache pages dirty at the end of the run (before the final sync), and the oldest one's age, ms. */
    dirtyAtEnd: z.object({ pages: Count, oldestAgeMs: z.number().nonnegative() }).strict(),
    /**
     * Writeback I/Os completed, per second of run, and their latency from writebackPage() entry
     * (policy waits included) to I/O end, µs (nearest-rank percentiles).
     */
    writeback: z.object({ pages: Count, pagesPerSec: z.number().nonnegative(), latencyUs: Latency }).strict(),
    /** Client operations per second, summed per client kind. */
    clientOpsPerSec: z.record(z.string(), z.number().nonnegative()),
    /** GUP/pin calls that failed, by errno name ('zero': returned 0 pages; 'other'). */
    pinFailures: z.record(z.string(), Count),
    /** Policy revoke: requests to longterm holders, writebacks that got the page unpinned, failed ones, round trip µs. */
    revoke: z.object({ requests: Count, ok: Count, failed: Count, roundTripUs: Latency }).strict(),
    /** Policy wait: waits for a pinned page, those that ended unpinned, timeouts, total and longest wait, ms. */
    waits: z.object({ count: Count, ok: Count, timeouts: Count, totalMs: z.number().nonnegative(), maxMs: z.number().nonnegative() }).strict(),
    /** page_maybe_dma_pinned() true with no pin in the ghost ledgers, by cause (O1's bracket). */
    falsePositives: z.record(z.string(), Count),
    /** Migrations that failed while the folio was pinned, and reclaims that kept a page because it was pinned. */
    pinBlocked: z.object({ migrations: Count, reclaims: Count }).strict(),
  })
  .strict();

/** The outcome metrics of one run (see RunMetricsSchema for each field's meaning and unit). */
export type RunMetrics = z.infer<typeof RunMetricsSchema>;

/** The metric names a sweep tabulates, with a path into RunMetrics and a unit. */
export const METRIC_COLUMNS = [
  { name: 'lostWrites', unit: 'writes', get: (m: RunMetrics) => m.lostWrites },
  { name: 'unstablePages', unit: 'I/Os', get: (m: RunMetrics) => m.unstablePages },
  { name: 'bouncedMB', unit: 'MB', get: (m: RunMetrics) => m.bounced.bytes / 1e6 },
  { name: 'dirtyAtEnd', unit: 'pages', get: (m: RunMetrics) => m.dirtyAtEnd.pages },
  { name: 'oldestDirtyMs', unit: 'ms', get: (m: RunMetrics) => m.dirtyAtEnd.oldestAgeMs },
  { name: 'writebackPagesPerSec', unit: 'pages/s', get: (m: RunMetrics) => m.writeback.pagesPerSec },
  { name: 'writebackP50Us', unit: 'µs', get: (m: RunMetrics) => m.writeback.latencyUs.p50 },
  { name: 'writebackP99Us', unit: 'µs', get: (m: RunMetrics) => m.writeback.latencyUs.p99 },
  { name: 'clientOpsPerSec', unit: 'ops/s', get: (m: RunMetrics) => Object.values(m.clientOpsPerSec).reduce((a, b) => a + b, 0) },
  { name: 'pinFailures', unit: 'calls', get: (m: RunMetrics) => Object.values(m.pinFailures).reduce((a, b) => a + b, 0) },
  { name: 'revokeP99Us', unit: 'µs', get: (m: RunMetrics) => m.revoke.roundTripUs.p99 },
  { name: 'waitMs', unit: 'ms', get: (m: RunMetrics) => m.waits.totalMs },
  { name: 'falsePositives', unit: 'checks', get: (m: RunMetrics) => Object.values(m.falsePositives).reduce((a, b) => a + b, 0) },
  { name: 'migrateFailedPinned', unit: 'migrations', get: (m: RunMetrics) => m.pinBlocked.migrations },
  { name: 'reclaimKeptPinned', unit: 'reclaims', get: (m: RunMetrics) => m.pinBlocked.reclaims },
] as const;

/** Metrics of a run that did nothing (every count 0): for reports built by hand (tests, fakes). */
export function zeroMetrics(): RunMetrics {
  const lat = { p50: 0, p99: 0, max: 0 };
  return {
    lostWrites: 0, unstablePages: 0, bounced: { pages: 0, bytes: 0 }, dirtyAtEnd: { pages: 0, oldestAgeMs: 0 },
    writeback: { pages: 0, pagesPerSec: 0, latencyUs: { ...lat } }, clientOpsPerSec: {}, pinFailures: {},
    revoke: { requests: 0, ok: 0, failed: 0, roundTripUs: { ...lat } }, waits: { count: 0, ok: 0, timeouts: 0, totalMs: 0, maxMs: 0 },
    falsePositives: {}, pinBlocked: { migrations: 0, reclaims: 0 },
  };
}
