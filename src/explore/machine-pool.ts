/**
 * Booted machines kept between the trials of a campaign run by the in-thread engine.
 *
 * A trial's set-up (prepareRun: a 2 MiB machine buffer, mostly the page tables of a 1 GiB address
 * space per mm, booted; a lab buffer; the actor plan) cost more than the trial itself on the small
 * configurations (scripts/bench-engine.ts prints both). The set-up depends on the scenario and not
 * on the trial's workload seed, so it is made once per campaign and restored before each trial,
 * chunk by chunk where this thread wrote (trackWrites in src/mem/mem.ts: every Mem, Lab and
 * SchedThread made over a tracked buffer marks its writes; sb-contract.ts and the ODP driver lock
 * note theirs). That is only sound when every writer is on this thread — the in-thread engine, with the
 * end-of-run teardown and oracles on the same thread; the baton engine's workers would write
 * unseen, so it always boots afresh.
 */
import { attach } from '../kernel/boot.js';
import { type KernelContext } from '../kernel/context.js';
import { WRITE_CHUNK_SHIFT, trackWrites, withNewBuffersTracked } from '../mem/mem.js';
import { Lab } from '../oracle/lab.js';
import { type Scenario } from '../scenario/schema.js';
import { type RunPlan, prepareRun } from '../coordinator/setup.js';

/** A booted machine and lab for one campaign scenario, with their state right after boot. */
interface Booted {
  machine: Int32Array;
  lab: Int32Array;
  machineSnap: Int32Array;
  labSnap: Int32Array;
  machineWrites: Uint8Array;
  labWrites: Uint8Array;
  plan: RunPlan;
  inUse: boolean;
}

/** One trial's machine: what prepareRun gives, and the call that hands the machine back. */
export interface TrialMachine {
  k: KernelContext;
  lab: Lab;
  plan: RunPlan;
  /** The trial is over: the next trial of the campaign may restore and reuse the machine. */
  release(): void;
}

// Keyed by the campaign's scenario object (every trial's scenario is it with another seed).
const pool = new WeakMap<Scenario, Booted>();

/** How often the pool booted a machine and how often it restored one (for tests and benchmarks). */
export const machinePoolStats = { boots: 0, restores: 0 };

let verify = false;

/**
 * Check every restore against the whole snapshot (slow: every word of both buffers, each trial):
 * a write that bypassed the write maps then throws, naming the buffer and the word. For tests.
 */
export function setMachinePoolVerify(on: boolean): void {
  verify = on;
}

function verifyRestored(name: string, i32: Int32Array, snap: Int32Array): void {
  for (let i = 0; i < i32.length; i++) {
    const v = Atomics.load(i32, i);
    if (v !== snap[i]) throw new Error(`machine pool: ${name} word ${i} is ${v} after the restore, ${snap[i]} when booted (a write the write map did not see)`);
  }
}

/**
 * A private copy of a buffer tracked since it was made: the chunks marked in `writes` are read
 * (word by word through Atomics: the house rule), the others are still 0. Clears the marks.
 */
function snapshot(i32: Int32Array, writes: Uint8Array): Int32Array {
  const out = new Int32Array(i32.length);
  const chunk = 1 << WRITE_CHUNK_SHIFT;
  for (let c = 0; c < writes.length; c++) {
    if (writes[c] === 0) continue;
    writes[c] = 0;
    const end = Math.min(i32.length, (c + 1) * chunk);
    for (let i = c * chunk; i < end; i++) out[i] = Atomics.load(i32, i);
  }
  return out;
}

/** Copy back the chunks of `i32` marked in `writes` from `snap`, and clear the marks. */
function restoreWritten(i32: Int32Array, snap: Int32Array, writes: Uint8Array): void {
  const chunk = 1 << WRITE_CHUNK_SHIFT;
  for (let c = 0; c < writes.length; c++) {
    if (writes[c] === 0) continue;
    writes[c] = 0;
    const end = Math.min(i32.length, (c + 1) * chunk);
    for (let i = c * chunk; i < end; i++) if (Atomics.load(i32, i) !== snap[i]) Atomics.store(i32, i, snap[i]!);
  }
}

/** The trial's own scenario in the plan (its seed is the trial's workload seed). */
const planFor = (plan: RunPlan, s: Scenario): RunPlan => ({ ...plan, scenario: s, init: { ...plan.init, seed: s.seed } });

/** Attach this thread to the pooled machine as prepareRun's boot would have left it. */
function attached(b: Booted, s: Scenario): TrialMachine {
  b.inUse = true;
  const plan = planFor(b.plan, s);
  const k = attach(b.machine.buffer as SharedArrayBuffer, plan.init.machineConfig, { era: s.era, cpu: 0, faults: s.faults, nativeBugs: s.nativeBugs });
  const lab = new Lab(b.lab.buffer as SharedArrayBuffer, plan.labConfig);
  return { k, lab, plan, release: () => void (b.inUse = false) };
}

/**
 * prepareRun for trial scenario `s` of the campaign whose scenario is `base` (`s` is `base` with the
 * trial's seed), reusing the campaign's machine: booted on the first call, restored to its booted
 * state on the next ones. Only for trials whose every participant runs on this thread (the
 * in-thread engine). A machine still in use (a trial not released) is not shared: that call boots
 * its own.
 */
export function prepareTrialMachine(base: Scenario, s: Scenario): TrialMachine {
  const b = pool.get(base);
  if (b !== undefined && !b.inUse) {
    restoreWritten(b.machine, b.machineSnap, b.machineWrites);
    restoreWritten(b.lab, b.labSnap, b.labWrites);
    if (verify) {
      verifyRestored('machine', b.machine, b.machineSnap);
      verifyRestored('lab', b.lab, b.labSnap);
    }
    machinePoolStats.restores++;
    return attached(b, s);
  }
  machinePoolStats.boots++;
  if (b !== undefined) return { ...prepareRun(s), release: () => {} };
  // Tracked from birth: the boot's writes tell which chunks the snapshot must read.
  const { k, lab, plan } = withNewBuffersTracked(() => prepareRun(s));
  const machineWrites = trackWrites(k.mem.sab);
  const labWrites = trackWrites(lab.sab);
  const booted: Booted = {
    machine: k.mem.i32, lab: lab.i32, machineSnap: snapshot(k.mem.i32, machineWrites), labSnap: snapshot(lab.i32, labWrites),
    machineWrites, labWrites, plan, inUse: false,
  };
  pool.set(base, booted);
  return attached(booted, s);
}
