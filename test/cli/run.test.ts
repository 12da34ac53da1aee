import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCli, type CliIO } from '../../src/cli/cli.js';
import type { RunEngine, RunOptions } from '../../src/cli/engine.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { REPORT_SCHEMA_VERSION, type RunReport, type Violation } from '../../src/report/types.js';
import { zeroMetrics } from '../../src/report/metrics.js';
import { DEFAULT_SCENARIO, type Scenario } from '../../src/scenario/schema.js';

function fakeReport(scenario: Scenario, patch: Partial<RunReport> = {}): RunReport {
  return {
    schema: REPORT_SCHEMA_VERSION,
    scenario,
    outcome: 'clean',
    stoppedBy: 'duration',
    durationMs: scenario.durationMs,
    actors: [
      { name: 'dio#0', kind: 'dio', ops: 1200, opsPerSec: 120, stats: { pins: 4800, writes: 900, reads: 300 }, state: 'done' },
      { name: 'rdma#0', kind: 'rdma', ops: 40, opsPerSec: 4, stats: { pins: 640, registrations: 3 }, state: 'done' },
    ],
    mm: { writeback: 10, 'writeback.skipped': 3, munmap: 2, migrate: 4, 'migrate.busy': 1, reclaim: 5 },
    oracle: { checks: 321, falsePositives: { 'refs>=1024': 2 }, invalidations: 7 },
    totals: { pins: 5440, ops: 1240, opsPerSec: 124 },
    metrics: zeroMetrics(),
    vmstat: { nr_foll_pin_acquired: 5440, nr_foll_pin_released: 5440 },
    warnings: {},
    bugs: {},
    violations: [],
    failures: [],
    ...patch,
  };
}

const VIOLATION: Violation = {
  oracle: 'O3 data integrity',
  kind: 'lost-write',
  page: 1234,
  where: '0:17',
  actors: ['dio#0', 'coordinator'],
  detail: 'dio#0 wrote 0x2a at word 3; the backing store has 0x00 after writeback',
  events: {
    'dio#0': [
      { seq: 10, event: 'pin', page: 1234, arg: 1 },
      { seq: 11, event: 'dma-write', page: 1234, arg: 42 },
    ],
    coordinator: [
      { seq: 7, event: 'mkclean', page: 1234, arg: 0 },
      { seq: 8, event: 'maybe-pinned?', page: 1234, arg: 0 },
      { seq: 9, event: 'writeback', page: 1234, arg: 0 },
    ],
  },
};

interface Harness {
  code: ExitCode;
  stdout: string;
  stderr: string;
  scenarios: Scenario[];
  exits: number[];
}

async function runCli(
  args: string[],
  engine: (s: Scenario, o: RunOptions, io: { interrupt(): void }) => Promise<RunReport> | RunReport = (s) => fakeReport(s),
  extra: Partial<CliIO> = {},
): Promise<Harness> {
  let stdout = '';
  let stderr = '';
  const scenarios: Scenario[] = [];
  const exits: number[] = [];
  let interruptHandler: (() => void) | undefined;
  const fake: RunEngine = async (s, o) => {
    scenarios.push(s);
    return engine(s, o, { interrupt: () => interruptHandler?.() });
  };
  const cli = createCli({
    runScenario: fake,
    version: '9.9.9',
    io: {
      stdout: { write: (c: string) => (stdout += c) },
      stderr: { write: (c: string) => (stderr += c), isTTY: false },
      onInterrupt(h) {
        interruptHandler = h;
        return () => (interruptHandler = undefined);
      },
      exit: (c) => void exits.push(c),
      ...extra,
    },
  });
  const code = await cli.main(args);
  return { code, stdout, stderr, scenarios, exits };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scenarioFile(name: string, content: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

describe('pinlab run', () => {
  it('runs the embedded default scenario when no path is given, and exits 0 when clean', async () => {
    const h = await runCli(['run']);
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.scenarios).toHaveLength(1);
    expect(h.scenarios[0]!.name).toBe('default');
    expect(h.scenarios[0]!.clients.map((c) => c.kind)).toEqual(DEFAULT_SCENARIO.clients.map((c) => c.kind));
    expect(h.stdout).toContain('scenario default');
    expect(h.stdout).toContain('dio#0');
    expect(h.stdout.trimEnd().split('\n').at(-1)).toMatch(/^CLEAN/);
    // No control characters anywhere when not a TTY.
    expect(h.stdout + h.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('passes the abort signal and a progress callback to the engine', async () => {
    let opts: RunOptions | undefined;
    await runCli(['run'], (s, o) => {
      opts = o;
      return fakeReport(s);
    });
    expect(opts?.signal).toBeInstanceOf(AbortSignal);
    expect(typeof opts?.onProgress).toBe('function');
  });

  it('loads a valid JSON scenario file', async () => {
    const p = await scenarioFile('ok.json', { name: 'mine', durationMs: 500, clients: [{ kind: 'get' }] });
    const h = await runCli(['run', p]);
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.scenarios[0]).toMatchObject({ name: 'mine', durationMs: 500, clients: [{ kind: 'get', count: 1 }] });
  });

  it('a JSON scenario with a bad client kind exits 2 and names the field', async () => {
    const p = await scenarioFile('badkind.json', { clients: [{ kind: 'xyz' }] });
    const h = await runCli(['run', p]);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.scenarios).toHaveLength(0);
    expect(h.stderr).toMatch(/clients\.0\.kind: Invalid option/);
  });

  it('a JSON scenario with a negative duration exits 2 and names the field', async () => {
    const p = await scenarioFile('baddur.json', { durationMs: -1, clients: [{ kind: 'dio' }] });
    const h = await runCli(['run', p]);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.stderr).toMatch(/durationMs: /);
  });

  it('bad JSON syntax exits 2 and names the file', async () => {
    const p = await scenarioFile('broken.json', '{ "clients": [ }');
    const h = await runCli(['run', p]);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.stderr).toContain('broken.json');
    expect(h.stderr).toMatch(/invalid JSON/);
  });

  it('a missing file exits 2 and names the path', async () => {
    const h = await runCli(['run', join(dir, 'nope.json')]);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.stderr).toContain('nope.json');
    expect(h.stderr).toMatch(/not found/);
  });

  it('loads a module scenario (default export)', async () => {
    const p = await scenarioFile('mod.mjs', "export default { name: 'from-module', clients: [{ kind: 'odp', count: 2 }] };\n");
    const h = await runCli(['run', p]);
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.scenarios[0]).toMatchObject({ name: 'from-module', clients: [{ kind: 'odp', count: 2 }] });
  });

  it('an unknown option exits 2', async () => {
    const h = await runCli(['run', '--bogus']);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.stderr).toMatch(/unknown option '--bogus'/);
    expect(h.scenarios).toHaveLength(0);
  });

  it('an unknown command exits 2; --help and --version exit 0', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(ExitCode.BadInput);
    const help = await runCli(['run', '--help']);
    expect(help.code).toBe(ExitCode.Ok);
    expect(help.stdout).toContain('--clients');
    const version = await runCli(['--version']);
    expect(version.code).toBe(ExitCode.Ok);
    expect(version.stdout).toContain('9.9.9');
  });

  it('--era v9 exits 2 naming the field and the option', async () => {
    const h = await runCli(['run', '--era', 'v9']);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.stderr).toMatch(/era: Invalid option: expected one of .*v6\.3/);
    expect(h.stderr).toContain('--era v9');
  });

  it('malformed option values exit 2', async () => {
    expect((await runCli(['run', '--duration', 'soon'])).code).toBe(ExitCode.BadInput);
    expect((await runCli(['run', '--seed', '1.5'])).code).toBe(ExitCode.BadInput);
    const k = await runCli(['run', '--clients', 'gpu=1']);
    expect(k.code).toBe(ExitCode.BadInput);
    expect(k.stderr).toMatch(/unknown client kind 'gpu'/);
    const z = await runCli(['run', '--duration', '0s']);
    expect(z.code).toBe(ExitCode.BadInput);
    expect(z.stderr).toMatch(/durationMs: .*--duration 0/);
  });

  it("--policy refuse-longterm (removed: the era's behaviour since v6.5) is bad input with a one-line suggestion", async () => {
    const h = await runCli(['run', '--policy', 'refuse-longterm']);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.scenarios).toEqual([]);
    expect(h.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(h.stderr).toMatch(/'refuse-longterm' was removed: .*use --era v6\.18 --policy mainline/);
  });

  it('overrides reach the engine scenario', async () => {
    const h = await runCli([
      'run',
      '--era', 'seed-2019',
      '--policy', 'bounce',
      '--delay', 'heavy',
      '--clients', 'dio=0,rdma=2',
      '--duration', '2m',
      '--seed', '42',
      '--pages', '8',
      '--fault', 'gup-fast-no-recheck',
      '--fault', 'plain-refcount',
      '--no-oracles',
    ]);
    expect(h.stderr).not.toMatch(/invalid/);
    expect(h.code).toBe(ExitCode.Ok);
    const s = h.scenarios[0]!;
    expect(s.era).toBe('rfc-2019'); // the old name is an alias
    expect(s.policy).toBe('bounce');
    expect(s.delay).toBe('heavy');
    expect(s.durationMs).toBe(120_000);
    expect(s.seed).toBe(42);
    expect(s.oracles).toBe(false);
    expect(s.faults).toEqual(['gup-fast-no-recheck', 'plain-refcount']);
    expect(s.clients.some((c) => c.kind === 'dio')).toBe(false);
    expect(s.clients.filter((c) => c.kind === 'rdma').map((c) => c.count)).toEqual([2]);
    expect(s.clients.every((c) => c.pages === 8 && c.bufferPages <= 8)).toBe(true);
  });

  it('--clients adds a kind the scenario lacks, and removing every client names the field', async () => {
    const p = await scenarioFile('one.json', { clients: [{ kind: 'dio' }] });
    const h = await runCli(['run', p, '--clients', 'get=3']);
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.scenarios[0]!.clients.map((c) => [c.kind, c.count])).toEqual([['dio', 1], ['get', 3]]);
    const none = await runCli(['run', p, '--clients', 'dio=0']);
    expect(none.code).toBe(ExitCode.BadInput);
    expect(none.stderr).toMatch(/clients: .*--clients dio=0/);
  });

  it('accepts durations with units', async () => {
    for (const [arg, ms] of [['1500ms', 1500], ['250ms', 250], ['10s', 10_000], ['1.5s', 1500], ['2m', 120_000]] as const) {
      const h = await runCli(['run', '--duration', arg]);
      expect(h.code).toBe(ExitCode.Ok);
      expect(h.scenarios[0]!.durationMs).toBe(ms);
    }
  });

  it('a bare-number --duration is refused with a message suggesting units (issue 7 item 6: "--duration 5" meant 5 ms)', async () => {
    const h = await runCli(['run', '--duration', '5']);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.scenarios).toHaveLength(0);
    expect(h.stderr).toMatch(/bare number is ambiguous.*5s or 5ms/);
  });

  it('a violation exits 1 and is printed with its events', async () => {
    const h = await runCli(['run'], (s) => fakeReport(s, { outcome: 'violation', violations: [VIOLATION] }));
    expect(h.code).toBe(ExitCode.Violation);
    expect(h.stdout).toContain('O3 data integrity');
    expect(h.stdout).toContain('lost-write');
    expect(h.stdout).toContain('pfn 1234 (0:17)');
    expect(h.stdout).toContain('#11 dma-write pfn 1234 arg 42');
    expect(h.stdout.trimEnd().split('\n').at(-1)).toMatch(/^VIOLATION — 1 violation/);
  });

  it("outcome 'internal' exits 3 and still writes the JSON report", async () => {
    const out = join(dir, 'internal', 'report.json');
    const h = await runCli(['run', '--json', out], (s) =>
      fakeReport(s, { outcome: 'internal', stoppedBy: 'failure', failures: ['worker dio#0 died: exit code 1'] }),
    );
    expect(h.code).toBe(ExitCode.Internal);
    expect(h.stdout).toContain('worker dio#0 died');
    const json = JSON.parse(await readFile(out, 'utf8')) as RunReport;
    expect(json.outcome).toBe('internal');
  });

  it('an engine exception exits 3', async () => {
    const h = await runCli(['run'], () => {
      throw new Error('boom');
    });
    expect(h.code).toBe(ExitCode.Internal);
    expect(h.stderr).toContain('boom');
  });

  it('--json writes a parseable report with schema 1, creating directories', async () => {
    const out = join(dir, 'a', 'b', 'report.json');
    const h = await runCli(['run', '--json', out]);
    expect(h.code).toBe(ExitCode.Ok);
    const text = await readFile(out, 'utf8');
    const json = JSON.parse(text) as RunReport;
    expect(json.schema).toBe(1);
    expect(Object.keys(json).slice(0, 3)).toEqual(['schema', 'scenario', 'outcome']);
    expect(json.scenario.name).toBe('default');
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('--json pointing at a directory is bad input before running', async () => {
    const h = await runCli(['run', '--json', dir]);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.scenarios).toHaveLength(0);
  });

  it('--quiet prints no progress and only the verdict when clean', async () => {
    const h = await runCli(['run', '--quiet'], (s, o) => {
      o.onProgress?.({ elapsedMs: 5000, durationMs: 10_000, ops: 1, mmOps: 1, violations: 0 });
      return fakeReport(s);
    });
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.stderr).toBe('');
    expect(h.stdout.trim().split('\n')).toHaveLength(1);
    expect(h.stdout).toMatch(/^CLEAN/);
  });

  it('logs one plain progress line per interval when not a TTY', async () => {
    let t = 0;
    const h = await runCli(
      ['run'],
      (s, o) => {
        for (let i = 1; i <= 10; i++) {
          t = i * 500; // every 0.5 s of wall time
          o.onProgress?.({ elapsedMs: t, durationMs: 5000, ops: i * 100, mmOps: i, violations: 0 });
        }
        return fakeReport(s);
      },
      { now: () => t },
    );
    const lines = h.stderr.split('\n').filter((l) => /ops \d/.test(l));
    expect(lines).toHaveLength(2); // at 2 s and 4 s
    expect(lines[0]).toMatch(/^pinlab: 2\.0 s \/ 5\.0 s {3}ops 400 {3}mm ops 4 {3}violations 0$/);
    expect(h.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('Ctrl-C aborts the run cooperatively; the summary and report are still produced, and the exit code is 130, never 0', async () => {
    const out = join(dir, 'sigint.json');
    const h = await runCli(['run', '--json', out], async (s, o, io) => {
      io.interrupt();
      expect(o.signal?.aborted).toBe(true);
      return fakeReport(s, { stoppedBy: 'signal', durationMs: 1234 });
    });
    expect(h.code).toBe(ExitCode.Interrupted);
    expect(h.exits).toEqual([]);
    expect(h.stderr).toMatch(/interrupted/);
    expect(h.stdout).toMatch(/STOPPED .*stopped by SIGINT.* exit 130$/m);
    const json = JSON.parse(await readFile(out, 'utf8')) as RunReport;
    expect(json.stoppedBy).toBe('signal');
    expect(json.signal).toBe('SIGINT');
  });

  it('a violation found before the stop keeps exit 1', async () => {
    const h = await runCli(['run'], async (s, _o, io) => {
      io.interrupt();
      return fakeReport(s, { stoppedBy: 'signal', outcome: 'violation', violations: [VIOLATION] });
    });
    expect(h.code).toBe(ExitCode.Violation);
  });

  it('a second Ctrl-C quits at once with 130 (the documented code), even while the report is written', async () => {
    const h = await runCli(['run'], async (s, _o, io) => {
      io.interrupt();
      io.interrupt();
      return fakeReport(s);
    });
    expect(h.exits).toEqual([ExitCode.Interrupted]);
  });
});

describe('pinlab list', () => {
  it('lists policies, eras and scenarios', async () => {
    const p = await runCli(['list', 'policies']);
    expect(p.code).toBe(ExitCode.Ok);
    for (const name of ['mainline', 'skip', 'bounce', 'wait', 'revoke', 'ignore']) expect(p.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(p.stdout).not.toContain('refuse-longterm');
    expect(p.stdout).toMatch(/mainline .*Reclaim: .*\[clean on v6\.3, v6\.18\]/);
    expect(p.stdout).toMatch(/ignore .*\[unsafe\]/);
    expect((await runCli(['list', 'eras'])).stdout).toContain('seed-2019');
    expect((await runCli(['list', 'scenarios'])).stdout).toContain('default');
    const all = await runCli(['list']);
    expect(all.stdout).toMatch(/scenarios:[\s\S]*policies:[\s\S]*eras:/);
  });

  it('an unknown topic exits 2', async () => {
    const h = await runCli(['list', 'widgets']);
    expect(h.code).toBe(ExitCode.BadInput);
    expect(h.stderr).toMatch(/widgets/);
  });

  it('runs an embedded scenario by name', async () => {
    const h = await runCli(['run', 'default', '--seed', '7']);
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.scenarios[0]).toMatchObject({ name: 'default', seed: 7 });
  });
});
