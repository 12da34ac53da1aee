/**
 * Engine selection for explore trials: the baton engine (one worker thread per participant,
 * src/explore/runner.ts) or the in-thread engine (every participant a generator on the calling
 * thread, ./driver.ts from the stepped build). Both take the same TrialSpec and give the same
 * TrialResult; for the same (strategy, seed, trial) they take the same decisions.
 *
 * The in-thread engine cannot run custom clients (`defineClient` modules are the user's code, not
 * transformed); an unavailable stepped build (no TypeScript sources, no `typescript5`, or sites
 * the transform reports) also leaves the baton engine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type TrialResult, type TrialRunner, type TrialSpec } from '../runner.js';

/** Which engine runs explore trials: 'auto' picks the in-thread one where it can express the trial. */
export type EngineName = 'auto' | 'baton' | 'inthread';
export const ENGINE_NAMES: readonly EngineName[] = ['auto', 'baton', 'inthread'];

/** Parse an engine name (CLI --engine, PINLAB_ENGINE); throws RangeError naming the bad value. */
export function parseEngine(v: string): EngineName {
  if ((ENGINE_NAMES as readonly string[]).includes(v)) return v as EngineName;
  throw new RangeError(`engine must be one of ${ENGINE_NAMES.join(', ')}, got "${v}"`);
}

/** Why a trial cannot run in-thread, or null if it can. */
export function inThreadBlocker(spec: TrialSpec): string | null {
  for (const p of spec.participants) {
    if (p.role === 'client' && p.spec.kind === 'custom') return `custom client ${p.spec.name} (its module is not transformed)`;
    if (p.role === 'coordinator' && p.plan.specs.some((x) => x.kind === 'custom')) return 'custom clients in the scenario';
  }
  return null;
}

/** The package root (the directory holding package.json and src/), from this module's location. */
function packageRoot(): string | null {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'pinlab') return d;
    if (dirname(d) === d) return null;
  }
}

type Driver = { runTrialInThread(spec: TrialSpec): TrialResult };
let driver: Promise<Driver | string> | null = null;

/**
 * Load the in-thread driver (building the stepped form if the sources changed: a few seconds the
 * first time, cached under build/stepped after that). Resolves to the driver, or to why not.
 */
export function loadInThreadDriver(): Promise<Driver | string> {
  driver ??= (async (): Promise<Driver | string> => {
    const root = packageRoot();
    if (root === null || !existsSync(join(root, 'src', 'explore', 'inthread', 'driver.ts'))) return 'no TypeScript sources to transform';
    let build: Awaited<ReturnType<typeof import('./transform.js').buildStepped>>;
    try {
      const { buildStepped } = await import('./transform.js');
      build = await buildStepped(root);
    } catch (e) {
      return `the stepped build failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (build.report.length > 0) return `the transform reported ${build.report.length} sites it cannot step (first: ${build.report[0]})`;
    return (await import(pathToFileURL(build.entry).href)) as Driver;
  })();
  return driver;
}

/**
 * Get the in-thread engine ready now, so that a campaign's time budget does not pay its first
 * stepped build: `onBuild` is called first when the build is not cached (a few seconds of CPU).
 * Resolves when the driver is loaded, or when it cannot be (the campaign then uses the baton engine).
 */
export async function prepareInThreadEngine(onBuild: () => void = () => {}): Promise<void> {
  const root = packageRoot();
  if (root !== null && existsSync(join(root, 'src', 'explore', 'inthread', 'driver.ts'))) {
    const { steppedBuildCurrent } = await import('./transform.js');
    if (!steppedBuildCurrent(root)) onBuild();
  }
  await loadInThreadDriver();
}

/** A TrialRunner-shaped front for the in-thread engine (explore's campaign code takes either). */
export class InThreadRunner {
  constructor(private readonly d: Driver) {}
  /** One trial, every participant on this thread (synchronous underneath). */
  runTrial(spec: TrialSpec): Promise<TrialResult> {
    return Promise.resolve(this.d.runTrialInThread(spec));
  }
  /** No threads to reserve. */
  reserve(_n: number): void {}
  get threads(): number {
    return 0;
  }
}

/**
 * The runner a trial should use: `engine` 'baton' always the baton runner; 'inthread' the
 * in-thread one or an Error saying why it cannot; 'auto' the in-thread one where available and the
 * trial expressible, else the baton runner.
 */
export async function selectRunner(engine: EngineName, spec: TrialSpec, baton: TrialRunner): Promise<TrialRunner | InThreadRunner> {
  if (engine === 'baton') return baton;
  const blocker = inThreadBlocker(spec);
  const d = blocker === null ? await loadInThreadDriver() : blocker;
  if (typeof d !== 'string') return new InThreadRunner(d);
  if (engine === 'inthread') throw new Error(`the in-thread engine cannot run this trial: ${d}`);
  return baton;
}
