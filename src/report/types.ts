/** The run report: one stable JSON schema for `pinlab run --json`, the text summary and tests. */
import { type Scenario } from '../scenario/schema.js';
import type { RunMetrics } from './metrics.js';

export type { RunMetrics } from './metrics.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface EventRecord {
  seq: number;
  event: string;
  page: number;
  arg: number;
}

export interface Violation {
  oracle: string; // "O3 data integrity"
  kind: string; // "lost-write", "unstable-page", "false-negative", ...
  page: number; // pfn (or -1)
  /** file page (file:index) when the page belongs to a file, for readers */
  where?: string;
  actors: string[]; // names of the actors involved
  detail: string;
  /** The last events of every actor involved (and of the coordinator), oldest first. */
  events: Record<string, EventRecord[]>;
}

export interface ActorReport {
  name: string;
  kind: string;
  ops: number;
  opsPerSec: number;
  stats: Record<string, number>;
  state: 'done' | 'dead' | 'error';
  error?: string;
}

/** The era of a run, as the report names it (`pinlab list eras`). */
export interface EraInfo {
  name: string;
  native: string[];
}

export interface RunReport {
  schema: number;
  scenario: Scenario;
  /**
   * The era run and the catalogue bugs that are its native code and were on (empty when the era
   * has none or scenario.nativeBugs is false): a run there is expected to report violations.
   */
  era?: EraInfo;
  /** 'clean' (0), 'violation' (1), 'internal' (3): the CLI's exit code follows it. */
  outcome: 'clean' | 'violation' | 'internal';
  /** 'deadlock': the liveness watchdog aborted the run (an O5 deadlock is among the violations). */
  stoppedBy: 'duration' | 'signal' | 'failure' | 'violation' | 'deadlock';
  /** stoppedBy 'signal': which one (set by the CLI, which owns the signal handlers). */
  signal?: 'SIGINT' | 'SIGTERM';
  /**
   * Why the run proves nothing although it found no violation (empty or absent: it did real work):
   * a client kind that took no pins or made no accesses, a coordinator that did no mm operation.
   */
  vacuous?: string[];
  durationMs: number;
  actors: ActorReport[];
  mm: Record<string, number>; // coordinator operations done, by kind, and their outcomes
  oracle: {
    checks: number; // page_maybe_dma_pinned evaluations bracketed by the ghost ledger
    falsePositives: Record<string, number>; // by cause
    invalidations: number;
  };
  totals: { pins: number; ops: number; opsPerSec: number };
  /** The outcome metrics (report/metrics.ts RunMetricsSchema): lost writes, bounces, latencies, ... */
  metrics: RunMetrics;
  vmstat: Record<string, number>;
  warnings: Record<string, number>;
  bugs: Record<string, number>;
  violations: Violation[];
  /** What went wrong in the harness itself (a dead worker, an exception): empty when clean. */
  failures: string[];
  /** `pinlab run --explore-on-failure`: the explore campaign that tried to reproduce the first violation. */
  explore?: RunExploreLink;
}

/** The bridge's result, linked from the run report: the schedule file that replays the violation. */
export interface RunExploreLink {
  reproduced: boolean;
  /** The violation explored for (oracle: kind). */
  target: string;
  trials: number;
  durationMs: number;
  configuration?: string;
  scheduleFile?: string;
  /** The shrunk schedule, when shrinking verified one. */
  shrunkScheduleFile?: string;
}
