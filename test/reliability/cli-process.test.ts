// Issue 7 items 2 and 7, as a CI job sees them: the real `pinlab` process (run from source under
// tsx), its exit code, its streams and its JSON report. A closed stdout or stderr (EPIPE) ends
// quietly with the verdict's exit code and the JSON still written; SIGTERM and SIGINT stop the run
// with 143 and 130 (never 0) and a complete report.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunReport } from '../../src/report/types.js';

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinlab-proc-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function pinlab(args: string[], stdio: ('pipe' | 'ignore' | number)[]) {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: stdio as never, env: { ...process.env, NO_COLOR: '1' } });
}
const exited = (p: ReturnType<typeof pinlab>): Promise<Exit> => new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));

describe('pinlab as a process', () => {
  it('stderr closed after its first line (pinlab run … 2>&1 1>out | head -1): clean exit 0, summary and JSON complete', async () => {
    const json = join(dir, 'epipe-err.json');
    const outFile = join(dir, 'epipe-out.txt');
    const fd = openSync(outFile, 'w');
    const p = pinlab(['run', '--duration', '1s', '--json', json], ['ignore', fd, 'pipe']);
    closeSync(fd);
    p.stderr!.once('data', () => p.stderr!.destroy()); // the reader goes away: later writes get EPIPE
    const e = await exited(p);
    expect(e).toEqual({ code: 0, signal: null });
    const report = JSON.parse(await readFile(json, 'utf8')) as RunReport;
    expect(report.outcome).toBe('clean');
    expect((await readFile(outFile, 'utf8')).trimEnd().split('\n').at(-1)).toMatch(/^CLEAN — .* exit 0$/);
  }, 30_000);

  it('stdout closed at once: the verdict exit code, the JSON report still written', async () => {
    const json = join(dir, 'epipe-out.json');
    const p = pinlab(['run', '--duration', '1s', '--json', json], ['ignore', 'pipe', 'ignore']);
    p.stdout!.destroy();
    const e = await exited(p);
    expect(e).toEqual({ code: 0, signal: null });
    expect((JSON.parse(await readFile(json, 'utf8')) as RunReport).outcome).toBe('clean');
  }, 30_000);

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${signal} stops the run: exit ${code}, never 0, with a complete report`, async () => {
      const json = join(dir, `${signal}.json`);
      const p = pinlab(['run', '--duration', '60s', '--json', json], ['ignore', 'pipe', 'pipe']);
      let stdout = '';
      p.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      await new Promise<void>((resolve) => {
        p.stderr!.on('data', (c: Buffer) => {
          if (/ops [1-9]/.test(c.toString())) resolve(); // a progress line: the actors are running
        });
      });
      p.kill(signal);
      const e = await exited(p);
      expect(e).toEqual({ code, signal: null });
      const report = JSON.parse(await readFile(json, 'utf8')) as RunReport;
      expect(report).toMatchObject({ outcome: 'clean', stoppedBy: 'signal', signal });
      expect(report.totals.ops).toBeGreaterThan(0);
      expect(stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^STOPPED — no violation .*stopped by ${signal}.* exit ${code}$`));
    }, 30_000);
  }
});
