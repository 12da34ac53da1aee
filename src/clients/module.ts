/**
 * Loading a client module (`{ kind: 'custom', module: 'x.ts' }`) on an actor's thread, synchronously,
 * because the actor body is synchronous (it owns its thread) and explore mode starts it inside a
 * scheduled trial.
 *
 * `.js`/`.mjs`/`.cjs` load with Node's own `require` (require(esm), Node >= 20.19). TypeScript
 * (`.ts`/`.mts`/`.cts`) loads through a require hook that strips types with esbuild and compiles the
 * module to CommonJS; its imports stay Node's own requires, so `import ... from 'pinlab'` is
 * require(esm) of the installed package: the same module instance the runtime runs (a loader that
 * transforms every file, tsx's or jiti's, would load a second copy of pinlab). Under a thread that
 * already has a `.ts` hook (tsx's, in pinlab's own tests), that hook is used instead.
 * Top-level await is not supported (the module is loaded synchronously): it is a load error.
 */
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLIENT_BRAND, type ClientDefinition, clientShapeProblem } from './define.js';

/** A client module failed to load or does not default-export a client. The message names the module and the problem. */
export class ClientModuleError extends Error {
  override name = 'ClientModuleError';
  constructor(
    readonly module: string,
    readonly problem: string,
  ) {
    super(`client module ${module}: ${problem}`);
  }
}

const TS_EXTS = ['.ts', '.mts', '.cts'] as const;
const MODULE_EXTS = /\.(c|m)?(j|t)s$/i;

interface CjsModule {
  _compile(code: string, filename: string): void;
}
type Extensions = Record<string, (m: CjsModule, filename: string) => void>;
type ResolveFilename = (request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string;

let hookInstalled = false;

/** Install pinlab's `.ts` require hook in this thread, unless one is there already. */
function ensureTsHook(): void {
  const M = Module as unknown as { _extensions: Extensions; _resolveFilename: ResolveFilename };
  if (hookInstalled || M._extensions['.ts'] !== undefined) return;
  hookInstalled = true;
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const compile = (m: CjsModule, filename: string): void => {
    const source = readFileSync(filename, 'utf8');
    let code: string;
    try {
      code = esbuild.transformSync(source, {
        loader: 'ts',
        format: 'cjs',
        target: 'node20',
        sourcefile: filename,
        sourcemap: 'inline',
        supported: { 'dynamic-import': true },
        // CommonJS has no import.meta: give the module its own, as ESM would.
        define: {
          'import.meta.url': JSON.stringify(pathToFileURL(filename).href),
          'import.meta.filename': JSON.stringify(filename),
          'import.meta.dirname': JSON.stringify(dirname(filename)),
        },
      }).code;
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
      throw new SyntaxError(`cannot compile ${filename}: ${msg}`);
    }
    m._compile(code, filename);
  };
  for (const ext of TS_EXTS) M._extensions[ext] = compile;
  // `import './helper.js'` in TypeScript names helper.ts: retry a missing relative .js as .ts.
  const resolve = M._resolveFilename;
  M._resolveFilename = function (request, parent, ...rest) {
    try {
      return resolve.call(this, request, parent, ...rest);
    } catch (e) {
      const fromTs = parent?.filename !== undefined && /\.[cm]?ts$/.test(parent.filename);
      if (fromTs && /^\.{1,2}\//.test(request) && /\.[cm]?js$/.test(request)) {
        return resolve.call(this, request.replace(/js$/, 'ts'), parent, ...rest);
      }
      throw e;
    }
  };
}

const cache = new Map<string, ClientDefinition>();

/**
 * Load the client module at `file` (an absolute path) and return its default export (or its
 * named export `client`), checked to be a client definition. Cached per thread.
 * Throws ClientModuleError: the file type is not a module, the module threw while loading (or
 * used top-level await), or it exports no client definition.
 */
export function loadClientModule(file: string): ClientDefinition {
  const hit = cache.get(file);
  if (hit !== undefined) return hit;
  if (!MODULE_EXTS.test(file)) throw new ClientModuleError(file, 'expected a .ts, .mts, .cts, .js, .mjs or .cjs file');
  let mod: Record<string, unknown>;
  try {
    if (/\.[cm]?ts$/i.test(file)) ensureTsHook();
    mod = createRequire(file)(file) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_REQUIRE_ASYNC_MODULE' || /top-level await/i.test(err.message ?? '')) {
      throw new ClientModuleError(file, 'uses top-level await: client modules are loaded synchronously on the actor threads');
    }
    if (err.code === 'MODULE_NOT_FOUND' && (err.message ?? '').includes(`'${file}'`)) throw new ClientModuleError(file, 'file not found');
    throw new ClientModuleError(file, `threw while loading: ${err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(e)}`);
  }
  let def = mod['default'] ?? mod['client'];
  // CommonJS interop: a compiled module's exports object holds `default`.
  if (def !== null && typeof def === 'object' && !(CLIENT_BRAND in def) && 'default' in def) def = (def as Record<string, unknown>)['default'];
  if (def === undefined) {
    throw new ClientModuleError(file, 'exports no client: default-export defineClient({ name, setup, step, teardown }) (or export const client)');
  }
  const problem = clientShapeProblem(def);
  if (problem !== null) throw new ClientModuleError(file, `its export is not a client: ${problem}`);
  cache.set(file, def as ClientDefinition);
  return def as ClientDefinition;
}
