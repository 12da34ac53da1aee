// pinlab/vitest: exploreClean and runClean return the clean report or throw one PinlabViolation
// with the oracle, page, actors, seed, schedule file and the command; PINLAB_* knobs override.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shutdown, type ScenarioInput } from '../../src/index.js';
import { exploreClean, PinlabViolation, runClean } from '../../src/vitest.js';
import { exampleClient } from '../fixtures/example-client.js';

const uring = (params: Record<string, string> = {}): ScenarioInput => ({
  name: 'uring',
  seed: 3,
  policy: 'skip',
  clients: [
    {
      kind: 'custom',
      module: exampleClient(),
      count: 2,
      pages: 32,
      bufferPages: 4,
      holdOps: 20,
      params,
    },
    { kind: 'dio' },
  ],
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-vitest-'));
});
afterEach(() => {
  for (const k of ['PINLAB_SEED', 'PINLAB_TRIALS', 'PINLAB_TIME']) delete process.env[k];
});
afterAll(async () => {
  await shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('exploreClean', () => {
  it('resolves to the clean report; PINLAB_TRIALS and PINLAB_SEED override the options', async () => {
    process.env['PINLAB_TRIALS'] = '7';
    process.env['PINLAB_SEED'] = '42';
    const r = await exploreClean(uring(), { trials: 500, seed: 1, outDir: dir });
    expect(r.outcome).toBe('clean');
    expect(r.trials).toBe(7);
    expect(r.seed).toBe(42);
  });

  it('PINLAB_TIME bounds the campaign in wall time', async () => {
    process.env['PINLAB_TIME'] = '300ms';
    const t0 = performance.now();
    const r = await exploreClean(uring(), { trials: 1_000_000, outDir: dir });
    expect(r.stoppedBy).toBe('signal');
    expect(r.trials).toBeLessThan(1_000_000);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('a malformed knob is a RangeError naming it', async () => {
    process.env['PINLAB_TRIALS'] = 'many';
    await expect(exploreClean(uring())).rejects.toThrow(/PINLAB_TRIALS: expected an integer >= 1, got "many"/);
    delete process.env['PINLAB_TRIALS'];
    process.env['PINLAB_TIME'] = 'soon';
    await expect(exploreClean(uring())).rejects.toThrow(/PINLAB_TIME: expected a positive duration/);
  });

  it('the planted bug throws one PinlabViolation carrying oracle, page, actors, seed, schedule file and replay command', async () => {
    const e = await exploreClean(uring({ bug: 'get' }), { seed: 1, outDir: dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PinlabViolation);
    const v = e as PinlabViolation;
    expect(v.violation.oracle).toMatch(/^O3/);
    expect(v.seed).toBe(1);
    expect(existsSync(v.scheduleFile!)).toBe(true);
    expect(v.command).toBe(`npx pinlab replay ${v.scheduleFile}`);
    expect(v.message).toMatch(
      /^pinlab: O3 data integrity \([a-z-]+\) on page \d+ .* — actors uring#\d, coordinator; explore trial \d+ of 200, seed 1, strategy portfolio( \(depth 3\))?/,
    );
    expect(v.message).toContain(`replay: npx pinlab replay ${v.scheduleFile}`);
    expect(v.message).toMatch(/last events \(oldest first\)/);
  });
});

describe('runClean', () => {
  it('the planted bug throws PinlabViolation with the scenario written, and a schedule explore found for it', async () => {
    const e = await runClean(uring({ bug: 'get' }), { time: '10s', outDir: dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PinlabViolation);
    const v = e as PinlabViolation;
    expect(v.message).toMatch(/stress run, seed 3/);
    const rerun = /re-run: (npx pinlab run (\S+scenario-uring-seed3\.json) --seed 3)$/m.exec(v.message);
    expect(rerun, v.message).not.toBeNull();
    expect(existsSync(rerun![2]!)).toBe(true);
    expect(v.scheduleFile, v.message).toBeDefined();
    expect(v.command).toBe(`npx pinlab replay ${v.scheduleFile}`);
    expect(v.message).toContain(`replay: ${v.command}`);
  });

  it('with exploreMs 0 the error carries the re-run command only', async () => {
    const e = await runClean(uring({ bug: 'get' }), { time: '10s', outDir: dir, exploreMs: 0 }).catch((x: unknown) => x);
    const v = e as PinlabViolation;
    expect(v.scheduleFile).toBeUndefined();
    expect(v.command).toMatch(/^npx pinlab run \S+ --seed 3$/);
  });
});
