/**
 * runScenario(): the whole of `pinlab run` as a typed function. Boots a machine, maps each
 * client's region, starts the actors on pooled threads, drives the mm coordinator on this thread
 * with the oracles watching, stops everyone cooperatively, and returns the report.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { set_current } from '../kernel/current.js';
import { actorStats } from '../clients/runtime.js';
import { type ActorResult } from '../clients/types.js';
import { ACTOR_STAT, LAB_HDR } from '../oracle/lab.js';
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
  /** Test hook: make one actor (by name, e.g. "dio#0") throw or die after some operations. */
  chaos?: { actor: string; afterOps: number; mode: 'throw' | 'exit' };
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
  const { odp, o1, mmops } = setupCoordinator(k, lab, plan);
  mmops.enableDirtyCensus();
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
        if (r.error !== undefined) {
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

  // The coordinator's loop: batches of mm operations, yielding to the event loop between batches
  // so worker deaths, comlink replies and Ctrl-C are seen promptly.
  lab.store(LAB_HDR.START_GATE, 1);
  Atomics.notify(lab.i32, LAB_HDR.START_GATE);
  const tStart = performance.now();
  let stoppedBy: RunReport['stoppedBy'] = 'duration';
  let lastProgress = 0;
  const lastBeat = specs.map(() => ({ ops: -1, at: tStart }));
  let mmSteps = 0;
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
    while (performance.now() < batchEnd) {
      mmops.step();
      mmSteps++;
      if (s.mm.intervalUs > 0) {
        const until = performance.now() + s.mm.intervalUs / 1000;
        while (performance.now() < until) mmops.completeDue(performance.now());
      }
    }
    mmops.completeDue(performance.now());
    // O5: an actor whose heartbeat stands still while it is running is stalled.
    specs.forEach((x, i) => {
      const ops = lab.stat(x.actor, ACTOR_STAT.OPS);
      const beat = lastBeat[i]!;
      if (ops !== beat.ops) {
        beat.ops = ops;
        beat.at = performance.now();
      } else if (performance.now() - beat.at > s.watchdogMs && lab.stat(x.actor, ACTOR_STAT.STATE) === 1) {
        lab.violation(5, x.actor, lab.stat(x.actor, ACTOR_STAT.CUR_PAGE), 9, lab.stat(x.actor, ACTOR_STAT.CUR_OP), Math.round(performance.now() - beat.at));
        beat.at = performance.now(); // report a stall once per watchdog period
      }
    });
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
  const runMs = performance.now() - tStart;
  storeBuffer?.uninstall();
  // End the writeback I/O in flight now: an actor in a write fault may be waiting for it
  // (wait_for_stable_page), and would otherwise sit out its timeout before it sees the stop word.
  mmops.completeAll();
  mmops.dirtyCensus(); // the dirty pages left at the end, before the final sync

  // Cooperative stop: actors finish their operation, release what they hold and return.
  lab.store(LAB_HDR.STOP, 1);
  const stopTimeout = opts.stopTimeoutMs ?? Math.max(5000, s.watchdogMs);
  await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, stopTimeout).unref())]);
  for (const x of specs) {
    if (!results.has(x.name) && !errors.has(x.name)) {
      errors.set(x.name, `did not stop within ${stopTimeout} ms`);
      failures.push(`${x.name} did not stop within ${stopTimeout} ms`);
    }
  }
  await Promise.all(handles.map((h) => (h.dead ? Promise.resolve() : h.release().catch(() => undefined))));

  // A dead or failed actor's pins are released on its behalf from its ghost ledger.
  set_current(k);
  failures.push(...releaseFailedActorsPins(lab, plan, new Set(errors.keys())));
  const { vmstat, warnings, bugs } = finishRun(k, lab, plan, mmops, new Set(errors.keys()));

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
  // An actor stopped by a BUG() of the model kernel is a finding (O2 reports the BUG site), not a
  // failure of the harness: with the violation reported, the outcome is 'violation'.
  const kernelBugsOnly = violations.length > 0 && [...errors.values()].every((e) => e.startsWith('KernelBug: '));
  const totalOps = actors.reduce((n, a) => n + a.ops, 0);
  const mm = mmops.stats();
  const falsePositives = { ...(o1?.falsePositives ?? {}) };
  const metrics = computeMetrics({ mm, samples: mmops.metricSamples(), actors, violations, falsePositives, runMs });
  const report: RunReport = {
    schema: REPORT_SCHEMA_VERSION,
    scenario: s,
    era: { name: s.era, native: s.nativeBugs ? [...k.spec.native] : [] },
    outcome: errors.size > 0 && !kernelBugsOnly ? 'internal' : violations.length > 0 ? 'violation' : 'clean',
    stoppedBy,
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
