import { afterAll, describe, expect, it } from 'vitest';
import { shutdownExplore } from '../../src/explore/explore.js';
import { exploreSmallScope } from '../../src/explore/small-scope.js';
import { matchesExpectation } from '../../src/scenario/fault-explore.js';
import { FAULTS } from '../../src/scenario/faults.js';
import { parseScenario } from '../../src/scenario/schema.js';

afterAll(() => shutdownExplore());

// The full table (every fault, --time 30 s on its scenario and 60 s on the default one) is
// scripts/bench-detect.ts; here a few faults with trial budgets, so the suite stays bounded and
// deterministic (a trial budget, unlike a time budget, does not depend on the machine's speed).
const OWN = ['odp-no-retry', 'pin-as-get', 'unbalanced-undo'] as const;

describe('catalogue faults by small-scope campaigns with the default portfolio, no hand-made setup', () => {
  for (const name of OWN) {
    it(`${name}: found on its catalogue scenario`, async () => {
      const f = FAULTS.find((x) => x.name === name)!;
      const r = await exploreSmallScope(parseScenario({ ...f.scenario, faults: [name] }), { seed: 1, trials: 600 });
      const hit = r.failure?.violations.find((v) => matchesExpectation(name, v));
      expect(hit, `${r.outcome} after ${r.trials} trials: ${JSON.stringify(r.failure?.violations.map((v) => `${v.oracle} ${v.kind}`))}`).toBeDefined();
    }, 120_000);
  }

  // The embedded default scenario with nothing but --fault: test/explore/small-scope.test.ts.
});
