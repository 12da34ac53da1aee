// Issue 7 items 1, 4 and 10 in explore mode: a long legitimate trial (one DIO client of 2,048-page
// requests, far past the old fixed 100,000-step bound) is clean; replay honours the schedule
// file's faults and workload seed and reports recorded steps it did not follow; a schedule file
// that cannot be written does not hide the violation. Fixed seeds, one trial each.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exploreScenario, replaySchedule } from '../../src/explore/explore.js';
import { faultExploreOptions, faultExploreScenario } from '../../src/scenario/fault-explore.js';
import { TrialRunner } from '../../src/explore/runner.js';
import { type ScheduleFile } from '../../src/sched/schedule.js';

const runner = new TrialRunner();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-rex-'));
});
afterAll(async () => {
  await runner.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('explore on long legitimate work', () => {
  it('one DIO client of 2,048-page requests: clean, well past 100,000 steps, and not vacuous', async () => {
    const r = await exploreScenario(
      { name: 'long-dio', seed: 1, machine: { filePages: 2048 }, clients: [{ kind: 'dio', mapping: 'file', pages: 2048, bufferPages: 2048 }] },
      { strategy: 'random', trials: 1, seed: 1, runner },
    );
    expect(r.outcome, r.failure?.violations[0]?.detail).toBe('clean');
    expect(r.steps).toBeGreaterThan(100_000);
    expect(r.maxSteps).toBeGreaterThan(r.steps);
    expect(r.vacuous).toEqual([]);
  }, 60_000);
});

describe('replay follows the file', () => {
  let found: ScheduleFile;
  beforeAll(async () => {
    const name = 'odp-no-retry';
    const x = await exploreScenario(faultExploreScenario(name), { ...faultExploreOptions(name), runner });
    expect(x.outcome).toBe('violation');
    found = x.failure!.schedule!;
  }, 60_000);

  it('reproduces the recorded violation with an identical trace', async () => {
    expect(await replaySchedule(found, { runner })).toMatchObject({ outcome: 'reproduced', identical: true });
  });

  it("honours the file's faults: with the fault list emptied, the recorded violation does not come back", async () => {
    const r = await replaySchedule({ ...found, faults: [] }, { runner });
    expect(r.reproduced).toBe(false);
    expect(['divergence', 'clean']).toContain(r.outcome);
  });

  it("honours the file's workload seed: another seed is another trial", async () => {
    const r = await replaySchedule({ ...found, workloadSeed: found.workloadSeed + 1 }, { runner });
    expect(r.identical).toBe(false);
  });

  it('reports the recorded steps after the end of the trial that it did not follow', async () => {
    const extra = found.steps.slice(0, 5);
    const r = await replaySchedule({ ...found, steps: [...found.steps, ...extra] }, { runner });
    expect(r.unfollowedSteps).toBe(5);
    expect(r.identical).toBe(false);
  });
});

describe('an unwritable schedule directory', () => {
  it('does not hide the violation: it is reported with the write error', async () => {
    // A directory "under" a regular file cannot be created, whoever runs the test (root too).
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a directory\n');
    const name = 'odp-no-retry';
    const x = await exploreScenario(faultExploreScenario(name), { ...faultExploreOptions(name), runner, outDir: join(blocker, 'sub') });
    expect(x.outcome).toBe('violation');
    expect(x.failure!.violations.length).toBeGreaterThan(0);
    expect(x.failure!.scheduleFile).toBeUndefined();
    expect(x.failure!.errors.join('\n')).toMatch(/cannot write the schedule file .*ENOTDIR/);
    expect(x.failure!.schedule).toBeDefined(); // still in the report (and the JSON)
  }, 60_000);
});
