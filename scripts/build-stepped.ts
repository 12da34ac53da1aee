/**
 * Generate the in-thread engine's stepped form of the protocol code into build/stepped/
 * (src/explore/inthread/transform.ts). The engine also builds it on demand; this script forces a
 * rebuild (`--force`) and prints what the transform reported. Exit 1 if it reported sites.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStepped } from '../src/explore/inthread/transform.js';

const here = dirname(fileURLToPath(import.meta.url));
// From scripts/ (tsx) or dist/scripts/ (built): the package root holds src/.
const root = here.endsWith(join('dist', 'scripts')) ? join(here, '..', '..') : join(here, '..');
const b = await buildStepped(root, { force: process.argv.includes('--force') });
console.log(`stepped build: ${b.files} modules, ${b.generators} generator functions, ${b.ms.toFixed(0)} ms${b.cached ? ' (cached)' : ''} -> ${b.outDir}`);
for (const r of b.report) console.log(`  cannot step: ${r}`);
process.exitCode = b.report.length > 0 ? 1 : 0;
