// `pinlab study writeback` in its reduced CI form: two policies x two mixes x two seeds on a short
// budget (the full study is scripts/study-writeback.ts). The verdict table and the HTML report.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCli } from '../../src/cli/cli.js';
import { runScenario, shutdownPool } from '../../src/coordinator/run.js';
import type { SweepReport } from '../../src/report/sweep-types.js';
import { writebackStudy } from '../../src/sweep/study.js';
import { POLICIES } from '../../src/scenario/schema.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await createCli({
    runScenario: (s, o) => runScenario(s, o),
    io: { stdout: { write: (x: string) => (stdout += x) }, stderr: { write: (x: string) => (stderr += x), isTTY: false }, onInterrupt: () => () => undefined, exit: () => undefined },
  }).main(args);
  return { code, stdout, stderr };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-study-'));
});
afterAll(async () => {
  await shutdownPool();
  await rm(dir, { recursive: true, force: true });
});

describe('pinlab study writeback', () => {
  it('the full study: every policy x four mixes on v6.18, run length from the budget', () => {
    const s = writebackStudy();
    expect(s.axes.map((a) => a.values.length)).toEqual([POLICIES.length, 4]);
    expect(s.axes[1]!.names).toEqual(['dio', 'rdma', 'odp', 'mixed']);
    expect(s.base.era).toBe('v6.18');
    expect(s.repeat).toBe(6);
    expect(POLICIES.length * 4 * s.repeat * (s.runMs + 400)).toBeLessThanOrEqual(270_000);
  });

  it('reduced: verdict table, HTML with the verdict, JSON; violations are findings (exit 0)', { timeout: 90_000 }, async () => {
    const r = await cli([
      'study', 'writeback', '--policies', 'ignore,kara-2023', '--mixes', 'dio,mixed', '--repeat', '2', '--budget', '8s', '-q',
      '--html', join(dir, 'study.html'), '--json', join(dir, 'study.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const verdict = r.stdout.slice(r.stdout.indexOf('verdict (era v6.18'));
    expect(verdict.split('\n').filter((l) => /^(ignore|kara-2023) +(dio|mixed) /.test(l))).toHaveLength(4);
    expect(verdict).toMatch(/kara-2023 +dio .*(safe|unstable|loses)/);
    const rep = JSON.parse(await readFile(join(dir, 'study.json'), 'utf8')) as SweepReport;
    expect(rep.cells.map((c) => c.label)).toEqual(['policy=ignore mix=dio', 'policy=ignore mix=mixed', 'policy=kara-2023 mix=dio', 'policy=kara-2023 mix=mixed']);
    // Seed-major: the first seed of every cell runs first; a busy machine's budget may cut the second seeds.
    expect(rep.runs.length).toBeGreaterThanOrEqual(4);
    expect(rep.cells.every((c) => c.summary.runs >= 1)).toBe(true);
    // kara-2023 bounces pinned pages in integrity writeback: bytes bounced with DIO writers.
    expect(rep.runs.filter((x) => x.cell === 2).some((x) => x.metrics.bounced.bytes > 0)).toBe(true);
    expect(rep.cells[2]!.command).toBe('npx pinlab study writeback --policies kara-2023 --mixes dio --repeat 2 --seed 1 --budget ' + `${(rep.base.durationMs + 400) * 2}ms`);
    const html = await readFile(join(dir, 'study.html'), 'utf8');
    expect(html).toContain('<h2>Verdict</h2>');
    expect(html).toContain('<svg');
  });

  it('bad input: exit 2, one line', async () => {
    for (const args of [['study', 'nosuch'], ['study', 'writeback', '--policies', 'nope'], ['study', 'writeback', '--mixes', 'gpu'], ['study', 'writeback', '--repeat', '1']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
