/**
 * `pinlab sweep`, `pinlab study writeback` and `pinlab merge`: the research bench's commands.
 * Every output path is checked before anything runs (output-path.ts) and written atomically.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadScenario, applyOverrides } from '../scenario/load.js';
import { POLICIES, type Policy, ScenarioError, type Scenario } from '../scenario/schema.js';
import type { SweepAxis, SweepReport } from '../report/sweep-types.js';
import { formatSweepCsv, formatSweepJson, formatSweepText } from '../report/sweep-text.js';
import { fmtDuration } from '../report/text.js';
import { parseShard, parseVary, type Shard } from '../sweep/grid.js';
import { mergeSweeps } from '../sweep/merge.js';
import { runSweep, type SweepRunner } from '../sweep/sweep.js';
import { RUN_OVERHEAD_MS, STUDY_MIX_NAMES, writebackStudy } from '../sweep/study.js';
import type { CliIO } from './cli.js';
import type { ExploreReport } from '../explore/explore.js';
import { writeExploreExtras } from './explore.js';
import { ExitCode } from './exit-codes.js';
import { collect, parseDuration, parseInteger } from './options.js';
import { reportPathProblem, writeOutputFile } from './output-path.js';
import { createSweepProgress } from './sweep-progress.js';

export interface SweepCommandContext {
  io: CliIO;
  setCode(code: ExitCode): void;
  /** What runs a cell's seed (default: runScenario on the shared pool). */
  runner?: SweepRunner;
  logIntervalMs?: number;
}

interface Outputs {
  json?: string;
  csv?: string;
  html?: string;
  junit?: string;
}

interface SweepCommandOptions extends Outputs {
  vary?: string[];
  sweepFile?: string;
  repeat?: number;
  seed?: number;
  duration?: number;
  shard?: string;
  quiet?: boolean;
}

/** A sweep file: the scenario (a path relative to the file, or inline), the axes, repeat, seed, duration. */
const SweepFileSchema = z
  .object({
    scenario: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    vary: z.union([
      z.record(z.string(), z.array(z.unknown()).min(1)),
      z.array(z.object({ path: z.string(), values: z.array(z.unknown()).min(1), names: z.array(z.string()).optional(), label: z.string().optional() }).strict()),
    ]),
    repeat: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).optional(),
    durationMs: z.number().int().min(1).optional(),
  })
  .strict();

const OUTPUT_FLAGS: Record<keyof Outputs, string> = { json: '--json', csv: '--csv', html: '--html', junit: '--junit' };

export function addSweepCommands(program: Command, ctx: SweepCommandContext): void {
  const { io } = ctx;
  const out = (s: string): void => void io.stdout.write(s);
  const err = (s: string): void => void io.stderr.write(s);

  /** Every output path checked before the run: the first problem, or null. */
  async function outputsProblem(o: Outputs): Promise<string | null> {
    for (const k of Object.keys(OUTPUT_FLAGS) as (keyof Outputs)[]) {
      const p = o[k];
      if (p === undefined) continue;
      const problem = await reportPathProblem(OUTPUT_FLAGS[k], p);
      if (problem !== null) return problem;
    }
    return null;
  }

  /** Write every requested output; false when one failed (named on stderr). */
  async function writeOutputs(cmd: string, r: SweepReport, o: Outputs & { quiet?: boolean; title?: string }): Promise<boolean> {
    const jobs: [keyof Outputs, () => Promise<string>][] = [
      ['json', async () => formatSweepJson(r)],
      ['csv', async () => formatSweepCsv(r)],
      ['html', async () => (await import('../report/html.js')).sweepHtml(r, { title: o.title })],
      ['junit', async () => (await import('../report/junit.js')).sweepJunit(r)],
    ];
    let ok = true;
    for (const [k, make] of jobs) {
      const p = o[k];
      if (p === undefined) continue;
      try {
        const abs = await writeOutputFile(p, await make());
        if (!o.quiet) err(`pinlab: ${k.toUpperCase()} report written to ${abs}\n`);
      } catch (e) {
        err(`pinlab ${cmd}: cannot write ${OUTPUT_FLAGS[k]} ${p}: ${e instanceof Error ? e.message : String(e)}\n`);
        ok = false;
      }
    }
    return ok;
  }

  /** Ctrl-C: the first stops after the run in progress is dropped, the second quits. */
  function interrupts(note: (m: string) => void, stop: () => void): { signal: AbortSignal; remove: () => void } {
    const controller = new AbortController();
    let n = 0;
    const remove = io.onInterrupt(() => {
      n++;
      if (n === 1) {
        note('pinlab: interrupted, keeping the finished runs (press Ctrl-C again to quit at once)');
        controller.abort();
      } else {
        stop();
        err('pinlab: quit\n');
        io.exit(ExitCode.Internal);
      }
    });
    return { signal: controller.signal, remove };
  }

  /** Run the sweep with progress and Ctrl-C, print the tables, write the outputs; the exit code. */
  async function execute(cmd: string, base: Scenario, axes: SweepAxis[], o: Outputs & { quiet?: boolean; repeat: number; shard: Shard; baseSource: string; name?: string; title?: string; command?: (a: Record<string, string | number | boolean>) => string; verdict?: (r: SweepReport) => string; exitOnViolation: boolean; deadlineMs?: number }): Promise<ExitCode> {
    const progress = createSweepProgress(io.stderr, { quiet: o.quiet, logIntervalMs: ctx.logIntervalMs, now: io.now });
    const { signal, remove } = interrupts((m) => progress.note(m), () => progress.stop());
    let report: SweepReport;
    try {
      report = await runSweep(base, axes, {
        repeat: o.repeat, shard: o.shard, signal, onProgress: (p) => progress.update(p), baseSource: o.baseSource,
        ...(ctx.runner ? { runner: ctx.runner } : {}), ...(o.name ? { name: o.name } : {}), ...(o.command ? { command: o.command } : {}),
        ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
      });
    } catch (e) {
      progress.stop();
      if (e instanceof ScenarioError) {
        err(`pinlab ${cmd}: ${e.message}\n`);
        return ExitCode.BadInput;
      }
      err(`pinlab ${cmd}: internal failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      return ExitCode.Internal;
    } finally {
      remove();
    }
    progress.stop();
    const wrote = await writeOutputs(cmd, report, o);
    out(formatSweepText(report));
    if (o.verdict) out(o.verdict(report));
    if (report.status === 'partial' && o.deadlineMs !== undefined && o.shard.count === 1) err(`pinlab ${cmd}: the budget ran out after ${report.runs.length} runs; the cells without runs are marked 'not run'\n`);
    if (!o.quiet) err(`pinlab: ${report.runs.length} runs in ${fmtDuration(report.durationMs)}\n`);
    if (report.runs.length === 0) {
      err(`pinlab ${cmd}: no run finished: nothing was measured\n`);
      return ExitCode.Internal;
    }
    if (report.runs.some((r) => r.outcome === 'internal')) return ExitCode.Internal;
    if (!wrote) return ExitCode.BadInput;
    return o.exitOnViolation && report.runs.some((r) => r.outcome === 'violation') ? ExitCode.Violation : ExitCode.Ok;
  }

  async function sweepCommand(path: string | undefined, o: SweepCommandOptions): Promise<ExitCode> {
    const bad = (m: string): ExitCode => {
      err(`pinlab sweep: ${m}\n`);
      return ExitCode.BadInput;
    };
    let base: Scenario;
    let axes: SweepAxis[] = [];
    let repeat = o.repeat;
    let baseSource = path ?? '';
    let shard: Shard;
    try {
      let seed = o.seed;
      let durationMs = o.duration;
      if (o.sweepFile !== undefined) {
        const text = await readFile(o.sweepFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
          throw new ScenarioError([`--sweep-file ${o.sweepFile}: cannot read it (${e.code ?? e.message})`]);
        });
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (e) {
          throw new ScenarioError([`--sweep-file ${o.sweepFile}: not JSON (${e instanceof Error ? e.message : String(e)})`]);
        }
        const f = SweepFileSchema.safeParse(json);
        if (!f.success) throw new ScenarioError(f.error.issues.map((i) => `--sweep-file ${o.sweepFile}: ${i.path.join('.') || '(file)'}: ${i.message}`));
        const file = f.data;
        if (path !== undefined && file.scenario !== undefined) throw new ScenarioError(['give the scenario either as the argument or in the sweep file, not both']);
        if (typeof file.scenario === 'string') baseSource = resolve(dirname(o.sweepFile), file.scenario);
        axes = Array.isArray(file.vary) ? file.vary : Object.entries(file.vary).map(([p, values]) => ({ path: p, values }));
        repeat ??= file.repeat;
        seed ??= file.seed;
        durationMs ??= file.durationMs;
        base = typeof file.scenario === 'object' ? (await import('../scenario/schema.js')).parseScenario(file.scenario) : await loadScenario(baseSource || undefined);
      } else {
        base = await loadScenario(path);
      }
      axes.push(...(o.vary ?? []).map(parseVary));
      base = applyOverrides(base, { seed, durationMs });
      shard = parseShard(o.shard);
    } catch (e) {
      if (e instanceof ScenarioError) return bad(e.message);
      throw e;
    }
    repeat ??= 3;
    if (!Number.isInteger(repeat) || repeat < 1) return bad(`--repeat must be an integer >= 1, got ${repeat}`);
    const problem = await outputsProblem(o);
    if (problem !== null) return bad(problem);
    return execute('sweep', base, axes, { ...o, repeat, shard, baseSource, exitOnViolation: true });
  }

  program
    .command('sweep')
    .description('run a grid of scenario cells x seeds and tabulate the outcome metrics (mean, 95 % CI per cell)')
    .argument('[scenario]', 'the base scenario (default: the embedded default)')
    .option('--vary <path=a,b,c>', 'vary a scenario field over values (repeatable), e.g. policy=mainline,skip or clients.0.count=1,2,4', collect)
    .option('--sweep-file <path>', 'a JSON sweep file: { "scenario": "x.json", "vary": { "policy": ["skip", "bounce"] }, "repeat": 5 }')
    .option('--repeat <n>', 'seeds per cell (seed, seed+1, ...; default 3)', parseInteger)
    .option('--seed <n>', 'the first seed', parseInteger)
    .option('--duration <time>', 'run time of each run (ms, or 500ms, 2s, ...)', parseDuration)
    .option('--shard <i/N>', 'run only shard i of N (round-robin over cell x seed; /N takes i from JOB_COMPLETION_INDEX)')
    .option('--json <path>', 'write the sweep report (every run and the summaries)')
    .option('--csv <path>', 'write the summary as CSV (one row per cell and metric)')
    .option('--html <path>', 'write a self-contained HTML report with plots')
    .option('--junit <path>', 'write JUnit XML (one testcase per cell)')
    .option('-q, --quiet', 'no progress')
    .action(async (path: string | undefined, o: SweepCommandOptions) => ctx.setCode(await sweepCommand(path, o)));

  interface StudyOptions extends Outputs {
    policies?: string;
    mixes?: string;
    repeat?: number;
    seed?: number;
    budget?: number;
    stableWrites?: boolean;
    shard?: string;
    quiet?: boolean;
  }
  async function studyCommand(name: string, o: StudyOptions): Promise<ExitCode> {
    const bad = (m: string): ExitCode => {
      err(`pinlab study: ${m}\n`);
      return ExitCode.BadInput;
    };
    if (name !== 'writeback') return bad(`unknown study '${name}', expected: writeback`);
    const list = (s: string | undefined, all: readonly string[], flag: string): string[] | string => {
      if (s === undefined) return [...all];
      const xs = s.split(',').map((x) => x.trim());
      const unknown = xs.filter((x) => !all.includes(x));
      return unknown.length ? `${flag} ${unknown.join(',')}: expected some of ${all.join(', ')}` : xs;
    };
    const policies = list(o.policies, POLICIES, '--policies');
    if (typeof policies === 'string') return bad(policies);
    const mixes = list(o.mixes, STUDY_MIX_NAMES, '--mixes');
    if (typeof mixes === 'string') return bad(mixes);
    if (o.repeat !== undefined && o.repeat < 2) return bad(`--repeat must be >= 2 for an interval, got ${o.repeat}`);
    let shard: Shard;
    try {
      shard = parseShard(o.shard);
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
    const problem = await outputsProblem(o);
    if (problem !== null) return bad(problem);
    const study = writebackStudy({
      policies: policies as Policy[], mixes, ...(o.repeat !== undefined ? { repeat: o.repeat } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.budget !== undefined ? { budgetMs: o.budget } : {}), stableWrites: o.stableWrites === true,
    });
    if (!o.quiet) {
      err(`pinlab: study writeback: ${policies.length} policies x ${mixes.length} mixes x ${study.repeat} seeds, ${fmtDuration(study.runMs)} per run (era v6.18)\n`);
    }
    const flags = (a: Record<string, string | number | boolean>): string =>
      `npx pinlab study writeback --policies ${String(a['policy'])} --mixes ${String(a['mix'])} --repeat ${study.repeat} --seed ${study.base.seed} --budget ${(study.runMs + RUN_OVERHEAD_MS) * study.repeat}ms${o.stableWrites ? ' --stable-writes' : ''}`;
    const { formatVerdictText } = await import('../report/verdict.js');
    return execute('study', study.base, study.axes, {
      ...o, repeat: study.repeat, shard, baseSource: '', name: 'writeback study', title: 'pinlab study writeback', command: flags,
      verdict: formatVerdictText, exitOnViolation: false, deadlineMs: study.budgetMs,
    });
  }

  program
    .command('study')
    .description('a built-in study; writeback: every policy x client mixes (DIO, RDMA, ODP, mixed) on v6.18, with a verdict table')
    .argument('<name>', 'the study: writeback')
    .option('--policies <list>', `policies to compare (default all: ${POLICIES.join(',')})`)
    .option('--mixes <list>', `client mixes (default all: ${STUDY_MIX_NAMES.join(',')})`)
    .option('--repeat <n>', 'seeds per cell (default 6)', parseInteger)
    .option('--seed <n>', 'the first seed (default 1)', parseInteger)
    .option('--budget <time>', 'wall time of the whole study; each run gets its share (default 4m30s)', parseDuration)
    .option('--stable-writes', 'the backing device needs stable pages (machine.stableWrites)')
    .option('--shard <i/N>', 'run only shard i of N')
    .option('--json <path>', 'write the study report (a sweep report)')
    .option('--csv <path>', 'write the summary as CSV')
    .option('--html <path>', 'write the HTML report with the verdict table and plots')
    .option('--junit <path>', 'write JUnit XML (one testcase per cell)')
    .option('-q, --quiet', 'no progress')
    .action(async (name: string, o: StudyOptions) => ctx.setCode(await studyCommand(name, o)));

  async function mergeCommand(files: string[], o: Outputs & { quiet?: boolean }): Promise<ExitCode> {
    const bad = (m: string): ExitCode => {
      err(`pinlab merge: ${m}\n`);
      return ExitCode.BadInput;
    };
    const reports: SweepReport[] = [];
    const explores: ExploreReport[] = [];
    for (const f of files) {
      let json: unknown;
      try {
        json = JSON.parse(await readFile(f, 'utf8'));
      } catch (e) {
        return bad(`${f}: ${e instanceof SyntaxError ? `not JSON (${e.message})` : `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`}`);
      }
      if (json !== null && typeof json === 'object' && (json as { mode?: unknown }).mode === 'explore') {
        explores.push(json as ExploreReport);
        continue;
      }
      if (json === null || typeof json !== 'object' || (json as { kind?: unknown }).kind !== 'sweep' || !Array.isArray((json as { runs?: unknown }).runs)) {
        return bad(`${f}: not a sweep or explore report (pinlab sweep/study/explore --json writes one)`);
      }
      reports.push(json as SweepReport);
    }
    if (explores.length > 0 && reports.length > 0) return bad('cannot merge sweep reports with explore reports');
    const problem = await outputsProblem(o);
    if (problem !== null) return bad(problem);
    if (explores.length > 0) {
      if (o.csv !== undefined) return bad('--csv applies to sweep reports only');
      let merged: ExploreReport;
      try {
        merged = (await import('../sweep/merge-explore.js')).mergeExplores(explores, files);
      } catch (e) {
        if (e instanceof ScenarioError) return bad(e.message);
        throw e;
      }
      const text = `${JSON.stringify(merged, null, 2)}\n`;
      let ok = true;
      if (o.json !== undefined) {
        try {
          await writeOutputFile(o.json, text);
        } catch (e) {
          err(`pinlab merge: cannot write --json ${o.json}: ${e instanceof Error ? e.message : String(e)}\n`);
          ok = false;
        }
      } else out(text);
      ok = (await writeExploreExtras('merge', merged, o, err)) && ok;
      if (o.json !== undefined) out(`merged ${explores.length} explore reports: ${merged.trials} trials, outcome ${merged.outcome}, schedule hash ${merged.scheduleHash}\n`);
      return ok ? ExitCode.Ok : ExitCode.BadInput;
    }
    let merged: SweepReport;
    try {
      merged = mergeSweeps(reports, files);
    } catch (e) {
      if (e instanceof ScenarioError) return bad(e.message);
      throw e;
    }
    const wrote = await writeOutputs('merge', merged, o);
    if (o.json === undefined) out(formatSweepJson(merged));
    else out(formatSweepText(merged));
    return wrote ? ExitCode.Ok : ExitCode.BadInput;
  }

  program
    .command('merge')
    .description('join sweep/study JSON reports (shards of one grid) into one; prints the merged JSON unless --json')
    .argument('<reports...>', 'the JSON reports to merge')
    .option('--json <path>', 'write the merged report (then the tables go to stdout)')
    .option('--csv <path>', 'write the merged summary as CSV')
    .option('--html <path>', 'write the HTML report of the merge')
    .option('--junit <path>', 'write JUnit XML of the merge')
    .option('-q, --quiet', 'no notes')
    .action(async (files: string[], o: Outputs & { quiet?: boolean }) => ctx.setCode(await mergeCommand(files, o)));
}
