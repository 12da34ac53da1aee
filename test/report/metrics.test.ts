// The outcome metrics (report/metrics.ts) on small scenarios whose outcome is known, and the zod
// schema is the shape the CLI writes. Fixed seeds, short runs.
import { afterAll, describe, expect, it } from 'vitest';
import { ActorPool } from '../../src/coordinator/pool.js';
import { runScenario } from '../../src/coordinator/run.js';
import { RunMetricsSchema } from '../../src/report/metrics.js';
import { formatJsonReport } from '../../src/report/json.js';
import { type Policy, parseScenario } from '../../src/scenario/schema.js';

const pool = new ActorPool({ size: 3 });
afterAll(() => pool.destroy());

/** One DIO writer on a file region under writeback and reclaim (the pre-d824ec2a1546 hazard). */
function dioUnderWriteback(policy: Policy, over: Record<string, unknown> = {}) {
  return parseScenario({
    name: `metrics-${policy}`, seed: 3, durationMs: 600, era: 'v6.18', policy,
    clients: [{ kind: 'dio', count: 1, mapping: 'file', file: 0, offset: 0, pages: 8, bufferPages: 4 }],
    mm: { writeback: 6, munmap: 0, migrate: 0, reclaim: 6, truncate: 0, writebackUs: 200 },
    ...over,
  });
}

describe('outcome metrics', () => {
  it('ignore: one DIO writer under writeback and reclaim loses writes', async () => {
    // DIO pins are short: heavy delays widen the window, and the run stops at the first lost
    // write (about one per 0.3 s here on a quiet machine; the 12 s bound is for a loaded one).
    const r = await runScenario(dioUnderWriteback('ignore', { delay: 'heavy', durationMs: 12_000 }), { pool, stopOnViolation: true });
    expect(r.metrics.lostWrites).toBeGreaterThan(0);
    expect(r.metrics.lostWrites).toBe(r.violations.filter((v) => v.kind === 'lost-write').length);
    expect(r.metrics.writeback.pages).toBeGreaterThan(0);
    expect(r.metrics.clientOpsPerSec.dio).toBeGreaterThan(0);
    // The schema the CLI's JSON carries.
    const json = JSON.parse(formatJsonReport(r)) as { metrics: unknown };
    expect(RunMetricsSchema.parse(json.metrics)).toEqual(r.metrics);
  });

  it('bounce: bytes bounced and no unstable page; writeback latency and throughput measured', async () => {
    const r = await runScenario(dioUnderWriteback('bounce'), { pool });
    expect(r.violations).toEqual([]);
    expect(r.metrics.bounced.pages).toBeGreaterThan(0);
    expect(r.metrics.bounced.bytes).toBe(r.metrics.bounced.pages * 4096);
    expect(r.metrics.unstablePages).toBe(0);
    const wb = r.metrics.writeback;
    expect(wb.pagesPerSec).toBeGreaterThan(0);
    expect(wb.latencyUs.p50).toBeGreaterThanOrEqual(200); // at least the device's writebackUs
    expect(wb.latencyUs.p50).toBeLessThanOrEqual(wb.latencyUs.p99);
    expect(wb.latencyUs.p99).toBeLessThanOrEqual(wb.latencyUs.max);
  });

  it('wait: waits and wait time recorded; mainline on v6.18: refused longterm file pins are counted by errno', async () => {
    const w = await runScenario(dioUnderWriteback('wait', { mm: { writeback: 6, munmap: 0, migrate: 0, reclaim: 0, truncate: 0, writebackUs: 200, waitTimeoutMs: 1 } }), { pool });
    expect(w.violations).toEqual([]);
    expect(w.metrics.waits.count).toBeGreaterThan(0);
    expect(w.metrics.waits.totalMs).toBeGreaterThan(0);
    expect(w.metrics.waits.count).toBe(w.metrics.waits.ok + w.metrics.waits.timeouts);
    expect(w.metrics.waits.count).toBe((w.mm['wait:ok'] ?? 0) + (w.mm['wait:timeout'] ?? 0));
    const m = await runScenario(
      parseScenario({
        seed: 1, durationMs: 300, era: 'v6.18',
        clients: [{ kind: 'rdma', count: 1, mapping: 'file', file: 0, offset: 0, pages: 16, bufferPages: 4 }],
      }),
      { pool },
    );
    expect(m.metrics.pinFailures.EFAULT).toBeGreaterThan(0); // v6.5+: writable longterm file pins refused
    expect(RunMetricsSchema.safeParse(m.metrics).success).toBe(true);
  });
});
