/**
 * Output paths (`--json`, `--out`, later `--html`, `--junit`) checked before a run starts, so a
 * run is never spent only to find its report cannot be written: the path is not empty, not under
 * /proc or /sys (pseudo-filesystems: writes there fail or hang), names a regular file (or, for
 * `--out`, a directory) or something that can be created, and a file can really be created in
 * the directory it lands in (a probe file is made and removed).
 */
import { accessSync, closeSync, constants, lstatSync, openSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

const PSEUDO_FS = ['/proc', '/sys'];

const under = (abs: string, root: string): boolean => abs === root || abs.startsWith(root + sep);

/** The nearest existing ancestor of `abs` (itself if it exists). */
function existingAncestor(abs: string): string {
  let dir = abs;
  for (;;) {
    try {
      lstatSync(dir);
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return dir;
      dir = parent;
    }
  }
}

function probeDirectory(dir: string): string | null {
  const probe = join(dir, `.pinlab-probe-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
    return null;
  } catch (e) {
    return `cannot create a file in ${dir} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}

/**
 * Why `path` cannot take an output of kind `kind` ('file': a report file; 'directory': a folder
 * that receives files), or null when it can. Never creates anything but a removed probe file.
 */
export function outputPathProblem(path: string, kind: 'file' | 'directory'): string | null {
  if (path.trim() === '') return 'an empty path';
  const abs = resolve(path);
  const ancestor = existingAncestor(abs);
  let real: string;
  try {
    real = join(realpathSync(ancestor), abs.slice(ancestor.length));
  } catch {
    real = abs;
  }
  for (const root of PSEUDO_FS) {
    if (under(abs, root) || under(real, root)) return `under ${root}, a pseudo-filesystem`;
  }
  if (ancestor === abs) {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st === undefined) return 'a dangling symbolic link';
    if (kind === 'directory') {
      if (!st.isDirectory()) return 'not a directory';
      return probeDirectory(abs);
    }
    if (st.isDirectory()) return 'a directory, expected a file path';
    if (!st.isFile()) return 'not a regular file (a device, pipe or socket cannot take a report)';
    try {
      accessSync(abs, constants.W_OK);
    } catch {
      return 'not writable';
    }
    return probeDirectory(dirname(abs));
  }
  // Not there yet: it is created with its missing directories, under the nearest existing one.
  const st = statSync(ancestor, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) return `${ancestor} is not a directory`;
  return probeDirectory(ancestor);
}

/**
 * The reports' form of the check (--html, --junit, --csv, a sweep's --json): one line naming the
 * option and the path, or null when the path can take a file.
 */
export async function reportPathProblem(option: string, path: string): Promise<string | null> {
  const problem = outputPathProblem(path, 'file');
  return problem === null ? null : `${option} ${path}: ${problem}`;
}

/** Write a report file through a temporary file and a rename (never half a file). Returns the absolute path. */
export async function writeOutputFile(path: string, text: string): Promise<string> {
  return writeFileAtomic(path, text);
}
