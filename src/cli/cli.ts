/**
 * The `pinlab` command line as a factory: `createCli({ runScenario }).main(args)` parses `args`
 * (without node and the script), runs, writes to the injected streams and resolves to the exit code.
 * src/cli/index.ts binds it to the process; tests inject a fake engine and capture the output.
 */
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { ERAS } from '../mem/layout.js';
import { fmtDuration, formatTextReport } from '../report/text.js';
import { writeJsonReport } from '../report/json.js';
import type { RunReport } from '../report/types.js';
import { applyOverrides, loadScenario, type ScenarioOverrides } from '../scenario/load.js';
import { CLIENT_KINDS, DELAYS, POLICIES, ScenarioError, type ClientKind, type Scenario } from '../scenario/schema.js';
import { resolveClientModules } from '../coordinator/client-modules.js';
import type { RunEngine, RunProgress } from './engine.js';
import { addExploreCommands, lazyExploreEngine, type ExploreEngine } from './explore.js';
import { ExitCode, signalExitCode, type StopSignal } from './exit-codes.js';
import { addSweepCommands } from './sweep.js';
import { formatList, LIST_TOPICS } from './list.js';
import { collect, parseClients, parseDuration, parseInteger } from './options.js';
import { createProgress, type OutStream } from './progress.js';
import { outputPathProblem, reportPathProblem, writeOutputFile } from './output-path.js';
import { escapeControl } from '../util/escape.js';
import { installInterrupts } from './interrupts.js';

export interface CliIO {
  stdout: OutStream;
  /** Progress, notes and errors. Its isTTY selects the progress bar or the plain log. */
  stderr: OutStream;
  /**
   * Register a Ctrl-C (SIGINT/SIGTERM) handler for the duration of a command (until its reports
   * are written); returns its remover. The handler is told which signal came (default SIGINT).
   */
  onInterrupt(handler: (signal?: StopSignal) => void): () => void;
  /** Leave at once (a second Ctrl-C). */
  exit(code: number): void;
  now(): number;
}

export interface CliDeps {
  runScenario: RunEngine;
  /** The explore/replay engine (default: src/explore/campaign.ts and explore.ts, loaded on first use). */
  explore?: ExploreEngine;
  io?: Partial<CliIO>;
  /** Version printed by --version. */
  version?: string;
  /** Minimum time between plain progress log lines (default 2000 ms). */
  logIntervalMs?: number;
  /** Bound on loading a scenario module, ms (default 10 000). */
  loadTimeoutMs?: number;
  /** What `pinlab sweep`/`study` run per cell and seed (default: runScenario on the shared pool; tests inject one). */
  sweepRunner?: import('../sweep/sweep.js').SweepRunner;
}

export interface Cli {
  /** Run the command line `args` (e.g. ['run', 'x.json', '--seed', '3']); resolves to the exit code. */
  main(args: readonly string[]): Promise<ExitCode>;
}

interface RunCommandOptions {
  duration?: number;
  seed?: number;
  era?: string;
  policy?: string;
  delay?: string;
  fault?: string[];
  clients?: Partial<Record<ClientKind, number>>;
  pages?: number;
  oracles: boolean;
  json?: string;
  html?: string;
  junit?: string;
  quiet?: boolean;
  /** Explore budget (s) to reproduce the first violation deterministically (--explore-on-failure). */
  exploreOnFailure?: number | true;
}

/** --explore-on-failure [seconds]: a positive number of seconds, "30" or "30s". */
function parseExploreSeconds(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*s?\s*$/i.exec(value);
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError('expected a positive number of seconds, e.g. 60 or 30s.');
  return Number(m[1]);
}

/**
 * A process stream that a closed reader (EPIPE: `pinlab run | head -1`) cannot crash: the error
 * is taken, and later writes are dropped, so the run ends with its verdict's exit code.
 */
export function guardedStream(stream: NodeJS.WriteStream): OutStream {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return {
    write: (chunk: string) => {
      if (broken || stream.destroyed) return false;
      try {
        return stream.write(chunk);
      } catch {
        broken = true;
        return false;
      }
    },
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
  };
}

// One guard per process stream, however many CLIs are created (each guard adds an 'error' listener).
let processStreams: { stdout: OutStream; stderr: OutStream } | undefined;

function processIO(): CliIO {
  processStreams ??= { stdout: guardedStream(process.stdout), stderr: guardedStream(process.stderr) };
  return {
    stdout: processStreams.stdout,
    stderr: processStreams.stderr,
    onInterrupt(handler) {
      const onInt = (): void => handler('SIGINT');
      const onTerm = (): void => handler('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
    exit: (code) => process.exit(code),
    now: () => performance.now(),
  };
}

/**
 * The exit code of a run report: 1 a violation, 3 an internal failure, 130/143 stopped by
 * SIGINT/SIGTERM, 4 vacuous, 0 clean (in that order of precedence).
 */
export function exitCodeFor(report: RunReport): ExitCode {
  switch (report.outcome) {
    case 'violation':
      return ExitCode.Violation;
    case 'clean':
      if (report.violations.length) return ExitCode.Violation;
      if (report.stoppedBy === 'signal') return signalExitCode(report.signal ?? 'SIGINT');
      return (report.vacuous ?? []).length > 0 ? ExitCode.Inconclusive : ExitCode.Ok;
    default:
      return ExitCode.Internal;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}

export function createCli(deps: CliDeps): Cli {
  const io: CliIO = { ...processIO(), ...deps.io };
  // Everything printed is escaped: scenario names, file contents and messages may hold control characters.
  const out = (s: string) => void io.stdout.write(escapeControl(s));
  const err = (s: string) => void io.stderr.write(escapeControl(s));

  async function runCommand(path: string | undefined, o: RunCommandOptions): Promise<ExitCode> {
    // 1. Scenario + overrides + output paths: any problem here is bad input, found before the run.
    let scenario: Scenario;
    try {
      const overrides: ScenarioOverrides = {
        durationMs: o.duration,
        seed: o.seed,
        era: o.era,
        policy: o.policy,
        delay: o.delay,
        faults: o.fault,
        clients: o.clients,
        pages: o.pages,
        oracles: o.oracles === false ? false : undefined,
      };
      scenario = await resolveClientModules(applyOverrides(await loadScenario(path, { timeoutMs: deps.loadTimeoutMs }), overrides));
    } catch (e) {
      if (e instanceof ScenarioError) {
        err(`pinlab run: ${e.message}\n`);
        return ExitCode.BadInput;
      }
      err(`pinlab run: cannot load the scenario: ${errorText(e)}\n`);
      return ExitCode.Internal;
    }
    if (o.json !== undefined) {
      const problem = outputPathProblem(o.json, 'file');
      if (problem !== null) {
        err(`pinlab run: --json '${o.json}': ${problem}\n`);
        return ExitCode.BadInput;
      }
    }
    for (const [flag, p] of [['--html', o.html], ['--junit', o.junit]] as const) {
      const problem = p === undefined ? null : await reportPathProblem(flag, p);
      if (problem !== null) {
        err(`pinlab run: ${problem}\n`);
        return ExitCode.BadInput;
      }
    }

    // 2. Run, with progress and a cooperative Ctrl-C (whose handlers stay until the reports are out).
    const progress = createProgress(io.stderr, { quiet: o.quiet, logIntervalMs: deps.logIntervalMs, now: io.now });
    const interrupts = installInterrupts(io, err, (m) => progress.note(escapeControl(m)), () => progress.stop(), 'run');
    try {
      if (!o.quiet && !io.stderr.isTTY) {
        err(
          `pinlab: running scenario ${scenario.name} for ${fmtDuration(scenario.durationMs)} ` +
            `(era ${scenario.era}, policy ${scenario.policy}, seed ${scenario.seed})\n`,
        );
      }
      let report: RunReport;
      progress.start(scenario.durationMs);
      try {
        report = await deps.runScenario(scenario, {
          signal: interrupts.signal,
          onProgress: (p: RunProgress) => progress.update(p),
        });
      } catch (e) {
        progress.stop();
        if (e instanceof ScenarioError) {
          err(`pinlab run: ${e.message}\n`);
          return ExitCode.BadInput;
        }
        err(`pinlab run: internal failure: ${errorText(e)}\n`);
        return ExitCode.Internal;
      }
      progress.stop();
      if (!o.quiet && io.stderr.isTTY) err('\n');
      const signal = interrupts.received();
      if (report.stoppedBy === 'signal' && signal !== undefined) report = { ...report, signal };

      // 3. Reports: JSON first (so nothing is lost if the text fails), then the summary.
      let code = exitCodeFor(report);
      if (o.exploreOnFailure !== undefined && report.violations.length > 0 && !interrupts.signal.aborted) {
        const seconds = o.exploreOnFailure === true ? 60 : o.exploreOnFailure;
        if (!o.quiet) err(`pinlab: exploring to reproduce ${report.violations[0]!.oracle}: ${report.violations[0]!.kind} deterministically (at most ${fmtDuration(seconds * 1000)})\n`);
        try {
          const { exploreOnFailure } = await import('./explore-on-failure.js');
          const link = await exploreOnFailure(report, { seconds, outDir: resolve('./pinlab-schedules'), signal: interrupts.signal });
          if (link !== null) report = { ...report, explore: link };
        } catch (e) {
          err(`pinlab run: --explore-on-failure failed: ${errorText(e)}\n`);
        }
      }
      if (o.json !== undefined) {
        try {
          const written = await writeJsonReport(o.json, report);
          if (!o.quiet) err(`pinlab: JSON report written to ${written}\n`);
        } catch (e) {
          err(`pinlab run: cannot write the JSON report to ${o.json}: ${e instanceof Error ? e.message : String(e)}\n`);
          if (code === ExitCode.Ok) code = ExitCode.Internal;
        }
      }
      const rerun = `npx pinlab run${path ? ` ${path}` : ''} --seed ${report.scenario.seed}`;
      const extra: [string, string | undefined, () => Promise<string>][] = [
        ['HTML', o.html, async () => (await import('../report/html.js')).runHtml(report, { command: rerun })],
        ['JUnit', o.junit, async () => (await import('../report/junit.js')).runJunit(report, { command: rerun })],
      ];
      for (const [what, p, make] of extra) {
        if (p === undefined) continue;
        try {
          const written = await writeOutputFile(p, await make());
          if (!o.quiet) err(`pinlab: ${what} report written to ${written}\n`);
        } catch (e) {
          err(`pinlab run: cannot write the ${what} report to ${p}: ${e instanceof Error ? e.message : String(e)}\n`);
          if (code === ExitCode.Ok) code = ExitCode.Internal;
        }
      }
      try {
        const x = report.explore;
        if (x !== undefined) {
          out(x.reproduced
            ? `explore reproduced ${x.target} in configuration "${x.configuration}" (${x.trials} trials, ${fmtDuration(x.durationMs)}): pinlab replay ${x.shrunkScheduleFile ?? x.scheduleFile}\n`
            : `explore did not reproduce ${x.target} in ${x.trials} trials (${fmtDuration(x.durationMs)})\n`);
        }
        out(formatTextReport(report, { brief: o.quiet, exitCode: code }));
      } catch (e) {
        err(`pinlab run: cannot format the report: ${errorText(e)}\n`);
        return ExitCode.Internal;
      }
      return code;
    } finally {
      interrupts.remove();
    }
  }

  function buildProgram(setCode: (c: ExitCode) => void): Command {
    const program = new Command()
      .name('pinlab')
      .description('A TypeScript laboratory for the Linux kernel page-pinning design')
      .exitOverride() // commander's own exits become CommanderErrors, mapped onto ExitCode
      .configureOutput({
        writeOut: (s) => out(s),
        writeErr: (s) => err(s),
      })
      .showHelpAfterError('(add --help for usage)');
    if (deps.version) program.version(deps.version);

    program
      .command('run')
      .description(
        'run a scenario and report violations (exit 0 clean, 1 violation, 2 bad input, 3 internal failure, 4 vacuous, 130/143 stopped by SIGINT/SIGTERM)',
      )
      .argument('[scenario]', 'a .json, .ts, .js or .mjs scenario file, or an embedded scenario name (default: the embedded default)')
      .option('--duration <time>', 'run time with a unit: 500ms, 10s, 1.5s, 2m, 1h (a bare number is refused)', parseDuration)
      .option('--seed <n>', 'random seed', parseInteger)
      .option('--era <era>', `pin-accounting era: ${ERAS.join(', ')}`)
      .option('--policy <policy>', `writeback policy for pinned pages: ${POLICIES.join(', ')}`)
      .option('--delay <level>', `delay injection: ${DELAYS.join(', ')}`)
      .option('--fault <name>', "inject a fault (repeatable; replaces the scenario's fault list)", collect)
      .option(
        '--clients <kind=n,...>',
        `client count per kind (${CLIENT_KINDS.join(', ')}), e.g. dio=2,rdma=1,odp=1,get=1; 0 removes that kind`,
        parseClients,
      )
      .option('--pages <n>', 'pages in every client region', parseInteger)
      .option('--no-oracles', 'run without the oracles')
      .option('--json <path>', 'write the JSON report to <path>')
      .option('--html <path>', 'write a self-contained HTML report (plots, tables, trace columns of a violation)')
      .option('--junit <path>', 'write JUnit XML (one testcase: the run)')
      .option(
        '--explore-on-failure [seconds]',
        'on a violation, explore small configurations of its actors and mm operations until it reproduces, shrink it, write the schedule file (./pinlab-schedules) and link it from the report (default 60 s)',
        parseExploreSeconds,
      )
      .option('-q, --quiet', 'no progress; print only violations, failures and the verdict')
      .action(async (path: string | undefined, opts: RunCommandOptions) => {
        setCode(await runCommand(path, opts));
      });

    addExploreCommands(program, { io, setCode, engine: deps.explore ?? lazyExploreEngine, logIntervalMs: deps.logIntervalMs });
    addSweepCommands(program, { io, setCode, logIntervalMs: deps.logIntervalMs, ...(deps.sweepRunner ? { runner: deps.sweepRunner } : {}) });

    program
      .command('gup-test')
      .argument('[options...]', "the selftest's flags: -a|-b|-L|-c|-U|-u, -m MB, -r N, -n N, -F flags, -j N, -w|-W, -S, -H, -z, -p, -t|-T, -f file")
      .description("the kernel selftest mm/gup_test on the model, with its getopt flags and TAP output (pinlab gup-test --help)");
    program
      .command('init')
      .argument('[dir]', 'where to write the files (default: the working directory)')
      .description('write a starter scenario, a custom client and a vitest test into [dir] (default .)');
    program
      .command('schema')
      .description('print the scenario JSON Schema')
      .action(async () => {
        out(JSON.stringify((await import('../scenario/json-schema.js')).scenarioJsonSchema(), null, 2) + '\n');
        setCode(ExitCode.Ok);
      });

    program
      .command('list')
      .description(`list the names a scenario or option can use: ${Object.keys(LIST_TOPICS).join(', ')}`)
      .addArgument(new Argument('[topic]', 'what to list (default: everything)').choices(Object.keys(LIST_TOPICS)))
      .action((topic: string | undefined) => {
        const topics = topic ? [topic] : Object.keys(LIST_TOPICS);
        out(topics.map(formatList).join('\n'));
        setCode(ExitCode.Ok);
      });

    return program;
  }

  return {
    async main(args) {
      // gup-test takes the selftest's getopt command line, which commander would not parse as getopt does.
      if (args[0] === 'gup-test') return (await import('./gup-test.js')).gupTestMain(args.slice(1), io);
      if (args[0] === 'init') return (await import('./init.js')).initMain(args.slice(1), io);
      let code: ExitCode = ExitCode.Ok;
      const program = buildProgram((c) => (code = c));
      try {
        await program.parseAsync([...args], { from: 'user' });
      } catch (e) {
        if (e instanceof CommanderError) {
          // --help / --version exit 0; usage errors (already printed by commander) are bad input.
          return e.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
        }
        err(`pinlab: internal failure: ${errorText(e)}\n`);
        return ExitCode.Internal;
      }
      return code;
    },
  };
}
