// Worker path resolution for dev (.ts via tsx) and built (.js) modes.
// See /work/shared/reference/node-stack.md §1 and pitfalls 1-3.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * URL of worker module `name` (no extension), resolved against `base` (pass `import.meta.url`).
 * Picks `.ts` when the caller is itself TS source (vitest, tsx) and `.js` when it runs from dist,
 * so one call site works in every mode.
 */
export function workerUrl(name: string, base: string): URL {
  return new URL(name + (base.endsWith('.ts') ? '.ts' : '.js'), base);
}

function isTs(url: URL): boolean {
  return url.pathname.endsWith('.ts');
}

// Flags that take a value and load code; the parent's copies (tsx's ESM loader, vitest's hooks)
// must not reach a TS worker: on Node 20, ESM hooks do not work in worker threads (pitfall 1).
const LOADER_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/**
 * execArgv for a dev-mode (.ts) worker: the parent's execArgv with loader flags removed as
 * flag/value pairs (removing single strings leaves a bare `--require`, pitfall 3), plus tsx's
 * per-thread CJS require hook, which is the one hook that works inside worker threads on Node 20.
 */
function devExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (LOADER_FLAGS.has(arg)) {
      i++; // skip its value too
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0 && LOADER_FLAGS.has(arg.slice(0, eq))) continue;
    out.push(arg);
  }
  // Resolved lazily: tsx is a dev dependency and is absent in an installed package.
  const tsxCjs = createRequire(import.meta.url).resolve('tsx/cjs');
  return [...out, '--require', tsxCjs];
}

/**
 * Start a plain worker_threads Worker (e.g. for comlink) at `url` from `workerUrl`.
 * Built mode: the .js file as is (execArgv inherited by default).
 * Dev mode: a data: URL shim that `require()`s the .ts file under tsx's CJS hook, because a
 * .ts entry point (or an `import()` of one) fails in a worker on Node 20. `options.execArgv`
 * is appended after the dev flags.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!isTs(url)) return new Worker(url, options);
  const file = fileURLToPath(url);
  const shim =
    `import { createRequire } from 'node:module';\n` +
    `const f = ${JSON.stringify(file)};\n` +
    `createRequire(f)(f);\n`;
  return new Worker(new URL('data:text/javascript,' + encodeURIComponent(shim)), {
    ...options,
    execArgv: [...devExecArgv(), ...(options.execArgv ?? [])],
  });
}

/**
 * Options to spread into `new Piscina({...piscinaOptions(url), ...})`.
 * Built mode: just the filename. Dev mode: the .ts filename plus tsx's CJS hook in execArgv;
 * this works because piscina's own (JS) worker entry first tries `require(filename)`.
 */
export function piscinaOptions(url: URL): { filename: string; execArgv?: string[] } {
  if (!isTs(url)) return { filename: url.href };
  return { filename: url.href, execArgv: devExecArgv() };
}
