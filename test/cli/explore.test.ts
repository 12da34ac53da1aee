// `pinlab explore` and `pinlab replay` in-process (createCli) with the real explore engine and
// small budgets: exit codes, the schedule files, the shrunk trace, replay, divergence, bad input.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, createCli } from '../../src/cli/cli.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { shutdownExploreEngine } from '../../src/cli/explore.js';
import { readScheduleFile } from '../../src/sched/schedule.js';

interface Harness {
  code: ExitCode;
  stdout: string;
  stderr: string;
}

async function runCli(args: string[], extra: Partial<CliIO> & { onStderr?: (chunk: string, interrupt: () => void) => void } = {}): Promise<Harness> {
  let stdout = '';
  let stderr = '';
  let interrupt: (() => void) | undefined;
  const { onStderr, ...io } = extra;
  const cli = createCli({
    runScenario: () => Promise.reject(new Error('not used')),
    logIntervalMs: 0,
    io: {
      stdout: { write: (c: string) => (stdout += c) },
      stderr: {
        write: (c: string) => {
          stderr += c;
          onStderr?.(c, () => interrupt?.());
          return true;
        },
        isTTY: false,
      },
      onInterrupt(h) {
        interrupt = h;
        return () => (interrupt = undefined);
      },
      exit: () => {},
      ...io,
    },
  });
  const code = await cli.main(args);
  return { code, stdout, stderr };
}

let dir: string;
let odpFile: string;
let dioFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-explore-cli-'));
  odpFile = join(dir, 'odp.json');
  await writeFile(odpFile, JSON.stringify({
    name: 'odp-vs-mm', seed: 1,
    clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
    mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
  }));
  dioFile = join(dir, 'dio.json');
  await writeFile(dioFile, JSON.stringify({
    name: 'dio-vs-writeback', seed: 1,
    clients: [{ kind: 'dio', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
    mm: { writeback: 1, munmap: 0, migrate: 0, reclaim: 0, truncate: 0 },
  }));
});
afterAll(async () => {
  await shutdownExploreEngine();
  await rm(dir, { recursive: true, force: true });
});

describe('pinlab explore on an era with native bugs', () => {
  it('the verdict says violations are expected there and names them; the JSON carries the list', async () => {
    const file = join(dir, 'odp-v57.json');
    await writeFile(file, JSON.stringify({
      name: 'odp-v57', seed: 1, era: 'v5.7',
      clients: [{ kind: 'odp', mapping: 'file', pages: 1, bufferPages: 1, writeRatio: 1 }],
      mm: { writeback: 0, munmap: 1, migrate: 1, reclaim: 0, truncate: 0 },
    }));
    const json = join(dir, 'explore-v57.json');
    const h = await runCli(['explore', file, '--trials', '3', '--seed', '1', '--json', json]);
    expect(h.code).toBe(ExitCode.Ok);
    expect(h.stdout).toMatch(/CLEAN — .*violations expected on this era: native bugs stats-after-put, cma-unpin-put-page, cma-migrate-fail-repin, fork-no-early-cow, gup-fast-no-wp-seq, cow-reuse-by-mapcount \(pinlab list eras\) — exit 0/);
    expect(JSON.parse(await readFile(json, 'utf8')).era).toEqual({ name: 'v5.7', native: ['stats-after-put', 'cma-unpin-put-page', 'cma-migrate-fail-repin', 'fork-no-early-cow', 'gup-fast-no-wp-seq', 'cow-reuse-by-mapcount'] });
    const off = await runCli(['explore', odpFile, '--trials', '3', '--seed', '1']);
    expect(off.stdout).not.toContain('expected on this era');
  });
});

describe('pinlab explore + replay', () => {
  let shrunkFile = '';
  let originalFile = '';

  it('a fault is found (exit 1), shrunk, both schedule files written, the shrunk trace and the replay command printed', async () => {
    const out = join(dir, 'sched');
    const json = join(dir, 'explore.json');
    const h = await runCli([
      'explore', odpFile, '--strategy', 'pct', '--trials', '100', '--seed', '1', '--fault', 'odp-no-retry', '--out', out,
      '--shrink-seconds', '15', '--json', json,
    ]);
    expect(h.code, h.stderr + h.stdout).toBe(ExitCode.Violation);
    expect(h.stdout).toMatch(/VIOLATION in trial \d+/);
    expect(h.stdout).toMatch(/#1 O4 ODP protocol — stale-device-pte at pfn \d+/);
    expect(h.stdout).toMatch(/steps\/s/);
    expect(h.stdout).toMatch(/shrunk in .*: preemptions \d+ → \d+, steps \d+ → \d+, actors 1 → 1, pages 1 → 1/);
    expect(h.stdout).toMatch(/shrunk trace \(\d+ steps, \d+ switch(es)?, \d+ preemptions?; ▶ marks a preemption\):/);
    expect(h.stdout).toMatch(/step\s+odp#0\s+\| coordinator/);
    expect(h.stdout.trimEnd().split('\n').at(-1)).toMatch(/^VIOLATION — O4 ODP protocol: stale-device-pte .* — exit 1$/);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(2);
    originalFile = join(out, files.find((f) => !f.endsWith('.shrunk.json'))!);
    shrunkFile = join(out, files.find((f) => f.endsWith('.shrunk.json'))!);
    const replayLine = h.stdout.split('\n').find((l) => l.startsWith('replay: pinlab replay '))!;
    expect(replayLine.endsWith('.shrunk.json')).toBe(true);
    const a = readScheduleFile(originalFile);
    const b = readScheduleFile(shrunkFile);
    expect(b.violation).toMatchObject({ oracle: 'O4 ODP protocol', kind: 'stale-device-pte' });
    expect(b.steps.length).toBeLessThanOrEqual(a.steps.length);
    const report = JSON.parse(await readFile(json, 'utf8')) as { outcome: string; shrink: { stats: { verified: boolean } } };
    expect(report.outcome).toBe('violation');
    expect(report.shrink.stats.verified).toBe(true);
    // Plain log (not a TTY): a header and progress lines, no control characters.
    expect(h.stderr).toMatch(/pinlab: exploring scenario odp-vs-mm/);
    expect(h.stderr).toMatch(/pinlab: trial \d+\/100 {3}steps/);
    expect(h.stdout + h.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('replay reproduces the same violation from both files (exit 1), with the trace columns', async () => {
    for (const file of [shrunkFile, originalFile]) {
      const h = await runCli(['replay', file]);
      expect(h.code, h.stderr + h.stdout).toBe(ExitCode.Violation);
      expect(h.stdout).toMatch(/#1 O4 ODP protocol — stale-device-pte/);
      expect(h.stdout).toMatch(/^trace \(\d+ steps/m);
      expect(h.stdout).toMatch(/ran \d+ steps in .* steps\/s\)/);
      expect(h.stdout.trimEnd().split('\n').at(-1)).toMatch(/^REPRODUCED — O4 ODP protocol: stale-device-pte .*\(identical trace\) — exit 1$/);
    }
  });

  it('a tampered schedule is a divergence (exit 3) naming the step and both labels; --lenient goes on', async () => {
    const f = readScheduleFile(shrunkFile);
    const i = f.steps.findIndex((s, k) => k > 5 && s.actor === 'coordinator' && s.label.includes(' load '));
    const tampered = structuredClone(f);
    tampered.steps[i]!.label = f.steps[i]!.label.replace(' load ', ' store ');
    const p = join(dir, 'tampered.json');
    await writeFile(p, JSON.stringify(tampered));
    const h = await runCli(['replay', p]);
    expect(h.code).toBe(ExitCode.Internal);
    expect(h.stdout).toContain(`DIVERGENCE at step ${i}: the schedule expects coordinator at "${tampered.steps[i]!.label}", but coordinator is at "${f.steps[i]!.label}"`);
    expect(h.stderr).toMatch(new RegExp(`DIVERGENCE — step ${i}: `));
    const l = await runCli(['replay', p, '--lenient']);
    expect(l.code).toBe(ExitCode.Violation);
    expect(l.stdout).toMatch(/lenient: 1 step could not be followed; the first at step \d+/);
  });

  it('a missing or invalid schedule file exits 2', async () => {
    const missing = await runCli(['replay', join(dir, 'nope.json')]);
    expect(missing.code).toBe(ExitCode.BadInput);
    expect(missing.stderr).toMatch(/nope\.json: no such file/);
    const p = join(dir, 'notschedule.json');
    await writeFile(p, JSON.stringify({ format: 'something-else' }));
    const invalid = await runCli(['replay', p]);
    expect(invalid.code).toBe(ExitCode.BadInput);
    expect(invalid.stderr).toMatch(/format must be "pinlab-schedule"/);
    const q = join(dir, 'broken.json');
    await writeFile(q, '{ "format": ');
    expect((await runCli(['replay', q])).code).toBe(ExitCode.BadInput);
  });

  it('a clean scenario under PCT exits 0 and prints the bound and the miss probability', async () => {
    const h = await runCli(['explore', dioFile, '--scope', 'scenario', '--strategy', 'pct', '--depth', '2', '--trials', '12', '--seed', '2', '--out', join(dir, 'none'), '-q']);
    expect(h.code, h.stderr + h.stdout).toBe(ExitCode.Ok);
    expect(h.stdout).toMatch(/^trials 12\/12 {3}steps [\d,]+ {3}[\d,]+ steps\/s/m);
    expect(h.stdout).toMatch(/PCT n=2 k=\d+ d=2: bound 1\/\(n·k\^\(d−1\)\) = \S+; miss probability ≤ \S+ after 12 clean trials/);
    expect(h.stdout.trimEnd().split('\n').at(-1)).toMatch(/^CLEAN — no violation in 12 trials .*strategy pct, seed 2 — exit 0$/);
    expect(existsSync(join(dir, 'none'))).toBe(false);
    expect(h.stderr).toBe(''); // quiet
  });

  it('--time: a small-scope portfolio campaign until the budget is spent, with its coverage; PINLAB_TIME too, and a bad one is exit 2', async () => {
    const h = await runCli(['explore', dioFile, '--time', '1.5s', '--seed', '1', '--out', join(dir, 'none'), '-q']);
    expect(h.code, h.stderr + h.stdout).toBe(ExitCode.Ok);
    expect(h.stdout).toMatch(/^trials [\d,]+\/1\.5 s budget {3}steps/m);
    expect(h.stdout).toMatch(/^coverage: [\d,]+ racing-pair orders, [\d,]+ distinct interleavings; trials by strategy: pos \d+/m);
    expect(h.stdout).toMatch(/^configurations: \d+ of [\d,]+ explored in \d+ rounds? \(small \d+\/\d+, widen [\d,]+\/[\d,]+, wide \d+\/\d+\)$/m);
    expect(h.stdout.trimEnd().split('\n').at(-1)).toMatch(/^CLEAN — no violation in [\d,]+ trials .*strategy portfolio, seed 1 — exit 0$/);
    process.env.PINLAB_TIME = 'soon';
    try {
      const bad = await runCli(['explore', dioFile]);
      expect(bad.code).toBe(ExitCode.BadInput);
      expect(bad.stderr).toMatch(/PINLAB_TIME must be a positive number of seconds/);
    } finally {
      delete process.env.PINLAB_TIME;
    }
  });

  it('--from a run report: small configurations until its violation (same oracle and kind) reproduces; a file that is not a run report is exit 2', async () => {
    const scenario = JSON.parse(await readFile(odpFile, 'utf8')) as Record<string, unknown>;
    const report = join(dir, 'run-report.json');
    await writeFile(report, JSON.stringify({
      scenario: { ...scenario, faults: ['odp-no-retry'] },
      violations: [{ oracle: 'O4 ODP protocol', kind: 'stale-device-pte', page: 3, actors: ['odp#0', 'coordinator'], detail: '', events: { coordinator: [{ seq: 1, event: 'munmap', page: 3, arg: 0 }] } }],
    }));
    const out = join(dir, 'from-out');
    const h = await runCli(['explore', '--from', report, '--trials', '200', '--seed', '1', '--no-shrink', '--out', out, '-q']);
    expect(h.code, h.stderr + h.stdout).toBe(ExitCode.Violation);
    expect(h.stdout).toMatch(/^from .*run-report\.json: reproducing O4 ODP protocol: stale-device-pte \(actors odp#0, coordinator\)$/m);
    expect(h.stdout).toMatch(/^found by configuration "odp \/ munmap \/ \dp/m);
    expect(readdirSync(out)).toHaveLength(1);
    const notReport = await runCli(['explore', '--from', odpFile]);
    expect(notReport.code).toBe(ExitCode.BadInput);
    expect(notReport.stderr).toMatch(/not a pinlab run report/);
    const both = await runCli(['explore', odpFile, '--from', report]);
    expect(both.code).toBe(ExitCode.BadInput);
  });

  it('Ctrl-C stops between trials and reports what ran', async () => {
    let sent = false;
    const h = await runCli(['explore', dioFile, '--strategy', 'random', '--trials', '1000', '--seed', '2', '--out', join(dir, 'none')], {
      onStderr: (c, interrupt) => {
        if (!sent && c.startsWith('pinlab: trial ')) {
          sent = true;
          interrupt();
        }
      },
    });
    expect(h.code).toBe(ExitCode.Interrupted); // never 0: the exploration did not finish
    expect(h.stderr).toMatch(/interrupted, stopping the exploration/);
    expect(h.stdout).toMatch(/trials \d+\/1,000 \(stopped by Ctrl-C\)/);
  });

  it('bad input exits 2 naming the option or the field', async () => {
    const depth = await runCli(['explore', dioFile, '--depth', '0']);
    expect(depth.code).toBe(ExitCode.BadInput);
    expect(depth.stderr).toMatch(/--depth must be an integer in \[1, 33\], got 0/);
    const fault = await runCli(['explore', dioFile, '--fault', 'no-such-fault']);
    expect(fault.code).toBe(ExitCode.BadInput);
    expect(fault.stderr).toMatch(/faults\.0: unknown fault 'no-such-fault'.*\(--fault no-such-fault\)/);
    const strategy = await runCli(['explore', dioFile, '--strategy', 'dfs']);
    expect(strategy.code).toBe(ExitCode.BadInput);
    expect(strategy.stderr).toMatch(/--strategy <name>.*'dfs' is invalid/);
    const trials = await runCli(['explore', dioFile, '--trials', 'many']);
    expect(trials.code).toBe(ExitCode.BadInput);
    const missing = await runCli(['explore', join(dir, 'nope.json')]);
    expect(missing.code).toBe(ExitCode.BadInput);
    expect(missing.stderr).toMatch(/nope\.json: scenario file not found/);
  });
});
