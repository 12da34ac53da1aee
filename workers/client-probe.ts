/**
 * The client-module probe: a throwaway thread that loads one client module exactly as an actor
 * thread will (src/clients/module.ts) and posts back its client's name or what is wrong with it.
 * The main thread bounds it with a timeout and terminates it (it holds nothing), so a module that
 * loops or blocks while loading is reported instead of hanging the run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadClientModule } from '../src/clients/module.js';

/** What the probe posts: the client's name, or the problem. */
export type ProbeResult = { ok: true; name: string; revocable: boolean } | { ok: false; problem: string };

const { file } = workerData as { file: string };
let result: ProbeResult;
try {
  const def = loadClientModule(file);
  result = { ok: true, name: def.name, revocable: typeof def.revoke === 'function' };
} catch (e) {
  result = { ok: false, problem: e instanceof Error && 'problem' in e ? String((e as { problem: unknown }).problem) : String(e) };
}
parentPort!.postMessage(result);
