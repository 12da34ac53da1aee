/**
 * Output files of the reports (--html, --junit, --csv, the sweep's --json): checked before the
 * run, written atomically. One function each, so the reliability branch's helper for --json/--out
 * can replace them in one place.
 */
import { constants } from 'node:fs';
import { access, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const FORBIDDEN = ['/proc', '/sys', '/dev'];

/**
 * Why `path` cannot take a report (one line naming the option), or null when it can: a regular
 * file path (or a new one) outside /proc, /sys and /dev, whose nearest existing ancestor is a
 * writable directory (missing directories are created at write time).
 */
export async function outputPathProblem(option: string, path: string): Promise<string | null> {
  const abs = resolve(path);
  if (FORBIDDEN.some((d) => abs === d || abs.startsWith(`${d}/`))) return `${option} ${path}: not a place for a report (under ${abs.split('/')[1] ? `/${abs.split('/')[1]}` : abs})`;
  const st = await stat(abs).catch(() => undefined);
  if (st !== undefined) {
    if (st.isDirectory()) return `${option} ${path}: is a directory, expected a file path`;
    if (!st.isFile()) return `${option} ${path}: not a regular file`;
    if (!(await access(abs, constants.W_OK).then(() => true, () => false))) return `${option} ${path}: not writable`;
    return null;
  }
  let dir = dirname(abs);
  for (;;) {
    const d = await stat(dir).catch(() => undefined);
    if (d !== undefined) {
      if (!d.isDirectory()) return `${option} ${path}: ${dir} is not a directory`;
      if (!(await access(dir, constants.W_OK).then(() => true, () => false))) return `${option} ${path}: directory ${dir} is not writable`;
      return null;
    }
    const up = dirname(dir);
    if (up === dir) return `${option} ${path}: no existing directory above it`;
    dir = up;
  }
}

/** Write `text` to `path` atomically (a temp file in the same directory, then rename). Returns the absolute path. */
export async function writeOutputFile(path: string, text: string): Promise<string> {
  const abs = resolve(path);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, abs);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return abs;
}
