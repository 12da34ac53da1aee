/**
 * The engine the CLI drives: `runScenario(scenario, opts)` from src/coordinator/run.ts.
 * The CLI takes it as a dependency (tests inject a fake); the real one is imported on first use,
 * so `pinlab list` and `--help` do not load the coordinator.
 */
import type { RunReport } from '../report/types.js';
import type { Scenario } from '../scenario/schema.js';
import type { RunOptions } from '../coordinator/run.js';

export type { RunOptions, RunProgress } from '../coordinator/run.js';

/** What the CLI needs of the engine: the progress callback and the cooperative-stop signal. */
export type RunEngine = (scenario: Scenario, opts: Pick<RunOptions, 'onProgress' | 'signal'>) => Promise<RunReport>;

type Coordinator = typeof import('../coordinator/run.js');
let coordinator: Coordinator | undefined;

/** The real engine, loaded on first use. */
export const lazyRunScenario: RunEngine = async (scenario, opts) => {
  coordinator ??= await import('../coordinator/run.js');
  return coordinator.runScenario(scenario, opts);
};

/** Release the engine's threads (the shared actor pool) if it was loaded. */
export async function shutdownEngine(): Promise<void> {
  if (coordinator) await coordinator.shutdownPool();
}
