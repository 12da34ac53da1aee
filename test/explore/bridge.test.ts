import { afterAll, describe, expect, it } from 'vitest';
import { replaySchedule, shutdownExplore } from '../../src/explore/explore.js';
import { ActorPool } from '../../src/coordinator/pool.js';
import { runScenario } from '../../src/coordinator/run.js';
import { bridgeScenario, exploreFromReport, reproduces } from '../../src/explore/bridge.js';
import { FAULTS } from '../../src/scenario/faults.js';
import { parseScenario } from '../../src/scenario/schema.js';

const pool = new ActorPool({ size: 4 });
afterAll(async () => {
  await pool.destroy();
  await shutdownExplore();
});

describe('the stress-to-explore bridge', () => {
  it('a stress failure of odp-no-retry becomes a schedule file that replays to the same oracle and kind', async () => {
    const f = FAULTS.find((x) => x.name === 'odp-no-retry')!;
    const run = await runScenario(parseScenario({ ...f.scenario, faults: [f.name], durationMs: 10_000 }), { pool, stopOnViolation: true });
    const v = run.violations[0]!;
    expect(v.oracle).toBe('O4 ODP protocol');
    const s = bridgeScenario(run);
    expect(s.clients.every((c) => v.actors.some((a) => a.startsWith(`${c.name ?? c.kind}#`)))).toBe(true);
    expect(s.delay).toBe('off');
    const b = (await exploreFromReport(run, { seed: 1, trials: 400 }))!;
    expect(b.report.outcome).toBe('violation');
    expect(b.report.failure!.violations.some((x) => reproduces(b.target, x))).toBe(true);
    const rep = await replaySchedule(b.report.failure!.schedule!);
    expect(rep.outcome).toBe('reproduced');
    expect(rep.violations.some((x) => reproduces(b.target, x))).toBe(true);
  }, 120_000);

  it('a failure of another oracle or kind is passed over, not taken for the target', async () => {
    const f = FAULTS.find((x) => x.name === 'odp-no-retry')!;
    const fake = { scenario: parseScenario({ ...f.scenario, faults: [f.name] }), violations: [{ oracle: 'O3 data integrity', kind: 'lost-write', page: 1, actors: ['odp#0'], detail: '', events: {} }] };
    const b = (await exploreFromReport(fake, { seed: 1, trials: 24 }))!;
    expect(b.report.failure).toBeUndefined();
    expect(b.report.trials).toBeGreaterThan(0);
  }, 60_000);
});
