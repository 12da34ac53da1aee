/** Process exit codes of the pinlab CLI. */
export const ExitCode = {
  /** Clean run: no violation found. */
  Ok: 0,
  /** A pinning invariant was violated. */
  Violation: 1,
  /** Bad input: unknown option, invalid scenario, etc. */
  BadInput: 2,
  /** Internal failure of pinlab itself. */
  Internal: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
