/**
 * POSIX getopt(3) as glibc does it: an option string like "m:r:n:" (a colon: the option takes an
 * argument, attached `-n32` or next `-n 32`), grouped flags (`-ct`), `--` ends the options, and
 * non-option arguments are permuted to the end (GNU), so `-c 0 19 -t` works. Returns the options
 * in order and the operands, or the first problem in getopt's own words.
 */
export interface GetoptResult {
  opts: Array<{ opt: string; arg?: string }>;
  operands: string[];
  /** "invalid option -- 'x'" or "option requires an argument -- 'n'". */
  error?: string;
}

export function getopt(argv: readonly string[], optstring: string): GetoptResult {
  const opts: GetoptResult['opts'] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = c === ':' ? -1 : optstring.indexOf(c);
      if (at < 0) return { opts, operands, error: `invalid option -- '${c}'` };
      if (optstring[at + 1] !== ':') {
        opts.push({ opt: c });
        continue;
      }
      const rest = a.slice(j + 1);
      if (rest !== '') opts.push({ opt: c, arg: rest });
      else if (i + 1 < argv.length) opts.push({ opt: c, arg: argv[++i]! });
      else return { opts, operands, error: `option requires an argument -- '${c}'` };
      break;
    }
  }
  return { opts, operands };
}

/** strtol(s, 0, 0): decimal, 0x hex or 0 octal, with an optional sign; null if s is not wholly a number. */
export function strtol0(s: string): number | null {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return null;
  const body = m[2]!;
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}
