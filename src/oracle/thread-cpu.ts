/**
 * Per-thread scheduling facts from Linux's /proc, for the liveness watchdog: a thread's own id
 * (read in the thread, through /proc/thread-self) and, read from any thread, its state and CPU
 * time. Elsewhere (no /proc) the id is 0 and nothing is known: the watchdog then judges by
 * heartbeats alone.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** The calling thread's kernel thread id (0 when unknown). */
export function currentTid(): number {
  try {
    const m = /(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface ThreadSample {
  /** 'R' running or runnable, 'S'/'D' sleeping, ... */
  state: string;
  /** utime + stime, clock ticks. */
  cpu: number;
}

/** State and CPU time of thread `tid` of this process, or null when unknown. */
export function sampleThread(tid: number): ThreadSample | null {
  if (tid <= 0) return null;
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return { state: f[0]!, cpu: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}
