/**
 * Loading scenarios (embedded by name, JSON files, TypeScript/JavaScript modules) and applying
 * command-line overrides. Every failure is a ScenarioError whose lines name the file or the field.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CLIENT_KINDS,
  DEFAULT_SCENARIO,
  FORK_BUFFERED_SCENARIO,
  ScenarioError,
  parseScenario,
  withModulePathsFrom,
  type ClientKind,
  type Scenario,
  type ScenarioInput,
} from './schema.js';

/** Scenarios embedded in pinlab, usable as `pinlab run <name>` and listed by `pinlab list scenarios`. */
export const EMBEDDED_SCENARIOS: Readonly<Record<string, { description: string; input: ScenarioInput }>> = {
  default: {
    description: 'v6.18 with mainline writeback: DIO, RDMA (anonymous memory), ODP and GET clients against writeback, munmap, migration, reclaim and truncate',
    input: DEFAULT_SCENARIO,
  },
  'fork-buffered': {
    description: 'v6.18: a forking process (the cow.c cases) pinned by DIO and RDMA, buffered read/write beside DIO on one file, against writeback, munmap, migration, reclaim and truncate',
    input: FORK_BUFFERED_SCENARIO,
  },
};

const JSON_EXTS = new Set(['.json']);
const MODULE_EXTS = new Set(['.ts', '.mts', '.js', '.mjs']);

/**
 * Load a scenario: no path → the embedded default; the name of an embedded scenario (when no file
 * of that name exists) → that scenario; `.json` → JSON.parse + validation; `.ts`/`.mts`/`.js`/`.mjs`
 * → dynamic import, default export (or the named export `scenario`) + validation.
 */
export interface LoadOptions {
  /** Bound on importing a scenario module (its top-level await included), ms. Default 10 000. */
  timeoutMs?: number | undefined;
}

/** Default bound on loading a scenario module. */
export const DEFAULT_LOAD_TIMEOUT_MS = 10_000;

export async function loadScenario(path?: string, opts: LoadOptions = {}): Promise<Scenario> {
  if (path === undefined || path === '') return parseScenario(DEFAULT_SCENARIO);

  const abs = resolve(path);
  let isFile = false;
  try {
    const st = await stat(abs);
    if (st.isDirectory()) throw new ScenarioError([`${path}: is a directory, expected a .json or .ts scenario file`]);
    isFile = true;
  } catch (err) {
    if (err instanceof ScenarioError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new ScenarioError([`${path}: cannot read scenario file: ${errMessage(err)}`]);
    }
  }
  if (!isFile) {
    const embedded = Object.hasOwn(EMBEDDED_SCENARIOS, path) ? EMBEDDED_SCENARIOS[path] : undefined;
    if (embedded) return parseScenario(embedded.input);
    const names = Object.keys(EMBEDDED_SCENARIOS).join(', ');
    throw new ScenarioError([`${path}: scenario file not found (${abs}); embedded scenarios: ${names}`]);
  }

  const ext = extname(abs).toLowerCase();
  // Custom client modules are named relative to the scenario file.
  if (JSON_EXTS.has(ext)) return withModulePathsFrom(parseScenario(await readJsonScenario(path, abs)), dirname(abs));
  if (MODULE_EXTS.has(ext)) {
    const value = await importModuleScenario(path, abs, opts.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS);
    try {
      return withModulePathsFrom(parseScenario(value), dirname(abs));
    } catch (err) {
      // A getter or Proxy in the export that throws while it is read is the module's fault.
      if (err instanceof ScenarioError) throw err;
      throw new ScenarioError([`${path}: reading the scenario export failed: ${oneLine(errMessage(err))}`]);
    }
  }
  throw new ScenarioError([
    `${path}: unsupported scenario file type '${ext || '(none)'}', expected .json, .ts, .mts, .js or .mjs`,
  ]);
}

async function readJsonScenario(path: string, abs: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readFile(abs, 'utf8')).replace(/^\uFEFF/, '');
  } catch (err) {
    throw new ScenarioError([`${path}: cannot read scenario file: ${errMessage(err)}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError([`${path}: invalid JSON${jsonErrorLocation(text, err)}: ${oneLine(errMessage(err))}`]);
  }
  // Allow a top-level "$schema" key (editor autocompletion) although the schema is strict.
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && '$schema' in value) {
    const { $schema: _ignored, ...rest } = value as Record<string, unknown>;
    value = rest;
  }
  return value;
}

/** " at line L, column C" of the first syntax error (V8 on Node 20 does not give a position). */
function jsonErrorLocation(text: string, err: unknown): string {
  const msg = errMessage(err);
  const pos = /at position (\d+)/.exec(msg);
  const offset = pos ? Number(pos[1]) : jsonErrorOffset(text);
  if (offset < 0) return '';
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

/** V8's JSON messages quote the source around the error, newlines included: keep them on one line. */
function oneLine(msg: string): string {
  return msg.replace(/\r?\n/g, '\\n');
}

/** Offset of the first JSON syntax error (text.length for a truncated document), or -1 if none is found. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (c === '"') string();
    else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) fail();
      i += m![0].length;
    } else {
      for (const lit of ['true', 'false', 'null']) if (text.startsWith(lit, i)) return void (i += lit.length);
      fail();
    }
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail();
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else (i++, fail());
      } else if (c < ' ') fail();
      else i++;
    }
    fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : -1;
  }
}

/**
 * Import a module scenario with a time bound (a top-level await that never settles, or waits on a
 * long timer, is bad input rather than a hang), and with process.exit() refused while it loads.
 */
async function importModuleScenario(path: string, abs: string, timeoutMs: number): Promise<unknown> {
  const url = pathToFileURL(abs).href;
  const realExit = process.exit;
  let exitCalled: unknown;
  process.exit = ((code?: unknown) => {
    exitCalled = code ?? 0;
    throw new ScenarioError([`${path}: the module called process.exit(${String(code ?? '')}) while loading`]);
  }) as typeof process.exit;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ScenarioError([`${path}: loading the module did not finish within ${timeoutMs} ms (a top-level await that never settles?)`])),
      timeoutMs,
    );
  });
  let mod: Record<string, unknown>;
  try {
    mod = await Promise.race([importModule(path, abs, url), timeout]);
  } catch (err) {
    if (exitCalled !== undefined) throw new ScenarioError([`${path}: the module called process.exit(${String(exitCalled)}) while loading`]);
    if (err instanceof ScenarioError) throw err;
    throw new ScenarioError([`${path}: cannot load scenario module: ${oneLine(errMessage(err))}`]);
  } finally {
    clearTimeout(timer);
    process.exit = realExit;
  }
  let picked: unknown;
  try {
    picked = pickExport(mod);
  } catch (err) {
    throw new ScenarioError([`${path}: reading the module's export failed: ${oneLine(errMessage(err))}`]);
  }
  if (picked === undefined) {
    throw new ScenarioError([
      `${path}: the module has no scenario: export it as default (export default defineScenario({...})) or as \`export const scenario\``,
    ]);
  }
  return picked;
}

async function importModule(path: string, abs: string, url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.m?ts$/i.test(abs)) return importTsWithTsx(path, url);
    throw err;
  }
}

function pickExport(mod: Record<string, unknown>): unknown {
  let value = mod['default'] ?? mod['scenario'];
  // CommonJS interop: `module.exports = { default: ... }` or `exports.scenario = ...`.
  if (value !== null && typeof value === 'object' && !('clients' in value)) {
    const inner = value as Record<string, unknown>;
    if (inner['default'] !== undefined) value = inner['default'];
    else if (inner['scenario'] !== undefined) value = inner['scenario'];
  }
  return value;
}

/** Plain node cannot import .ts: use tsx's ESM API (a dev dependency) when it is installed. */
async function importTsWithTsx(path: string, url: string): Promise<Record<string, unknown>> {
  let tsImport: (specifier: string, parent: string) => Promise<unknown>;
  try {
    const tsxSpecifier = 'tsx/esm/api';
    ({ tsImport } = (await import(tsxSpecifier)) as { tsImport: typeof tsImport });
  } catch {
    throw new ScenarioError([
      `${path}: loading a TypeScript scenario needs tsx (npm install tsx), or use a .js/.mjs or .json scenario`,
    ]);
  }
  try {
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    throw new ScenarioError([`${path}: cannot load scenario module: ${errMessage(err)}`]);
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Command-line overrides of a scenario; each field is optional and replaces the scenario's value. */
export interface ScenarioOverrides {
  durationMs?: number;
  seed?: number;
  era?: string;
  policy?: string;
  delay?: string;
  /** Replaces the scenario's fault list. */
  faults?: string[];
  /**
   * Count per client kind: sets `count` on every client entry of that kind; 0 removes them;
   * a kind the scenario lacks (count > 0) is added as one entry with the schema's defaults.
   */
  clients?: Partial<Record<ClientKind, number>>;
  /** Pages per client region (bufferPages is clamped to it). */
  pages?: number;
  oracles?: boolean;
}

/** Where an override lands, to name the command-line option in validation errors. */
const OVERRIDE_OPTION: Record<keyof ScenarioOverrides, string> = {
  durationMs: '--duration',
  seed: '--seed',
  era: '--era',
  policy: '--policy',
  delay: '--delay',
  faults: '--fault',
  clients: '--clients',
  pages: '--pages',
  oracles: '--no-oracles',
};

/** Apply overrides and re-validate: a bad value throws a ScenarioError naming the field (and the option). */
export function applyOverrides(s: Scenario, o: ScenarioOverrides): Scenario {
  const next: Record<string, unknown> = { ...s };
  let clients: Array<Record<string, unknown>> = s.clients.map((c) => ({ ...c }));

  if (o.durationMs !== undefined) next['durationMs'] = o.durationMs;
  if (o.seed !== undefined) next['seed'] = o.seed;
  if (o.era !== undefined) next['era'] = o.era;
  if (o.policy !== undefined) next['policy'] = o.policy;
  if (o.delay !== undefined) next['delay'] = o.delay;
  if (o.faults !== undefined) next['faults'] = [...new Set(o.faults)];
  if (o.oracles !== undefined) next['oracles'] = o.oracles;
  if (o.clients !== undefined) {
    const unknown = Object.keys(o.clients).filter((k) => !(CLIENT_KINDS as readonly string[]).includes(k));
    if (unknown.length) {
      throw new ScenarioError(
        unknown.map((k) => `clients: unknown client kind '${k}' (--clients), expected one of ${CLIENT_KINDS.join(', ')}`),
      );
    }
    for (const kind of CLIENT_KINDS) {
      const count = o.clients[kind];
      if (count === undefined) continue;
      if (count === 0) {
        clients = clients.filter((c) => c['kind'] !== kind);
      } else if (clients.some((c) => c['kind'] === kind)) {
        for (const c of clients) if (c['kind'] === kind) c['count'] = count;
      } else {
        clients.push({ kind, count });
      }
    }
  }
  if (o.pages !== undefined) {
    for (const c of clients) {
      c['pages'] = o.pages;
      if (typeof c['bufferPages'] === 'number' && Number.isInteger(o.pages) && o.pages >= 1) {
        c['bufferPages'] = Math.min(c['bufferPages'], o.pages);
      }
    }
  }
  next['clients'] = clients;

  try {
    return parseScenario(next);
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    throw new ScenarioError(err.issues.map((line) => annotateIssue(line, o)));
  }
}

/** "era: Invalid option ..." → "era: Invalid option ... (--era v9)" when the field came from an override. */
function annotateIssue(line: string, o: ScenarioOverrides): string {
  const field = line.slice(0, line.indexOf(':'));
  const parts = field.split('.');
  let key: keyof ScenarioOverrides | undefined;
  if (parts.length === 1 && field in OVERRIDE_OPTION && field !== 'clients' && field !== 'pages') {
    key = field as keyof ScenarioOverrides;
  } else if (parts[0] === 'faults') key = 'faults';
  else if (parts[0] === 'clients' && (parts.length === 1 || parts[2] === 'count')) key = 'clients';
  else if (parts[0] === 'clients' && parts[2] === 'pages') key = 'pages';
  if (key === undefined || o[key] === undefined) return line;
  const value = o[key];
  const shown =
    key === 'oracles' ? '' : ` ${Array.isArray(value) ? value.join(',') : typeof value === 'object' ? formatClients(value) : String(value)}`;
  return `${line} (${OVERRIDE_OPTION[key]}${shown})`;
}

function formatClients(c: Partial<Record<string, number>>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
