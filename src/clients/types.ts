/** What an actor thread is given (all plain data: it crosses to a worker by structured clone). */
import { type Era, type MachineConfig } from '../mem/layout.js';
import { type LabConfig } from '../oracle/lab.js';
import { type EntryKind, type Policy } from '../scenario/schema.js';

export type Delay = 'off' | 'light' | 'heavy';

/** The machine and run settings every actor shares. */
export interface ActorInit {
  machineSab: SharedArrayBuffer;
  machineConfig: MachineConfig;
  era: Era;
  faults: string[];
  labSab: SharedArrayBuffer;
  labConfig: LabConfig;
  delay: Delay;
  policy: Policy;
  /** Oracle bookkeeping (ghost ledger, last-write tables) on or off (benchmarks compare both). */
  oracles: boolean;
  /** Contract oracles at the moment the protocol breaks (scenario.contractOracles). */
  contractOracles?: boolean;
  seed: number;
  /** The era's native bugs are on (scenario.nativeBugs; default true). */
  nativeBugs?: boolean;
  /**
   * Stress mode's liveness watchdog watches this run: each actor keeps its held and awaited lock
   * words in its lab block, and its waits throw RunAborted once the watchdog aborts the run.
   */
  watched?: boolean;
}

/** One actor: a client protocol instance on its own thread. */
export interface ActorSpec {
  actor: number; // index into the lab's actor blocks
  cpu: number; // per-cpu vmstat slot (the coordinator is cpu 0)
  name: string; // "dio#0"
  kind: EntryKind;
  /** kind 'custom': absolute path of the client module. */
  module?: string;
  /** kind 'custom': the client has a revoke handler (policy revoke asks it to release its pins). */
  revocable?: boolean;
  /** The entry's params (ctx.params). */
  params?: Record<string, number | string | boolean>;
  mm: number;
  /** Region start (bytes) and size (pages) in `mm`, mapped by the coordinator before start. */
  addr: number;
  pages: number;
  mapping: 'anon' | 'file' | 'cma' | 'hugetlb';
  file: number;
  /** File page of the region's first page (mapping 'file'). */
  offset: number;
  bufferPages: number;
  holdOps: number;
  writeRatio: number;
  fast: boolean;
  /** RDMA: write-fault the whole region in before the first registration (scenario `prefault`). */
  prefault?: boolean;
  /** The data word of each page this actor writes (O3 tells writers apart by word). */
  dataWord: number;
  /** Test hook: after this many operations the actor throws, or its thread dies (process.exit). */
  /**
   * Test hook: after `afterOps` operations, throw, kill the thread (exit), or plant a lock-order
   * bug ('lock-abba': take the mm's VMA lock, then its mmap_lock for write — the reverse of
   * munmap's order — so a concurrent munmap by the coordinator deadlocks with it).
   */
  chaos?: { afterOps: number; mode: 'throw' | 'exit' | 'lock-abba' };
}

export interface ActorResult {
  actor: number;
  name: string;
  kind: EntryKind;
  stats: Record<string, number>;
  /** Set when the actor's protocol threw (the thread survived). */
  error?: string;
}
