/** Sweep progress: runs done of all, with an ETA — a cli-progress bar on a terminal, a plain line every ~2 s otherwise. */
import { fmtDuration } from '../report/text.js';
import type { SweepProgress } from '../sweep/sweep.js';
import { type OutStream, singleBar } from './progress.js';

export interface SweepProgressView {
  update(p: SweepProgress): void;
  note(message: string): void;
  stop(): void;
}

/** ETA from the mean time per finished run (unknown before the first). */
export function etaMs(p: SweepProgress): number | null {
  return p.done === 0 ? null : (p.elapsedMs / p.done) * (p.total - p.done);
}

export function sweepProgressLine(p: SweepProgress): string {
  const eta = etaMs(p);
  return `${p.done}/${p.total} runs   ${fmtDuration(p.elapsedMs)} elapsed   ETA ${eta === null ? '?' : fmtDuration(eta)}   ${p.label}`;
}

export function createSweepProgress(stream: OutStream, o: { quiet?: boolean; logIntervalMs?: number; now?: () => number } = {}): SweepProgressView {
  if (o.quiet) return { update() {}, note: (m) => void stream.write(m + '\n'), stop() {} };
  if (!stream.isTTY) {
    const now = o.now ?? Date.now;
    let last = -Infinity;
    return {
      update(p) {
        if (now() - last < (o.logIntervalMs ?? 2000) && p.done < p.total) return;
        last = now();
        stream.write(`pinlab: ${sweepProgressLine(p)}\n`);
      },
      note: (m) => void stream.write(m + '\n'),
      stop() {},
    };
  }
  const bar = singleBar(stream, ' {bar} {value}/{total} runs | {elapsedF} | ETA {etaF} | {label}', 4);
  let running = false;
  return {
    update(p) {
      const eta = etaMs(p);
      const payload = { elapsedF: fmtDuration(p.elapsedMs), etaF: eta === null ? '?' : fmtDuration(eta), label: p.label };
      if (!running) {
        bar.start(Math.max(1, p.total), p.done, payload);
        running = true;
      } else bar.update(p.done, payload);
    },
    note: (m) => void stream.write('\n' + m + '\n'),
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
