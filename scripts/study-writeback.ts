/**
 * The benchmark of issue 12: `pinlab study writeback` in its full default form — every writeback
 * policy x the four client mixes (DIO, RDMA, ODP, mixed) x 6 seeds on v6.18, within the default
 * 4.5-minute budget — writing study-writeback.{html,json,csv} and printing the verdict table as
 * Markdown with the wall time.
 * Usage: npm run bench:study [-- --out DIR] [--budget 4m30s] [--stable-writes]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { createCli } from '../src/cli/cli.js';
import { runScenario, shutdownPool } from '../src/coordinator/run.js';
import type { SweepReport } from '../src/report/sweep-types.js';
import { formatVerdictMarkdown } from '../src/report/verdict.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: '.' }, budget: { type: 'string' }, 'stable-writes': { type: 'boolean' } } });
const out = values.out!;
const t0 = performance.now();
const code = await createCli({ runScenario: (s, o) => runScenario(s, o), logIntervalMs: 10_000 }).main([
  'study', 'writeback', '--json', join(out, 'study-writeback.json'), '--html', join(out, 'study-writeback.html'), '--csv', join(out, 'study-writeback.csv'),
  ...(values.budget ? ['--budget', values.budget] : []), ...(values['stable-writes'] ? ['--stable-writes'] : []),
]);
const wall = performance.now() - t0;
await shutdownPool();
if (code !== 0) process.exit(code);
const report = JSON.parse(await readFile(join(out, 'study-writeback.json'), 'utf8')) as SweepReport;
process.stdout.write(`\n## Verdict (${report.runs.length} runs, ${report.cells.length} cells x ${report.repeat} seeds, ${report.base.durationMs} ms per run, wall ${(wall / 1000).toFixed(1)} s)\n\n`);
process.stdout.write(formatVerdictMarkdown(report));
