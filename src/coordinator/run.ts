/**
 * runScenario(): the whole of `pinlab run` as a typed function. Boots a machine, maps each
 * client's region, starts the actors on pooled threads, drives the mm coordinator on this thread
 * with the oracles watching, stops everyone cooperatively, and returns the report.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PMD_ORDER, type MachineConfig } from '../mem/layout.js';
import { boot } from '../kernel/boot.js';
import { readVmstat, readWarnings } from '../kernel/context.js';
import { set_current } from '../kernel/current.js';
import { do_mmap, mm_of, PAGE_SIZE, vmas } from '../kernel/mm.js';
import { do_munmap } from '../kernel/mmap.js';
import { truncate_inode_pages_range } from '../kernel/truncate.js';
import { unpin_user_page } from '../kernel/gup.js';
import { compound_head } from '../kernel/page.js';
import { OdpNotifier } from '../clients/odp.js';
import { actorStats } from '../clients/runtime.js';
import { type ActorInit, type ActorResult, type ActorSpec } from '../clients/types.js';
import { ACTOR_STAT, GHOST_UNPIN, LAB_HDR, Lab, type LabConfig } from '../oracle/lab.js';
import { checkConservation, checkLostWrites, checkNoLeaks } from '../oracle/final.js';
import { installPinCheckOracle } from '../oracle/o1.js';
import { type Scenario } from '../scenario/schema.js';
import { REPORT_SCHEMA_VERSION, type ActorReport, type RunReport } from '../report/types.js';
import { buildViolations } from './violations.js';
import { MmOps } from './mmops.js';
import { ActorPool } from './pool.js';

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

function machineConfig(s: Scenario, nrActors: number): Partial<MachineConfig> {
  const m = s.machine;
  const regionPages = s.clients.reduce((n, c) => n + c.count * c.pages, 0);
  return {
    normalFrames: m.normalFrames,
    movableFrames: m.movableFrames,
    daxFrames: m.daxFrames,
    huge2mPages: m.huge2mPages,
    huge1gPages: m.huge1gPages,
    wordsPerPage: m.wordsPerPage,
    nrFiles: m.nrFiles,
    filePages: m.filePages,
    nrMms: m.nrMms,
    nrCpus: nrActors + 1,
    maxVmas: Math.max(32, 8 * nrActors + 16),
    vaPages: Math.max(1 << 18, 4 * regionPages + (1 << 12)),
  };
}

/** Expand client entries into actors, and map each actor's region in its mm. */
function planActors(s: Scenario): ActorSpec[] {
  const specs: ActorSpec[] = [];
  const perKind = new Map<string, number>();
  for (const c of s.clients) {
    for (let j = 0; j < c.count; j++) {
      const n = perKind.get(c.kind) ?? 0;
      perKind.set(c.kind, n + 1);
      const actor = specs.length;
      const mm = mm_of(c.mm);
      const addr = do_mmap(mm, {
        length: c.pages * PAGE_SIZE,
        kind: c.mapping,
        file: c.file,
        offset: c.offset * PAGE_SIZE,
        ...(c.mapping === 'hugetlb' ? { order: PMD_ORDER } : {}),
      });
      if (addr < 0) throw new Error(`cannot map the region of ${c.kind}#${n} (${c.pages} pages of ${c.mapping}): ${addr}`);
      specs.push({
        actor, cpu: actor + 1, name: `${c.kind}#${n}`, kind: c.kind, mm: c.mm, addr, pages: c.pages,
        mapping: c.mapping, file: c.file, offset: c.offset, bufferPages: c.bufferPages, holdOps: c.holdOps,
        writeRatio: c.writeRatio, fast: c.fast, dataWord: actor % s.machine.wordsPerPage,
      });
    }
  }
  return specs;
}

export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<RunReport> {
  const t0 = performance.now();
  const nrActors = s.clients.reduce((n, c) => n + c.count, 0);
  const k = boot(machineConfig(s, nrActors), { era: s.era, cpu: 0, faults: s.faults });
  k.refuseLongtermFile = s.policy === 'refuse-longterm';
  const specs = planActors(s);
  if (opts.chaos !== undefined) {
    const target = specs.find((x) => x.name === opts.chaos!.actor);
    if (target === undefined) throw new Error(`chaos: no actor named ${opts.chaos.actor}`);
    target.chaos = { afterOps: opts.chaos.afterOps, mode: opts.chaos.mode };
  }
  const coordActor = nrActors;
  const labConfig: LabConfig = {
    nrActors: nrActors + 1,
    ledgerSlots: Math.max(64, 4 * Math.max(...s.clients.map((c) => c.bufferPages))),
    ringEntries: 64,
    totalFrames: k.layout.totalFrames,
    nrFiles: s.machine.nrFiles,
    filePages: s.machine.filePages,
    odpPages: Math.max(1, ...s.clients.filter((c) => c.kind === 'odp').map((c) => c.pages)),
    nrMms: s.machine.nrMms,
    vaPages: k.layout.vaPages,
  };
  const lab = Lab.create(labConfig);
  const odp = new OdpNotifier(lab, specs.filter((x) => x.kind === 'odp'), coordActor);
  k.mmu_notifiers.push(odp);
  const o1 = s.oracles ? installPinCheckOracle(k, lab, { coordActor }) : null;
  const mmops = new MmOps({
    lab,
    policy: s.policy,
    mmOps: s.mm,
    regions: specs.map((x) => ({ actor: x.name, kind: x.kind, mm: x.mm, addr: x.addr, pages: x.pages, mapping: x.mapping, file: x.file, offset: x.offset })),
    actorKinds: specs.map((x) => x.kind),
    coordActor,
    seed: s.seed,
    dataWords: specs.map((x) => x.dataWord),
  });

  const init: ActorInit = {
    machineSab: k.mem.sab, machineConfig: k.layout.config, era: s.era, faults: s.faults, labSab: lab.sab, labConfig,
    delay: s.delay, policy: s.policy, oracles: s.oracles, seed: s.seed,
  };
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

  // A dead or failed actor's pins are released on its behalf from its ghost ledger
  // (the kernel analogue: the driver's release on close).
  set_current(k);
  const reclaimed: string[] = [];
  for (const x of specs) {
    if (!errors.has(x.name)) continue;
    let n = 0;
    for (let slot = 0; slot < labConfig.ledgerSlots; slot++) {
      const v = lab.load(lab.ledgerIndex(x.actor, slot));
      if (v === 0) continue;
      lab.add(lab.ghostIndex(compound_head(v - 1)), GHOST_UNPIN);
      lab.store(lab.ledgerIndex(x.actor, slot), 0);
      unpin_user_page(v - 1);
      n++;
    }
    if (n > 0) reclaimed.push(`${x.name}: released ${n} pins it held`);
  }
  failures.push(...reclaimed);

  // End of run: write everything back, then the conservation and lost-write oracles.
  mmops.sync();
  const mms = Array.from({ length: s.machine.nrMms }, (_, i) => mm_of(i));
  const live = specs.filter((x) => !errors.has(x.name));
  if (s.oracles) {
    checkConservation(lab, mms, live);
    checkLostWrites(lab, specs);
  }
  const vmstat = readVmstat(k.mem);
  const { warn, bug } = readWarnings(k.mem);
  for (const mm of mms) for (const v of vmas(mm)) do_munmap(mm, v.start * PAGE_SIZE, (v.end - v.start) * PAGE_SIZE);
  for (let f = 0; f < s.machine.nrFiles; f++) truncate_inode_pages_range(f, 0, s.machine.filePages);
  if (s.oracles && failures.length === 0) checkNoLeaks(lab);

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
  const totalOps = actors.reduce((n, a) => n + a.ops, 0);
  const report: RunReport = {
    schema: REPORT_SCHEMA_VERSION,
    scenario: s,
    outcome: errors.size > 0 ? 'internal' : violations.length > 0 ? 'violation' : 'clean',
    stoppedBy,
    durationMs: Math.round(performance.now() - t0),
    actors,
    mm: mmops.stats(),
    oracle: { checks: o1?.checks ?? 0, falsePositives: { ...(o1?.falsePositives ?? {}) }, invalidations: odp.invalidations },
    totals: { pins: actors.reduce((n, a) => n + (a.stats.pins ?? 0), 0), ops: totalOps, opsPerSec: Math.round((totalOps * 1000) / Math.max(1, runMs)) },
    vmstat,
    warnings: warn as Record<string, number>,
    bugs: bug as Record<string, number>,
    violations,
    failures,
  };
  return report;
}
