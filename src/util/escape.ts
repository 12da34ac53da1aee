/**
 * Text bound for a terminal: control characters (C0 but newline and tab, DEL, C1) are shown as
 * `\xNN`, so a scenario name or a file's bytes cannot move the cursor, clear the screen or set
 * the window title.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `s` with every control character but `\n` and `\t` escaped as `\xNN`. */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
