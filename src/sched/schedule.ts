/**
 * Schedules: a trial's decisions as labelled steps, and the schedule file a failing explore trial
 * writes (JSON). Steps name the participant and the label of the point it executed ("dio#0 rmw
 * refcount[1409] (pin)"), or a store-buffer flush; replay follows them and reports the first step
 * whose participant is not at the recorded label (a divergence), so a file made stale by a code
 * change is never followed silently.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { type LabelContext, traceEntryLabel } from './labels.js';
import { TRACE_WORDS } from './layout.js';

export const SCHEDULE_FORMAT = 'pinlab-schedule';
export const SCHEDULE_VERSION = 1;

export interface ScheduleStep {
  /** The participant that ran the step (or whose store buffer was flushed). */
  actor: string;
  label: string;
  /** A store-buffer flush of `actor`'s oldest buffered store, not a point it ran. */
  flush?: true;
}

/** Convert a raw trace (runner.ts TrialResult.trace) to labelled steps. */
export function traceToSteps(trace: Int32Array, strings: readonly string[], c: LabelContext): ScheduleStep[] {
  const out: ScheduleStep[] = [];
  for (let t = 0; t + TRACE_WORDS <= trace.length; t += TRACE_WORDS) {
    const e = traceEntryLabel(c, trace[t]!, trace[t + 1]!, trace[t + 2]!, trace[t + 3]!, strings);
    out.push({ actor: c.names[e.who] ?? `p${e.who}`, label: e.label, ...(e.flush ? { flush: true as const } : {}) });
  }
  return out;
}

/** The replay input of the scheduler, with participants resolved by name. Throws on an unknown name. */
export function stepsToReplay(steps: readonly ScheduleStep[], names: readonly string[]): { flush: boolean[]; who: number[]; label: string[] } {
  const index = new Map(names.map((n, i) => [n, i]));
  const who = steps.map((s, i) => {
    const p = index.get(s.actor);
    if (p === undefined) throw new ScheduleFileError(`step ${i} names participant "${s.actor}", not one of ${names.join(', ')}`);
    return p;
  });
  return { flush: steps.map((s) => s.flush === true), who, label: steps.map((s) => s.label) };
}

/** A violation as a schedule file records it. */
export interface ScheduleViolation {
  oracle: string;
  kind: string;
  page: number;
  where?: string;
  detail?: string;
}

/** The schedule file of a failing explore trial. */
export interface ScheduleFile {
  format: typeof SCHEDULE_FORMAT;
  version: number;
  /** The scenario as explored (machine shrunk for explore; its seed is the campaign's). */
  scenario: unknown;
  faults: string[];
  /** The strategy of the recorded trial (a portfolio campaign records its trial's own). */
  strategy: 'random' | 'pct' | 'pos' | 'surw';
  depth?: number;
  /** PCT's k (the calibration trial's step count, or the option). */
  pctSteps?: number;
  seed: number;
  trial: number;
  /** The workload seed of this trial (derived from seed and trial). */
  workloadSeed: number;
  points: 'access' | 'events';
  opsPerActor: number;
  mmSteps: number;
  /** Logical µs the coordinator slept between its mm steps (absent: 0). */
  mmIntervalUs?: number;
  maxSteps: number;
  /** Steps without a finished operation that make a livelock (absent: derived from the work, as explore does). */
  livelockWindow?: number;
  participants: string[];
  /** Fingerprint of the raw trace (FNV-1a). */
  traceHash: number;
  steps: ScheduleStep[];
  /** The first violation found, and every one. */
  violation: ScheduleViolation | null;
  violations: ScheduleViolation[];
}

/** A file is not a valid schedule file (the message names the field). */
export class ScheduleFileError extends Error {
  override name = 'ScheduleFileError';
}

/** Write a schedule file (through a temporary file and a rename: never half a file). */
export function writeScheduleFile(path: string, f: ScheduleFile): void {
  // One step per line: diffable, and still a single JSON document.
  const { steps, ...head } = f;
  const body = JSON.stringify(head, null, 2);
  const lines = steps.map((s) => `    ${JSON.stringify(s)}`).join(',\n');
  writeFileAtomicSync(path, `${body.slice(0, -2)},\n  "steps": [\n${lines}\n  ]\n}\n`);
}

/** Bounds of the numeric fields of a schedule file ([min, max], integers). */
const FIELD_RANGE: Record<string, [number, number]> = {
  seed: [0, 2 ** 31 - 1],
  trial: [0, 2 ** 31 - 1],
  workloadSeed: [-(2 ** 31), 2 ** 32 - 1],
  opsPerActor: [1, 1_000_000],
  mmSteps: [0, 1_000_000],
  maxSteps: [16, 50_000_000],
  traceHash: [-(2 ** 31), 2 ** 32 - 1],
};
const OPTIONAL_RANGE: Record<string, [number, number]> = {
  depth: [1, 33],
  pctSteps: [1, 50_000_000],
  mmIntervalUs: [0, 1_000_000_000],
  livelockWindow: [1, 50_000_000],
};

/** Read and check a schedule file; errors name the field. */
export function readScheduleFile(path: string): ScheduleFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ScheduleFileError(`${path}: not a JSON schedule file (${e instanceof Error ? e.message : String(e)})`);
  }
  return checkScheduleFile(raw, path);
}

export function checkScheduleFile(raw: unknown, where = 'schedule'): ScheduleFile {
  const f = raw as Partial<ScheduleFile> | null;
  const bad = (field: string, want: string): never => {
    throw new ScheduleFileError(`${where}: ${field} must be ${want}`);
  };
  if (f === null || typeof f !== 'object') return bad('(file)', 'a JSON object');
  if (f.format !== SCHEDULE_FORMAT) bad('format', `"${SCHEDULE_FORMAT}"`);
  if (f.version !== SCHEDULE_VERSION) bad('version', String(SCHEDULE_VERSION));
  if (!['random', 'pct', 'pos', 'surw'].includes(f.strategy as string)) bad('strategy', '"random", "pct", "pos" or "surw"');
  if (f.points !== 'access' && f.points !== 'events') bad('points', '"access" or "events"');
  const raw2 = f as Record<string, unknown>;
  for (const [k, [min, max]] of Object.entries(FIELD_RANGE)) {
    const v = raw2[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(k, `an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  }
  for (const [k, [min, max]] of Object.entries(OPTIONAL_RANGE)) {
    const v = raw2[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) bad(k, `absent or an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  }
  const isViolation = (v: unknown): boolean =>
    v !== null && typeof v === 'object' && typeof (v as ScheduleViolation).oracle === 'string' && typeof (v as ScheduleViolation).kind === 'string' &&
    Number.isInteger((v as ScheduleViolation).page);
  if (f.violation !== null && !isViolation(f.violation)) bad('violation', 'null or {oracle, kind, page}');
  if (!Array.isArray(f.violations) || !f.violations.every(isViolation)) bad('violations', 'an array of {oracle, kind, page}');
  if (!Array.isArray(f.participants) || !f.participants.every((p) => typeof p === 'string')) bad('participants', 'an array of names');
  if (!Array.isArray(f.steps)) bad('steps', 'an array of {actor, label}');
  f.steps!.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.actor !== 'string' || typeof s.label !== 'string') bad(`steps[${i}]`, '{actor, label}');
  });
  if (typeof f.scenario !== 'object' || f.scenario === null) bad('scenario', 'the scenario object');
  if (!Array.isArray(f.faults) || !f.faults.every((x) => typeof x === 'string')) bad('faults', 'an array of fault names');
  return f as ScheduleFile;
}
