/**
 * A participant of an explore trial, as its worker thread runs it: a client actor (the same
 * runActor body as stress mode, bounded to `ops` client steps), the mm coordinator (attach +
 * setupCoordinator on this thread, `mmSteps` MmOps.step() calls on the logical clock, then the
 * in-flight writeback I/O completes), or a litmus thread. Each one joins the trial's scheduler
 * first: its Mem gets the scheduling hook, its futexWait goes to the scheduler, and it waits for
 * the baton at its start point.
 */
import { attach } from '../kernel/boot.js';
import { type KernelContext } from '../kernel/context.js';
import { setFutexWait } from '../mem/futex.js';
import { attachMem } from '../mem/mem.js';
import { type MachineConfig } from '../mem/layout.js';
import { runActor } from '../clients/runtime.js';
import { type ActorInit, type ActorResult, type ActorSpec } from '../clients/types.js';
import { type MmOps } from '../coordinator/mmops.js';
import { type RunPlan, setupCoordinator } from '../coordinator/setup.js';
import { ACTOR_STAT, EVENT, Lab } from '../oracle/lab.js';
import { SH, TRIAL_STATUS } from '../sched/layout.js';
import { LITMUS } from '../sched/litmus.js';
import { ExploreAbort, type SchedJoin, SchedThread } from '../sched/scheduler.js';

export type ParticipantTask =
  | { role: 'client'; join: SchedJoin; init: ActorInit; spec: ActorSpec; ops: number }
  | { role: 'coordinator'; join: SchedJoin; plan: RunPlan; mmSteps: number; mmIntervalUs: number }
  | { role: 'litmus'; join: SchedJoin; program: string; thread: number; vars: number[]; machineConfig: MachineConfig };

export interface ParticipantResult {
  participant: number;
  /** The trial was stopped (step bound, divergence, watchdog) while this participant ran. */
  aborted: boolean;
  /** The protocol threw (the participant still finished its trial). */
  error?: string;
  /** Client: the actor's lab statistics. */
  stats?: Record<string, number>;
  /** Coordinator: MmOps statistics and oracle counters. */
  mm?: Record<string, number>;
  oracle?: { checks: number; falsePositives: Record<string, number>; invalidations: number };
  /** Litmus: the thread's registers. */
  registers?: number[];
}

/** Writeback I/O still in flight after the coordinator's last step is polled this often (logical ms). */
const IO_POLL_MS = 0.01;

const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export function runParticipant(task: ParticipantTask): ParticipantResult {
  const sched = new SchedThread(task.join);
  const prevWait = setFutexWait((arr, index, value, timeoutMs) => sched.wait(arr, index, value, timeoutMs));
  try {
    switch (task.role) {
      case 'client':
        return runClient(sched, task);
      case 'coordinator':
        return runCoordinator(sched, task);
      case 'litmus':
        return runLitmusThread(sched, task);
    }
  } finally {
    setFutexWait(prevWait);
  }
}

const running = (sched: SchedThread): boolean => Atomics.load(sched.i32, SH.STATUS) === TRIAL_STATUS.RUNNING;

/** Leave the trial: the end point if it is still running, else just mark done. Returns aborted. */
function finish(sched: SchedThread, aborted: boolean): boolean {
  if (!aborted && running(sched)) {
    try {
      if (!sched.started) sched.start(); // failed before its start point: the others wait for it
      sched.end();
      return false;
    } catch (e) {
      if (!(e instanceof ExploreAbort)) throw e;
    }
  }
  sched.leave();
  return true;
}

function joinKernel(sched: SchedThread, k: KernelContext): void {
  // The model's only wall-clock wait (wait_on_page_writeback's deadline) never expires here; the
  // scheduler's logical timeouts stand in for it.
  k.stablePageWaitMs = Infinity;
  k.mem.hook = sched.hook;
  sched.start();
}

function runClient(sched: SchedThread, task: Extract<ParticipantTask, { role: 'client' }>): ParticipantResult {
  let res: ActorResult | undefined;
  let aborted = false;
  let error: string | undefined;
  try {
    res = runActor(task.init, task.spec, { maxOps: task.ops, attached: (k) => joinKernel(sched, k) });
  } catch (e) {
    if (e instanceof ExploreAbort) aborted = true;
    else error = describe(e);
  }
  // runActor catches what the protocol throws (an ExploreAbort too): the trial status tells them apart.
  if (!running(sched)) aborted = true;
  else if (res?.error !== undefined) error = res.error;
  aborted = finish(sched, aborted);
  return {
    participant: task.join.participant, aborted, ...(error !== undefined && !aborted ? { error } : {}),
    ...(res !== undefined ? { stats: res.stats } : {}),
  };
}

/** Name the coordinator's current mm operation in its lab CUR_OP word (scheduling-point labels). */
function trackOperations(mmops: MmOps, lab: Lab, coordActor: number): void {
  const word = lab.actorBase(coordActor) + ACTOR_STAT.CUR_OP;
  const ops = mmops as unknown as Record<string, (...args: unknown[]) => unknown>;
  const wrap = (method: string, ev: number): void => {
    const orig = ops[method]!.bind(mmops);
    ops[method] = (...args: unknown[]): unknown => {
      const prev = lab.load(word);
      lab.store(word, ev);
      try {
        return orig(...args);
      } finally {
        lab.store(word, prev);
      }
    };
  };
  wrap('writebackPage', EVENT.WRITEBACK);
  wrap('munmapChunk', EVENT.MUNMAP);
  wrap('migrateOne', EVENT.MIGRATE);
  wrap('reclaimOne', EVENT.RECLAIM);
  wrap('truncateRange', EVENT.TRUNCATE);
  wrap('completeDue', EVENT.WRITEBACK);
  wrap('completeAll', EVENT.WRITEBACK);
}

function runCoordinator(sched: SchedThread, task: Extract<ParticipantTask, { role: 'coordinator' }>): ParticipantResult {
  const { plan } = task;
  const s = plan.scenario;
  let aborted = false;
  let error: string | undefined;
  let out: Pick<ParticipantResult, 'mm' | 'oracle'> = {};
  let k: KernelContext | undefined;
  try {
    k = attach(plan.init.machineSab, plan.init.machineConfig, { era: s.era, cpu: 0, faults: s.faults, nativeBugs: s.nativeBugs });
    const lab = new Lab(plan.init.labSab, plan.labConfig);
    joinKernel(sched, k);
    const { mmops, o1, odp } = setupCoordinator(k, lab, plan, { now: () => sched.now(), sleep: (ms) => sched.sleep(ms) });
    trackOperations(mmops, lab, plan.coordActor);
    try {
      for (let i = 0; i < task.mmSteps; i++) {
        if (i > 0 && task.mmIntervalUs > 0) sched.sleep(task.mmIntervalUs / 1000);
        mmops.step();
      }
      // The I/O submitted completes on the logical clock, while the clients go on.
      while (mmops.inFlight > 0) {
        mmops.completeDue(sched.now());
        if (mmops.inFlight > 0) sched.sleep(IO_POLL_MS);
      }
      k.vmstat_flush();
    } finally {
      out = {
        mm: mmops.stats(),
        oracle: { checks: o1?.checks ?? 0, falsePositives: { ...(o1?.falsePositives ?? {}) }, invalidations: odp.invalidations },
      };
    }
  } catch (e) {
    if (e instanceof ExploreAbort) aborted = true;
    else error = describe(e);
  }
  if (k !== undefined) k.mem.hook = null;
  if (!running(sched)) aborted = true;
  aborted = finish(sched, aborted);
  return { participant: task.join.participant, aborted, ...(error !== undefined && !aborted ? { error } : {}), ...out };
}

function runLitmusThread(sched: SchedThread, task: Extract<ParticipantTask, { role: 'litmus' }>): ParticipantResult {
  const prog = LITMUS[task.program];
  if (prog === undefined) throw new Error(`unknown litmus program ${task.program}`);
  const mem = attachMem(task.join.machineSab, task.machineConfig);
  let registers: number[] = [];
  let aborted = false;
  try {
    mem.hook = sched.hook;
    sched.start();
    registers = prog.body(mem, task.thread, task.vars);
  } catch (e) {
    if (!(e instanceof ExploreAbort)) throw e;
    aborted = true;
  }
  aborted = finish(sched, aborted);
  mem.hook = null;
  return { participant: task.join.participant, aborted, registers };
}
