// Issue 7 item 10: teardown costs what the run used, not the machine's size (12 M frames and big
// files made a 3 s run spend 45 s truncating page-cache ranges no client ever mapped). Measured as
// behaviour, not time: the shared stores of the end-of-run teardown are the same on a machine with
// 2 files of 512 pages and on one with 16 files of 65,536 pages.
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { finishRun, prepareRun, setupCoordinator } from '../../src/coordinator/setup.js';
import { ACCESS } from '../../src/mem/mem.js';
import { parseScenario } from '../../src/scenario/schema.js';

function teardownStores(nrFiles: number, filePages: number): { stores: number; violations: number } {
  const s = parseScenario({
    name: 'teardown', durationMs: 1000,
    machine: { nrFiles, filePages },
    clients: [{ kind: 'dio', mapping: 'file', file: 1, offset: 100, pages: 32, bufferPages: 4 }, { kind: 'get', mapping: 'anon', pages: 16 }],
  });
  const { k, lab, plan } = prepareRun(s);
  const { mmops } = setupCoordinator(k, lab, plan);
  // Fault the regions in (the page cache of file 1 gets 32 pages), as a run would.
  for (const x of plan.specs) {
    const pages = new Int32Array(x.pages);
    const n = K.get_user_pages(K.mm_of(x.mm), x.addr, x.pages, K.FOLL_WRITE, pages);
    expect(n).toBe(x.pages);
    for (let i = 0; i < n; i++) K.put_page(pages[i]!);
  }
  let stores = 0;
  k.mem.hook = {
    before(kind: number) {
      if (kind === ACCESS.STORE || kind === ACCESS.RMW) stores++;
    },
  };
  finishRun(k, lab, plan, mmops, new Set());
  k.mem.hook = null;
  return { stores, violations: lab.load(2) };
}

describe('end-of-run teardown', () => {
  it('does the same shared stores whatever the size of the files the machine has', () => {
    const small = teardownStores(2, 512);
    const big = teardownStores(16, 65_536);
    expect(small.violations).toBe(0);
    expect(big.violations).toBe(0);
    expect(small.stores).toBeGreaterThan(32); // the regions really were torn down
    expect(big.stores).toBe(small.stores);
  });
});
