// pinlab sweep / merge / run --html --junit end to end, with real stress runs (short, fixed
// seeds): the JSON, CSV, JUnit (validated against test/fixtures/junit.xsd) and HTML outputs
// (opened in headless Chromium: plots and tables rendered), shards merged, bad input.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCli } from '../../src/cli/cli.js';
import { runScenario, shutdownPool } from '../../src/coordinator/run.js';
import { runHtml } from '../../src/report/html.js';
import { runJunit } from '../../src/report/junit.js';
import type { SweepReport } from '../../src/report/sweep-types.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { junitErrors } from '../fixtures/junit-validate.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const c = createCli({
    runScenario: (s, o) => runScenario(s, o),
    io: {
      stdout: { write: (x: string) => (stdout += x) },
      stderr: { write: (x: string) => (stderr += x), isTTY: false },
      onInterrupt: () => () => undefined,
      exit: () => undefined,
    },
  });
  const code = await c.main(args);
  return { code, stdout, stderr };
}

/** What headless Chromium laid out: the data-plots / data-tables stamps of <body>. */
async function rendered(file: string): Promise<{ plots: number; tables: number }> {
  const { stdout } = await promisify(execFile)(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=3000', '--dump-dom', `file://${file}`], { timeout: 60_000, maxBuffer: 64 << 20 });
  const body = /<body([^>]*)>/.exec(stdout)?.[1] ?? '';
  return { plots: Number(/data-plots="(\d+)"/.exec(body)?.[1] ?? -1), tables: Number(/data-tables="(\d+)"/.exec(body)?.[1] ?? -1) };
}

let dir: string;
const scenario = {
  name: 'sweep-dio', seed: 5, durationMs: 150, era: 'v6.18',
  clients: [{ kind: 'dio', count: 1, mapping: 'file', file: 0, offset: 0, pages: 8, bufferPages: 4 }],
  mm: { writeback: 6, munmap: 0, migrate: 0, reclaim: 4, truncate: 0, writebackUs: 200 },
};
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-sweep-'));
  await writeFile(join(dir, 's.json'), JSON.stringify(scenario));
});
afterAll(async () => {
  await shutdownPool();
  await rm(dir, { recursive: true, force: true });
});

describe('pinlab sweep', () => {
  const out = (f: string) => join(dir, f);
  it('runs every cell x seed and writes JSON, CSV, JUnit and HTML; shards merge into the same grid', { timeout: 120_000 }, async () => {
    const args = ['sweep', out('s.json'), '--vary', 'policy=ignore,bounce', '--repeat', '2', '-q'];
    const r = await cli([...args, '--json', out('a.json'), '--csv', out('a.csv'), '--junit', out('a.xml'), '--html', out('a.html')]);
    expect([0, 1], r.stderr).toContain(r.code);
    const rep = JSON.parse(await readFile(out('a.json'), 'utf8')) as SweepReport;
    expect(rep.cells.map((c) => c.label)).toEqual(['policy=ignore', 'policy=bounce']);
    expect(rep.runs.map((x) => [x.cell, x.seed])).toEqual([[0, 5], [0, 6], [1, 5], [1, 6]]);
    expect(rep.cells[1]!.summary.metrics['bouncedMB']!.mean).toBeGreaterThan(0);
    expect(r.code).toBe(rep.runs.some((x) => x.outcome === 'violation') ? 1 : 0);
    expect(r.stdout).toContain('bouncedMB (MB)');
    const csv = (await readFile(out('a.csv'), 'utf8')).trim().split('\n');
    expect(csv.length).toBe(1 + 2 * 16); // 15 metrics + the violation rate per cell
    expect(await junitErrors(await readFile(out('a.xml'), 'utf8'))).toEqual([]);
    const html = await readFile(out('a.html'), 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/); // self-contained
    expect(html).toContain('npx pinlab sweep');

    for (const i of [0, 1]) expect([0, 1]).toContain((await cli([...args, '--shard', `${i}/2`, '--json', out(`shard${i}.json`)])).code);
    const m = await cli(['merge', out('shard1.json'), out('shard0.json'), '--json', out('m.json'), '--junit', out('m.xml'), '--html', out('m.html'), '-q']);
    expect(m.code, m.stderr).toBe(0);
    const merged = JSON.parse(await readFile(out('m.json'), 'utf8')) as SweepReport;
    expect(merged.status).toBe('complete');
    expect(merged.runs.map((x) => [x.cell, x.repeat, x.seed])).toEqual(rep.runs.map((x) => [x.cell, x.repeat, x.seed]));
    expect(merged.cells.map((c) => [c.label, c.command])).toEqual(rep.cells.map((c) => [c.label, c.command]));
    expect(await junitErrors(await readFile(out('m.xml'), 'utf8'))).toEqual([]);
  });

  it('a run with a violation: HTML with the trace columns, JUnit failure naming the oracle and the re-run command', { timeout: 60_000 }, async () => {
    // The library run stops at the first violation (the CLI's run would need luck to find one in a short run).
    // One DIO writer under writeback and reclaim, policy ignore, heavy delays: a lost write in about a second.
    const s = parseScenario({ ...scenario, policy: 'ignore', delay: 'heavy', durationMs: 6000 });
    const report = await runScenario(s, { stopOnViolation: true });
    expect(report.outcome).toBe('violation');
    const command = 'npx pinlab run sweep-dio.json --seed 5';
    await writeFile(out('v.html'), await runHtml(report, { command }));
    const html = await readFile(out('v.html'), 'utf8');
    expect(html).toContain('<h2>Violations</h2>');
    expect(html).toMatch(/<th class="l">seq<\/th><th class="l">[^<]+#\d<\/th>/); // one column per actor
    const xml = runJunit(report, { command });
    expect(await junitErrors(xml)).toEqual([]);
    expect(xml).toMatch(/<failure message="O\d [^"]+ page \d+[^"]*" type="O\d/);
    expect(xml).toContain(`re-run: ${command}`);
    // The CLI writes both for a run (clean here).
    const r = await cli(['run', '--duration', '300ms', '-q', '--html', out('c.html'), '--junit', out('c.xml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(await junitErrors(await readFile(out('c.xml'), 'utf8'))).toEqual([]);
    expect(await readFile(out('c.html'), 'utf8')).toContain('<p class="ok">none</p>');
  });

  it('opens in headless Chromium with its plots and tables rendered', { timeout: 120_000 }, async (t) => {
    if (!CHROMIUM) {
      t.skip();
      console.warn('HTML browser test skipped: no headless browser; install the Debian package `chromium` (apt-get install chromium)');
      return;
    }
    const a = await rendered(out('a.html'));
    expect(a.plots).toBe(6); // six metrics, each a vega-lite interval plot
    expect(a.tables).toBeGreaterThanOrEqual(16); // the cells and one per metric (and the violating runs, if any)
    const v = await rendered(out('v.html'));
    expect(v.plots).toBe(2);
    expect(v.tables).toBeGreaterThanOrEqual(3);
  });

  it('bad input is one line and exit 2, before anything runs', async () => {
    for (const [args, msg] of [
      [['sweep', '--vary', 'policy'], /--vary policy: expected path=value/],
      [['sweep', '--vary', 'policy=nosuch'], /cell policy=nosuch: policy: Invalid option/],
      [['sweep', '--shard', '2/2'], /--shard 2\/2: expected i\/N/],
      [['sweep', '--html', '/proc/x.html'], /--html \/proc\/x.html: under \/proc, a pseudo-filesystem/],
      [['sweep', '--csv', dir], /--csv .*: a directory, expected a file path/],
      [['run', '--junit', '/sys/x.xml'], /--junit \/sys\/x.xml: under \/sys/],
      [['merge', join(dir, 's.json')], /not a sweep or explore report/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, String(args)).toBe(2);
      expect(r.stderr.trim().split('\n'), String(args)).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
