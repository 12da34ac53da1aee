/**
 * The grid of a sweep: `--vary path=a,b,c` axes over any scenario field, their cartesian product
 * as cells (the first axis varies slowest), the repeat seeds, and the deterministic split of the
 * (cell, repeat) runs into shards.
 */
import { ScenarioError, parseScenario, type Scenario } from '../scenario/schema.js';
import type { SweepAxis, SweepValue } from '../report/sweep-types.js';

type Value = SweepValue;

/** A --vary value: a number, true/false, or a string as written. */
function parseValue(v: string): Value {
  const t = v.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

/** Parse `path=a,b,c` (the --vary option). Throws ScenarioError naming the problem. */
export function parseVary(spec: string): SweepAxis {
  const eq = spec.indexOf('=');
  const path = eq < 0 ? '' : spec.slice(0, eq).trim();
  if (eq < 0 || path === '' || !/^[A-Za-z_][\w]*(\.(\d+|[A-Za-z_]\w*))*$/.test(path)) {
    throw new ScenarioError([`--vary ${spec}: expected path=value,value,... with a dotted scenario path (e.g. clients.0.count=1,2,4)`]);
  }
  const values = spec.slice(eq + 1).split(',').map(parseValue);
  if (values.some((v) => v === '')) throw new ScenarioError([`--vary ${spec}: an empty value`]);
  return { path, values };
}

/** A copy of `obj` with the dotted `path` set to `value` (array indices must exist). */
export function setPath(obj: unknown, path: string, value: unknown): unknown {
  const keys = path.split('.');
  const root = structuredClone(obj) as Record<string, unknown>;
  let node: unknown = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!;
    const here = keys.slice(0, i + 1).join('.');
    if (Array.isArray(node)) {
      const idx = Number(k);
      if (!Number.isInteger(idx) || idx < 0 || idx >= node.length) {
        throw new ScenarioError([`--vary ${path}: ${here}: no such entry (the list has ${node.length})`]);
      }
      node = node[idx];
    } else if (node !== null && typeof node === 'object') {
      const rec = node as Record<string, unknown>;
      rec[k] ??= /^\d+$/.test(keys[i + 1]!) ? [] : {};
      node = rec[k];
    } else {
      throw new ScenarioError([`--vary ${path}: ${keys.slice(0, i).join('.')} is not an object`]);
    }
  }
  const last = keys.at(-1)!;
  if (Array.isArray(node)) {
    const idx = Number(last);
    if (!Number.isInteger(idx) || idx < 0 || idx >= node.length) throw new ScenarioError([`--vary ${path}: no such entry`]);
    node[idx] = value;
  } else if (node !== null && typeof node === 'object') {
    (node as Record<string, unknown>)[last] = value;
  } else {
    throw new ScenarioError([`--vary ${path}: ${keys.slice(0, -1).join('.')} is not an object`]);
  }
  return root;
}

export interface GridCell {
  index: number;
  assign: Record<string, Value>;
  label: string;
  scenario: Scenario;
}

/**
 * Every cell of the grid, each scenario validated (a bad value is a ScenarioError naming the
 * cell's path and value, before anything runs). No axes: one cell, the base.
 */
export function gridCells(base: Scenario, axes: readonly SweepAxis[]): GridCell[] {
  const seen = new Set<string>();
  for (const a of axes) {
    if (seen.has(a.path)) throw new ScenarioError([`--vary ${a.path}: given twice`]);
    seen.add(a.path);
  }
  // Each combination: per axis, the index of its value.
  let combos: number[][] = [[]];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((_, i) => [...c, i]));
  return combos.map((pick, index) => {
    let s: unknown = base;
    const assign: Record<string, Value> = {};
    axes.forEach((a, k) => {
      const i = pick[k]!;
      const v = a.values[i];
      s = setPath(s, a.path, v);
      assign[a.label ?? a.path] = a.names?.[i] ?? (typeof v === 'object' ? JSON.stringify(v) : (v as Value));
    });
    let scenario: Scenario;
    try {
      scenario = parseScenario(s);
    } catch (e) {
      if (e instanceof ScenarioError) throw new ScenarioError(e.issues.map((m) => `cell ${cellLabel(assign)}: ${m}`));
      throw e;
    }
    return { index, assign, label: cellLabel(assign), scenario };
  });
}

/** `policy=skip era=v6.3` (or `base` for the grid without axes). */
export function cellLabel(assign: Record<string, Value>): string {
  const parts = Object.entries(assign).map(([p, v]) => `${p}=${String(v)}`);
  return parts.length ? parts.join(' ') : 'base';
}

/** A shard `i/N` (0 <= i < N). */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Parse `--shard i/N` (0 <= i < N). `--shard /N` takes i from JOB_COMPLETION_INDEX (a Kubernetes
 * Indexed Job sets it; any runner can). No option: unsharded. Throws ScenarioError naming the value.
 */
export function parseShard(value: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Shard {
  if (value === undefined) return { index: 0, count: 1 };
  const envIndex = env['JOB_COMPLETION_INDEX'];
  const m = /^(\d*)\/(\d+)$/.exec(value.trim());
  const raw = m?.[1] === '' ? envIndex : m?.[1];
  const index = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isInteger(index) || count < 1 || index < 0 || index >= count) {
    const why = m?.[1] === '' ? (envIndex === undefined ? ' (JOB_COMPLETION_INDEX is not set)' : ` (JOB_COMPLETION_INDEX=${envIndex})`) : '';
    throw new ScenarioError([`--shard ${value}: expected i/N with 0 <= i < N, or /N with JOB_COMPLETION_INDEX${why}`]);
  }
  return { index, count };
}

/** Whether run `unit` (cell * repeat + r, in grid order) belongs to `shard`: round-robin, so shards stay balanced. */
export function inShard(unit: number, shard: Shard): boolean {
  return unit % shard.count === shard.index;
}
