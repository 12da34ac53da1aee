/**
 * runScenario(): the whole of `pinlab run` as a typed function. Boots a machine, maps each
 * client's region, starts the actors on pooled threads, drives the mm coordinator on this thread
 * with the oracles watching, stops everyone cooperatively, and returns the report.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { set_current } from '../kernel/current.js';
import { actorStats } from '../clients/runtime.js';
import { type ActorResult } from '../clients/types.js';
import { ACTOR_STAT, ACTOR_STATE, type Lab, LAB_HDR } from '../oracle/lab.js';
import { labLockTracker, RunAborted, watchedFutexWait } from '../oracle/liveness.js';
import { setFutexWait } from '../mem/futex.js';
import { readVmstat, readWarnings } from '../kernel/context.js';
import { machineWordName } from '../sched/labels.js';
import { describeDeadlock } from './deadlock.js';
import { startWatchdog } from './watchdog.js';
import { addWork, vacuousKinds } from './vacuity.js';
import { type Scenario } from '../scenario/schema.js';
import { REPORT_SCHEMA_VERSION, type ActorReport, type RunReport } from '../report/types.js';
import { buildViolations } from './violations.js';
import { resolveClientModules } from './client-modules.js';
import { finishRun, prepareRun, releaseFailedActorsPins, setupCoordinator } from './setup.js';
import { ActorPool } from './pool.js';
import { installStoreBuffer } from './store-buffer.js';
import { computeMetrics } from './metrics.js';

export interface RunProgress {
  elapsedMs: number;
  durationMs: number;
  ops: number;
  mmOps: number;
  violations: number;
}

export interface RunOptions {
  onProgress?: (p: RunProgress) => void;
  /** Aborting stops the run cleanly (cooperative stop); the report is still produced. */
  signal?: AbortSignal;
  /** Threads to run on (default: a shared pool, reused across runs). */
  pool?: ActorPool;
  /** Test hook: make one actor (by name, e.g. "dio#0") throw, die or plant a lock-order bug after some operations. */
  chaos?: { actor: string; afterOps: number; mode: 'throw' | 'exit' | 'lock-abba' };
  /** Bound on waiting for actors to stop after the stop word, ms. */
  stopTimeoutMs?: number;
  /** Stop the run at the first violation the oracles log while it runs (detection tests, benchmarks). */
  stopOnViolation?: boolean;
}

let sharedPool: ActorPool | null = null;

/** The pool shared by runs in this process (threads are reused across runs). */
export function defaultPool(): ActorPool {
  sharedPool ??= new ActorPool();
  return sharedPool;
}

/** Destroy the shared pool (the CLI calls this before exiting). */
export async function shutdownPool(): Promise<void> {
  const p = sharedPool;
  sharedPool = null;
  if (p !== null) await p.destroy();
}

/**
 * Run a (parsed) scenario in stress mode. Resolves to the report; its `outcome` says clean,
 * violation or internal. Throws ScenarioError when a custom client module is bad (missing, throws
 * while loading, no defineClient export, too slow to load).
 */
export async function runScenario(scenario: Scenario, opts: RunOptions = {}): Promise<RunReport> {
  const t0 = performance.now();
  const s = await resolveClientModules(scenario);
  const { k, lab, plan } = prepareRun(s);
  const { specs, coordActor, init } = plan;
  if (opts.chaos !== undefined) {
    const target = specs.find((x) => x.name === opts.chaos!.actor);
    if (target === undefined) throw new Error(`chaos: no actor named ${opts.chaos.actor}`);
    target.chaos = { afterOps: opts.chaos.afterOps, mode: opts.chaos.mode };
  }
  // The coordinator's policy sleeps are progress, not a stall: they beat its heartbeat.
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const { odp, o1, mmops } = setupCoordinator(k, lab, plan, {
    sleep: (ms) => {
      lab.add(LAB_HDR.COORD_BEAT, 1);
      Atomics.wait(nap, 0, 0, ms);
    },
  });
  mmops.enableDirtyCensus();
  // Liveness is judged from outside (coordinator/watchdog.ts): this thread's locks and waits are
  // recorded for it, and its waits throw RunAborted if it aborts a deadlock.
  init.watched = true;
  k.lockdep = labLockTracker(lab, coordActor);
  const prevWait = setFutexWait(watchedFutexWait(lab, coordActor, k.mem.i32));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    return await runWatched(s, opts, t0, { k, lab, plan, odp, o1, mmops }, cleanups);
  } finally {
    setFutexWait(prevWait);
    k.lockdep = null;
    for (const c of cleanups) await c(); // the watchdog thread, if the run threw before stopping it
  }
}

type Prepared = ReturnType<typeof prepareRun> & ReturnType<typeof setupCoordinator>;

/** How long the start waits for actors to reach the gate (module loading is bounded at 10 s too). */
const GATE_WAIT_MS = 15_000;

/**
 * Wait until every actor has left IDLE (it is at the start gate, or already done or dead), or
 * `give_up()` says so, or GATE_WAIT_MS pass; the event loop keeps running meanwhile.
 */
async function actorsAtGate(lab: Lab, actors: number[], give_up: () => boolean): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < GATE_WAIT_MS && !give_up()) {
    if (actors.every((a) => lab.load(lab.actorBase(a) + ACTOR_STAT.STATE) !== ACTOR_STATE.IDLE)) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function runWatched(
  s: Scenario, opts: RunOptions, t0: number, { k, lab, plan, odp, o1, mmops }: Prepared, cleanups: Array<() => Promise<void>>,
): Promise<RunReport> {
  const { specs, coordActor, init } = plan;
  // Under delay injection, a fault's plain stores on this thread wait in a store buffer until its
  // next Atomics access, as TSO allows (src/coordinator/store-buffer.ts).
  const storeBuffer =
    s.delay !== 'off' && s.faults.length > 0 ? installStoreBuffer(k.mem, s.delay, s.seed ^ 0x5bd1e995) : null;
  const pool = opts.pool ?? defaultPool();
  const failures: string[] = [];
  const handles = await pool.startActors(init, specs);
  const results = new Map<string, ActorResult>();
  const errors = new Map<string, string>();
  let failed = false;
  const runs = handles.map((h, i) =>
    h.run().then(
      (r) => {
        results.set(specs[i]!.name, r);
        if (r.error !== undefined && r.error.startsWith('RunAborted')) {
          errors.set(specs[i]!.name, r.error); // its wait was broken by the watchdog: part of the O5 finding
        } else if (r.error !== undefined) {
          errors.set(specs[i]!.name, r.error);
          failures.push(`${specs[i]!.name} threw: ${r.error}`);
          failed = true;
        }
      },
      (e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        errors.set(specs[i]!.name, msg);
        failures.push(`${specs[i]!.name} died: ${msg}`);
        failed = true;
      },
    ),
  );

  // The run's clock starts when every actor stands at the start gate: an actor that first loads a
  // client module (esbuild on a loaded machine takes seconds) must not eat the scenario's duration.
  await actorsAtGate(lab, specs.map((x) => x.actor), () => failed || opts.signal?.aborted === true);
  // Liveness is judged from the start of the run proper (a module still loading has no heartbeat).
  const watchdog = startWatchdog({
    labSab: lab.sab, labConfig: plan.labConfig, machineConfig: k.layout.config, watchdogMs: s.watchdogMs, graceMs: Math.max(3000, s.watchdogMs),
    threads: [...specs.map((x) => ({ actor: x.actor, name: x.name, role: 'actor' as const })), { actor: coordActor, name: 'coordinator', role: 'coordinator' as const }],
  });
  cleanups.push(() => watchdog.stop());
  // The coordinator's loop: batches of mm operations, yielding to the event loop between batches
  // so worker deaths, comlink replies and Ctrl-C are seen promptly.
  lab.store(LAB_HDR.START_GATE, 1);
  Atomics.notify(lab.i32, LAB_HDR.START_GATE);
  const tStart = performance.now();
  let stoppedBy: RunReport['stoppedBy'] = 'duration';
  let lastProgress = 0;
  let mmSteps = 0;
  let aborted = false;
  lab.store(LAB_HDR.RUN_STATE, 1);
  for (;;) {
    const now = performance.now();
    const elapsed = now - tStart;
    if (failed) {
      stoppedBy = 'failure';
      break;
    }
    if (opts.signal?.aborted) {
      stoppedBy = 'signal';
      break;
    }
    if (opts.stopOnViolation === true && lab.load(LAB_HDR.VIOLATIONS) > 0) {
      stoppedBy = 'violation';
      break;
    }
    if (elapsed >= s.durationMs) break;
    const batchEnd = now + 5;
    try {
      while (performance.now() < batchEnd) {
        mmops.step();
        mmSteps++;
        lab.add(LAB_HDR.COORD_BEAT, 1);
        if (s.mm.intervalUs > 0) {
          const until = performance.now() + s.mm.intervalUs / 1000;
          while (performance.now() < until) mmops.completeDue(performance.now());
        }
      }
      mmops.completeDue(performance.now());
    } catch (e) {
      if (!(e instanceof RunAborted)) throw e;
      // The watchdog found this thread deadlocked and aborted the run (O5 in the lab's log).
      lab.store(LAB_HDR.ABORT, 2);
      aborted = true;
      stoppedBy = 'deadlock';
      break;
    }
    // O5 stalls of the actors are judged by the watchdog thread (coordinator/watchdog.ts).
    if (opts.onProgress !== undefined && performance.now() - lastProgress > 250) {
      lastProgress = performance.now();
      opts.onProgress({
        elapsedMs: Math.round(performance.now() - tStart), durationMs: s.durationMs,
        ops: specs.reduce((n, x) => n + lab.stat(x.actor, ACTOR_STAT.OPS), 0), mmOps: mmSteps,
        violations: lab.load(LAB_HDR.VIOLATIONS),
      });
    }
    await yieldToEventLoop();
  }
  lab.store(LAB_HDR.RUN_STATE, 0);
  const runMs = performance.now() - tStart;
  storeBuffer?.uninstall();
  // End the writeback I/O in flight now: an actor in a write fault may be waiting for it
  // (wait_for_stable_page), and would otherwise sit out its timeout before it sees the stop word.
  // After an abort the machine is left as the deadlock left it (locks held): nothing more runs on it.
  if (!aborted) {
    mmops.completeAll();
    mmops.dirtyCensus(); // the dirty pages left at the end, before the final sync
  }

  // Cooperative stop: actors finish their operation, release what they hold and return.
  lab.store(LAB_HDR.STOP, 1);
  const stopTimeout = opts.stopTimeoutMs ?? Math.max(5000, s.watchdogMs);
  const allStopped = (ms: number) => Promise.race([Promise.all(runs).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (!(await allStopped(stopTimeout))) {
    // Actors stuck in waits (a deadlock among them): break their waits too, then give them a moment.
    if (lab.load(LAB_HDR.ABORT) === 0) lab.store(LAB_HDR.ABORT, 1);
    await allStopped(2000);
  }
  const deadlock = aborted ? await watchdog.awaitDeadlock(1000) : watchdog.deadlock();
  await watchdog.stop();
  for (const x of specs) {
    if (!results.has(x.name) && !errors.has(x.name)) {
      errors.set(x.name, `did not stop within ${stopTimeout} ms`);
      failures.push(`${x.name} did not stop within ${stopTimeout} ms`);
    }
  }
  await Promise.all(handles.map((h) => (h.dead ? Promise.resolve() : h.release().catch(() => undefined))));

  // A dead or failed actor's pins are released on its behalf from its ghost ledger.
  set_current(k);
  let end: { vmstat: Record<string, number>; warnings: Record<string, number>; bugs: Record<string, number> };
  if (lab.load(LAB_HDR.ABORT) !== 0) {
    // Locks are still held where the abort found them: the end-of-run oracles cannot run.
    const { warn, bug } = readWarnings(k.mem);
    end = { vmstat: readVmstat(k.mem), warnings: warn as Record<string, number>, bugs: bug as Record<string, number> };
  } else {
    failures.push(...releaseFailedActorsPins(lab, plan, new Set(errors.keys())));
    end = finishRun(k, lab, plan, mmops, new Set(errors.keys()));
  }
  const { vmstat, warnings, bugs } = end;

  const actors: ActorReport[] = specs.map((x) => {
    const stats = results.get(x.name)?.stats ?? actorStats(lab, x.actor);
    const err = errors.get(x.name);
    const dead = handles[x.actor]!.dead;
    return {
      name: x.name, kind: x.kind, ops: stats.ops ?? 0, opsPerSec: Math.round(((stats.ops ?? 0) * 1000) / Math.max(1, runMs)), stats,
      state: dead ? 'dead' : err !== undefined ? 'error' : 'done', ...(err !== undefined ? { error: err } : {}),
    };
  });
  const violations = buildViolations(lab, specs, coordActor, k);
  if (deadlock !== undefined) {
    const d = describeDeadlock(deadlock.states, (w) => machineWordName(k.layout, w));
    for (const v of violations) {
      if (v.kind !== 'deadlock') continue;
      v.actors = deadlock.states.filter((x) => x.stalledMs !== undefined).map((x) => x.name);
      v.detail =
        (d.cycle !== null ? `lock-order deadlock ${d.cycle.join(' → ')}` : 'the coordinator made no progress while waiting') +
        '; the run was aborted and its end-of-run oracles skipped\n' + d.lines.join('\n');
    }
  }
  // An actor stopped by a BUG() of the model kernel is a finding (O2 reports the BUG site), and an
  // actor whose wait the watchdog broke (RunAborted) is part of the O5 finding: neither is a failure
  // of the harness. With the violation reported, the outcome is 'violation'.
  const kernelBugsOnly = violations.length > 0 && [...errors.values()].every((e) => e.startsWith('KernelBug: ') || e.startsWith('RunAborted'));
  const totalOps = actors.reduce((n, a) => n + a.ops, 0);
  const work = new Map<string, number>();
  addWork(work, s, (i) => actors[i]?.stats);
  const vacuous = [
    ...vacuousKinds(s, work),
    ...actors.filter((a) => a.ops === 0).map((a) => `${a.name} finished no operation (the run was shorter than its warm-up?)`),
    ...(mmSteps === 0 ? ['the coordinator did no mm operation'] : []),
  ];
  const mm = mmops.stats();
  const falsePositives = { ...(o1?.falsePositives ?? {}) };
  const metrics = computeMetrics({ mm, samples: mmops.metricSamples(), actors, violations, falsePositives, runMs });
  const report: RunReport = {
    schema: REPORT_SCHEMA_VERSION,
    scenario: s,
    era: { name: s.era, native: s.nativeBugs ? [...k.spec.native] : [] },
    outcome: errors.size > 0 && !kernelBugsOnly ? 'internal' : violations.length > 0 ? 'violation' : 'clean',
    stoppedBy,
    vacuous,
    durationMs: Math.round(performance.now() - t0),
    actors,
    mm,
    oracle: { checks: o1?.checks ?? 0, falsePositives, invalidations: odp.invalidations },
    totals: { pins: actors.reduce((n, a) => n + (a.stats.pins ?? 0), 0), ops: totalOps, opsPerSec: Math.round((totalOps * 1000) / Math.max(1, runMs)) },
    metrics,
    vmstat,
    warnings,
    bugs,
    violations,
    failures,
  };
  return report;
}
