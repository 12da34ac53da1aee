/**
 * The JSON run report: pretty-printed, with a stable key order — the RunReport fields in their
 * declared order, the scenario in its schema's order, and every name → number map sorted by name —
 * so two reports diff cleanly.
 */
import { writeFileAtomic } from '../util/atomic-write.js';
import { ClientSchema, MachineSchema, MmOpsSchema, ScenarioSchema } from '../scenario/schema.js';
import type { ActorReport, EventRecord, RunReport, Violation } from './types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const REPORT_KEYS = [
  'schema',
  'scenario',
  'era',
  'outcome',
  'stoppedBy',
  'signal',
  'vacuous',
  'durationMs',
  'totals',
  'metrics',
  'actors',
  'mm',
  'oracle',
  'vmstat',
  'warnings',
  'bugs',
  'violations',
  'failures',
] as const satisfies readonly (keyof RunReport)[];
const ACTOR_KEYS = ['name', 'kind', 'state', 'ops', 'opsPerSec', 'stats', 'error'] as const satisfies readonly (keyof ActorReport)[];
const VIOLATION_KEYS = ['oracle', 'kind', 'page', 'where', 'actors', 'detail', 'events'] as const satisfies readonly (keyof Violation)[];
const EVENT_KEYS = ['seq', 'event', 'page', 'arg'] as const satisfies readonly (keyof EventRecord)[];
const ORACLE_KEYS = ['checks', 'falsePositives', 'invalidations'];
const TOTALS_KEYS = ['pins', 'ops', 'opsPerSec'];
const SCENARIO_KEYS = Object.keys(ScenarioSchema.shape);
const CLIENT_KEYS = Object.keys(ClientSchema.shape);
const MACHINE_KEYS = Object.keys(MachineSchema.shape);
const MM_OPS_KEYS = Object.keys(MmOpsSchema.shape);

/** Known keys first in the given order, then any others sorted; undefined values are dropped. */
function ordered(obj: object, keys: readonly string[], child?: (key: string, v: unknown) => Json): { [k: string]: Json } {
  const src = obj as Record<string, unknown>;
  const out: { [k: string]: Json } = {};
  const rest = Object.keys(src)
    .filter((k) => !keys.includes(k))
    .sort();
  for (const k of [...keys, ...rest]) {
    if (!Object.hasOwn(src, k) || src[k] === undefined) continue;
    out[k] = child ? child(k, src[k]) : plain(src[k]);
  }
  return out;
}

/** Any value, with object keys sorted (used for name → value maps and unknown fields). */
function plain(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') return ordered(v, []);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  return v as Json;
}

function scenarioJson(s: unknown): Json {
  if (s === null || typeof s !== 'object') return plain(s);
  return ordered(s, SCENARIO_KEYS, (k, v) => {
    if (k === 'clients' && Array.isArray(v)) return v.map((c) => (c && typeof c === 'object' ? ordered(c, CLIENT_KEYS) : plain(c)));
    if (k === 'machine' && v && typeof v === 'object') return ordered(v, MACHINE_KEYS);
    if (k === 'mm' && v && typeof v === 'object') return ordered(v, MM_OPS_KEYS);
    return plain(v);
  });
}

function violationJson(v: Violation): Json {
  return ordered(v, VIOLATION_KEYS, (k, val) => {
    if (k === 'events' && val && typeof val === 'object') {
      // Actors in the violation's order, then the rest (e.g. the coordinator) by name.
      return ordered(val, v.actors ?? [], (_actor, evs) =>
        Array.isArray(evs) ? evs.map((e) => (e && typeof e === 'object' ? ordered(e, EVENT_KEYS) : plain(e))) : plain(evs),
      );
    }
    if (k === 'actors' && Array.isArray(val)) return val.map(plain);
    return plain(val);
  });
}

/** The report as a JSON value with the stable key order (exported for tests and other writers). */
export function reportToJson(report: RunReport): Json {
  return ordered(report, REPORT_KEYS, (k, v) => {
    switch (k) {
      case 'scenario':
        return scenarioJson(v);
      case 'era':
        return v && typeof v === 'object' ? ordered(v, ['name', 'native']) : plain(v);
      case 'actors':
        return Array.isArray(v) ? v.map((a) => ordered(a as object, ACTOR_KEYS)) : plain(v);
      case 'oracle':
        return v && typeof v === 'object' ? ordered(v, ORACLE_KEYS) : plain(v);
      case 'totals':
        return v && typeof v === 'object' ? ordered(v, TOTALS_KEYS) : plain(v);
      case 'violations':
        return Array.isArray(v) ? v.map((x) => violationJson(x as Violation)) : plain(v);
      case 'failures':
        return Array.isArray(v) ? v.map(plain) : plain(v);
      default:
        return plain(v);
    }
  });
}

/** The report as pretty JSON text (2-space indent, trailing newline). */
export function formatJsonReport(report: RunReport): string {
  return JSON.stringify(reportToJson(report), null, 2) + '\n';
}

/**
 * Write the report as pretty JSON to `path`, creating its directory, through a temporary file and
 * a rename (a reader never sees half a report). Returns the absolute path.
 */
export function writeJsonReport(path: string, report: RunReport): Promise<string> {
  return writeFileAtomic(path, formatJsonReport(report));
}
