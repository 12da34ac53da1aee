/**
 * Checking a scenario's custom client modules on the main thread before a run: each module is
 * loaded once in a throwaway thread, the way its actors will load it, within a time bound. A module
 * that is missing, throws while loading, uses top-level await, exports no defineClient() value, or
 * does not finish loading in time is bad input: a ScenarioError naming the entry and the problem.
 */
import { stat } from 'node:fs/promises';
import { type Worker } from 'node:worker_threads';
import { ScenarioError, absoluteModulePath, type Scenario } from '../scenario/schema.js';
import { startWorker, workerUrl } from '../util/worker-url.js';
import type { ProbeResult } from '../../workers/client-probe.js';

/** Default bound on loading one client module, ms. */
export const CLIENT_MODULE_TIMEOUT_MS = 10_000;

export interface ClientModuleOptions {
  /** Directory relative module paths are resolved against. Default: the working directory. */
  baseDir?: string;
  /** Bound on loading one module, ms. Default CLIENT_MODULE_TIMEOUT_MS. */
  timeoutMs?: number;
}

const cache = new Map<string, { mtimeMs: number; name: string; revocable: boolean }>();

/** What the last check of the client module at `file` (absolute) found: its name and whether it has a revoke handler. */
export function clientModuleInfo(file: string): { name: string; revocable: boolean } | undefined {
  return cache.get(file);
}

function probe(file: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((done) => {
    let w: Worker;
    try {
      w = startWorker(workerUrl('../../workers/client-probe', import.meta.url), { workerData: { file }, stdout: false, stderr: false });
    } catch (e) {
      done({ ok: false, problem: `cannot start a thread to load it: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    let settled = false;
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      done(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, problem: `did not finish loading within ${timeoutMs} ms (a loop or a blocking wait at module level?)` }),
      timeoutMs,
    );
    w.once('message', (m: ProbeResult) => finish(m));
    w.once('error', (e) => finish({ ok: false, problem: `threw while loading: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` }));
    w.once('exit', (code) => finish({ ok: false, problem: `its loading thread exited (code ${code}) before the module loaded` }));
  });
}

/**
 * Resolve and check every custom client entry of `s`: returns the scenario with each `module`
 * absolute and each entry's `name` set (default: the client's own name). Scenarios without custom
 * clients come back unchanged, at no cost. Throws ScenarioError (one line per bad entry).
 */
export async function resolveClientModules(s: Scenario, opts: ClientModuleOptions = {}): Promise<Scenario> {
  if (!s.clients.some((c) => c.kind === 'custom')) return s;
  const baseDir = opts.baseDir ?? process.cwd();
  const timeoutMs = opts.timeoutMs ?? CLIENT_MODULE_TIMEOUT_MS;
  const problems: string[] = [];
  const clients = await Promise.all(
    s.clients.map(async (c, i) => {
      if (c.kind !== 'custom' || c.module === undefined) return c;
      const file = absoluteModulePath(c.module, baseDir);
      const field = `clients.${i}.module`;
      const st = await stat(file).catch(() => undefined);
      if (st === undefined || !st.isFile()) {
        problems.push(`${field}: client module ${c.module} not found (${file})`);
        return c;
      }
      const hit = cache.get(file);
      let name: string;
      if (hit !== undefined && hit.mtimeMs === st.mtimeMs) {
        name = hit.name;
      } else {
        const r = await probe(file, timeoutMs);
        if (!r.ok) {
          problems.push(`${field}: client module ${c.module}: ${r.problem}`);
          return c;
        }
        name = r.name;
        cache.set(file, { mtimeMs: st.mtimeMs, name, revocable: r.revocable });
      }
      return { ...c, module: file, name: c.name ?? name };
    }),
  );
  if (problems.length > 0) throw new ScenarioError(problems);
  return { ...s, clients };
}
