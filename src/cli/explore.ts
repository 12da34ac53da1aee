/**
 * `pinlab explore` and `pinlab replay` (DESIGN.md §6, §9).
 *
 *   pinlab explore [scenario] --strategy random|pct --depth d --trials N --seed S --fault NAME …
 *     Deterministic exploration: trials under the seeded scheduler until one violates an oracle.
 *     A failing trial is shrunk (workload, preemptions, steps), both schedule files are written
 *     (the original and `.shrunk.json`), and the shrunk trace is printed one column per actor with
 *     the replay command line. Clean: trials, steps, steps/s and, for PCT, the bound 1/(n·k^(d−1))
 *     and the miss probability after the clean trials.
 *   pinlab replay FILE [--lenient]
 *     Follow a schedule file step by step. Exit 1 when a violation shows (the recorded one, or
 *     another, said so), 0 when the run is clean, 2 for a missing or invalid file, 3 on a divergence
 *     (the step, the participant and both labels are printed) or an internal failure.
 *
 * This file parses the options, calls the engine and prints; the engine (src/explore/campaign.ts,
 * explore.ts, shrink.ts) is loaded on first use and injectable, the text is src/report/explore-text.ts.
 * The process binding (index.ts) calls shutdownExploreEngine() before exiting.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CampaignOptions, CampaignResult } from '../explore/campaign.js';
import type { ExploreOptions, ExploreProgress, ExploreReport, ExploreStrategy, ReplayOptions, ReplayReport } from '../explore/explore.js';
import { eraInfo, fmtDuration, fmtNum } from '../report/text.js';
import { exploreProgressLine, exploreText, plural, replayText, shrinkProgressLine } from '../report/explore-text.js';
import type { Violation } from '../report/types.js';
import { resolveClientModules } from '../coordinator/client-modules.js';
import { applyOverrides, loadScenario } from '../scenario/load.js';
import { ScenarioError, type Scenario } from '../scenario/schema.js';
import type { ScheduleFile } from '../sched/schedule.js';
import type { ShrinkProgress } from '../explore/shrink.js';
import type { CliIO } from './cli.js';
import { ExitCode, signalExitCode } from './exit-codes.js';
import { installInterrupts } from './interrupts.js';
import { outputPathProblem, reportPathProblem, writeOutputFile } from './output-path.js';
import { escapeControl } from '../util/escape.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { collect, parseInteger } from './options.js';
import { type OutStream, singleBar } from './progress.js';
import { parseShard, type Shard } from '../sweep/grid.js';
import type { BridgeTarget } from '../explore/bridge.js';
import { parseEngine } from '../explore/inthread/engine.js';

/** What the explore and replay commands need of the engine (src/explore/). */
export interface ExploreEngine {
  /** One campaign: small-scope or the scenario as given, then the shrink of a failure (src/explore/campaign.ts). */
  exploreCampaign(scenario: Scenario, options: CampaignOptions): Promise<CampaignResult>;
  replaySchedule(file: ScheduleFile, options?: ReplayOptions): Promise<ReplayReport>;
  /** Get the in-thread engine ready before a campaign (`onBuild` first if it must be built). */
  prepare?(onBuild: () => void): Promise<void>;
}

type ExploreModule = typeof import('../explore/explore.js');
let exploreModule: ExploreModule | undefined;
const load = async (): Promise<ExploreModule> => (exploreModule ??= await import('../explore/explore.js'));

/** The real engine, loaded on first use (so `pinlab list` and --help load none of it). */
export const lazyExploreEngine: ExploreEngine = {
  exploreCampaign: async (s, o) => {
    await load(); // shutdownExploreEngine then releases the threads
    return (await import('../explore/campaign.js')).exploreCampaign(s, o);
  },
  replaySchedule: async (f, o) => (await load()).replaySchedule(f, o),
  prepare: async (onBuild) => (await import('../explore/inthread/engine.js')).prepareInThreadEngine(onBuild),
};

/** Destroy the explore participant threads if the engine was loaded (the CLI calls this before exiting). */
export async function shutdownExploreEngine(): Promise<void> {
  if (exploreModule !== undefined) await exploreModule.shutdownExplore();
}

export interface ExploreCommandContext {
  io: CliIO;
  setCode(code: ExitCode): void;
  engine: ExploreEngine;
  /** Minimum time between plain progress log lines (default 2000 ms). */
  logIntervalMs?: number;
}

const ENGINE_HELP = 'trial engine: baton (a thread per participant), inthread (one thread, built-in clients only), auto (in-thread where it can) (default: PINLAB_ENGINE, else auto)';

/**
 * --engine, else PINLAB_ENGINE: checked, then set in PINLAB_ENGINE, which every explore path
 * (campaigns, small scope, shrinking, replay) reads. Returns the problem, or null.
 */
function selectEngine(flag: string | undefined): string | null {
  const v = flag ?? process.env.PINLAB_ENGINE;
  if (v === undefined || v === '') return null;
  try {
    process.env.PINLAB_ENGINE = parseEngine(v);
    return null;
  } catch (e) {
    return `${flag !== undefined ? '--engine' : 'PINLAB_ENGINE'}: ${(e as Error).message}`;
  }
}

interface ExploreCommandOptions {
  /** --engine: baton, inthread or auto. */
  engine?: string;
  strategy: ExploreStrategy;
  depth?: number;
  trials?: number;
  /** Wall-time budget, seconds (--time, else PINLAB_TIME). */
  time?: number;
  /** 'small': a small-scope campaign (default, unless --ops, --mm-steps or --mm-interval pin the workload); 'scenario': the scenario as given. */
  scope?: 'small' | 'scenario';
  /** A `pinlab run --json` report: explore until its first violation reproduces (the bridge). */
  from?: string;
  seed?: number;
  points: 'access' | 'events';
  fault?: string[];
  ops?: number;
  mmSteps?: number;
  mmInterval?: number;
  maxSteps?: number;
  out: string;
  shrink: boolean;
  shrinkSeconds?: number;
  json?: string;
  html?: string;
  junit?: string;
  shard?: string;
  quiet?: boolean;
}

interface ReplayCommandOptions {
  engine?: string;
  lenient?: boolean;
  json?: string;
  quiet?: boolean;
}

/** PCT's depth is bounded by the scheduler's change-point table (sched/layout.ts MAX_CHANGE_POINTS + 1). */
const MAX_DEPTH = 33;
const DEFAULT_TRIALS = 100;
const DEFAULT_SHRINK_SECONDS = 20;

function parseSeconds(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*s?\s*$/i.exec(value);
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError('expected a positive number of seconds, e.g. 20 or 2.5.');
  return Number(m[1]);
}

/** Read a `pinlab run --json` report for --from: the report, or one line saying what is wrong. */
async function loadRunReport(path: string): Promise<{ scenario: Scenario; violations: Violation[] } | string> {
  const { readFile } = await import('node:fs/promises');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    return `${path}: cannot read the run report: ${e instanceof Error ? e.message : String(e)}`;
  }
  const r = raw as { scenario?: unknown; violations?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.scenario !== 'object' || !Array.isArray(r.violations)) {
    return `${path}: not a pinlab run report (expected "scenario" and "violations"; write one with pinlab run --json)`;
  }
  return r as { scenario: Scenario; violations: Violation[] };
}

const errorText = (e: unknown): string => (e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));

// ---- progress -----------------------------------------------------------------------------

interface ExploreProgressView {
  start(trials: number): void;
  update(p: ExploreProgress): void;
  note(message: string): void;
  stop(): void;
}

function createExploreProgress(stream: OutStream, quiet: boolean | undefined, logIntervalMs: number, now: () => number): ExploreProgressView {
  if (quiet) return { start() {}, update() {}, note: (m) => void stream.write(m + '\n'), stop() {} };
  if (!stream.isTTY) {
    let last = -Infinity;
    return {
      start() {
        last = now();
      },
      update(p) {
        const t = now();
        if (t - last < logIntervalMs && (p.trials === 0 || p.trial < p.trials)) return;
        last = t;
        stream.write(`pinlab: ${exploreProgressLine(p)}\n`);
      },
      note: (m) => void stream.write(m + '\n'),
      stop() {},
    };
  }
  const bar = singleBar(stream, ' {bar} {value}/{total} trials | {elapsedF} | steps {steps} | {sps} steps/s | failures {failures}', 8);
  let running = false;
  return {
    start(trials) {
      bar.start(Math.max(1, trials), 0, { elapsedF: fmtDuration(0), steps: '0', sps: '0', failures: '0' });
      running = true;
    },
    update(p) {
      if (running) bar.update(p.trial, { elapsedF: fmtDuration(p.elapsedMs), steps: fmtNum(p.steps), sps: fmtNum(p.stepsPerSec), failures: fmtNum(p.failures) });
    },
    note: (m) => void stream.write('\n' + m + '\n'),
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

// ---- commands -----------------------------------------------------------------------------

/** Write --html / --junit of an explore report (after the run); false when one failed (named on stderr). */
export async function writeExploreExtras(cmd: string, report: ExploreReport, o: { html?: string; junit?: string; quiet?: boolean }, err: (s: string) => void = (s) => void process.stderr.write(s)): Promise<boolean> {
  let ok = true;
  const jobs: [string, string | undefined, () => Promise<string>][] = [
    ['HTML', o.html, async () => (await import('../report/html.js')).exploreHtml(report)],
    ['JUnit', o.junit, async () => (await import('../report/junit.js')).exploreJunit(report)],
  ];
  for (const [what, p, make] of jobs) {
    if (p === undefined) continue;
    try {
      const abs = await writeOutputFile(p, await make());
      if (!o.quiet) err(`pinlab: ${what} report written to ${abs}\n`);
    } catch (e) {
      err(`pinlab ${cmd}: cannot write the ${what} report to ${p}: ${e instanceof Error ? e.message : String(e)}\n`);
      ok = false;
    }
  }
  return ok;
}

export function addExploreCommands(program: Command, ctx: ExploreCommandContext): void {
  const { io } = ctx;
  // Everything printed is escaped: names, labels and details may hold control characters.
  const out = (s: string): void => void io.stdout.write(escapeControl(s));
  const err = (s: string): void => void io.stderr.write(escapeControl(s));
  const lines = (ls: string[]): void => out(ls.join('\n') + '\n');

  /** Ctrl-C / SIGTERM: the first stops cooperatively (between trials, or the shrink keeps its best), the second quits. */
  const interrupts = (note: (m: string) => void, stopProgress: () => void, what: string) => installInterrupts(io, err, note, stopProgress, what);

  function outputProblem(path: string | undefined, option: string, kind: 'file' | 'directory', cmd: string): boolean {
    if (path === undefined) return false;
    const problem = outputPathProblem(path, kind);
    if (problem === null) return false;
    err(`pinlab ${cmd}: ${option} '${path}': ${problem}\n`);
    return true;
  }

  async function writeJson(path: string, value: unknown, cmd: string, quiet: boolean | undefined): Promise<boolean> {
    try {
      const abs = await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
      if (!quiet) err(`pinlab: JSON report written to ${abs}\n`);
      return true;
    } catch (e) {
      err(`pinlab ${cmd}: cannot write the JSON report to ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
      return false;
    }
  }

  async function exploreCommand(path: string | undefined, o: ExploreCommandOptions): Promise<ExitCode> {
    if (o.shard !== undefined && o.shrink) o.shrink = false; // a shard reports its trials as found; shrink after the merge
    // 1. Input: the scenario, the fault overrides, the numeric options. Any problem is bad input.
    const bad = (msg: string): ExitCode => {
      err(`pinlab explore: ${msg}\n`);
      return ExitCode.BadInput;
    };
    const range = (name: string, v: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): string | null =>
      v === undefined || (Number.isInteger(v) && v >= min && v <= max) ? null : `${name} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got ${v}`;
    for (const problem of [
      range('--depth', o.depth, 1, MAX_DEPTH), range('--trials', o.trials, 1), range('--seed', o.seed, 0, 2 ** 31 - 1),
      range('--ops', o.ops, 1), range('--mm-steps', o.mmSteps, 0), range('--mm-interval', o.mmInterval, 0), range('--max-steps', o.maxSteps, 16),
    ]) {
      if (problem !== null) return bad(problem);
    }
    if (o.depth !== undefined && o.strategy !== 'pct' && o.strategy !== 'portfolio') {
      return bad(`--depth applies to --strategy pct or portfolio only (got --strategy ${o.strategy})`);
    }
    const engineProblem = selectEngine(o.engine);
    if (engineProblem !== null) return bad(engineProblem);
    let timeS = o.time;
    const envTime = process.env.PINLAB_TIME;
    if (timeS === undefined && envTime !== undefined && envTime !== '') {
      try {
        timeS = parseSeconds(envTime);
      } catch {
        return bad(`PINLAB_TIME must be a positive number of seconds (e.g. 30s), got "${envTime}"`);
      }
    }
    let scenario: Scenario;
    let target: BridgeTarget | undefined;
    try {
      if (o.from !== undefined) {
        if (path !== undefined) return bad('give a scenario or --from REPORT, not both');
        const loaded = await loadRunReport(o.from);
        if (typeof loaded === 'string') return bad(loaded);
        const bridge = await import('../explore/bridge.js');
        const t = bridge.bridgeTarget(loaded);
        if (t === null) return bad(`${o.from}: the run report has no violation to reproduce`);
        target = t;
        scenario = await resolveClientModules(applyOverrides(bridge.bridgeScenario(loaded), { faults: o.fault }));
      } else {
        scenario = await resolveClientModules(applyOverrides(await loadScenario(path), { faults: o.fault }));
      }
    } catch (e) {
      if (e instanceof ScenarioError) return bad(e.message);
      err(`pinlab explore: cannot load the scenario: ${errorText(e)}\n`);
      return ExitCode.Internal;
    }
    if (outputProblem(o.json, '--json', 'file', 'explore') || outputProblem(o.out, '--out', 'directory', 'explore')) return ExitCode.BadInput;
    for (const [flag, p] of [['--html', o.html], ['--junit', o.junit]] as const) {
      const problem = p === undefined ? null : await reportPathProblem(flag, p);
      if (problem !== null) return bad(problem);
    }
    let shard: Shard;
    try {
      shard = parseShard(o.shard);
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
    const outDir = resolve(o.out);

    // A time budget alone runs trials until it is spent; with --trials too, whichever ends first.
    const trials = o.trials ?? (timeS !== undefined ? undefined : DEFAULT_TRIALS);
    const options: ExploreOptions = {
      strategy: o.strategy, points: o.points, outDir,
      ...(trials !== undefined ? { trials } : {}),
      ...(timeS !== undefined ? { timeMs: timeS * 1000 } : {}),
      ...(o.depth !== undefined ? { depth: o.depth } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.ops !== undefined ? { opsPerActor: o.ops } : {}),
      ...(o.mmSteps !== undefined ? { mmSteps: o.mmSteps } : {}),
      ...(o.mmInterval !== undefined ? { mmIntervalUs: o.mmInterval } : {}),
      ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
      ...(shard.count > 1 ? { shard } : {}),
    };
    // A pinned workload or step bound is for the scenario as given.
    if (target !== undefined && o.scope === 'scenario') return bad('--from explores small configurations: --scope scenario does not apply');
    // A shard splits one campaign's trials (t % N == i): it needs the scenario as given.
    if (shard.count > 1 && o.scope === 'small') return bad('--shard splits the trials of one campaign: use it with --scope scenario');
    const scope =
      target !== undefined ? 'small'
      : (o.scope ?? (o.ops !== undefined || o.mmSteps !== undefined || o.mmInterval !== undefined || o.maxSteps !== undefined || shard.count > 1 ? 'scenario' : 'small'));
    const seed = o.seed ?? scenario.seed;
    const desc =
      `strategy ${o.strategy}${o.strategy === 'pct' || o.strategy === 'portfolio' ? ` (d=${o.depth ?? 3})` : ''}, seed ${seed}, points ${o.points}, ` +
      (scope === 'small' ? 'small-scope configurations' : `${o.ops ?? 2} ops/actor, ${o.mmSteps ?? 3} mm steps`) + `, faults ${scenario.faults.length ? scenario.faults.join(', ') : 'none'}`;

    // 2. Explore, with progress and a cooperative Ctrl-C.
    const progress = createExploreProgress(io.stderr, o.quiet, ctx.logIntervalMs ?? 2000, io.now);
    const intr = interrupts((m) => progress.note(escapeControl(m)), () => progress.stop(), 'exploration');
    const { signal } = intr;
    try {
      return await exploreRest();
    } finally {
      intr.remove();
    }
    // The rest of the command runs with the handlers installed, until its reports are written
    // (kept at this indentation so the diff stays local).
    async function exploreRest(): Promise<ExitCode> {
    const budget = [trials !== undefined ? plural(trials, 'trial') : null, timeS !== undefined ? `${fmtDuration(timeS * 1000)} budget` : null].filter((x) => x !== null).join(', ');
    // The in-thread engine's first stepped build (seconds of CPU, once per source change) before the budget starts.
    if (process.env.PINLAB_ENGINE !== 'baton') {
      await ctx.engine.prepare?.(() => !o.quiet && err('pinlab: building the in-thread engine (once per source change, cached in build/stepped) ...\n'));
    }
    if (!o.quiet && !io.stderr.isTTY) err(`pinlab: exploring scenario ${scenario.name}: ${budget}, ${desc}\n`);
    let run: CampaignResult;
    try {
      progress.start(trials ?? 0);
      const seconds = o.shrinkSeconds ?? DEFAULT_SHRINK_SECONDS;
      let lastLog = io.now();
      run = await ctx.engine.exploreCampaign(scenario, {
        ...options, scope, signal, onProgress: (p: ExploreProgress) => progress.update(p),
        ...(target !== undefined ? { target } : {}),
        onExplored: () => {
          progress.stop();
          if (!o.quiet && io.stderr.isTTY) err('\n');
        },
        // Shrink a failure (the explore's own Ctrl-C stops the shrink too, keeping its best).
        ...(o.shrink ? {
          shrink: {
            timeoutMs: seconds * 1000,
            onStart: (trial: number) => {
              if (!o.quiet) err(`pinlab: shrinking the failing trial ${trial} (at most ${fmtDuration(seconds * 1000)}; Ctrl-C keeps the best so far)\n`);
            },
            onProgress: (p: ShrinkProgress) => {
              const t = io.now();
              if (o.quiet || t - lastLog < (ctx.logIntervalMs ?? 2000)) return;
              lastLog = t;
              err(`pinlab: ${shrinkProgressLine(p)}\n`);
            },
          },
        } : {}),
      });
    } catch (e) {
      progress.stop();
      if (e instanceof RangeError || e instanceof ScenarioError) return bad(e.message);
      err(`pinlab explore: internal failure: ${errorText(e)}\n`);
      return ExitCode.Internal;
    }
    if (run.shrinkError !== undefined) err(`pinlab explore: shrinking failed, reporting the trial as found: ${errorText(run.shrinkError)}\n`);
    const { report, small, shrunk, shrunkFile } = run;

    // 4. Report: JSON first, then the text.
    const stopSignal = report.stoppedBy === 'signal' ? (intr.received() ?? 'SIGINT') : undefined;
    const vacuous = report.vacuous ?? [];
    let code: ExitCode =
      report.outcome === 'violation' || report.outcome === 'livelock' ? ExitCode.Violation
      : report.outcome === 'internal' ? ExitCode.Internal
      : stopSignal !== undefined ? signalExitCode(stopSignal)
      : report.outcome === 'too-long' || vacuous.length > 0 ? ExitCode.Inconclusive
      : ExitCode.Ok;
    if (o.json !== undefined) {
      const json = {
        ...report,
        era: eraInfo(scenario),
        ...(shrunk !== undefined ? { shrink: { stats: shrunk.stats, schedule: shrunk.schedule, ...(shrunkFile !== undefined ? { scheduleFile: shrunkFile } : {}) } } : {}),
      };
      if (!(await writeJson(o.json, stopSignal !== undefined ? { ...json, signal: stopSignal } : json, 'explore', o.quiet)) && code === ExitCode.Ok) {
        code = ExitCode.Internal;
      }
    }
    if (!(await writeExploreExtras('explore', report, o, err)) && code === ExitCode.Ok) code = ExitCode.BadInput;
    lines(exploreText({
      scenario, desc, report, code, ...(trials !== undefined ? { trials } : {}),
      ...(target !== undefined && o.from !== undefined ? { from: { path: o.from, target } } : {}),
      ...(small !== undefined ? { small } : {}), ...(shrunk !== undefined ? { shrunk } : {}),
      ...(shrunkFile !== undefined ? { shrunkFile } : {}), ...(stopSignal !== undefined ? { stopSignal } : {}),
    }));
    return code;
    }
  }

  async function replayCommand(file: string, o: ReplayCommandOptions): Promise<ExitCode> {
    const bad = (msg: string): ExitCode => {
      err(`pinlab replay: ${msg}\n`);
      return ExitCode.BadInput;
    };
    const engineProblem = selectEngine(o.engine);
    if (engineProblem !== null) return bad(engineProblem);
    if (!existsSync(file)) return bad(`${file}: no such file`);
    if (statSync(file).isDirectory()) return bad(`${file}: is a directory, expected a schedule file`);
    const { readScheduleFile, ScheduleFileError } = await import('../sched/schedule.js');
    let f: ScheduleFile;
    try {
      f = readScheduleFile(file);
    } catch (e) {
      if (e instanceof ScheduleFileError) return bad(e.message);
      throw e;
    }
    if (outputProblem(o.json, '--json', 'file', 'replay')) return ExitCode.BadInput;
    const lenient = o.lenient === true;
    // One trial: it is not stopped midway (the first Ctrl-C says so), the second quits.
    const intr = interrupts((m) => err(m + '\n'), () => {}, 'replay after this trial');
    try {
      return await replayRest();
    } finally {
      intr.remove();
    }
    // The rest of the command, with the handlers installed until its reports are written.
    async function replayRest(): Promise<ExitCode> {
    let r: ReplayReport;
    try {
      r = await ctx.engine.replaySchedule(f, { lenient });
    } catch (e) {
      if (e instanceof ScheduleFileError || e instanceof ScenarioError || e instanceof RangeError) return bad(`${file}: ${e.message}`);
      err(`pinlab replay: internal failure: ${errorText(e)}\n`);
      return ExitCode.Internal;
    }
    let code: ExitCode =
      r.outcome === 'divergence' && r.divergence !== undefined ? ExitCode.Internal
      : r.outcome === 'reproduced' || r.outcome === 'different' || r.outcome === 'livelock' ? ExitCode.Violation
      : r.outcome === 'too-long' ? ExitCode.Inconclusive
      : r.outcome === 'clean' ? ExitCode.Ok
      : ExitCode.Internal;
    const text = replayText({ name: basename(file), schedule: f, report: r, lenient, code });
    if (o.json !== undefined && !(await writeJson(o.json, r, 'replay', o.quiet)) && code === ExitCode.Ok) code = ExitCode.Internal;
    if (code === ExitCode.Internal && r.outcome === 'divergence') {
      // The divergence is the message: on stderr too, so a script sees it.
      err(`pinlab replay: ${text[text.length - 1]}\n`);
    }
    lines(text);
    return code;
    }
  }

  program
    .command('explore')
    .description(
      'explore a scenario deterministically: seeded trials until one violates an oracle; shrink it, write its schedule file ' +
        '(exit 0 clean, 1 violation, 2 bad input, 3 internal failure)',
    )
    .argument('[scenario]', 'a .json, .ts, .js or .mjs scenario file, or an embedded scenario name (default: the embedded default)')
    .addOption(
      new Option('--strategy <name>', 'scheduling strategy (portfolio: POS, SURW, PCT and random by turns)')
        .choices(['portfolio', 'pos', 'surw', 'pct', 'random']).default('portfolio'),
    )
    .option('--depth <d>', `PCT bug depth d, 1..${MAX_DEPTH} (default 3)`, parseInteger)
    .option('--trials <n>', `trials to run (default ${DEFAULT_TRIALS}, or unbounded with --time)`, parseInteger)
    .addOption(
      new Option('--scope <which>', 'small: spread the budget over small configurations of the scenario (default); scenario: the scenario as given (the default when --ops, --mm-steps, --mm-interval, --max-steps or --shard is set)')
        .choices(['small', 'scenario']),
    )
    .option('--from <report>', 'a `pinlab run --json` report: explore small configurations of its actors and mm operations until its first violation (same oracle and kind) reproduces')
    .option('--time <s>', 'wall-time budget, e.g. 30s: trials until it is spent (default: PINLAB_TIME, else none)', parseSeconds)
    .option('--seed <n>', "campaign seed (default: the scenario's seed)", parseInteger)
    .addOption(new Option('--points <which>', 'scheduling points: every shared access, or labelled events only').choices(['access', 'events']).default('access'))
    .option('--fault <name>', "enable a fault (repeatable; replaces the scenario's fault list)", collect)
    .option('--ops <n>', 'client steps per actor per trial (default 2)', parseInteger)
    .option('--mm-steps <n>', 'coordinator mm steps per trial (default 3)', parseInteger)
    .option('--mm-interval <us>', 'logical µs the coordinator sleeps between its mm steps (default 0)', parseInteger)
    .option(
      '--max-steps <n>',
      'step bound of a trial (default: derived from the trial\'s work); a trial still making progress at it is "too long" (exit 4), one whose participants stopped finishing operations is an O5 livelock',
      parseInteger,
    )
    .option('--out <dir>', 'directory for schedule files', './pinlab-schedules')
    .option('--no-shrink', 'report the failing trial as found, without shrinking it')
    .option('--shrink-seconds <s>', `time budget of the shrink (default ${DEFAULT_SHRINK_SECONDS})`, parseSeconds)
    .option('--json <path>', 'write the JSON report (with the shrink result) to <path>')
    .option('--html <path>', 'write a self-contained HTML report (the failing schedule as trace columns)')
    .option('--junit <path>', 'write JUnit XML (one testcase: the campaign)')
    .option('--shard <i/N>', 'run only the trials t with t % N == i (same seeds; /N takes i from JOB_COMPLETION_INDEX); merge the --json reports with pinlab merge')
    .option('--engine <name>', ENGINE_HELP)
    .option('-q, --quiet', 'no progress; print only the result')
    .action(async (path: string | undefined, opts: ExploreCommandOptions) => {
      ctx.setCode(await exploreCommand(path, opts));
    });

  program
    .command('replay')
    .description(
      'replay a schedule file step by step (exit 1 violation, 0 clean, 2 missing or invalid file, 3 divergence or internal failure)',
    )
    .argument('<file>', 'a schedule file written by pinlab explore')
    .option('--lenient', 'go on past steps that cannot be followed (and report them) instead of stopping at the first divergence')
    .option('--json <path>', 'write the JSON replay report to <path>')
    .option('--engine <name>', ENGINE_HELP)
    .option('-q, --quiet', 'no notes on stderr')
    .action(async (file: string, opts: ReplayCommandOptions) => {
      ctx.setCode(await replayCommand(file, opts));
    });
}
