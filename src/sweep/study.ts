/**
 * `pinlab study writeback`: the open question of research-questions.md §3.3 (1) and kernel-notes
 * §6 (1) as one sweep — every writeback policy × client mixes (DIO only, RDMA only, ODP only,
 * mixed) on the current era (v6.18), all clients on one shared file under writeback, reclaim and
 * migration — and its verdict per cell. The run length follows from a time budget.
 */
import { POLICIES, type Policy, parseScenario, type Scenario, type ScenarioInput } from '../scenario/schema.js';
import type { SweepAxis } from '../report/sweep-types.js';

/** The client mixes, each a `clients` list on file 0 (RDMA's writable longterm file pin is refused from v6.5). */
export const STUDY_MIXES: Readonly<Record<string, ScenarioInput['clients']>> = {
  dio: [{ kind: 'dio', count: 2, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 4 }],
  rdma: [{ kind: 'rdma', count: 1, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 8, holdOps: 300 }],
  odp: [{ kind: 'odp', count: 2, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 4 }],
  mixed: [
    { kind: 'dio', count: 1, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 4 },
    { kind: 'rdma', count: 1, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 8, holdOps: 300 },
    { kind: 'odp', count: 1, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 4 },
  ],
};
export type StudyMix = keyof typeof STUDY_MIXES;
export const STUDY_MIX_NAMES = Object.keys(STUDY_MIXES);

export interface WritebackStudyOptions {
  policies?: readonly Policy[];
  mixes?: readonly string[];
  /** Seeds per cell (default 6). */
  repeat?: number;
  /** Wall-time budget of the whole study, ms (default 270 000: 4.5 min); each run gets its share. */
  budgetMs?: number;
  seed?: number;
  /** The device needs stable pages (machine.stableWrites; default false). */
  stableWrites?: boolean;
}

/**
 * What a run costs besides its duration (set-up, stop, the final oracles), ms: ~200 on 2 idle
 * cores, ~500 on 2 busy ones; the study also stops starting runs when its budget is spent.
 */
export const RUN_OVERHEAD_MS = 400;
const MIN_RUN_MS = 150;

/** The study as a sweep: its base scenario, axes and repeat, with each run's length from the budget. */
export function writebackStudy(o: WritebackStudyOptions = {}): { base: Scenario; axes: SweepAxis[]; repeat: number; runMs: number; budgetMs: number } {
  const policies = o.policies ?? POLICIES;
  const mixes = o.mixes ?? STUDY_MIX_NAMES;
  const repeat = o.repeat ?? 6;
  const runs = policies.length * mixes.length * repeat;
  const runMs = Math.max(MIN_RUN_MS, Math.floor((o.budgetMs ?? 270_000) / runs - RUN_OVERHEAD_MS));
  const base = parseScenario({
    name: 'writeback-study', seed: o.seed ?? 1, durationMs: runMs, era: 'v6.18', policy: 'mainline',
    machine: { stableWrites: o.stableWrites ?? false },
    clients: STUDY_MIXES.dio,
    mm: { writeback: 6, munmap: 0, migrate: 1, reclaim: 3, truncate: 0, writebackUs: 200, waitTimeoutMs: 2 },
  });
  const axes: SweepAxis[] = [
    { path: 'policy', values: [...policies] },
    { path: 'clients', label: 'mix', values: mixes.map((m) => STUDY_MIXES[m]), names: [...mixes] },
  ];
  return { base, axes, repeat, runMs, budgetMs: o.budgetMs ?? 270_000 };
}
