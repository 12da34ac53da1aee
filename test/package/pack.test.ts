// The package as a user gets it: `npm pack` (its prepare script builds), install the tarball into a fresh
// project (from the local npm cache; the registry is the fallback), and there use the bin, a .ts
// scenario with a custom client in run and explore mode, pinlab/vitest on a clean and a buggy
// client, the printed replay command, the public API and its types. One pack + install is shared
// by every case.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let proj: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((done) => {
    // CI=true keeps npm and vitest quiet and non-interactive; the child must not inherit vitest's worker env.
    const childEnv: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NODE_OPTIONS: '', NO_COLOR: '1', FORCE_COLOR: '0', ...env };
    for (const k of Object.keys(childEnv)) if (k.startsWith('VITEST') || k === 'TEST' || k === 'NODE_ENV') delete childEnv[k];
    execFile(cmd, args, { cwd, timeout: timeoutMs, env: childEnv, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 99;
      done({ code, stdout, stderr });
    });
  });
}
const npx = (args: string[], timeoutMs?: number): Promise<Ran> => run('npx', ['--no-install', 'pinlab', ...args], proj, timeoutMs);
/** The bin npm linked on install (what npx runs), without npx's own start-up cost. */
const pinlab = (args: string[], timeoutMs?: number): Promise<Ran> => run(join(proj, 'node_modules/.bin/pinlab'), args, proj, timeoutMs);
const vitest = (file: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<Ran> =>
  run(process.execPath, [join(proj, 'node_modules/vitest/vitest.mjs'), 'run', file, ...extra], proj, 120_000, env);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-pack-'));
  const pack = await run('npm', ['pack', '--pack-destination', dir, '--silent'], repo, 120_000);
  expect(pack.code, pack.stderr).toBe(0);
  const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'))!;
  proj = join(dir, 'proj');
  await run('mkdir', ['-p', proj], dir);
  await writeFile(join(proj, 'package.json'), JSON.stringify({ name: 'pinlab-user', private: true, type: 'module' }));
  const inst = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)], proj, 180_000);
  expect(inst.code, inst.stderr).toBe(0);
  // The user's own dev tools: this checkout's vitest and Node types (not pinlab's business to install).
  await symlink(join(repo, 'node_modules/vitest'), join(proj, 'node_modules/vitest'));
  await run('mkdir', ['-p', join(proj, 'node_modules/@types')], proj);
  await symlink(join(repo, 'node_modules/@types/node'), join(proj, 'node_modules/@types/node'));
}, 300_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the packed tarball, installed', () => {
  it('holds the built package, not the sources', async () => {
    const files = await readdir(join(proj, 'node_modules/pinlab/dist'));
    expect(files.sort()).toEqual(['scenario.schema.json', 'scripts', 'src', 'workers']);
    const top = await readdir(join(proj, 'node_modules/pinlab'));
    expect(top).not.toContain('test');
    expect(top).not.toContain('src');
  });

  it('npx pinlab run --duration 2s: the embedded default, exit 0', async () => {
    const r = await npx(['run', '--duration', '2s', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CLEAN — no violation/);
  });

  it('pinlab init writes a starter whose .ts scenario and custom client run in run and explore mode', async () => {
    const init = await pinlab(['init', 'starter']);
    expect(init.code, init.stderr).toBe(0);
    const json = JSON.parse(await readFile(join(proj, 'starter/uring.scenario.json'), 'utf8')) as { $schema: string };
    expect(json.$schema).toBe('../node_modules/pinlab/dist/scenario.schema.json');
    await writeFile(join(proj, 'starter/uring.scenario.ts'), await readFile(join(repo, 'examples/uring.scenario.ts'), 'utf8'));
    // 2 s: room for the .ts client modules to load on a loaded machine.
    const r = await pinlab(['run', 'starter/uring.scenario.ts', '--duration', '2s']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/uring#0\s+custom\s+done/);
    // The scenario as given (the CLI's default is a small-scope campaign, whose configurations hold fewer actors).
    const x = await pinlab(['explore', 'starter/uring.scenario.ts', '--scope', 'scenario', '--trials', '20', '-q']);
    expect(x.code, x.stderr + x.stdout).toBe(0);
    expect(x.stdout).toMatch(/participants uring#0, uring#1, dio#0, coordinator/);
    expect((await pinlab(['init', 'starter'])).code).toBe(2); // never overwrites
  });

  it('pinlab/vitest: the starter test passes on the clean client; with the planted bug it fails with a replay line that reproduces it', async () => {
    // CI's knob, through the environment: fewer trials for the clean campaign.
    const clean = await vitest('starter/uring.test.ts', { PINLAB_TRIALS: '50', PINLAB_TIME: '1s' });
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    const text = await readFile(join(proj, 'starter/uring.test.ts'), 'utf8');
    expect(text).toContain('params: {},');
    await writeFile(join(proj, 'starter/uring-bug.test.ts'), text.replace('params: {},', "params: { bug: 'get' },"));
    // The explore test only: the stress test of the same file would fail as well, and costs more.
    const bug = await vitest('starter/uring-bug.test.ts', {}, ['-t', 'no interleaving']);
    expect(bug.code).toBe(1);
    const out = bug.stdout + bug.stderr;
    expect(out).toMatch(
      /PinlabViolation: pinlab: O3 data integrity \(unstable-page\) on page \d+ .*actors uring#\d, coordinator; explore trial \d+ of 200, seed 1/,
    );
    const line = /replay: (npx pinlab replay (\S+\.json))/.exec(out);
    expect(line, out).not.toBeNull();
    const replayed = await run('npx', ['--no-install', 'pinlab', 'replay', line![2]!], proj);
    expect(replayed.code).toBe(1);
    expect(replayed.stdout).toMatch(/REPRODUCED — O3 data integrity: unstable-page/);
  }, 180_000);

  it('the public API imports from the package, as the README lists it, with types that check', async () => {
    await writeFile(
      join(proj, 'api.mjs'),
      `import * as p from 'pinlab'; import * as k from 'pinlab/kernel'; import * as v from 'pinlab/vitest';\n` +
        `import schema from 'pinlab/scenario.schema.json' with { type: 'json' };\n` +
        `console.log(JSON.stringify({ pinlab: Object.keys(p), 'pinlab/kernel': Object.keys(k), 'pinlab/vitest': Object.keys(v), title: schema.title }));\n`,
    );
    const r = await run(process.execPath, ['api.mjs'], proj);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, string[]> & { title: string };
    expect(got.title).toBe('pinlab scenario');
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    for (const entry of ['pinlab', 'pinlab/kernel', 'pinlab/vitest']) {
      const m = new RegExp(`^- \\*\\*\`${entry}\`\\*\\*[^:]*: (.+)$`, 'm').exec(readme);
      expect(m, `README lists ${entry}`).not.toBeNull();
      const listed = [...m![1]!.matchAll(/`([A-Za-z_][\w]*)`/g)].map((x) => x[1]!);
      expect([...got[entry]!].sort(), entry).toEqual([...new Set(listed)].sort());
    }
    // Types: the examples and the starter type-check against the installed package.
    await writeFile(
      join(proj, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: false,
        },
        include: ['starter/*.ts'],
      }),
    );
    const tsc = await run(join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], proj);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  });

  it('a .ts client module gets its own import.meta and imports a .ts helper as ./helper.js', async () => {
    await run('mkdir', ['-p', join(proj, 'meta')], proj);
    await writeFile(join(proj, 'meta/helper.ts'), 'export const expected: string = "meta-client.ts";\n');
    await writeFile(
      join(proj, 'meta/meta-client.ts'),
      `import { defineClient } from 'pinlab';\nimport { expected } from './helper.js';\n` +
        `const here: string = import.meta.url;\n` +
        `export default defineClient({ name: 'meta', setup() { if (!here.startsWith('file://') || !here.endsWith(expected) || !import.meta.dirname.endsWith('meta')) throw new Error('import.meta: ' + here); }, step() {} });\n`,
    );
    await writeFile(join(proj, 'meta/meta.json'), JSON.stringify({ durationMs: 300, clients: [{ kind: 'custom', module: './meta-client.ts' }] }));
    const r = await pinlab(['run', 'meta/meta.json']);
    // The client's setup throws unless import.meta is its own (exit 3); its steps do nothing, so the
    // run is rightly VACUOUS (exit 4), not clean.
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout).toMatch(/^VACUOUS — .*custom clients took no pins/m);
    expect(r.stdout + r.stderr).not.toMatch(/threw|import\.meta:/);
  });

  it('npx pinlab gup-test runs the selftest line on the installed package', async () => {
    const r = await pinlab(['gup-test', '-a', '-n', '512', '-r', '2', '-m', '8']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => /^# PIN_FAST_BENCHMARK: Time: get:\d+ put:\d+ us# $/.test(l))).toHaveLength(2);
  });
});
