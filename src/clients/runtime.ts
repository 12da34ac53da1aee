/**
 * The body of an actor thread: attach to the machine, run one client protocol until the lab's
 * stop word is set, release everything it holds, fold its vmstat deltas, and report. Synchronous
 * on purpose — it owns its thread; stopping is cooperative (never an abort that kills a pin holder).
 */
import { attach } from '../kernel/boot.js';
import { type KernelContext } from '../kernel/context.js';
import { ACTOR_STAT, ACTOR_STATE, LAB_HDR, Lab } from '../oracle/lab.js';
import { labLockTracker, watchedFutexWait } from '../oracle/liveness.js';
import { SbContract } from '../oracle/sb-contract.js';
import { setFutexWait } from '../mem/futex.js';
import { mm_of, mmap_write_lock, mmap_write_unlock, vma_lock, vma_unlock } from '../kernel/mm.js';
import { Actor } from './actor.js';
import { BUILTIN_CLIENTS } from './builtin.js';
import { createClientContext } from './context.js';
import { type ClientDefinition } from './define.js';
import { delayHook } from './delay.js';
import { loadClientModule } from './module.js';
import { type ActorInit, type ActorResult, type ActorSpec } from './types.js';

/** The definition an actor runs: a built-in by kind, or the default export of its client module. */
export function clientDefinitionOf(spec: ActorSpec): ClientDefinition {
  if (spec.kind !== 'custom') return BUILTIN_CLIENTS[spec.kind] as ClientDefinition;
  if (spec.module === undefined) throw new Error(`${spec.name}: a custom client needs a module`);
  return loadClientModule(spec.module);
}

const isThenable = (v: unknown): boolean =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

function synchronous<T>(name: string, what: string, v: T): T {
  if (isThenable(v)) throw new Error(`${name}: ${what} returned a promise; client functions must be synchronous`);
  return v;
}

const STAT_NAMES: readonly (readonly [string, number])[] = Object.entries(ACTOR_STAT).map(([name, s]) => [name.toLowerCase(), s]);

/** Read an actor's stats block into a plain record. */
export function actorStats(lab: Lab, actor: number): Record<string, number> {
  const base = lab.actorBase(actor);
  const out: Record<string, number> = {};
  for (const [name, s] of STAT_NAMES) out[name] = lab.load(base + s);
  return out;
}

/** How explore mode (src/sched) runs the same actor body: bounded, and scheduled from the start. */
export interface RunActorOptions {
  /** Stop after this many operations (default: only the lab stop word stops the actor). */
  maxOps?: number;
  /** Called right after attach, before the client is built (explore installs its scheduler here). */
  attached?: (k: KernelContext, lab: Lab) => void;
}

export function runActor(init: ActorInit, spec: ActorSpec, opts: RunActorOptions = {}): ActorResult {
  const maxOps = opts.maxOps ?? Infinity;
  const k = attach(init.machineSab, init.machineConfig, { era: init.era, cpu: spec.cpu, faults: init.faults, nativeBugs: init.nativeBugs ?? true });
  const lab = new Lab(init.labSab, init.labConfig);
  k.mem.hook = delayHook(init.delay, init.seed ^ Math.imul(spec.actor + 7, 0x85ebca6b));
  // O6 sb-contract, the GUP half: gup-fast's kept FOLL_PIN references (contract oracles only).
  if (lab.layout.sbOff >= 0) k.sbContract = new SbContract(lab, spec.actor);
  opts.attached?.(k, lab);
  const prevWait = init.watched === true ? setFutexWait(watchedFutexWait(lab, spec.actor, k.mem.i32)) : null;
  if (init.watched === true) k.lockdep = labLockTracker(lab, spec.actor);
  try {
    return runClientLoop(k, lab, init, spec, maxOps);
  } finally {
    if (prevWait !== null) setFutexWait(prevWait);
    k.lockdep = null;
  }
}

/** The lock-order bug of chaos 'lock-abba': VMA lock, a pause that lets munmap take mmap_lock, then mmap_lock. */
function plantLockOrderBug(mmId: number): void {
  const mm = mm_of(mmId);
  vma_lock(mm);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  mmap_write_lock(mm);
  mmap_write_unlock(mm);
  vma_unlock(mm);
}

function runClientLoop(k: KernelContext, lab: Lab, init: ActorInit, spec: ActorSpec, maxOps: number): ActorResult {
  const def = clientDefinitionOf(spec);
  const a = new Actor(k, lab, init, spec);
  const ctx = createClientContext(a, spec.params);
  const base = lab.actorBase(spec.actor);
  lab.store(base + ACTOR_STAT.STATE, ACTOR_STATE.RUNNING);
  while (Atomics.load(lab.i32, LAB_HDR.START_GATE) === 0 && !lab.stopped()) Atomics.wait(lab.i32, LAB_HDR.START_GATE, 0, 5);
  let error: string | undefined;
  let state: unknown;
  let setUp = false;
  try {
    state = def.setup === undefined ? undefined : synchronous(spec.name, 'setup', def.setup(ctx));
    setUp = true;
    let ops = 0;
    let revokesSeen = 0;
    while (!lab.stopped() && ops < maxOps) {
      // Policy revoke asks through the actor's REVOKE_REQ word; a client with a handler answers between steps.
      if (def.revoke !== undefined) {
        const req = lab.load(base + ACTOR_STAT.REVOKE_REQ);
        if (req !== revokesSeen) {
          revokesSeen = req;
          ctx.event('revoked', 0, req);
          synchronous(spec.name, 'revoke', def.revoke(ctx, state) as unknown);
          lab.store(base + ACTOR_STAT.REVOKE_ACK, req);
        }
      }
      synchronous(spec.name, 'step', def.step(ctx, state) as unknown);
      // Fold this cpu's vmstat deltas at every operation boundary: a thread that dies takes its
      // unfolded deltas with it (the kernel folds a dead CPU's diffs in its hotplug callback).
      k.vmstat_flush();
      ops++;
      lab.store(base + ACTOR_STAT.OPS, ops); // the heartbeat O5 watches
      if (spec.chaos !== undefined && ops >= spec.chaos.afterOps) {
        if (spec.chaos.mode === 'exit') process.exit(1); // in a worker thread: the thread dies, holding its pins
        if (spec.chaos.mode === 'lock-abba') {
          plantLockOrderBug(spec.mm);
          continue;
        }
        throw new Error(`${spec.name}: chaos: throwing after ${ops} operations`);
      }
    }
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    lab.add(base + ACTOR_STAT.ERRORS, 1);
  } finally {
    try {
      if (setUp && def.teardown !== undefined) synchronous(spec.name, 'teardown', def.teardown(ctx, state) as unknown);
    } catch (e) {
      error ??= `release failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    k.mem.hook = null;
    k.vmstat_flush();
    lab.store(base + ACTOR_STAT.STATE, ACTOR_STATE.DONE);
  }
  return { actor: spec.actor, name: spec.name, kind: spec.kind, stats: actorStats(lab, spec.actor), ...(error !== undefined ? { error } : {}) };
}
