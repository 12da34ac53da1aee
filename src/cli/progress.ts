/**
 * Run progress: a cli-progress bar on a terminal; otherwise one plain log line every ~2 s
 * (no control characters, so CI logs stay clean); nothing when quiet.
 */
import cliProgress from 'cli-progress';
import { fmtDuration, fmtNum } from '../report/text.js';
import type { RunProgress } from './engine.js';

/** What the CLI writes to: a stream, a TTY or a test's capture. */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  start(durationMs: number): void;
  update(p: RunProgress): void;
  /** Print a message without garbling the bar. */
  note(message: string): void;
  stop(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  /** Minimum time between two log lines when not a TTY (default 2000 ms). */
  logIntervalMs?: number;
  now?: () => number;
}

export function createProgress(stream: OutStream, opts: ProgressOptions = {}): Progress {
  if (opts.quiet) return { start() {}, update() {}, note: (m) => void stream.write(m + '\n'), stop() {} };
  return stream.isTTY ? barProgress(stream) : logProgress(stream, opts.logIntervalMs ?? 2000, opts.now ?? Date.now);
}

export function progressLine(p: RunProgress): string {
  return (
    `${fmtDuration(p.elapsedMs)} / ${fmtDuration(p.durationMs)}   ops ${fmtNum(p.ops)}   mm ops ${fmtNum(p.mmOps)}` +
    `   violations ${fmtNum(p.violations)}`
  );
}

function logProgress(stream: OutStream, intervalMs: number, now: () => number): Progress {
  let last = -Infinity;
  return {
    start() {
      last = now();
    },
    update(p) {
      const t = now();
      if (t - last < intervalMs) return;
      last = t;
      stream.write(`pinlab: ${progressLine(p)}\n`);
    },
    note(message) {
      stream.write(message + '\n');
    },
    stop() {},
  };
}

/**
 * The one terminal bar every command draws (run, explore, sweep): `format` is cli-progress's line,
 * `fps` its redraw rate. gracefulExit is off: the CLI owns SIGINT (cooperative stop) and stops the
 * bar itself.
 */
export function singleBar(stream: OutStream, format: string, fps: number): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream: stream as unknown as NodeJS.WritableStream, format, barsize: 24, hideCursor: true, gracefulExit: false, clearOnComplete: false, fps },
    cliProgress.Presets.shades_classic,
  );
}

function barProgress(stream: OutStream): Progress {
  const bar = singleBar(stream, ' {bar} {percentage}% | {elapsedF} / {durationF} | ops {ops} | mm ops {mmOps} | violations {violations}', 8);
  let running = false;
  const payload = (p: RunProgress) => ({
    elapsedF: fmtDuration(p.elapsedMs),
    durationF: fmtDuration(p.durationMs),
    ops: fmtNum(p.ops),
    mmOps: fmtNum(p.mmOps),
    violations: fmtNum(p.violations),
  });
  return {
    start(durationMs) {
      bar.start(Math.max(1, durationMs), 0, payload({ elapsedMs: 0, durationMs, ops: 0, mmOps: 0, violations: 0 }));
      running = true;
    },
    update(p) {
      if (!running) return;
      if (p.durationMs > 0 && p.durationMs !== bar.getTotal()) bar.setTotal(p.durationMs);
      bar.update(Math.min(p.elapsedMs, p.durationMs), payload(p));
    },
    note(message) {
      // Leave the bar's line intact and print below it; the bar redraws on the next update.
      stream.write('\n' + message + '\n');
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
