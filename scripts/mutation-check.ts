/**
 * Per-file mutation-score gate (`npm run mutation` runs it after Stryker): reads Stryker's JSON
 * report (the mutation-testing-report-schema `mutation.json`), prints one row per file of
 * src/kernel and src/oracle — killed, timeout, survived, no coverage, score — and exits 1 when a
 * file's score is below the threshold. Stryker's own `thresholds` are global only.
 *
 * Score = (killed + timeout) / valid mutants, valid = killed + timeout + survived + no coverage
 * (compile and runtime errors and ignored mutants do not count), as Stryker computes it. A file
 * with no valid mutant (every mutant static and ignored, or none at all: a file of constants or
 * re-exports) has nothing to score and passes; its row says "no mutants" and how many were ignored.
 *
 * Usage: tsx scripts/mutation-check.ts [--report reports/mutation/mutation.json ...] [--threshold 80]
 * (several --report options merge per-file runs; a file in more than one is taken from the last).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** The per-file threshold, percent. */
export const MUTATION_THRESHOLD = 80;
/** The folders whose files must each reach the threshold. */
export const GATED_DIRS = ['src/kernel/', 'src/oracle/'] as const;

/** The part of a mutation-testing-report-schema report this gate reads. */
export interface MutationReport {
  files: Record<string, { mutants: { status: string }[] }>;
}

/** One file's counts and score (null when it has no valid mutant: nothing to score, it passes). */
export interface FileScore {
  file: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  /** Mutants not counted: ignored (static, with ignoreStatic), or compile/runtime errors. */
  ignored: number;
  score: number | null;
}

/** Per-file scores of the gated files in `report`, sorted by path. */
export function fileScores(report: MutationReport): FileScore[] {
  const out: FileScore[] = [];
  for (const [path, f] of Object.entries(report.files)) {
    const file = path.replace(/\\/g, '/').replace(/^.*?(?=src\/)/, '');
    if (!GATED_DIRS.some((d) => file.startsWith(d))) continue;
    const n = (s: string): number => f.mutants.filter((m) => m.status === s).length;
    const row = { file, killed: n('Killed'), timeout: n('Timeout'), survived: n('Survived') + n('Pending'), noCoverage: n('NoCoverage') };
    const valid = row.killed + row.timeout + row.survived + row.noCoverage;
    const ignored = f.mutants.length - valid;
    out.push({ ...row, ignored, score: valid === 0 ? null : (100 * (row.killed + row.timeout)) / valid });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** The rows below `threshold` percent (a file with no valid mutant is never one of them). */
export function failing(scores: FileScore[], threshold: number): FileScore[] {
  return scores.filter((s) => s.score !== null && s.score < threshold);
}

/** The table printed by the gate. */
export function formatTable(scores: FileScore[], threshold: number): string {
  const w = Math.max(4, ...scores.map((s) => s.file.length));
  const head = `${'file'.padEnd(w)}  killed timeout survived no-cov   score`;
  const rows = scores.map((s) => {
    const score = s.score === null ? 'no mutants' : `${s.score.toFixed(1).padStart(5)}%`;
    const mark = s.score === null ? `  (${s.ignored} ignored: nothing to score, passes)` : s.score < threshold ? '  < threshold' : '';
    return `${s.file.padEnd(w)}  ${String(s.killed).padStart(6)} ${String(s.timeout).padStart(7)} ${String(s.survived).padStart(8)} ${String(s.noCoverage).padStart(6)}  ${score}${mark}`;
  });
  return [head, ...rows].join('\n');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      report: { type: 'string', multiple: true, default: ['reports/mutation/mutation.json'] },
      threshold: { type: 'string', default: String(MUTATION_THRESHOLD) },
    },
  });
  const threshold = Number(values.threshold);
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100) {
    console.error(`mutation-check: --threshold must be a percentage in [0, 100], got '${values.threshold}'`);
    process.exit(2);
  }
  // Several reports (per-file runs) are merged; a file in more than one is taken from the last.
  const report: MutationReport = { files: {} };
  for (const path of values.report!) {
    try {
      const r = JSON.parse(readFileSync(path, 'utf8')) as MutationReport;
      if (typeof r.files !== 'object' || r.files === null) throw new Error('no "files" object');
      Object.assign(report.files, r.files);
    } catch (e) {
      console.error(`mutation-check: cannot read the Stryker JSON report ${path}: ${(e as Error).message}`);
      process.exit(2);
    }
  }
  const scores = fileScores(report);
  console.log(formatTable(scores, threshold));
  const bad = failing(scores, threshold);
  if (bad.length > 0) {
    console.error(`mutation-check: ${bad.length} file(s) below ${threshold}%: ${bad.map((s) => s.file).join(', ')}`);
    process.exitCode = 1;
  } else {
    const none = scores.filter((s) => s.score === null).length;
    const noneNote = none > 0 ? ` (${none} with no mutants, nothing to score)` : '';
    console.log(`mutation-check: every measured file of ${GATED_DIRS.join(' and ')} is at ${threshold}% or more${noneNote}`);
  }
}

main();
