// pinlab init [dir]: the starter files are the shipped examples, the scenario's $schema is made
// relative to where it lands, existing files are never overwritten, bad arguments are exit 2.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { STARTER_FILES, initMain } from '../../src/cli/init.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-init-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function init(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await initMain(args, {
    stdout: { write: (s: string) => ((out += s), true) } as never,
    stderr: { write: (s: string) => ((err += s), true) } as never,
  });
  return { code, out, err };
}

describe('pinlab init', () => {
  it('writes the examples into a new directory, $schema pointing at the schema file from there', async () => {
    const target = join(dir, 'a', 'b');
    const r = await init([target]);
    expect(r.code, r.err).toBe(ExitCode.Ok);
    for (const f of Object.values(STARTER_FILES)) expect(existsSync(join(target, f))).toBe(true);
    const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
    expect(await readFile(join(target, 'uring-client.ts'), 'utf8')).toBe(await readFile(join(examples, 'uring-client.ts'), 'utf8'));
    const json = JSON.parse(await readFile(join(target, 'uring.scenario.json'), 'utf8')) as { $schema: string };
    const schemaFile = fileURLToPath(new URL('../../dist/scenario.schema.json', import.meta.url));
    expect(json.$schema).toBe(relative(target, schemaFile));
    expect(r.out).toMatch(/npx pinlab run .*uring\.scenario\.json --duration 2s/);
  });

  it('refuses to overwrite, and bad arguments are exit 2 with the problem named', async () => {
    const target = join(dir, 'c');
    expect((await init([target])).code).toBe(ExitCode.Ok);
    const again = await init([target]);
    expect(again.code).toBe(ExitCode.BadInput);
    expect(again.err).toMatch(/uring-client\.ts, .*: already exist; not overwriting/);
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    expect((await init([file])).err).toMatch(/is not a directory/);
    expect((await init(['--force'])).err).toMatch(/unknown option --force/);
    expect((await init(['x', 'y'])).err).toMatch(/expected at most one directory, got 2/);
  });
});
