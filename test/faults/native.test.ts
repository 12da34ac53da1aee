// Native bugs: where an era's tree has a catalogue bug's code, that era runs it by default
// (EraSpec.native, src/kernel/era/). Each native bug is found on its era — in explore mode, with
// the fault's own setup (src/scenario/fault-explore.ts) and its budget, and no --fault given; an
// era with several native bugs may show another one first, so the campaign keeps going and some
// failing trial must show this one — and never on the eras whose trees fixed it. A fixing era
// that has native bugs of its own (v5.7 after rfc-2019's undo bug) can show the same kind of
// violation through its own bug (v5.7's CMA loop leaves longterm pins in CMA as rfc-2019's gup-fast
// does), so there the switch is shown off; the behavioural check runs on the eras with none.
// Deterministic: the same trials fail every run.
import { afterAll, describe, expect, it } from 'vitest';
import { exploreScenario } from '../../src/explore/explore.js';
import { boot } from '../../src/kernel/boot.js';
import { ERA_SPECS } from '../../src/kernel/era/index.js';
import { ERAS, type Era } from '../../src/mem/layout.js';
import { faultExploreOptions, faultExploreScenario, matchesExpectation } from '../../src/scenario/fault-explore.js';
import { FAULT_NAMES, nativeIn } from '../../src/scenario/faults.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { TrialRunner } from '../../src/explore/runner.js';

const runner = new TrialRunner();
afterAll(() => runner.destroy());

const NATIVE = [...new Set(ERAS.flatMap((e) => ERA_SPECS[e].native))];
/** An era fixed a bug if it is later than every era whose tree has it. */
const fixedIn = (name: string): Era[] => {
  const last = Math.max(...nativeIn(name).map((e) => ERAS.indexOf(e)));
  return ERAS.filter((_, i) => i > last);
};

describe('native bugs of the eras', () => {
  it('every native bug is a catalogue fault, and the current era has none', () => {
    for (const name of NATIVE) expect(FAULT_NAMES, name).toContain(name);
    expect(ERA_SPECS['v6.18'].native).toEqual([]);
    expect(nativeIn('unbalanced-undo')).toEqual(['rfc-2019']);
    expect(nativeIn('stats-after-put')).toEqual(['rfc-2019', 'v5.7']);
    expect(nativeIn('cma-unpin-put-page')).toEqual(['rfc-2019', 'v5.7']);
    expect(nativeIn('cma-migrate-fail-repin')).toEqual(['rfc-2019', 'v5.7']);
    expect(nativeIn('huge-run-one-bias')).toEqual(['rfc-2019']);
    expect(nativeIn('gup-fast-longterm-cma')).toEqual(['rfc-2019']);
    // Before 70e806e4e645 (≈v5.9), 57efa1fe5957 (≈v5.11) and 09854ba94c6a (≈v5.9).
    expect(nativeIn('fork-no-early-cow')).toEqual(['rfc-2019', 'v5.7']);
    expect(nativeIn('gup-fast-no-wp-seq')).toEqual(['rfc-2019', 'v5.7']);
    expect(nativeIn('cow-reuse-by-mapcount')).toEqual(['rfc-2019', 'v5.7']);
  });

  for (const name of NATIVE) {
    for (const era of nativeIn(name)) {
      it(`${name} is found on ${era} with no --fault (its explore setup and budget)`, async () => {
        const s = parseScenario({ ...faultExploreScenario(name, false), era });
        expect(s.faults).toEqual([]);
        const r = await exploreScenario(s, { runner, ...faultExploreOptions(name), keepGoing: true });
        expect(r.outcome, JSON.stringify(r.failure?.violations.slice(0, 3))).toBe('violation');
        const shown = r.failures.some((f) => f.violations.some((v) => matchesExpectation(name, v)));
        expect(shown, JSON.stringify(r.failures.map((f) => f.violations.map((v) => v.kind)))).toBe(true);
      });
    }
    for (const era of fixedIn(name)) {
      it(`${name} is off on ${era}, whose tree fixed it`, () => {
        expect(boot({ normalFrames: 64 }, { era }).fault(name)).toBe(false);
        expect(boot({ normalFrames: 64 }, { era, faults: [name] }).fault(name)).toBe(true);
      });
    }
    for (const era of fixedIn(name).filter((e) => ERA_SPECS[e].native.length === 0)) {
      it(`${name} is not found on ${era}, whose tree fixed it`, async () => {
        const o = faultExploreOptions(name);
        const r = await exploreScenario(parseScenario({ ...faultExploreScenario(name, false), era }), {
          runner, ...o, trials: Math.min(o.trials ?? 100, 200),
        });
        expect(r.outcome, JSON.stringify(r.failure?.violations.slice(0, 3))).toBe('clean');
      });
    }
  }
});
