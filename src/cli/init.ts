/**
 * `pinlab init [dir]`: write a starter — a scenario file (with `$schema`), a custom client and a
 * vitest test that explores it — into `dir` (default: the working directory). The files are the
 * package's own examples/ (tested as shipped). Refuses to overwrite a file that exists (exit 2).
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from './exit-codes.js';
import type { OutStream } from './progress.js';

/** The starter files: examples/ name → name written. */
export const STARTER_FILES: Readonly<Record<string, string>> = {
  'uring-client.ts': 'uring-client.ts',
  'uring.scenario.json': 'uring.scenario.json',
  'uring.test.ts': 'uring.test.ts',
};

/** examples/ of this package: two levels up from src/cli, three from dist/src/cli. */
function examplesDir(): string {
  for (const up of ['../../examples', '../../../examples']) {
    const d = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(d, 'uring-client.ts'))) return d;
  }
  throw new Error('pinlab init: the package has no examples/ directory');
}

/** dist/scenario.schema.json of this package (built; from src/cli in a checkout, from dist/src/cli installed). */
function schemaFile(): string {
  for (const p of ['../../scenario.schema.json', '../../dist/scenario.schema.json']) {
    const f = fileURLToPath(new URL(p, import.meta.url));
    if (existsSync(f)) return f;
  }
  return fileURLToPath(new URL('../../dist/scenario.schema.json', import.meta.url));
}

/** Run `pinlab init` with argv (after the command name); resolves to the exit code. */
export async function initMain(argv: readonly string[], io: { stdout: OutStream; stderr: OutStream }): Promise<ExitCode> {
  const bad = (m: string): ExitCode => {
    io.stderr.write(`pinlab init: ${m}\n`);
    return ExitCode.BadInput;
  };
  const args = argv.filter((a) => a !== '--');
  if (args.some((a) => a.startsWith('-'))) return bad(`unknown option ${args.find((a) => a.startsWith('-'))} (usage: pinlab init [dir])`);
  if (args.length > 1) return bad(`expected at most one directory, got ${args.length} (usage: pinlab init [dir])`);
  const dir = resolve(args[0] ?? '.');
  if (existsSync(dir) && !statSync(dir).isDirectory()) return bad(`${args[0]}: is not a directory`);
  const clash = Object.values(STARTER_FILES).filter((f) => existsSync(join(dir, f)));
  if (clash.length > 0)
    return bad(`${clash.map((f) => join(relative(process.cwd(), dir) || '.', f)).join(', ')}: already exist${clash.length === 1 ? 's' : ''}; not overwriting`);
  await mkdir(dir, { recursive: true });
  const src = examplesDir();
  for (const [from, to] of Object.entries(STARTER_FILES)) await copyFile(join(src, from), join(dir, to));
  // The scenario's $schema points at this package's schema file, relative to where the scenario lands.
  const scenario = join(dir, STARTER_FILES['uring.scenario.json']!);
  const ref = relative(dir, schemaFile()).split('\\').join('/');
  await writeFile(
    scenario,
    (await readFile(scenario, 'utf8')).replace(/"\$schema": "[^"]*"/, `"$schema": ${JSON.stringify(ref.startsWith('.') ? ref : `./${ref}`)}`),
  );
  const shown = relative(process.cwd(), dir) || '.';
  io.stdout.write(
    `pinlab init: wrote ${Object.values(STARTER_FILES)
      .map((f) => join(shown, f))
      .join(', ')}\n` +
      `  npx pinlab run ${join(shown, 'uring.scenario.json')} --duration 2s    # stress mode\n` +
      `  npx pinlab explore ${join(shown, 'uring.scenario.json')} --trials 200  # deterministic\n` +
      `  npx vitest run ${join(shown, 'uring.test.ts')}                         # the race test (needs vitest)\n`,
  );
  return ExitCode.Ok;
}
