// Issue 7 items 4, 6, 8 and 10 at the command line, in process (the engine is injected or real,
// the streams are captured): every output path is checked before the run, every bad input is
// exit 2 with one line and no stack, control characters never reach the terminal, a run that
// did nothing is VACUOUS (exit 4).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCli, type CliIO } from '../../src/cli/cli.js';
import { lazyRunScenario, shutdownEngine, type RunEngine } from '../../src/cli/engine.js';
import { lazyExploreEngine, shutdownExploreEngine } from '../../src/cli/explore.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { zeroMetrics } from '../../src/report/metrics.js';
import { REPORT_SCHEMA_VERSION, type RunReport } from '../../src/report/types.js';
import { type Scenario } from '../../src/scenario/schema.js';

const fakeReport = (scenario: Scenario): RunReport => ({
  schema: REPORT_SCHEMA_VERSION, scenario, outcome: 'clean', stoppedBy: 'duration', durationMs: 10, actors: [], mm: {},
  oracle: { checks: 0, falsePositives: {}, invalidations: 0 }, totals: { pins: 0, ops: 0, opsPerSec: 0 }, vmstat: {}, warnings: {},
  bugs: {}, violations: [], failures: [], metrics: zeroMetrics(),
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ran: number;
}

async function cli(args: string[], opts: { engine?: RunEngine; real?: boolean; loadTimeoutMs?: number } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let ran = 0;
  const engine: RunEngine = opts.real === true ? lazyRunScenario : async (s, o) => {
    ran++;
    return opts.engine !== undefined ? opts.engine(s, o) : fakeReport(s);
  };
  const io: Partial<CliIO> = {
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c), isTTY: false },
    onInterrupt: () => () => undefined,
    exit: () => undefined,
  };
  const code = await createCli({ runScenario: engine, explore: lazyExploreEngine, io, ...(opts.loadTimeoutMs !== undefined ? { loadTimeoutMs: opts.loadTimeoutMs } : {}) }).main(args);
  return { code, stdout, stderr, ran };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-rel-'));
});
afterAll(async () => {
  await shutdownEngine();
  await shutdownExploreEngine();
  await rm(dir, { recursive: true, force: true });
});
const file = async (name: string, text: string): Promise<string> => {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
};
const oneLineNoStack = (r: Run): void => {
  expect(r.stderr.trim().split('\n').length, r.stderr).toBeLessThanOrEqual(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

describe('output paths are checked before the run (issue 7 item 4)', () => {
  for (const [path, why] of [['/dev/full', /not a regular file/], ['', /an empty path/], ['/proc/x', /under \/proc/], ['/sys/x/y.json', /under \/sys/]] as const) {
    it(`run --json '${path}' is exit 2 before the run`, async () => {
      const r = await cli(['run', '--json', path]);
      expect(r.code).toBe(ExitCode.BadInput);
      expect(r.ran).toBe(0);
      expect(r.stderr).toMatch(why);
      oneLineNoStack(r);
    });
  }

  it('explore --out /proc/x and --json /dev/full are exit 2 before any trial (no hang in a recursive mkdir)', async () => {
    for (const args of [['--out', '/proc/x'], ['--json', '/dev/full'], ['--out', '']]) {
      const r = await cli(['explore', '--trials', '1', ...args]);
      expect(r.code, r.stderr).toBe(ExitCode.BadInput);
      expect(r.stdout).toBe('');
      oneLineNoStack(r);
    }
  });

  it('a writable path passes, and the report is written whole (no temporary file left)', async () => {
    const out = join(dir, 'sub', 'r.json');
    const r = await cli(['run', '--json', out]);
    expect(r.code).toBe(ExitCode.Ok);
    const { readdir, readFile } = await import('node:fs/promises');
    expect(JSON.parse(await readFile(out, 'utf8')).schema).toBe(REPORT_SCHEMA_VERSION);
    expect(await readdir(join(dir, 'sub'))).toEqual(['r.json']);
  });
});

describe('bad input is exit 2, one line, no stack (issue 7 items 5 and 8)', () => {
  it('a machine over the 8 GiB limit with every field in range', async () => {
    const p = await file('huge.json', JSON.stringify({
      durationMs: 500, machine: { normalFrames: 1 << 22, movableFrames: 1 << 22, wordsPerPage: 1024 }, clients: [{ kind: 'get' }],
    }));
    const r = await cli(['run', p], { real: true });
    expect(r.code, r.stderr).toBe(ExitCode.BadInput);
    expect(r.stderr).toMatch(/machine: needs \d+ bytes, over the 8 GiB limit/);
    oneLineNoStack(r);
  });

  it('mm weights and watchdogMs are bounded with a message', async () => {
    const w = await cli(['run', await file('w.json', JSON.stringify({ clients: [{ kind: 'get' }], mm: { writeback: 1e300 } }))]);
    expect(w.code).toBe(ExitCode.BadInput);
    expect(w.stderr).toMatch(/mm\.writeback: mm weights are relative frequencies: at most 1000/);
    const d = await cli(['run', await file('d.json', JSON.stringify({ clients: [{ kind: 'get' }], watchdogMs: 100 }))]);
    expect(d.code).toBe(ExitCode.BadInput);
    expect(d.stderr).toMatch(/watchdogMs must be at least 500/);
    expect(w.ran + d.ran).toBe(0);
  });

  it('ODP on a hugetlb mapping is refused by the schema (the ODP walk reads the PTE level only)', async () => {
    const p = await file('odp-huge.json', JSON.stringify({ machine: { huge2mPages: 2 }, clients: [{ kind: 'odp', mapping: 'hugetlb', pages: 512, bufferPages: 4 }] }));
    const r = await cli(['run', p]);
    expect(r.code).toBe(ExitCode.BadInput);
    expect(r.stderr).toMatch(/clients\.0\.mapping: an ODP client cannot use a hugetlb mapping/);
  });

  it('a module whose export throws on access', async () => {
    const p = await file('throws.mjs', "export default { get clients() { throw new Error('no clients for you'); } };\n");
    const r = await cli(['run', p]);
    expect(r.code).toBe(ExitCode.BadInput);
    expect(r.stderr).toMatch(/throws\.mjs: reading the scenario export failed: no clients for you/);
    oneLineNoStack(r);
  });

  it('a module whose top-level await never settles, or waits on a long timer, is bounded in time', async () => {
    for (const [name, body] of [['never.mjs', 'await new Promise(() => {});'], ['timer.mjs', 'await new Promise((r) => setTimeout(r, 60_000).unref());']]) {
      const p = await file(name, `${body}\nexport default { clients: [{ kind: 'get' }] };\n`);
      const t0 = performance.now();
      const r = await cli(['run', p], { loadTimeoutMs: 300 });
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(r.code).toBe(ExitCode.BadInput);
      expect(r.stderr).toMatch(new RegExp(`${name.replace('.', '\\.')}: loading the module did not finish within 300 ms`));
    }
  });

  it('process.exit(0) in a module is bad input, not a silent exit 0', async () => {
    const p = await file('exits.mjs', "process.exit(0);\nexport default { clients: [{ kind: 'get' }] };\n");
    const r = await cli(['run', p]);
    expect(r.code).toBe(ExitCode.BadInput);
    expect(r.stderr).toMatch(/exits\.mjs: the module called process\.exit\(0\) while loading/);
  });

  it('replay of a schedule with edited fields (maxSteps 1e15, opsPerActor 0, no violations)', async () => {
    const base = {
      format: 'pinlab-schedule', version: 1, scenario: { clients: [{ kind: 'get' }] }, faults: [], strategy: 'random', seed: 1, trial: 0,
      workloadSeed: 5, points: 'access', opsPerActor: 2, mmSteps: 3, maxSteps: 1000, participants: ['get#0', 'coordinator'], traceHash: 0,
      steps: [], violation: null, violations: [],
    };
    for (const [edit, field] of [[{ maxSteps: 1e15 }, /maxSteps must be an integer in \[16, 50000000\]/], [{ opsPerActor: 0 }, /opsPerActor must be/], [{ violations: undefined }, /violations must be an array/]] as const) {
      const p = await file('edited.json', JSON.stringify({ ...base, ...edit }));
      const r = await cli(['replay', p]);
      expect(r.code, r.stderr).toBe(ExitCode.BadInput);
      expect(r.stderr).toMatch(field);
      oneLineNoStack(r);
    }
  });
});

describe('explore: a trial too long for its step bound (issue 7 item 1)', () => {
  it('is not a violation: TRIAL TOO LONG, exit 4, no schedule file', async () => {
    const p = await file('long.json', JSON.stringify({ name: 'long', clients: [{ kind: 'dio', pages: 64, bufferPages: 64 }] }));
    const out = join(dir, 'long-out');
    const r = await cli(['explore', p, '--trials', '2', '--strategy', 'random', '--max-steps', '200', '--out', out]);
    expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Inconclusive);
    expect(r.stdout).toMatch(/^TRIAL TOO LONG \(raise --max-steps\) — trial 0 was still making progress at its bound of 200 steps; .* exit 4$/m);
    const { existsSync } = await import('node:fs');
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe('the terminal never sees raw control characters (issue 7 item 10)', () => {
  it('a scenario name with escape sequences is printed escaped', async () => {
    const p = await file('esc.json', JSON.stringify({ name: 'evil\u001b[2J\u0007\u009bname', clients: [{ kind: 'get' }] }));
    const r = await cli(['run', p]);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('evil\\x1b[2J\\x07\\x9bname');
  });
});

describe('a run that did nothing is VACUOUS, exit 4 (issue 7 item 6)', () => {
  // On v6.18 (v6.5+: v6.18/mm/gup.c:1182-1197), a writable longterm pin of a file mapping fails: the
  // RDMA client never registers. A clean verdict would claim RDMA was tested.
  const refused = { name: 'rdma-refused', era: 'v6.18', clients: [{ kind: 'rdma', mapping: 'file', pages: 32, bufferPages: 8 }, { kind: 'get', pages: 16 }] };

  it('stress: rdma clients that took no pins', async () => {
    const r = await cli(['run', await file('vac.json', JSON.stringify(refused)), '--duration', '400ms'], { real: true });
    expect(r.code, r.stdout).toBe(ExitCode.Inconclusive);
    expect(r.stdout).toMatch(/^VACUOUS — no violation, but the run proves nothing: rdma clients took no pins .* exit 4$/m);
  }, 30_000);

  it('explore: a kind idle in every trial', async () => {
    const r = await cli(['explore', await file('vac2.json', JSON.stringify(refused)), '--trials', '3', '--strategy', 'random', '--out', join(dir, 'none')]);
    expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Inconclusive);
    expect(r.stdout).toMatch(/^VACUOUS — .*rdma clients took no pins in any trial.* exit 4$/m);
  }, 60_000);
});
