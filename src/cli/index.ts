#!/usr/bin/env node
/** The `pinlab` executable: binds the CLI factory (src/cli/cli.ts) to the process and the real engine. */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCli } from './cli.js';
import { lazyRunScenario, shutdownEngine } from './engine.js';
import { shutdownExploreEngine } from './explore.js';

// package.json sits two levels up from src/cli but three from dist/src/cli: walk up to it.
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pinlab' && pkg.version) return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

const code = await createCli({ runScenario: lazyRunScenario, version: packageVersion() }).main(process.argv.slice(2));
process.exitCode = code;
// Let stdout/stderr drain; if a stray handle (a stuck worker, a timer) would keep the process alive, leave anyway.
setTimeout(() => process.exit(code), 5000).unref();
try {
  await shutdownEngine();
  await shutdownExploreEngine();
} catch (err) {
  if (!process.stderr.destroyed) process.stderr.write(`pinlab: shutting down the actor pool failed: ${err instanceof Error ? err.message : String(err)}\n`);
}
// Everything is written (stdout and stderr are synchronous for files and pipes on Linux): do not
// wait for a stray handle, e.g. a timer left by a scenario module whose load timed out.
process.exit(code);
