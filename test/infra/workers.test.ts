import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { nodeEndpoint } from '../../src/util/comlink-node.js';
import { piscinaOptions, startWorker, workerUrl } from '../../src/util/worker-url.js';
import type { EchoTask } from '../../workers/echo-worker.js';
import type { EchoApi } from '../../workers/echo-comlink.js';

describe('TS workers share a SharedArrayBuffer with the main thread', () => {
  it('resolves worker sources as .ts under vitest', () => {
    expect(workerUrl('../../workers/echo-worker', import.meta.url).pathname).toMatch(
      /\/workers\/echo-worker\.ts$/,
    );
  });

  it('piscina and comlink workers both do Atomics on one SAB', async () => {
    const sab = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
    const view = new Int32Array(sab);

    const pool = new Piscina<EchoTask, number>({
      ...piscinaOptions(workerUrl('../../workers/echo-worker', import.meta.url)),
      minThreads: 1,
      maxThreads: 1,
    });
    const worker = startWorker(workerUrl('../../workers/echo-comlink', import.meta.url));
    // Keep the wrap() result in a variable for the whole test (comlink#692).
    const api = Comlink.wrap<EchoApi>(nodeEndpoint(worker));
    try {
      expect(await pool.run({ sab, index: 0, delta: 5 })).toBe(5);
      expect(await api.add(sab, 0, 7)).toBe(12);
      expect(await pool.run({ sab, index: 1, delta: -3 })).toBe(-3);
      expect(Atomics.load(view, 0)).toBe(12);
      expect(Atomics.load(view, 1)).toBe(-3);

      // And the workers see the main thread's writes.
      Atomics.store(view, 2, 100);
      expect(await api.add(sab, 2, 1)).toBe(101);
      expect(await pool.run({ sab, index: 2, delta: 1 })).toBe(102);
      expect(Atomics.load(view, 2)).toBe(102);
    } finally {
      api[Comlink.releaseProxy]();
      await worker.terminate();
      await pool.destroy();
    }
  });
});
