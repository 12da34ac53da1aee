// Issue 7 items 3 and 9: stress mode's liveness is judged from a watchdog thread that sees the
// coordinator too. A planted ABBA lock-order bug between an actor and the coordinator (the main
// thread) ends the run with an O5 deadlock naming both threads' held and awaited locks; a short
// watchdog under busy loops raises nothing. Fixed seeds, bounded durations.
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { ActorPool } from '../../src/coordinator/pool.js';
import { runScenario } from '../../src/coordinator/run.js';
import { LivenessJudge } from '../../src/coordinator/liveness-judge.js';
import { DEFAULT_SCENARIO, parseScenario } from '../../src/scenario/schema.js';

const pool = new ActorPool({ size: 6 });
afterAll(() => pool.destroy());

describe('LivenessJudge', () => {
  it('a thread whose heartbeat stands still while the others move is stalled after the window, once per window', () => {
    const j = new LivenessJudge(2, 500, 50);
    const out: ReturnType<LivenessJudge['tick']> = [];
    for (let t = 0, b = 0; t <= 1200; t += 50, b++) out.push(...j.tick(t, [7, b], [true, true]));
    expect(out.map((v) => v.thread)).toEqual([0, 0]);
    expect(out[0]!.stalledMs).toBeGreaterThanOrEqual(500);
  });

  it('a watchdog that was not scheduled does not age anyone (its ticks count at most twice their period)', () => {
    const j = new LivenessJudge(2, 500, 50);
    const out = [j.tick(0, [1, 1], [true, true]), j.tick(5000, [1, 2], [true, true]), j.tick(5050, [1, 3], [true, true])].flat();
    expect(out).toEqual([]);
    expect(j.progressMs).toBe(150); // 2 × 50 for the late tick, 50 for the next
  });

  it('a thread that sat runnable while the OS ran others (no chance to run) is not aged', () => {
    const j = new LivenessJudge(2, 500, 50);
    const out = [];
    for (let t = 0, b = 0; t <= 1800; t += 50, b++) out.push(...j.tick(t, [7, b], [true, true], [t % 200 === 0, true]));
    expect(out).toEqual([]); // a chance one tick in four: 450 ms of chances in 1.8 s of wall time
    for (let t = 1850, b = 100; t <= 2200; t += 50, b++) out.push(...j.tick(t, [7, b], [true, true], [true, true]));
    expect(out.map((v) => v.thread)).toEqual([0]);
  });

  it('every thread still for a whole window is a global stall; a thread not judged is never stalled', () => {
    const j = new LivenessJudge(3, 300, 50);
    const out = [];
    for (let t = 0; t <= 400; t += 50) out.push(...j.tick(t, [1, 1, 1], [true, true, false]));
    expect(out.map((v) => [v.thread, v.global])).toEqual([[0, true], [1, true]]);
  });
});

describe('stress-mode liveness', () => {
  it('an ABBA lock-order deadlock between an actor and the coordinator ends the run with an O5 deadlock naming held and awaited locks', async () => {
    const s = parseScenario({
      name: 'abba', seed: 3, durationMs: 20_000, watchdogMs: 500,
      clients: [
        { kind: 'dio', count: 1, mapping: 'file', pages: 16, bufferPages: 2 },
        { kind: 'get', count: 1, mapping: 'file', pages: 16, bufferPages: 2 },
      ],
      mm: { writeback: 0, munmap: 1000, migrate: 0, reclaim: 0, truncate: 0, intervalUs: 0 },
    });
    const t0 = performance.now();
    const r = await runScenario(s, { pool, chaos: { actor: 'dio#0', afterOps: 3, mode: 'lock-abba' } });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(15_000); // not the 20 s duration, and not for ever
    expect(r.stoppedBy).toBe('deadlock');
    expect(r.outcome).toBe('violation');
    const d = r.violations.find((v) => v.kind === 'deadlock');
    expect(d, JSON.stringify(r.violations.map((v) => v.kind))).toBeDefined();
    expect(d!.oracle).toBe('O5 liveness');
    expect(d!.detail).toMatch(/lock-order deadlock (coordinator → dio#0 → coordinator|dio#0 → coordinator → dio#0)/);
    expect(d!.detail).toMatch(/coordinator: holds [^;]*mmap_lock[^;]*; waits for [^;]*vma_lock[^;]* \(held by dio#0\)/);
    expect(d!.detail).toMatch(/dio#0: holds [^;]*vma_lock[^;]*; waits for [^;]*mmap_lock[^;]* \(held by coordinator\)/);
    expect(r.failures).toEqual([]);
  }, 30_000);

  it('a 500 ms watchdog under two busy loops raises nothing on the fault-free model', async () => {
    const busy = [0, 1].map(() => new Worker('const end = Date.now() + 6000; while (Date.now() < end);', { eval: true }));
    try {
      const r = await runScenario(parseScenario({ ...DEFAULT_SCENARIO, durationMs: 3000, watchdogMs: 500 }), { pool });
      expect(r.violations).toEqual([]);
      expect(r.outcome).toBe('clean');
      expect(r.totals.ops).toBeGreaterThan(100);
    } finally {
      await Promise.all(busy.map((w) => w.terminate()));
    }
  }, 30_000);
});
