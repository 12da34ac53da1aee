/**
 * Stress mode's liveness watchdog: a thread of its own that reads the lab (every actor's heartbeat,
 * the coordinator's, and the lock words each holds and awaits) and judges them with a
 * LivenessJudge, so a deadlock that takes in the coordinator's thread — the main thread, blocked in
 * Atomics.wait — is seen too.
 *
 *   an actor stalls        O5 'stall' in the lab's violation log; the run goes on.
 *   the coordinator stalls O5 'deadlock': the watchdog posts the threads' lock states, then sets
 *   in a wait, in a        LAB_HDR.ABORT, which makes every watched wait throw RunAborted; the main
 *   waits-for cycle (or    thread unwinds, acknowledges (ABORT = 2) and writes the report.
 *   for four windows)
 *   no acknowledgement     (the main thread is stuck outside any wait) within the grace period:
 *                          the watchdog prints the deadlock on stderr and ends the process with
 *                          SIGKILL (exit 137) — the one case where no report file is written.
 *
 * Signals: while the main thread is blocked their handlers cannot run; the abort above frees it
 * within watchdogMs, and the pending SIGINT/SIGTERM is handled then.
 */
import { type Worker } from 'node:worker_threads';
import { startWorker, workerUrl } from '../util/worker-url.js';
import { type LabConfig } from '../oracle/lab.js';
import { type MachineConfig } from '../mem/layout.js';
import { type ThreadLockState } from './deadlock.js';

export interface WatchedThread {
  /** Lab actor block. */
  actor: number;
  name: string;
  role: 'actor' | 'coordinator';
}

export interface WatchdogConfig {
  labSab: SharedArrayBuffer;
  labConfig: LabConfig;
  machineConfig: MachineConfig;
  threads: WatchedThread[];
  watchdogMs: number;
  /** How long the main thread has to acknowledge an abort before the process is ended. */
  graceMs: number;
}

/** What the watchdog thread posts when it aborts the run. */
export interface DeadlockMessage {
  type: 'deadlock';
  states: ThreadLockState[];
}

export interface Watchdog {
  /** The deadlock report, once the watchdog has aborted the run (undefined before). */
  deadlock(): DeadlockMessage | undefined;
  /** Wait (bounded) for the deadlock message after a RunAborted was caught. */
  awaitDeadlock(timeoutMs: number): Promise<DeadlockMessage | undefined>;
  /** Stop the thread. */
  stop(): Promise<void>;
}

/** Start the watchdog thread; it judges from its first tick. */
export function startWatchdog(config: WatchdogConfig): Watchdog {
  const worker: Worker = startWorker(workerUrl('../../workers/watchdog-host', import.meta.url), { workerData: config });
  worker.unref();
  let message: DeadlockMessage | undefined;
  const waiters: Array<(m: DeadlockMessage) => void> = [];
  worker.on('message', (m: DeadlockMessage) => {
    if (m?.type !== 'deadlock') return;
    message = m;
    for (const w of waiters.splice(0)) w(m);
  });
  worker.on('error', () => undefined); // a failed watchdog must not take the run down
  return {
    deadlock: () => message,
    awaitDeadlock(timeoutMs) {
      if (message !== undefined) return Promise.resolve(message);
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(undefined), timeoutMs);
        waiters.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      });
    },
    async stop() {
      await worker.terminate(); // a second call resolves at once
    },
  };
}
