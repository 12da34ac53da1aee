import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActorInit, type ActorResult, type ActorSpec } from '../../src/clients/types.js';
import { ActorDeadError, type ActorHandle, ActorPool, ActorTimeoutError } from '../../src/coordinator/pool.js';
import { boot } from '../../src/kernel/boot.js';
import { do_mmap, mm_of, PAGE_SIZE } from '../../src/kernel/mm.js';
import { ACTOR_STAT, ACTOR_STATE, LAB_HDR, Lab } from '../../src/oracle/lab.js';
import { workerUrl } from '../../src/util/worker-url.js';

const REGION_PAGES = 64;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A booted machine with one anon region in mm 0, and a fresh lab for `nrActors`. */
function machine(nrActors: number): { lab: Lab; init: ActorInit; addr: number } {
  const k = boot({}, { era: 'v6.3' });
  const addr = do_mmap(mm_of(0), { length: REGION_PAGES * PAGE_SIZE, kind: 'anon' });
  expect(addr).toBeGreaterThanOrEqual(0);
  const c = k.layout.config;
  const lab = Lab.create({
    nrActors, ledgerSlots: 64, ringEntries: 64, totalFrames: k.layout.totalFrames, nrFiles: c.nrFiles,
    filePages: c.filePages, odpPages: 16, nrMms: c.nrMms, vaPages: k.layout.vaPages,
  });
  const init: ActorInit = {
    machineSab: k.mem.sab, machineConfig: c, era: 'v6.3', faults: [], labSab: lab.sab, labConfig: lab.layout.config,
    delay: 'off', policy: 'skip', oracles: true, seed: 42,
  };
  return { lab, init, addr };
}

function spec(actor: number, kind: 'dio' | 'get', addr: number, chaos?: ActorSpec['chaos']): ActorSpec {
  return {
    actor, cpu: actor + 1, name: `${kind}#${actor}`, kind, mm: 0, addr, pages: REGION_PAGES, mapping: 'anon', file: 0,
    offset: 0, bufferPages: 4, holdOps: 0, writeRatio: 0.5, fast: true, dataWord: actor, ...(chaos ? { chaos } : {}),
  };
}

const ops = (lab: Lab, actor: number): number => lab.stat(actor, ACTOR_STAT.OPS);

/** Wait (bounded) until every listed actor has made progress. */
async function untilRunning(lab: Lab, actors: number[], boundMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!actors.every((a) => ops(lab, a) > 0)) {
    if (Date.now() - t0 > boundMs) throw new Error(`actors ${actors.join(',')} made no progress in ${boundMs} ms`);
    await sleep(10);
  }
}

function expectNormal(r: ActorResult, s: ActorSpec): void {
  expect(r).toMatchObject({ actor: s.actor, name: s.name, kind: s.kind });
  expect(r.error).toBeUndefined();
  expect(r.stats['ops']).toBeGreaterThan(0);
}

describe('ActorPool (real actor host and runtime)', () => {
  const SIZE = 4;
  let pool: ActorPool;
  let threads: number[];

  beforeAll(() => {
    pool = new ActorPool({ size: SIZE, startTimeoutMs: 20_000, callTimeoutMs: 3000, stopGraceMs: 3000 });
  });
  afterAll(async () => {
    await pool.destroy();
  });

  /** Start a batch of three actors and the gate; return what the tests look at. */
  async function batch(chaos: (ActorSpec['chaos'] | undefined)[] = []) {
    const { lab, init, addr } = machine(3);
    const specs = [spec(0, 'dio', addr, chaos[0]), spec(1, 'get', addr, chaos[1]), spec(2, 'dio', addr, chaos[2])];
    const handles = await pool.startActors(init, specs);
    expect(handles.map((h) => h.name)).toEqual(specs.map((s) => s.name));
    expect(handles.every((h) => h.state === 'configured' && !h.dead)).toBe(true);
    // Before run(): a running actor blocks its thread's event loop, so it answers nothing until it stops.
    expect(await Promise.all(handles.map((h) => h.ping()))).toEqual([true, true, true]);
    // Settled outcomes, so a rejection is observed rather than unhandled.
    const runs = handles.map((h) =>
      h.run().then(
        (r) => ({ ok: true as const, r, at: Date.now() }),
        (e: unknown) => ({ ok: false as const, e, at: Date.now() }),
      ),
    );
    const started = Date.now();
    lab.store(LAB_HDR.START_GATE, 1);
    return { lab, specs, handles, runs, started };
  }

  const releaseAll = (hs: ActorHandle[]): Promise<void[]> => Promise.all(hs.map((h) => h.release()));

  it('runs three actors until the stop word; each run() resolves with its ActorResult', async () => {
    threads = pool.threadIds();
    expect(threads).toHaveLength(SIZE);
    const { lab, specs, handles, runs } = await batch();
    expect(new Set(handles.map((h) => h.threadId)).size).toBe(3); // one thread each
    for (const h of handles) expect(threads).toContain(h.threadId);
    await untilRunning(lab, [0, 1, 2]);
    await sleep(200);
    lab.store(LAB_HDR.STOP, 1);
    const outcomes = await Promise.all(runs);
    outcomes.forEach((o, i) => {
      expect(o.ok).toBe(true);
      if (o.ok) expectNormal(o.r, specs[i]!);
      expect(lab.stat(i, ACTOR_STAT.STATE)).toBe(ACTOR_STATE.DONE);
    });
    await releaseAll(handles);
    expect(handles.map((h) => h.state)).toEqual(['released', 'released', 'released']);
    expect(handles.every((h) => h.error === undefined)).toBe(true);
  }, 20_000);

  it('runs a second batch on the same threads', async () => {
    const { lab, specs, handles, runs } = await batch();
    await untilRunning(lab, [0, 1, 2]);
    lab.store(LAB_HDR.STOP, 1);
    const outcomes = await Promise.all(runs);
    outcomes.forEach((o, i) => {
      expect(o.ok).toBe(true);
      if (o.ok) expectNormal(o.r, specs[i]!);
    });
    await releaseAll(handles);
    for (const h of handles) expect(threads).toContain(h.threadId);
    expect(pool.threadIds().sort()).toEqual([...threads].sort()); // no thread started or lost
    expect(pool.recreations).toBe(0);
  }, 20_000);

  it("chaos 'throw': that actor's run() returns an error promptly; the others finish normally", async () => {
    const { lab, specs, handles, runs, started } = await batch([undefined, { afterOps: 30, mode: 'throw' }, undefined]);
    const thrown = await runs[1]!; // resolves before the stop word is set
    expect(thrown.at - started).toBeLessThan(3000);
    expect(thrown.ok).toBe(true);
    if (thrown.ok) {
      expect(thrown.r.error).toMatch(/chaos/);
      expect(thrown.r.name).toBe('get#1');
    }
    expect(handles[1]!.dead).toBe(false);
    expect(lab.stopped()).toBe(false);
    // The others are still running.
    const before = [ops(lab, 0), ops(lab, 2)];
    await sleep(100);
    expect(ops(lab, 0)).toBeGreaterThan(before[0]!);
    expect(ops(lab, 2)).toBeGreaterThan(before[1]!);
    lab.store(LAB_HDR.STOP, 1);
    for (const i of [0, 2]) {
      const o = await runs[i]!;
      expect(o.ok).toBe(true);
      if (o.ok) expectNormal(o.r, specs[i]!);
    }
    await releaseAll(handles);
    expect(pool.threadIds().sort()).toEqual([...threads].sort()); // a thrown actor costs no thread
  }, 20_000);

  it("chaos 'exit': the handle is marked dead within 3 s, the others finish, and the pool runs the next batch", async () => {
    const deathsBefore = pool.deaths;
    const { lab, specs, handles, runs, started } = await batch([undefined, { afterOps: 30, mode: 'exit' }, undefined]);
    const died = await runs[1]!; // rejects before the stop word is set: nothing hangs
    const detectMs = died.at - started;
    expect(detectMs).toBeLessThan(3000);
    expect(died.ok).toBe(false);
    if (!died.ok) {
      expect(died.e).toBeInstanceOf(ActorDeadError);
      expect(String(died.e)).toMatch(/exited with code: 1/);
    }
    const dead = handles[1]!;
    expect(dead.dead).toBe(true);
    expect(dead.error).toMatch(/thread died/);
    expect(lab.stat(1, ACTOR_STAT.STATE)).toBe(ACTOR_STATE.DEAD);
    await expect(dead.ping()).rejects.toBeInstanceOf(ActorDeadError); // at once, not a hang
    // The others are unaffected.
    const before = [ops(lab, 0), ops(lab, 2)];
    await sleep(100);
    expect(ops(lab, 0)).toBeGreaterThan(before[0]!);
    expect(ops(lab, 2)).toBeGreaterThan(before[1]!);
    lab.store(LAB_HDR.STOP, 1);
    for (const i of [0, 2]) {
      const o = await runs[i]!;
      expect(o.ok).toBe(true);
      if (o.ok) expectNormal(o.r, specs[i]!);
    }
    await releaseAll(handles); // includes the dead one: resolves at once
    expect(pool.deaths).toBe(deathsBefore + 1);

    // piscina replaced the dead thread: same count, one new id, the others kept.
    const now = pool.threadIds();
    expect(now).toHaveLength(SIZE);
    expect(now).not.toContain(dead.threadId);
    expect(now.filter((t) => threads.includes(t))).toHaveLength(SIZE - 1);

    // A full-size batch runs on the repaired pool (so the replacement thread is used too).
    const m = machine(SIZE);
    const specs2 = [0, 1, 2, 3].map((a) => spec(a, a % 2 ? 'get' : 'dio', m.addr));
    const next = await pool.startActors(m.init, specs2);
    expect(new Set(next.map((h) => h.threadId))).toEqual(new Set(now));
    const runs2 = next.map((h) => h.run());
    m.lab.store(LAB_HDR.START_GATE, 1);
    await untilRunning(m.lab, [0, 1, 2, 3]);
    m.lab.store(LAB_HDR.STOP, 1);
    (await Promise.all(runs2)).forEach((r, i) => expectNormal(r, specs2[i]!));
    await releaseAll(next);
    expect(pool.recreations).toBe(0);
    expect(pool.poolErrors).toEqual([]);
    console.log(`pool: death detected ${detectMs} ms after the start gate (chaos exit after 30 ops)`);
  }, 25_000);

  it('refuses a batch that does not fit beside live actors, and grows when idle', async () => {
    const { lab, init, addr } = machine(SIZE + 1);
    const held = await pool.startActors(init, [spec(0, 'get', addr)]);
    const five = [0, 1, 2, 3, 4].map((a) => spec(a, 'get', addr));
    await expect(pool.startActors(init, five.slice(0, SIZE))).rejects.toThrow(/only 3 of 4 threads are free/);
    await releaseAll(held);
    const grown = await pool.startActors(init, five);
    expect(pool.size).toBe(SIZE + 1);
    expect(pool.recreations).toBe(1);
    const runs = grown.map((h) => h.run());
    lab.store(LAB_HDR.START_GATE, 1);
    await untilRunning(lab, [0, 1, 2, 3, 4]);
    lab.store(LAB_HDR.STOP, 1);
    (await Promise.all(runs)).forEach((r, i) => expectNormal(r, five[i]!));
    await releaseAll(grown);
  }, 25_000);
});

describe('ActorPool bounds an actor that ignores the stop word', () => {
  it('run() rejects after the stop grace; the thread comes back when the actor returns', async () => {
    const pool = new ActorPool({
      size: 1, worker: workerUrl('../fixtures/stubborn-actor-host', import.meta.url),
      startTimeoutMs: 20_000, callTimeoutMs: 3000, stopGraceMs: 300,
    });
    try {
      const { lab, init, addr } = machine(1);
      const [h] = await pool.startActors(init, [{ ...spec(0, 'get', addr), holdOps: 1200 /* ms past the stop word */ }]);
      const tid = h!.threadId;
      const run = h!.run().catch((e: unknown) => e);
      await sleep(100);
      lab.store(LAB_HDR.STOP, 1);
      const t0 = Date.now();
      const err = await run;
      const waited = Date.now() - t0;
      expect(err).toBeInstanceOf(ActorTimeoutError);
      expect(waited).toBeGreaterThanOrEqual(300);
      expect(waited).toBeLessThan(1100); // well before the actor returns
      expect(h!.dead).toBe(false);
      expect(h!.error).toMatch(/stop word/);
      // release() waits for the actor to return (within callTimeoutMs), then the thread is free again.
      await h!.release();
      expect(h!.state).toBe('released');
      const m = machine(1);
      const [again] = await pool.startActors(m.init, [spec(0, 'get', m.addr)]);
      expect(again!.threadId).toBe(tid);
      const run2 = again!.run();
      m.lab.store(LAB_HDR.STOP, 1);
      expect((await run2).name).toBe('get#0');
      await again!.release();
    } finally {
      await pool.destroy();
    }
  }, 20_000);

  it('a thread that never returns after release() is abandoned, and the next batch gets a new pool', async () => {
    const pool = new ActorPool({
      size: 1, worker: workerUrl('../fixtures/stubborn-actor-host', import.meta.url),
      startTimeoutMs: 20_000, callTimeoutMs: 300, stopGraceMs: 200,
    });
    try {
      const { lab, init, addr } = machine(1);
      const [h] = await pool.startActors(init, [{ ...spec(0, 'get', addr), holdOps: 60_000 }]);
      const run = h!.run().catch((e: unknown) => e);
      lab.store(LAB_HDR.STOP, 1);
      expect(await run).toBeInstanceOf(ActorTimeoutError);
      const t0 = Date.now();
      await h!.release(); // bounded by callTimeoutMs, not by the actor
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(h!.state).not.toBe('released');
      expect(h!.error).toMatch(/timed out|did not return/);
      const m = machine(1);
      const [fresh] = await pool.startActors(m.init, [spec(0, 'get', m.addr)]);
      expect(pool.recreations).toBe(1);
      expect(h!.dead).toBe(true);
      expect(h!.error).toMatch(/terminated/);
      expect(pool.deaths).toBe(0); // terminated by us, not a death
      const run2 = fresh!.run();
      m.lab.store(LAB_HDR.STOP, 1);
      expect((await run2).name).toBe('get#0');
      await fresh!.release();
    } finally {
      await pool.destroy();
    }
  }, 20_000);
});
