/**
 * The liveness watchdog thread of stress mode (src/coordinator/watchdog.ts describes the protocol).
 * It only reads the lab, except for the violation log, the ABORT word, and — if the main thread
 * never acknowledges an abort — stderr and the process.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { computeLayout } from '../src/mem/layout.js';
import { ACTOR_STAT, ACTOR_STATE, LAB_HDR, LOCK_WORDS, Lab, VIOLATION_KIND } from '../src/oracle/lab.js';
import { readLockState } from '../src/oracle/liveness.js';
import { sampleThread } from '../src/oracle/thread-cpu.js';
import { describeDeadlock, type ThreadLockState } from '../src/coordinator/deadlock.js';
import { LivenessJudge } from '../src/coordinator/liveness-judge.js';
import { type WatchdogConfig } from '../src/coordinator/watchdog.js';
import { machineWordName } from '../src/sched/labels.js';

const cfg = workerData as WatchdogConfig;
const lab = new Lab(cfg.labSab, cfg.labConfig);
const layout = computeLayout(cfg.machineConfig);
const tickMs = Math.max(10, Math.min(100, Math.floor(cfg.watchdogMs / 10)));
const judge = new LivenessJudge(cfg.threads.length, cfg.watchdogMs, tickMs);
const ringHead = (actor: number): number => lab.load(lab.actorBase(actor) + lab.layout.ringOff);
let abortedAt: number | null = null;
/** The coordinator's stall, summed over the windows it was reported in without a cycle. */
const coordStalledMs: number[] = [];
let lastCoordBeat = Number.NaN;

function beatOf(t: WatchdogConfig['threads'][number]): number {
  if (t.role === 'coordinator') return lab.load(LAB_HDR.COORD_BEAT);
  return (lab.stat(t.actor, ACTOR_STAT.OPS) + ringHead(t.actor)) | 0;
}

function judged(t: WatchdogConfig['threads'][number]): boolean {
  if (lab.stopped()) return false;
  if (t.role === 'coordinator') return lab.load(LAB_HDR.RUN_STATE) === 1;
  return lab.stat(t.actor, ACTOR_STAT.STATE) === ACTOR_STATE.RUNNING;
}

const lastCpu = cfg.threads.map(() => -1);

/** Whether the thread had a chance to run since the last tick: its CPU time moved, or it chose to sleep. */
function hadChance(t: WatchdogConfig['threads'][number], i: number): boolean {
  const s = sampleThread(lab.load(lab.actorBase(t.actor) + LOCK_WORDS.TID));
  if (s === null) return true;
  const ran = s.cpu !== lastCpu[i];
  lastCpu[i] = s.cpu;
  return ran || s.state !== 'R';
}

function lockStates(stalled: ReadonlyMap<number, number>): ThreadLockState[] {
  return cfg.threads.map((t, i) => ({ name: t.name, ...readLockState(lab, t.actor), ...(stalled.has(i) ? { stalledMs: stalled.get(i)! } : {}) }));
}

function tick(): void {
  if (abortedAt !== null) {
    // The main thread acknowledges by storing 2; past the grace period it is stuck outside any wait.
    if (lab.load(LAB_HDR.ABORT) === 2 || performance.now() - abortedAt < cfg.graceMs) return;
    const d = describeDeadlock(lockStates(new Map()), (w) => machineWordName(layout, w));
    writeSync(2, `pinlab: O5 deadlock: the coordinator did not unwind within ${cfg.graceMs} ms of the abort; ending the process (exit 137)\n`);
    for (const l of d.lines) writeSync(2, `  ${l}\n`);
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  const beats = cfg.threads.map(beatOf);
  beats.forEach((b, i) => {
    if (cfg.threads[i]!.role === 'coordinator' && b !== lastCoordBeat) {
      lastCoordBeat = b;
      coordStalledMs[i] = 0; // it moved: a later stall starts afresh
    }
  });
  const verdicts = judge.tick(performance.now(), beats, cfg.threads.map(judged), cfg.threads.map(hadChance));
  const coordinatorStalled = verdicts.find((v) => cfg.threads[v.thread]!.role === 'coordinator');
  for (const v of verdicts) {
    const t = cfg.threads[v.thread]!;
    if (t.role === 'actor') {
      lab.violation(5, t.actor, lab.stat(t.actor, ACTOR_STAT.CUR_PAGE), VIOLATION_KIND.STALL, lab.stat(t.actor, ACTOR_STAT.CUR_OP), v.stalledMs);
    }
  }
  // The coordinator is only ever aborted while it waits (a long operation that computes is not a
  // hang), and only for a waits-for cycle — or a wait that has lasted four windows: a lock held by
  // a thread busy in one long operation is not a deadlock.
  const coord = coordinatorStalled !== undefined ? cfg.threads[coordinatorStalled.thread]! : undefined;
  if (coord === undefined || readLockState(lab, coord.actor).awaits === null) return;
  const stalled = new Map(verdicts.map((v) => [v.thread, v.stalledMs]));
  const coordIndex = coordinatorStalled!.thread;
  coordStalledMs[coordIndex] = (coordStalledMs[coordIndex] ?? 0) + coordinatorStalled!.stalledMs;
  const { cycle } = describeDeadlock(lockStates(stalled), (w) => machineWordName(layout, w));
  if (cycle === null && coordStalledMs[coordIndex]! < 4 * cfg.watchdogMs) return;
  lab.violation(5, coord.actor, -1, VIOLATION_KIND.DEADLOCK, 0, coordinatorStalled!.stalledMs);
  parentPort!.postMessage({ type: 'deadlock', states: lockStates(stalled) });
  lab.store(LAB_HDR.ABORT, 1);
  abortedAt = performance.now();
}

setInterval(tick, tickMs);
