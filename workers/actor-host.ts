/**
 * The actor host: a piscina task that lends its thread to one actor for one batch.
 *
 * The task receives `{ port }` (a transferred MessagePort) and exposes, with comlink over that port,
 * an {@link ActorHostApi}: configure → run → release. `run()` calls `runActor` synchronously, so it
 * blocks this thread's event loop until the lab stop word is set; that is intended (the actor is the
 * thread). The task's promise resolves on `release()` (or when the coordinator closes the port), and
 * the thread goes back to the pool for the next batch.
 *
 * The pool must use `atomics: 'disabled'`, otherwise an idle pool thread parks in Atomics.wait and
 * never services the port (node-stack.md pitfall 7). Never abort a running task: that kills the
 * thread with its pins held (node-stack.md §2); stopping is the lab stop word only.
 */
import * as Comlink from 'comlink';
import { type MessagePort, threadId } from 'node:worker_threads';
import { runActor } from '../src/clients/runtime.js';
import { type ActorInit, type ActorResult, type ActorSpec } from '../src/clients/types.js';
import { nodeEndpoint } from '../src/util/comlink-node.js';
import { ACTOR_STAT, Lab } from '../src/oracle/lab.js';

export interface ActorHostTask {
  port: MessagePort;
}

export type RunActor = (init: ActorInit, spec: ActorSpec) => ActorResult;

/** What the coordinator calls on an actor thread (through comlink; every call is async there). */
export interface ActorHostApi {
  /** Store the actor's init and spec. Returns this thread's id (to observe thread reuse). */
  configure(init: ActorInit, spec: ActorSpec): { threadId: number };
  /**
   * Run the actor until the lab stop word is set. If the protocol throws (the thread survives),
   * the result carries `error` and the actor's lab statistics words as `stats`.
   */
  run(): ActorResult;
  ping(): true;
  /** End the task: the thread returns to the pool. The port is closed after this call answers. */
  release(): void;
}

const STAT_NAMES = Object.entries(ACTOR_STAT).map(([k, v]) => [k.toLowerCase(), v] as const);

function labStats(init: ActorInit, actor: number): Record<string, number> {
  try {
    const lab = new Lab(init.labSab, init.labConfig);
    const base = lab.actorBase(actor);
    return Object.fromEntries(STAT_NAMES.map(([name, s]) => [name, lab.load(base + s)]));
  } catch {
    return {};
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

/**
 * Host one actor on `port` with the given actor body. Exported so a test fixture can host a fake
 * body with the same plumbing; the default export below uses the real `runActor`.
 */
export function hostActor(port: MessagePort, body: RunActor): Promise<void> {
  let init: ActorInit | undefined;
  let spec: ActorSpec | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    finish();
  };

  const api: ActorHostApi = {
    configure(i, s) {
      init = i;
      spec = s;
      return { threadId };
    },
    run() {
      if (!init || !spec) throw new Error('actor-host: run() before configure()');
      try {
        return body(init, spec);
      } catch (e) {
        return { actor: spec.actor, name: spec.name, kind: spec.kind, stats: labStats(init, spec.actor), error: describe(e) };
      }
    },
    ping() {
      return true;
    },
    release() {
      // comlink posts this call's answer in a microtask after we return; close the port and end
      // the task only after that (setImmediate runs after the microtask queue drains).
      setImmediate(() => {
        port.close();
        end();
      });
    },
  };

  // Expose first, synchronously, before anything async (comlink#665).
  Comlink.expose(api, nodeEndpoint(port));
  // The coordinator closed its side (destroy, or cleanup after a timeout): end the task too.
  port.once('close', end);
  return done;
}

export default function actorHost({ port }: ActorHostTask): Promise<void> {
  return hostActor(port, runActor);
}
