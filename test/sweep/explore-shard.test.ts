// Explore campaigns split with --shard: every shard runs its trials t % N == i with the campaign's
// seeds, and merging them gives the unsharded campaign (trials, steps, schedule hash, failures).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCli } from '../../src/cli/cli.js';
import { shutdownExploreEngine } from '../../src/cli/explore.js';
import { type ExploreOptions, exploreScenario } from '../../src/explore/explore.js';
import { TrialRunner } from '../../src/explore/runner.js';
import type { ScenarioInput } from '../../src/scenario/schema.js';
import { mergeExplores } from '../../src/sweep/merge-explore.js';
import { junitErrors } from '../fixtures/junit-validate.js';

const runner = new TrialRunner();
const dir = mkdtempSync(join(tmpdir(), 'pinlab-xshard-'));
afterAll(async () => {
  await runner.destroy();
  await shutdownExploreEngine();
  rmSync(dir, { recursive: true, force: true });
});

const odp = (faults: string[] = []): ScenarioInput => ({
  name: 'odp-vs-mm', seed: 1, faults,
  clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
  mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
});

describe('explore --shard and merge', () => {
  it('a clean campaign: merged shards equal the unsharded one', { timeout: 60_000 }, async () => {
    const o: ExploreOptions = { runner, strategy: 'pct', trials: 24, seed: 3 };
    const whole = await exploreScenario(odp(), o);
    const parts = [];
    for (const i of [0, 1, 2]) parts.push(await exploreScenario(odp(), { ...o, shard: { index: i, count: 3 } }));
    expect(parts.map((p) => p.trials)).toEqual([8, 8, 8]);
    const m = mergeExplores(JSON.parse(JSON.stringify([parts[1], parts[2], parts[0]])));
    expect(m.outcome).toBe('clean');
    expect([m.trials, m.steps, m.switches, m.scheduleHash, m.counters]).toEqual([whole.trials, whole.steps, whole.switches, whole.scheduleHash, whole.counters]);
    expect(m.pct?.missProbability).toBeCloseTo(whole.pct!.missProbability, 12);
  });

  it('with every failure kept: the same failing trials; the CLI shards, merges and writes HTML and valid JUnit', { timeout: 60_000 }, async () => {
    const o: ExploreOptions = { runner, strategy: 'pct', trials: 12, seed: 1, keepGoing: true };
    const whole = await exploreScenario(odp(['odp-no-retry']), o);
    expect(whole.failures.length).toBeGreaterThan(0);
    const parts = [];
    for (const i of [0, 1]) parts.push(await exploreScenario(odp(['odp-no-retry']), { ...o, shard: { index: i, count: 2 } }));
    const m = mergeExplores(JSON.parse(JSON.stringify(parts)));
    expect(m.failures.map((f) => f.trial)).toEqual(whole.failures.map((f) => f.trial));
    expect(m.failure?.violations[0]?.kind).toBe(whole.failure?.violations[0]?.kind);
    expect(m.scheduleHash).toBe(whole.scheduleHash);

    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, 'odp.json'), JSON.stringify(odp(['odp-no-retry']))));
    let stderr = '';
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, onInterrupt: () => () => undefined, exit: () => undefined };
    const run = (args: string[]) => createCli({ runScenario: async () => { throw new Error('no stress run here'); }, io }).main(args);
    for (const i of [0, 1]) {
      const code = await run(['explore', join(dir, 'odp.json'), '--trials', '6', '--seed', '1', '--shard', `${i}/2`, '--out', dir, '--json', join(dir, `x${i}.json`), '-q']);
      expect([0, 1], stderr).toContain(code);
    }
    expect(await run(['merge', join(dir, 'x0.json'), join(dir, 'x1.json'), '--json', join(dir, 'xm.json'), '--junit', join(dir, 'xm.xml'), '--html', join(dir, 'xm.html'), '-q']), stderr).toBe(0);
    const merged = JSON.parse(readFileSync(join(dir, 'xm.json'), 'utf8'));
    expect(merged.shards).toEqual([[0, 2], [1, 2]]);
    const xml = readFileSync(join(dir, 'xm.xml'), 'utf8');
    expect(await junitErrors(xml)).toEqual([]);
    if (merged.failure) expect(xml).toContain('replay: npx pinlab replay ');
    expect(readFileSync(join(dir, 'xm.html'), 'utf8')).toContain('<svg');
  });
});
