/** Process exit codes of the pinlab CLI (README "Exit codes" lists the same). */
export const ExitCode = {
  /** Clean run: no violation found, and the run did meaningful work. */
  Ok: 0,
  /** A pinning invariant was violated (O1–O6; a deadlock found by the watchdog is O5). */
  Violation: 1,
  /** Bad input: unknown option, invalid scenario, schedule or module, unusable output path. */
  BadInput: 2,
  /** Internal failure of pinlab itself. */
  Internal: 3,
  /**
   * Inconclusive, no violation found: the run was VACUOUS (a client kind took no pins or made no
   * accesses, or the coordinator did no mm operation), or an explore trial was too long for its
   * step bound (raise --max-steps).
   */
  Inconclusive: 4,
  /** Stopped by SIGINT (Ctrl-C), no violation found: 128 + 2. A second Ctrl-C quits at once with it too. */
  Interrupted: 130,
  /** Stopped by SIGTERM, no violation found: 128 + 15. */
  Terminated: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The signals that stop a run, and the exit code each one gives. */
export type StopSignal = 'SIGINT' | 'SIGTERM';
export const signalExitCode = (s: StopSignal): ExitCode => (s === 'SIGTERM' ? ExitCode.Terminated : ExitCode.Interrupted);
