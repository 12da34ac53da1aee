#!/usr/bin/env node
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';

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

const program = new Command()
  .name('pinlab')
  .description('A TypeScript laboratory for the Linux kernel page-pinning design')
  .version(packageVersion())
  .exitOverride(); // map commander's own exits onto ExitCode below

program
  .command('run')
  .description('run a scenario')
  .action(() => {
    console.log('pinlab run: not implemented yet');
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help / --version exit 0; usage errors (already printed by commander) are bad input.
    process.exitCode = err.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
  } else {
    console.error(err);
    process.exitCode = ExitCode.Internal;
  }
}
