// The embedded scenario `fork-buffered` (src/scenario/schema.ts FORK_BUFFERED_SCENARIO): a process
// that forks (the cow.c cases of src/clients/fork.ts) while DIO and RDMA pin its anonymous memory,
// and buffered read(2)/write(2) through the lockless page cache beside DIO on one file. Clean on
// the current era (early COW, write_protect_seq, PageAnonExclusive; migration's freeze); on v5.7,
// whose fork shares pinned pages and whose do_wp_page reuses by mapcount (native bugs
// fork-no-early-cow, cow-reuse-by-mapcount), O3 reports leaks between parent and child.
// Bounded: 3 s runs.
import { afterAll, describe, expect, it } from 'vitest';
import { ActorPool } from '../../src/coordinator/pool.js';
import { runScenario } from '../../src/coordinator/run.js';
import { EMBEDDED_SCENARIOS, loadScenario } from '../../src/scenario/load.js';
import { parseScenario } from '../../src/scenario/schema.js';

const pool = new ActorPool({ size: 6 });
afterAll(() => pool.destroy());

describe('embedded scenario fork-buffered', () => {
  it('is embedded and listed, on the current era', async () => {
    expect(Object.keys(EMBEDDED_SCENARIOS)).toContain('fork-buffered');
    const s = await loadScenario('fork-buffered');
    expect(s.era).toBe('v6.18');
    expect(s.clients.map((c) => c.kind)).toEqual(['fork', 'dio', 'rdma', 'buffered', 'dio']);
  });

  it('runs clean on v6.18, with forks, pins across them and buffered I/O really happening', async () => {
    const s = await loadScenario('fork-buffered');
    const r = await runScenario(parseScenario({ ...s, durationMs: 3000 }), { pool });
    expect(r.violations, JSON.stringify(r.violations.slice(0, 3))).toEqual([]);
    expect(r.outcome).toBe('clean');
    const by = (name: string) => r.actors.find((a) => a.name === name)!;
    expect(by('fork#0').ops).toBeGreaterThan(40); // ten cycles at least: 4 steps each
    expect(by('fork#0').stats['pins']).toBeGreaterThan(0); // rw-pin and ro-pin-shared cycles
    expect(by('rdma#0').stats['registrations']).toBeGreaterThan(0);
    expect(by('buffered#0').stats['dma_writes']).toBeGreaterThan(0); // write(2)s
    expect(by('buffered#0').stats['dma_reads']).toBeGreaterThan(0); // read(2)s
    expect(r.mm['migrate:ok'] ?? 0).toBeGreaterThan(0);
    expect(r.vmstat.nr_foll_pin_acquired).toBe(r.vmstat.nr_foll_pin_released);
  }, 30_000);

  it('on v5.7 (no early COW, reuse by mapcount: native) reports O3 cow-leak', async () => {
    const s = await loadScenario('fork-buffered');
    const r = await runScenario(parseScenario({ ...s, era: 'v5.7', durationMs: 3000 }), { pool, stopOnViolation: true });
    expect(r.outcome).toBe('violation');
    expect(r.violations.some((v) => v.oracle.startsWith('O3') && v.kind === 'cow-leak'), JSON.stringify(r.violations.slice(0, 3))).toBe(true);
  }, 30_000);
});
