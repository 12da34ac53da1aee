// Test worker for comlink: the same Atomics.add on a shared Int32Array, exposed over parentPort.
import * as Comlink from 'comlink';
import { parentPort } from 'node:worker_threads';
import { nodeEndpoint } from '../src/util/comlink-node.js';

const api = {
  add(sab: SharedArrayBuffer, index: number, delta: number): number {
    return Atomics.add(new Int32Array(sab), index, delta) + delta;
  },
};

export type EchoApi = typeof api;

if (!parentPort) throw new Error('echo-comlink must run in a worker thread');
Comlink.expose(api, nodeEndpoint(parentPort));
