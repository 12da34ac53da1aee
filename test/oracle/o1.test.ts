/**
 * O1's own tests (issue 13): the oracle fires on a hand-built state that
 * violates it, and stays silent on the nearest legal state — an oracle that cannot fail is worse
 * than none. Everything runs on the test's thread, on a small machine and lab built here.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../src/kernel/index.js';
import { PAGE, pfnAt, populate } from './mm-helpers.js';
import { PG } from '../../src/mem/layout.js';
import { GHOST_PIN, GHOST_UNPIN, Lab, type LabConfig, ORACLE, VIOLATION_KIND } from '../../src/oracle/lab.js';
import { installPinCheckOracle, pinHolder, pinHolders } from '../../src/oracle/o1.js';


function machine(): K.KernelContext {
  return K.boot(
    {
      normalFrames: 64, movableFrames: 0, daxFrames: 4, huge2mPages: 1, huge1gPages: 0, wordsPerPage: 2,
      nrMms: 1, vaPages: 1 << 12, maxVmas: 8, nrFiles: 1, filePages: 4, nrCpus: 1, folioPools: [{ order: 2, count: 2 }],
    },
    { era: 'v6.3' },
  );
}

function lab(k: K.KernelContext, over: Partial<LabConfig> = {}): Lab {
  return Lab.create({
    nrActors: 3, ledgerSlots: 4, ringEntries: 4, totalFrames: k.layout.totalFrames, nrFiles: 1, filePages: 4, odpPages: 1,
    nrMms: 1, vaPages: 1 << 12, ...over,
  });
}



/** A mapped, faulted-in small anon page. */
function mappedPage(): { k: K.KernelContext; mm: K.MmStruct; addr: number; p: number } {
  const k = machine();
  const mm = K.mm_of(0);
  const addr = K.do_mmap(mm, { length: PAGE, kind: 'anon' });
  populate(mm, addr, 1);
  return { k, mm, addr, p: pfnAt(mm, addr) };
}

// ---- O1 ------------------------------------------------------------------------------------

describe('O1 no false negative (the pinCheck bracket)', () => {
  it('fires when a pin is outstanding throughout and page_maybe_dma_pinned() says false', () => {
    const { k, p } = mappedPage();
    const l = lab(k);
    l.store(l.ledgerIndex(1, 2), p + 1); // actor 1 holds it in its ledger
    l.add(l.ghostIndex(p), GHOST_PIN);
    const o = installPinCheckOracle(k, l, { coordActor: 2 });
    expect(K.page_maybe_dma_pinned(p)).toBe(false); // the page holds no real pin
    expect(o.checks).toBe(1);
    expect(o.falseNegatives).toBe(1);
    const v = l.violations();
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ oracle: ORACLE.O1, actor: 1, page: p, kind: VIOLATION_KIND.FALSE_NEGATIVE, b: 1, c: 1 });
    expect(l.lastEvents(2, 4)).toEqual([{ seq: 0, event: 'pin_check', page: p, arg: 0 }]);
    o.uninstall();
    expect(k.pinCheck).toBeNull();
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    expect(o.checks).toBe(1);
  });

  it('is silent when the pin is real, when an unpin ran during the evaluation, and when nothing is pinned', () => {
    const { k, mm, addr, p } = mappedPage();
    const l = lab(k);
    const o = installPinCheckOracle(k, l);
    const gi = l.ghostIndex(p);
    // Nothing pinned, nothing in the ghost word: false is the truth.
    expect(K.page_maybe_dma_pinned(p)).toBe(false);
    // A real pin recorded in the ghost word: true.
    const pages = new Int32Array(1);
    expect(K.pin_user_pages_fast(mm, addr, 1, 0, pages)).toBe(1);
    l.add(gi, GHOST_PIN);
    expect(K.page_maybe_dma_pinned(p)).toBe(true);
    // The ghost says pinned at w1, but an unpin completed before w2: false is allowed.
    l.add(gi, GHOST_UNPIN);
    K.unpin_user_pages(pages, 1);
    l.add(gi, GHOST_PIN);
    expect(o.check(p, () => {
      l.add(gi, GHOST_UNPIN);
      return false;
    })).toBe(false);
    expect(o.checks).toBe(3);
    expect(o.falseNegatives).toBe(0);
    expect(l.violations()).toEqual([]);
    expect(o.falsePositives).toEqual({ overflow: 0, 'plain-references': 0, 'in-flight': 0 });
  });

  it('counts true answers with no pin outstanding by cause', () => {
    const { k, p } = mappedPage();
    const l = lab(k);
    const o = installPinCheckOracle(k, l);
    expect(o.check(p, () => true)).toBe(true);
    expect(o.falsePositives).toEqual({ overflow: 0, 'plain-references': 0, 'in-flight': 1 });
    l.store(l.layout.ghostGetOff + p, K.GUP_PIN_COUNTING_BIAS);
    o.check(p, () => true);
    expect(o.falsePositives['plain-references']).toBe(1);
    l.store(l.layout.ghostGetOff + p, K.GUP_PIN_COUNTING_BIAS - 1);
    o.check(p, () => true);
    expect(o.falsePositives['in-flight']).toBe(2);
    k.mem.store(K.pw(p, PG.REFCOUNT), -1);
    o.check(p, () => true);
    expect(o.falsePositives.overflow).toBe(1);
    // A pin outstanding at w1 or at w2 is not a false positive.
    k.mem.store(K.pw(p, PG.REFCOUNT), 1);
    l.add(l.ghostIndex(p), GHOST_PIN);
    o.check(p, () => true);
    o.check(p, () => {
      l.add(l.ghostIndex(p), GHOST_UNPIN);
      return true;
    });
    expect(o.falsePositives).toEqual({ overflow: 1, 'plain-references': 1, 'in-flight': 2 });
    expect(o.falseNegatives).toBe(0);
  });

  it('pinHolders finds every actor holding a subpage of the folio, once each, in actor order', () => {
    const k = machine();
    const l = lab(k);
    const mm = K.mm_of(0);
    const f = K.do_mmap(mm, { length: 4 * PAGE, kind: 'anon', order: 2 });
    populate(mm, f, 4);
    const head = K.compound_head(pfnAt(mm, f));
    expect(K.compound_order(head)).toBe(2);
    expect(pinHolder(l, k.layout, head)).toBe(-1);
    expect(pinHolders(l, k.layout, head)).toEqual([]);
    l.store(l.ledgerIndex(2, 3), head + 3 + 1);
    l.store(l.ledgerIndex(1, 0), head + 2 + 1);
    l.store(l.ledgerIndex(1, 1), head + 1 + 1);
    l.store(l.ledgerIndex(0, 0), head + 4 + 1); // another folio
    expect(pinHolders(l, k.layout, head)).toEqual([1, 2]);
    expect(pinHolders(l, k.layout, head, true)).toEqual([1]);
    expect(pinHolder(l, k.layout, head)).toBe(1);
    expect(pinHolder(l, k.layout, head + 4)).toBe(0);
  });
});

