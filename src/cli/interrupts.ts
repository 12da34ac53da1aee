/**
 * Ctrl-C and SIGTERM during a command: the first signal aborts the command's controller (a
 * cooperative stop: the run ends, its reports are written, the exit code is 130 or 143), the second
 * quits at once with the code of that signal, removing the temporary files of reports being
 * written. The handler stays installed until the command's reports are out (remove()).
 */
import { removePendingTempFiles } from '../util/atomic-write.js';
import type { CliIO } from './cli.js';
import { signalExitCode, type StopSignal } from './exit-codes.js';

export interface Interrupts {
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** The first signal received, if any. */
  received(): StopSignal | undefined;
  remove(): void;
}

/** `what` names what is stopped in the note ("run", "exploration"). */
export function installInterrupts(
  io: Pick<CliIO, 'onInterrupt' | 'exit'>, err: (s: string) => void, note: (m: string) => void, stopProgress: () => void, what: string,
): Interrupts {
  const controller = new AbortController();
  let first: StopSignal | undefined;
  const remove = io.onInterrupt((signal = 'SIGINT') => {
    if (first === undefined) {
      first = signal;
      note(`pinlab: ${signal === 'SIGTERM' ? 'terminated' : 'interrupted'}, stopping the ${what} (press Ctrl-C again to quit at once)`);
      controller.abort();
    } else {
      stopProgress();
      removePendingTempFiles();
      err('pinlab: quit\n');
      io.exit(signalExitCode(signal));
    }
  });
  return { signal: controller.signal, received: () => first, remove };
}
