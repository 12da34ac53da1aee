/**
 * vitest globalSetup: make the in-thread engine's stepped build (build/stepped, cached by a hash
 * of src/) once, before any test file, so that the first explore campaign of each file does not
 * pay it (or race another file to it). Explore runs on the in-thread engine by default ('auto').
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStepped } from '../src/explore/inthread/transform.js';

export default async function setup(): Promise<void> {
  const b = await buildStepped(join(dirname(fileURLToPath(import.meta.url)), '..'));
  if (b.report.length > 0) throw new Error(`the stepped build reported ${b.report.length} sites it cannot step (first: ${b.report[0]})`);
}
