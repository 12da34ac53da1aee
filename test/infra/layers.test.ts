// The layering of src/ (README "Layout"): the explore engine (src/explore) sits above the
// coordinator; the scheduler primitives (src/sched) and the scenario catalogue (src/scenario) sit
// below both, so neither may import src/coordinator or src/explore — nor may anything under the
// coordinator import the engine above it. Reads every import, export-from and import() of the
// folders' .ts files and resolves it against the importing file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every .ts file under `dir`, recursively. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The module specifiers of `text`: static imports, `export … from`, `import type`, and import('…'). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** The src/ top-level folder a relative specifier of `file` lands in (null: a package, or outside src). */
function targetFolder(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const rel = relative(SRC, resolve(dirname(file), spec));
  return rel.startsWith('..') ? null : rel.split(sep)[0]!;
}

/** "file: specifier" for every import of a file under `folders` that lands in one of `forbidden`. */
function offenders(folders: readonly string[], forbidden: readonly string[]): string[] {
  const bad: string[] = [];
  for (const folder of folders) {
    for (const file of tsFiles(join(SRC, folder))) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        const t = targetFolder(file, spec);
        if (t !== null && forbidden.includes(t)) bad.push(`${relative(SRC, file)}: ${spec}`);
      }
    }
  }
  return bad;
}

describe('layers', () => {
  it('the import reader sees every form of import', () => {
    const text = [
      "import { a } from '../coordinator/explore.js';",
      "import type { B } from '../explore/explore.js';",
      "export { c } from '../coordinator/x.js';",
      "import '../explore/side-effect.js';",
      "const m = await import('../coordinator/run.js');",
      'import {\n  d,\n  e,\n} from "../explore/multi.js";',
      "// a comment saying coordinator/explore.ts, not an import",
    ].join('\n');
    expect(specifiers(text)).toEqual([
      '../coordinator/explore.js', '../explore/explore.js', '../coordinator/x.js', '../explore/side-effect.js',
      '../coordinator/run.js', '../explore/multi.js',
    ]);
    expect(targetFolder(join(SRC, 'sched', 'x.ts'), '../coordinator/explore.js')).toBe('coordinator');
    expect(targetFolder(join(SRC, 'sched', 'strategy', 'x.ts'), '../layout.js')).toBe('sched');
    expect(targetFolder(join(SRC, 'sched', 'x.ts'), 'piscina')).toBeNull();
  });

  it('src/sched and src/scenario import neither the coordinator nor the explore engine', () => {
    expect(tsFiles(join(SRC, 'sched')).length).toBeGreaterThan(5);
    expect(offenders(['sched', 'scenario'], ['coordinator', 'explore', 'cli'])).toEqual([]);
  });

  it('nothing below the explore engine imports it', () => {
    expect(offenders(['coordinator', 'kernel', 'clients', 'mem', 'oracle', 'sched', 'scenario'], ['explore', 'cli'])).toEqual([]);
  });
});
