/**
 * Detection benchmark: for every fault of the catalogue, trials and seconds to the first
 * detection in explore mode — random, PCT, POS, SURW and the portfolio on the fault's hand-made
 * explore setup; the small-scope campaign on the fault's own catalogue scenario (`pinlab explore
 * <its scenario> --time 30s`); and on the embedded default scenario with nothing but the fault
 * (`pinlab explore --fault NAME --time 60s`, "default scenario, no hints") — and seconds to the
 * first detection in stress mode, as one table; plus explore scheduling steps per second. Each
 * cell names what was caught (a different oracle or kind than the catalogue expects is shown).
 *
 * Usage: node dist/scripts/bench-detect.js [--trials 2000] [--stress-ms 60000] [--scenario-s 30] [--default-s 60]
 *        [--seed 1] [--fault NAME] [--no-stress] [--no-explore] (--no-explore: only the two small-scope columns and stress)
 */
import { parseArgs } from 'node:util';
import { ActorPool } from '../src/coordinator/pool.js';
import { exploreScenario, shutdownExplore, type ExploreReport } from '../src/explore/explore.js';
import { exploreSmallScope, type SmallScopeReport } from '../src/explore/small-scope.js';
import { DEFAULT_SCENARIO } from '../src/scenario/schema.js';
import { runScenario } from '../src/coordinator/run.js';
import { FAULTS, type FaultEntry } from '../src/scenario/faults.js';
import { faultExploreOptions, faultExploreScenario, faultExploreSetup, matchesExpectation } from '../src/scenario/fault-explore.js';
import { parseScenario } from '../src/scenario/schema.js';
import { type RunReport } from '../src/report/types.js';
import { tuneV8ForHotPaths } from '../src/util/v8-tuning.js';

tuneV8ForHotPaths();
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '2000' },
    'stress-ms': { type: 'string', default: '60000' },
    seed: { type: 'string', default: '1' },
    fault: { type: 'string', multiple: true },
    'scenario-s': { type: 'string', default: '30' },
    'default-s': { type: 'string', default: '60' },
    'no-stress': { type: 'boolean', default: false },
    'no-explore': { type: 'boolean', default: false },
  },
});
const trials = Number(values.trials);
const stressMs = Number(values['stress-ms']);
const seed = Number(values.seed);
const scenarioS = Number(values['scenario-s']);
const defaultS = Number(values['default-s']);
const chosen = values.fault?.length ? FAULTS.filter((f) => values.fault!.includes(f.name)) : FAULTS;
if (chosen.length === 0) throw new Error(`no such fault: ${values.fault?.join(', ')}`);

/** The fault's damage oracle and kinds, or (explore, where the contract oracles are on) its contract kind. */
const matches = (f: FaultEntry, oracle: string, kind: string): boolean => matchesExpectation(f.name, { oracle, kind });

function exploreCell(f: FaultEntry, r: ExploreReport): string {
  const v = r.failure?.violations.find((x) => matches(f, x.oracle, x.kind)) ?? r.failure?.violations[0];
  if (r.failure === undefined) return `not in ${r.trials} (${(r.durationMs / 1000).toFixed(1)} s)`;
  const ok = v !== undefined && matches(f, v.oracle, v.kind);
  return `trial ${r.failure.trial + 1}, ${(r.durationMs / 1000).toFixed(1)} s${ok ? '' : ` [got ${v?.oracle ?? r.failure.outcome} ${v?.kind ?? ''}]`}`;
}

function smallCell(f: FaultEntry, r: SmallScopeReport): string {
  const t = `${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.failure === undefined || r.failure.outcome === 'too-long') return `not in ${(r.timeMs ?? 0) / 1000} s (${r.trials} trials)`;
  const v = r.failure.violations.find((x) => matches(f, x.oracle, x.kind)) ?? r.failure.violations[0];
  const ok = v !== undefined && matches(f, v.oracle, v.kind);
  return `${t}, ${r.trials} trials${ok ? '' : ` [got ${v?.oracle ?? r.failure.outcome} ${v?.kind ?? ''}]`}`;
}

function stressCell(f: FaultEntry, r: RunReport): string {
  const v = r.violations.find((x) => matches(f, x.oracle, x.kind)) ?? r.violations[0];
  if (v === undefined) return `not in ${(r.durationMs / 1000).toFixed(1)} s`;
  const ok = matches(f, v.oracle, v.kind);
  // A run that went its whole duration was caught by an end-of-run oracle (after the final sync).
  const when = r.stoppedBy === 'duration' ? `end-of-run check (${(r.durationMs / 1000).toFixed(1)} s run)` : `${(r.durationMs / 1000).toFixed(1)} s`;
  return `${when}${ok ? '' : ` [got ${v.oracle} ${v.kind}]`}`;
}

const pool = new ActorPool({ size: 12 });
const rows: string[][] = [[
  'fault', 'oracle', 'random', 'pct', 'pos', 'surw', 'portfolio', `its scenario, ${scenarioS} s`, `default scenario, no hints (${defaultS} s)`, 'stress',
  'steps/s (random / pct / pos / surw)',
]];
for (const f of chosen) {
  // Explore: the fault's explore setup (src/scenario/fault-explore.ts), run under both strategies.
  const setup = faultExploreSetup(f.name);
  let cells = ['not detectable (see fault-explore.ts)', 'not detectable', '-', '-', '-', '-'];
  if (values['no-explore']) cells = ['(skipped)', '(skipped)', '-', '-', '-', '-'];
  else if (setup.undetectable === undefined) {
    const scenario = parseScenario(faultExploreScenario(f.name));
    const opts = { ...faultExploreOptions(f.name), trials, seed };
    const random = await exploreScenario(scenario, { ...opts, strategy: 'random' });
    const pct = await exploreScenario(scenario, { ...opts, strategy: 'pct', depth: setup.depth ?? 3 });
    const pos = await exploreScenario(scenario, { ...opts, strategy: 'pos' });
    const surw = await exploreScenario(scenario, { ...opts, strategy: 'surw' });
    const portfolio = await exploreScenario(scenario, { ...opts, strategy: 'portfolio', depth: setup.depth ?? 3 });
    const k = (r: ExploreReport): string => `${Math.round(r.stepsPerSec / 1000)}k`;
    cells = [exploreCell(f, random), exploreCell(f, pct), exploreCell(f, pos), exploreCell(f, surw), exploreCell(f, portfolio), [random, pct, pos, surw].map(k).join(' / ')];
  }
  // No hints: small-scope portfolio campaigns with a time budget, on the catalogue scenario and on the default one.
  const own = await exploreSmallScope(parseScenario({ ...f.scenario, faults: [f.name] }), { seed, timeMs: scenarioS * 1000 });
  const dflt = await exploreSmallScope(parseScenario({ ...DEFAULT_SCENARIO, faults: [f.name] }), { seed, timeMs: defaultS * 1000 });
  // Stress: the catalogue's scenario with the fault, stopped at the first violation.
  const stress = values['no-stress'] ? null : await runScenario(parseScenario({ ...f.scenario, faults: [f.name], durationMs: stressMs }), { pool, stopOnViolation: true });
  rows.push([
    f.name, `${f.expect.oracle} ${f.expect.kinds.join('/')}`, cells[0]!, cells[1]!, cells[2]!, cells[3]!, cells[4]!, smallCell(f, own), smallCell(f, dflt),
    stress === null ? '(skipped)' : stressCell(f, stress), cells[5]!,
  ]);
  console.error(`${f.name}: done`);
}
await pool.destroy();
await shutdownExplore();
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(`pinlab detection benchmark (explore budget ${trials} trials, small-scope ${scenarioS} s / ${defaultS} s, stress budget ${stressMs / 1000} s, seed ${seed})`);
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
