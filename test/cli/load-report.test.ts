import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClients, parseDuration } from '../../src/cli/options.js';
import { formatJsonReport, writeJsonReport } from '../../src/report/json.js';
import { eraInfo, eventColumns, formatTextReport, verdictLine } from '../../src/report/text.js';
import { eraSpec } from '../../src/kernel/era/index.js';
import { REPORT_SCHEMA_VERSION, type RunReport } from '../../src/report/types.js';
import { zeroMetrics } from '../../src/report/metrics.js';
import { applyOverrides, jsonErrorOffset, loadScenario } from '../../src/scenario/load.js';
import { DEFAULT_SCENARIO, ScenarioError, parseScenario } from '../../src/scenario/schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectScenarioError(p: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ScenarioError);
  expect((caught as ScenarioError).issues.join('\n')).toMatch(pattern);
}

describe('loadScenario', () => {
  it('returns the validated default with no path', async () => {
    expect(await loadScenario()).toEqual(parseScenario(DEFAULT_SCENARIO));
  });

  it('locates a JSON syntax error by line and column', async () => {
    const p = join(dir, 'bad.json');
    await writeFile(p, '{\n  "name": "x",\n  "clients": [ }\n}\n');
    await expectScenarioError(loadScenario(p), /bad\.json: invalid JSON at line 3, column 16: /);
  });

  it('accepts a "$schema" key and a BOM in JSON', async () => {
    const p = join(dir, 'schema.json');
    await writeFile(p, '\uFEFF' + JSON.stringify({ $schema: './pinlab.schema.json', clients: [{ kind: 'dio' }] }));
    expect((await loadScenario(p)).clients[0]!.kind).toBe('dio');
  });

  it('takes the named export `scenario` of a module, and rejects a module without one', async () => {
    const named = join(dir, 'named.mjs');
    await writeFile(named, "export const scenario = { name: 'named', clients: [{ kind: 'rdma' }] };\n");
    expect((await loadScenario(named)).name).toBe('named');
    const empty = join(dir, 'empty.mjs');
    await writeFile(empty, 'export const x = 1;\n');
    await expectScenarioError(loadScenario(empty), /empty\.mjs: the module has no scenario/);
  });

  it('loads a TypeScript module using defineScenario', async () => {
    const p = join(dir, 'typed.ts');
    const schema = new URL('../../src/scenario/schema.ts', import.meta.url).pathname;
    await writeFile(
      p,
      `import { defineScenario } from ${JSON.stringify(schema)};\n` +
        `const n: number = 3;\nexport default defineScenario({ name: 'typed', seed: n, clients: [{ kind: 'get' }] });\n`,
    );
    expect(await loadScenario(p)).toMatchObject({ name: 'typed', seed: 3 });
  });

  it('rejects unknown extensions and directories', async () => {
    const p = join(dir, 'x.yaml');
    await writeFile(p, 'a: 1');
    await expectScenarioError(loadScenario(p), /unsupported scenario file type '\.yaml'/);
    await expectScenarioError(loadScenario(dir), /is a directory/);
  });
});

describe('jsonErrorOffset', () => {
  it('finds the first bad character, or -1 for valid JSON', () => {
    expect(jsonErrorOffset('{"a": [1, 2, 3], "b": {"c": null}}')).toBe(-1);
    expect(jsonErrorOffset('{"a": 1,}')).toBe(8);
    expect(jsonErrorOffset('{"a": tru}')).toBe(6);
    expect(jsonErrorOffset('{"a": "x\\q"}')).toBe(9);
    expect(jsonErrorOffset('{"a": 1')).toBe(7);
    expect(jsonErrorOffset('[1] x')).toBe(4);
  });
});

describe('applyOverrides', () => {
  const base = parseScenario(DEFAULT_SCENARIO);

  it('changes nothing with no overrides', () => {
    expect(applyOverrides(base, {})).toEqual(base);
  });

  it('sets counts per kind, removes kinds at 0, clamps bufferPages to --pages', () => {
    const s = applyOverrides(base, { clients: { dio: 3, get: 0 }, pages: 6 });
    expect(s.clients.map((c) => [c.kind, c.count])).toEqual([['dio', 3], ['rdma', 1], ['odp', 1], ['dio', 3]]);
    expect(s.clients.map((c) => c.bufferPages)).toEqual([4, 6, 4, 6]);
  });

  it('names the field and the option on a bad value', () => {
    // The removed policy: one line saying what replaced it.
    expect(() => applyOverrides(base, { policy: 'refuse-longterm' })).toThrow(
      /^invalid scenario: policy: 'refuse-longterm' was removed: .*use --era v6\.18 --policy mainline \(--policy refuse-longterm\)$/,
    );
    expect(() => parseScenario({ ...DEFAULT_SCENARIO, policy: 'refuse-longterm' })).toThrow(/^[^\n]*use --era v6\.18 --policy mainline$/);
    expect(() => applyOverrides(base, { policy: 'yolo' })).toThrow(/policy: Invalid option: expected one of .* \(--policy yolo\)/);
    expect(() => applyOverrides(base, { seed: -1 })).toThrow(/seed: .*\(--seed -1\)/);
    // 4 kinds x 16 = too many actors for 16 data words per page
    expect(() => applyOverrides(base, { clients: { dio: 16 } })).toThrow(/clients: .*wordsPerPage.*\(--clients dio=16\)/);
  });
});

describe('option parsers', () => {
  it('parse durations and client lists', () => {
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(() => parseDuration('-5s')).toThrow(/expected a number with a unit/);
    expect(() => parseDuration('5')).toThrow(/bare number is ambiguous: write the unit, e.g. 5s or 5ms/);
    expect(parseClients('odp=2', parseClients('dio=1, rdma=0'))).toEqual({ dio: 1, rdma: 0, odp: 2 });
    expect(() => parseClients('dio')).toThrow(/not kind=count/);
  });
});

function report(patch: Partial<RunReport> = {}): RunReport {
  return {
    schema: REPORT_SCHEMA_VERSION,
    scenario: parseScenario(DEFAULT_SCENARIO),
    outcome: 'clean',
    stoppedBy: 'duration',
    durationMs: 10_000,
    actors: [
      {
        name: 'odp#0',
        kind: 'odp',
        ops: 50,
        opsPerSec: 5,
        stats: { ops: 50, pins: 0, heartbeat: 50, odp_faults: 9, odp_retries: 2, errors: 0 },
        state: 'done',
      },
    ],
    mm: { writeback: 3 },
    oracle: { checks: 10, falsePositives: {}, invalidations: 4 },
    totals: { pins: 0, ops: 50, opsPerSec: 5 },
    metrics: zeroMetrics(),
    vmstat: { nr_foll_pin_released: 1, nr_foll_pin_acquired: 1 },
    warnings: {},
    bugs: { 'pin.c:12 FOLL_PIN without pages': 1 },
    violations: [],
    failures: [],
    ...patch,
  };
}

describe('text report', () => {
  it('shows the scenario, actors with key stats, counters and a verdict', () => {
    const t = formatTextReport(report());
    expect(t).toMatch(/^scenario default {3}era v6\.18 {3}policy mainline {3}delay off {3}duration 10\.0 s/);
    expect(t).toMatch(/odp#0 +odp +done +50 +5 +0 +odp_faults=9 odp_retries=2\n/);
    expect(t).not.toContain('heartbeat');
    expect(t).toContain('(pins balanced)');
    expect(t).toContain('BUG pin.c:12 FOLL_PIN without pages ×1');
    expect(t.endsWith('— exit 0\n')).toBe(true);
  });

  it('on an era with native bugs the verdict says violations are expected, and the JSON carries the list', () => {
    const era = eraInfo({ era: 'v5.7', nativeBugs: true });
    expect(era.native).toEqual(eraSpec('v5.7').native);
    expect(era.native.length).toBeGreaterThan(0);
    const clean = verdictLine(report({ era }));
    expect(clean).toMatch(/^CLEAN — .* — violations expected on this era: native bugs stats-after-put, cma-unpin-put-page, cma-migrate-fail-repin, fork-no-early-cow, gup-fast-no-wp-seq, cow-reuse-by-mapcount \(pinlab list eras\) — exit 0$/);
    const v = verdictLine(report({ era, outcome: 'violation', violations: [{ oracle: 'O2 conservation', kind: 'kasan-use-after-free', page: -1, actors: [], detail: '', events: {} }] }));
    expect(v).toMatch(/^VIOLATION — 1 violation .* violations expected on this era: native bugs stats-after-put.* — exit 1$/);
    // Off (scenario nativeBugs: false) or an era without native bugs: no note.
    expect(verdictLine(report({ era: eraInfo({ era: 'v5.7', nativeBugs: false }) }))).not.toContain('expected');
    expect(verdictLine(report({ era: eraInfo({ era: 'v6.18', nativeBugs: true }) }))).not.toContain('expected');
    const json = JSON.parse(formatJsonReport(report({ era }))) as { era: { name: string; native: string[] } };
    expect(json.era).toEqual({ name: 'v5.7', native: ['stats-after-put', 'cma-unpin-put-page', 'cma-migrate-fail-repin', 'fork-no-early-cow', 'gup-fast-no-wp-seq', 'cow-reuse-by-mapcount'] });
    expect(Object.keys(json).slice(0, 3)).toEqual(['schema', 'scenario', 'era']);
  });

  it('says internal failure and names the first failure', () => {
    const r = report({ outcome: 'internal', stoppedBy: 'failure', failures: ['dio#1 died\nstack'] });
    expect(verdictLine(r)).toMatch(/^INTERNAL FAILURE .*dio#1 died.*stopped by a failure.* exit 3$/);
  });

  it('aligns event columns, latest events on the last row', () => {
    const lines = eventColumns(
      {
        coordinator: [{ seq: 1, event: 'mkclean', page: 5, arg: 0 }],
        'dio#0': [
          { seq: 1, event: 'pin', page: 5, arg: 1 },
          { seq: 2, event: 'dma-write', page: 5, arg: 7 },
        ],
      },
      ['dio#0'],
    );
    expect(lines).toEqual([
      '      dio#0                    | coordinator',
      '      -----                    | -----------',
      '      #1 pin pfn 5 arg 1       |',
      '      #2 dma-write pfn 5 arg 7 | #1 mkclean pfn 5',
    ]);
    // Column separators line up.
    const bars = lines.map((l) => l.indexOf('|')).filter((i) => i >= 0);
    expect(new Set(bars).size).toBe(1);
    expect(lines.at(-1)).toContain('#1 mkclean pfn 5');
    expect(lines.at(-2)).toMatch(/#1 pin pfn 5 arg 1 +\|$/);
  });
});

describe('JSON report', () => {
  it('has a stable key order regardless of the input order', () => {
    const a = report();
    const shuffled = Object.fromEntries(Object.entries(a).reverse()) as unknown as RunReport;
    expect(formatJsonReport(shuffled)).toBe(formatJsonReport(a));
    const json = JSON.parse(formatJsonReport(a)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'schema', 'scenario', 'outcome', 'stoppedBy', 'durationMs', 'totals', 'metrics', 'actors', 'mm', 'oracle',
      'vmstat', 'warnings', 'bugs', 'violations', 'failures',
    ]);
    expect(Object.keys(json['vmstat'] as object)).toEqual(['nr_foll_pin_acquired', 'nr_foll_pin_released']);
  });

  it('writes pretty JSON, creating the directory', async () => {
    const p = await writeJsonReport(join(dir, 'deep', 'er', 'r.json'), report());
    const text = await readFile(p, 'utf8');
    expect(text).toContain('\n  "schema": 1,\n');
    expect((JSON.parse(text) as RunReport).scenario.name).toBe('default');
  });
});
