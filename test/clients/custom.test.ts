// User-defined clients (defineClient modules named by a scenario): they run in stress and explore
// mode through the same runtime as the built-ins, their pins reach the oracles through the ghost
// ledger, and a bad module is bad input with the problem named, within a time bound.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCli } from '../../src/cli/cli.js';
import { lazyRunScenario } from '../../src/cli/engine.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { resolveClientModules } from '../../src/coordinator/client-modules.js';
import { defineClient, explore, replay, runScenario, ScenarioError, shutdown, type ScenarioInput } from '../../src/index.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { exampleClient } from '../fixtures/example-client.js';

const uringClient = exampleClient();
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/clients/${name}`, import.meta.url));
const uring = (params: Record<string, string> = {}): ScenarioInput => ({
  name: 'uring',
  seed: 3,
  durationMs: 1500,
  // v6.3: these fixed buffers are file pages, and v6.5+ refuses a writable longterm pin of a file
  // mapping (-EFAULT): on v6.18 the client would take nothing.
  era: 'v6.3',
  policy: 'skip',
  clients: [{ kind: 'custom', module: uringClient, count: 2, pages: 32, bufferPages: 4, holdOps: 20, params }, { kind: 'dio' }],
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-custom-'));
});
afterAll(async () => {
  await shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('defineClient', () => {
  it('rejects a malformed definition with the field named', () => {
    expect(() => defineClient({ name: '9lives', step: () => {} })).toThrow(/name: expected/);
    expect(() => defineClient({ name: 'ok' } as never)).toThrow(/step: expected a function/);
    expect(() => defineClient({ name: 'ok', step: () => {}, setup: 3 } as never)).toThrow(/setup: expected a function/);
  });
});

describe('a custom client in stress mode', () => {
  it('runs beside a built-in one, named after its definition, and its pins reach the ledger and counters', async () => {
    const r = await runScenario(uring());
    expect(r.outcome, JSON.stringify(r.violations.slice(0, 1))).toBe('clean');
    expect(r.actors.map((a) => a.name)).toEqual(['uring#0', 'uring#1', 'dio#0']);
    for (const a of r.actors.slice(0, 2)) {
      expect(a.kind).toBe('custom');
      expect(a.stats['pins']).toBeGreaterThan(0);
      expect(a.stats['dma_writes']).toBeGreaterThan(0);
      expect(a.stats['registrations']).toBeGreaterThan(0);
      expect(a.stats['ledger_used']).toBe(0); // every pin it recorded it also cleared
    }
    expect(r.vmstat['nr_foll_pin_acquired']).toBe(r.vmstat['nr_foll_pin_released']);
    expect(r.oracle.checks).toBeGreaterThan(0);
  });

  it('a planted bug (references instead of pins) is caught by O3', async () => {
    const r = await runScenario({ ...uring({ bug: 'get' }), durationMs: 10_000 }, { stopOnViolation: true });
    expect(r.outcome).toBe('violation');
    expect(r.violations[0]!.oracle).toMatch(/^O3/);
    expect(r.violations[0]!.actors.some((a) => a.startsWith('uring#'))).toBe(true);
  });

  it('under policy revoke, writeback asks a custom client with a revoke handler for its pins, and gets them', async () => {
    const r = await runScenario({ ...uring(), policy: 'revoke', clients: [{ ...uring().clients[0]!, holdOps: 100_000 }] });
    expect(r.outcome, JSON.stringify(r.violations.slice(0, 1))).toBe('clean');
    expect(r.mm['revoke:requested']).toBeGreaterThan(0);
    expect(r.mm['revoke:ok']).toBeGreaterThan(0);
  });

  it('a client that never unpins leaves its ledger non-empty: O2', async () => {
    const r = await runScenario({ name: 'leak', durationMs: 200, clients: [{ kind: 'custom', module: fixture('leaks.ts'), pages: 4, bufferPages: 1 }] });
    expect(r.outcome).toBe('violation');
    expect(r.violations.some((v) => v.oracle.startsWith('O2'))).toBe(true);
  });
});

describe('a custom client in explore mode', () => {
  it('explores clean, and the planted bug is found, written and replayed', async () => {
    const clean = await explore(uring(), { trials: 30, seed: 1 });
    expect(clean.outcome).toBe('clean');
    expect(clean.participants).toEqual(['uring#0', 'uring#1', 'dio#0', 'coordinator']);
    const bug = await explore(uring({ bug: 'get' }), { trials: 200, seed: 1, strategy: 'random', outDir: dir });
    expect(bug.outcome).toBe('violation');
    expect(bug.failure!.violations[0]!.oracle).toMatch(/^O3/);
    const file = bug.failure!.scheduleFile!;
    const again = await replay(file);
    expect(again.outcome).toBe('reproduced');
    expect(again.identical).toBe(true);
  });
});

describe('bad client modules are bad input', () => {
  const check = (module: string, timeoutMs?: number) =>
    resolveClientModules(parseScenario({ clients: [{ kind: 'custom', module }] }), timeoutMs !== undefined ? { timeoutMs } : {});

  it.each([
    ['throws.ts', /threw while loading: Error: planted/],
    ['shape.ts', /not a client: step: expected a function/],
    ['tla.mjs', /top-level await/],
    ['missing.ts', /not found/],
  ])('%s', async (name, problem) => {
    const err = await check(fixture(name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).message).toMatch(/clients\.0\.module: /);
    expect((err as ScenarioError).message).toMatch(problem);
  });

  it('a module that never finishes loading is reported within the bound', async () => {
    const t0 = performance.now();
    const err = await check(fixture('loops.mjs'), 1500).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/did not finish loading within 1500 ms/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it("kind 'custom' without a module, and a module on a built-in kind, fail validation", () => {
    expect(() => parseScenario({ clients: [{ kind: 'custom' }] })).toThrow(/clients\.0\.module: kind 'custom' needs module/);
    expect(() => parseScenario({ clients: [{ kind: 'dio', module: 'x.ts' }] })).toThrow(/module is only for kind 'custom'/);
  });

  it('pinlab run exits 2 naming the module, relative to the scenario file', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ clients: [{ kind: 'custom', module: fixture('shape.ts') }] }));
    const rel = join(dir, 'rel.json');
    await writeFile(rel, JSON.stringify({ clients: [{ kind: 'custom', module: './nowhere.ts' }] }));
    for (const [path, msg] of [
      [file, /shape\.ts: its export is not a client/],
      [rel, new RegExp(`${dir}/nowhere\\.ts not found`)],
    ] as const) {
      let stderr = '';
      const cli = createCli({
        runScenario: lazyRunScenario,
        io: { stderr: { write: (s: string) => ((stderr += s), true), isTTY: false } as never, stdout: { write: () => true } as never },
      });
      expect(await cli.main(['run', path, '-q'])).toBe(ExitCode.BadInput);
      expect(stderr).toMatch(msg);
    }
  });
});
