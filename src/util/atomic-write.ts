/**
 * Whole-file writes that no reader sees half done: the text goes to a temporary file beside the
 * target, which is then renamed over it (rename(2) is atomic within a filesystem). Temporary files
 * still being written are tracked, so an immediate quit (a second Ctrl-C) can remove them.
 */
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

const pending = new Set<string>();
let serial = 0;

function tempPathFor(abs: string): string {
  return join(dirname(abs), `.${basename(abs)}.${process.pid}.${++serial}.tmp`);
}

/** Write `text` to `path` (its directory created) through a temporary file and a rename. Returns the absolute path. */
export async function writeFileAtomic(path: string, text: string): Promise<string> {
  const abs = resolve(path);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = tempPathFor(abs);
  pending.add(tmp);
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, abs);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  } finally {
    pending.delete(tmp);
  }
  return abs;
}

/** writeFileAtomic, synchronously. */
export function writeFileAtomicSync(path: string, text: string): string {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = tempPathFor(abs);
  pending.add(tmp);
  try {
    writeFileSync(tmp, text, 'utf8');
    renameSync(tmp, abs);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // it may not exist
    }
    throw e;
  } finally {
    pending.delete(tmp);
  }
  return abs;
}

/** Remove the temporary files of writes still in progress (before an immediate exit). */
export function removePendingTempFiles(): void {
  for (const tmp of pending) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
  }
  pending.clear();
}
