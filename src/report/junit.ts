/**
 * JUnit XML (`--junit` on run, explore, sweep, merge) in the shape CI systems read (Jenkins,
 * GitLab, GitHub test reporters): <testsuites> of one <testsuite> with one <testcase> per
 * scenario run, explore campaign or sweep cell. A violation is a <failure> whose message names the
 * oracle and the page and whose text carries the detail and the command that reproduces it; a
 * harness failure is an <error>. test/report/junit.test.ts validates the output against an XSD.
 */
import type { ExploreReport } from '../explore/explore.js';
import type { SweepReport } from './sweep-types.js';
import type { RunReport, Violation } from './types.js';

/** Escape text for XML content and attributes (and drop the control characters XML 1.0 forbids). */
export function xmlEsc(s: unknown): string {
  return String(s)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface JunitCase {
  name: string;
  classname: string;
  timeSec: number;
  failure?: { message: string; type: string; text: string };
  error?: { message: string; type: string; text: string };
  systemOut?: string;
}

/** The XML document of one suite. */
export function junitXml(suite: string, cases: readonly JunitCase[], timeSec: number): string {
  const failures = cases.filter((c) => c.failure).length;
  const errors = cases.filter((c) => c.error && !c.failure).length;
  const t = (x: number) => x.toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pinlab" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${t(timeSec)}">`,
    `  <testsuite name="${xmlEsc(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0" time="${t(timeSec)}" timestamp="${new Date().toISOString().slice(0, 19)}">`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase name="${xmlEsc(c.name)}" classname="${xmlEsc(c.classname)}" time="${t(c.timeSec)}">`);
    if (c.failure) lines.push(`      <failure message="${xmlEsc(c.failure.message)}" type="${xmlEsc(c.failure.type)}">${xmlEsc(c.failure.text)}</failure>`);
    else if (c.error) lines.push(`      <error message="${xmlEsc(c.error.message)}" type="${xmlEsc(c.error.type)}">${xmlEsc(c.error.text)}</error>`);
    if (c.systemOut) lines.push(`      <system-out>${xmlEsc(c.systemOut)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

const violationMessage = (v: Violation): string => `${v.oracle} ${v.kind} page ${v.page}${v.where ? ` (${v.where})` : ''}`;

/** One testcase: the run. `command`: how to re-run it. */
export function runJunit(r: RunReport, o: { command?: string } = {}): string {
  const command = o.command ?? `npx pinlab run <scenario> --seed ${r.scenario.seed}`;
  const v = r.violations[0];
  const c: JunitCase = {
    name: `${r.scenario.name} (era ${r.scenario.era}, policy ${r.scenario.policy}, seed ${r.scenario.seed})`, classname: 'pinlab.run', timeSec: r.durationMs / 1000,
    ...(v ? { failure: { message: violationMessage(v), type: v.oracle, text: `${r.violations.length} violation(s); first: ${v.detail}\nactors: ${v.actors.join(', ')}\nre-run: ${command}` } } : {}),
    ...(r.outcome === 'internal' ? { error: { message: r.failures[0] ?? 'internal failure', type: 'internal', text: r.failures.join('\n') } } : {}),
    systemOut: `ops ${r.totals.ops}, pins ${r.totals.pins}, lost writes ${r.metrics.lostWrites}, unstable pages ${r.metrics.unstablePages}`,
  };
  return junitXml(`pinlab run ${r.scenario.name}`, [c], r.durationMs / 1000);
}

/** One testcase: the campaign; its failure names the oracle, page and the replay command. */
export function exploreJunit(r: ExploreReport): string {
  const f = r.failure;
  const v = f?.violations[0];
  const replay = f?.scheduleFile ? `npx pinlab replay ${f.scheduleFile}` : `npx pinlab explore <scenario> --strategy ${r.strategy} --trials ${r.trialsRequested} --seed ${r.seed}`;
  const c: JunitCase = {
    name: `${r.scenario.name} (${r.strategy}, ${r.trialsRequested} trials, seed ${r.seed})`, classname: 'pinlab.explore', timeSec: r.durationMs / 1000,
    ...(f && v ? { failure: { message: violationMessage(v), type: v.oracle, text: `trial ${f.trial}: ${v.detail}\nactors: ${v.actors.join(', ')}\nreplay: ${replay}` } } : {}),
    ...(f && !v ? { failure: { message: f.outcome, type: f.outcome, text: `trial ${f.trial}: ${f.errors.join('; ')}\nreplay: ${replay}` } } : {}),
    ...(r.outcome === 'internal' && !f ? { error: { message: 'internal failure', type: 'internal', text: '' } } : {}),
    systemOut: `${r.trials} trials, ${r.steps} steps, outcome ${r.outcome}`,
  };
  return junitXml(`pinlab explore ${r.scenario.name}`, [c], r.durationMs / 1000);
}

/** One testcase per cell; a cell fails when one of its runs found a violation (the first is named). */
export function sweepJunit(r: SweepReport): string {
  const cases = r.cells.map((cell): JunitCase => {
    const runs = r.runs.filter((x) => x.cell === cell.index);
    const bad = runs.find((x) => x.firstViolation !== undefined);
    const broken = runs.find((x) => x.outcome === 'internal');
    const fv = bad?.firstViolation;
    return {
      name: cell.label, classname: `pinlab.sweep.${r.name.replace(/[^\w.-]+/g, '_')}`, timeSec: runs.reduce((a, x) => a + x.durationMs, 0) / 1000,
      ...(bad && fv ? { failure: { message: `${fv.oracle} ${fv.kind} page ${fv.page} (seed ${bad.seed})`, type: fv.oracle, text: `${cell.summary.violationRate.k}/${runs.length} runs with a violation; first: ${fv.detail}\nactors: ${fv.actors.join(', ')}\nre-run: ${cell.command}` } } : {}),
      ...(broken ? { error: { message: broken.failures[0] ?? 'internal failure', type: 'internal', text: `seed ${broken.seed}: ${broken.failures.join('\n')}\nre-run: ${cell.command}` } } : {}),
      systemOut: runs.length === 0 ? 'not run in this report (another shard)' : `${runs.length} runs, seeds ${runs.map((x) => x.seed).join(',')}`,
    };
  });
  return junitXml(`pinlab ${r.name}`, cases, r.durationMs / 1000);
}
