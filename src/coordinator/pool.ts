/**
 * The actor pool: one long-lived piscina pool whose threads host actors, batch after batch.
 *
 * Each actor is a piscina task of `workers/actor-host` that holds its thread until released, and is
 * driven over its own MessageChannel with comlink (configure → run → release). Threads are reused
 * across batches (a fresh thread costs 27–48 ms). See node-stack.md §1–3 for why it looks like this:
 * - `atomics: 'disabled'`: an idle pool thread must service its MessagePort (pitfall 7, piscina#138);
 * - a comlink call to a dead worker never settles, so every remote call here is raced against the
 *   piscina task promise (which rejects when the thread errors or exits) and a timeout;
 * - the `wrap()` result is held in a long-lived field (comlink#692) and released before the pool is
 *   torn down (comlink#655); `destroy()`, never `close()` (piscina#575);
 * - no AbortSignal on a running actor: it kills the thread with its pins held. Stopping is the lab
 *   stop word (`LAB_HDR.STOP`), which the caller sets.
 */
import * as Comlink from 'comlink';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { type ActorInit, type ActorResult, type ActorSpec } from '../clients/types.js';
import { ACTOR_STAT, ACTOR_STATE, LAB_HDR, Lab } from '../oracle/lab.js';
import { nodeEndpoint } from '../util/comlink-node.js';
import { piscinaOptions, workerUrl } from '../util/worker-url.js';
import type { ActorHostApi, ActorHostTask } from '../../workers/actor-host.js';

export interface ActorPoolOptions {
  /** Threads in the pool (min = max). Default 4. `startActors` grows an idle pool to fit a batch. */
  size?: number;
  /** The task module (a file URL); default `workers/actor-host`. Tests pass a fixture host. */
  worker?: URL;
  /** Bound on `configure`, which covers the thread's start and module load. Default 30 s. */
  startTimeoutMs?: number;
  /** Bound on `ping` and `release`. Default 5 s. */
  callTimeoutMs?: number;
  /** Once the lab stop word is set, `run()` must return within this bound. Default 10 s. */
  stopGraceMs?: number;
  /** Absolute bound on `run()` (from the call). Default: none; `stopGraceMs` still applies. */
  runTimeoutMs?: number;
}

export type ActorHandleState = 'configuring' | 'configured' | 'running' | 'stopped' | 'released' | 'dead';

export interface ActorHandle {
  readonly name: string;
  readonly spec: ActorSpec;
  /** The piscina thread hosting this actor (0 until configured). */
  readonly threadId: number;
  readonly state: ActorHandleState;
  /** The thread died (error or exit); `error` says why. */
  readonly dead: boolean;
  /** Why the handle failed: its thread died, or a call timed out. */
  readonly error?: string;
  /**
   * Run the actor until the lab stop word is set. Resolves with its ActorResult; a protocol that
   * threw comes back as a result with `error` set (the thread survived). Rejects with
   * ActorDeadError if the thread dies, ActorTimeoutError on `timeoutMs` or the stop grace.
   */
  run(opts?: { timeoutMs?: number }): Promise<ActorResult>;
  /**
   * Round trip to the actor's thread. Not while running: a running actor blocks its thread's event
   * loop, so every call waits until it stops (ping then times out after `callTimeoutMs`).
   */
  ping(): Promise<true>;
  /** Return the thread to the pool. Never rejects; a thread that did not come back sets `error`. */
  release(): Promise<void>;
}

/** The actor's thread died: a remote call to it would never settle. */
export class ActorDeadError extends Error {
  override name = 'ActorDeadError';
  constructor(
    readonly actor: string,
    readonly reason: string,
  ) {
    super(`actor ${actor}: thread died: ${reason}`);
  }
}

export class ActorTimeoutError extends Error {
  override name = 'ActorTimeoutError';
  constructor(
    readonly actor: string,
    message: string,
  ) {
    super(`actor ${actor}: ${message}`);
  }
}

/** The handle's task ended normally (released, or the pool was destroyed): the actor is gone. */
export class ActorEndedError extends Error {
  override name = 'ActorEndedError';
}

const DAY_MS = 24 * 3600 * 1000; // setTimeout overflows above 2^31-1 ms
const STOP_POLL_MS = 25;

interface Defaults {
  startTimeoutMs: number;
  callTimeoutMs: number;
  stopGraceMs: number;
  runTimeoutMs: number;
}

class PoolActorHandle implements ActorHandle {
  readonly name: string;
  threadId = 0;
  state: ActorHandleState = 'configuring';
  error?: string;
  /** The piscina task has settled (released, died, or destroyed): the thread is not ours any more. */
  taskEnded = false;
  private readonly port: MessagePort;
  // Held for the handle's whole life: a GC'd transient proxy sends RELEASE mid-call (comlink#692).
  private readonly remote: Comlink.Remote<ActorHostApi>;
  /** Settles when the task does; rejects (handled) with why, so it can be raced against calls. */
  private readonly ended: Promise<never>;
  private disposed = false;
  private releasing?: Promise<void>;
  /** release() finished but the thread did not come back (an actor that ignores the stop word). */
  abandoned = false;
  /** Set by the pool just before it terminates this handle's thread. */
  killedBy?: 'destroy' | 'recreate';

  constructor(
    piscina: Piscina<ActorHostTask, void>,
    readonly spec: ActorSpec,
    private readonly init: ActorInit,
    private readonly opts: Defaults,
  ) {
    this.name = spec.name;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const task = piscina.run({ port: port2 }, { transferList: [port2] });
    this.remote = Comlink.wrap<ActorHostApi>(nodeEndpoint(port1));
    this.ended = task.then(
      () => {
        this.taskEnded = true;
        if (this.state !== 'dead') this.state = 'released';
        this.dispose();
        throw new ActorEndedError(`actor ${this.name}: its task ended (released)`);
      },
      (err: unknown) => {
        this.taskEnded = true;
        const reason = err instanceof Error ? err.message : String(err);
        if (this.killedBy === 'destroy') {
          this.state = 'released';
          this.dispose();
          throw new ActorEndedError(`actor ${this.name}: pool destroyed (${reason})`);
        }
        this.markDead(
          this.killedBy === 'recreate'
            ? `terminated: it never returned to the pool after release(), and the pool was recreated (${reason})`
            : reason,
        );
        throw new ActorDeadError(this.name, reason);
      },
    );
    this.ended.catch(() => {});
  }

  /** Resolves when the task has settled, whichever way. */
  settled(): Promise<void> {
    return this.ended.catch(() => {});
  }

  get dead(): boolean {
    return this.state === 'dead';
  }

  private markDead(reason: string): void {
    this.state = 'dead';
    this.error = `thread died: ${reason}`;
    try {
      const lab = new Lab(this.init.labSab, this.init.labConfig);
      lab.store(lab.actorBase(this.spec.actor) + ACTOR_STAT.STATE, ACTOR_STATE.DEAD);
    } catch {
      // a lab that does not fit its config is the caller's problem; the handle still says dead
    }
    this.dispose();
  }

  /** Release the comlink proxy (comlink#655) and close our port (the host ends its task on 'close'). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.remote[Comlink.releaseProxy]();
    } catch {
      // already released
    }
    this.port.close();
  }

  /**
   * Race a remote call against the task ending (death or release) and timeouts. `stopGraceMs`:
   * reject if the lab stop word has been set for longer than this and the call is still pending.
   */
  private call<T>(what: string, invoke: () => Promise<T>, timeoutMs: number, stopGraceMs?: number): Promise<T> {
    if (this.dead) return Promise.reject(new ActorDeadError(this.name, this.error ?? 'dead'));
    if (this.taskEnded || this.disposed) return Promise.reject(new ActorEndedError(`actor ${this.name}: ${what}() after release`));
    let p: Promise<T>;
    try {
      p = invoke();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (poll) clearInterval(poll);
        f();
      };
      const timeout = (message: string): void => {
        const err = new ActorTimeoutError(this.name, message);
        this.error ??= err.message;
        settle(() => reject(err));
      };
      p.then(
        (v) => settle(() => resolve(v)),
        (e: unknown) => settle(() => reject(e)),
      );
      this.ended.catch((e: unknown) => settle(() => reject(e)));
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => timeout(`${what}() timed out after ${timeoutMs} ms`), Math.min(timeoutMs, DAY_MS));
      }
      if (stopGraceMs !== undefined && Number.isFinite(stopGraceMs)) {
        const word = new Int32Array(this.init.labSab);
        let stopSeen = 0;
        poll = setInterval(() => {
          if (Atomics.load(word, LAB_HDR.STOP) === 0) return;
          const now = Date.now();
          if (stopSeen === 0) stopSeen = now;
          else if (now - stopSeen > stopGraceMs) timeout(`${what}() did not return within ${stopGraceMs} ms of the stop word`);
        }, STOP_POLL_MS);
      }
    });
  }

  async configure(): Promise<void> {
    const r = await this.call('configure', () => this.remote.configure(this.init, this.spec), this.opts.startTimeoutMs);
    this.threadId = r.threadId;
    this.state = 'configured';
  }

  async run(opts: { timeoutMs?: number } = {}): Promise<ActorResult> {
    if (this.dead) throw new ActorDeadError(this.name, this.error ?? 'dead');
    if (this.taskEnded || this.disposed) throw new ActorEndedError(`actor ${this.name}: run() after release`);
    if (this.state === 'running') throw new Error(`actor ${this.name}: run() while already running`);
    if (this.state === 'configuring') throw new Error(`actor ${this.name}: run() before configure finished`);
    this.state = 'running';
    try {
      const result = await this.call('run', () => this.remote.run(), opts.timeoutMs ?? this.opts.runTimeoutMs, this.opts.stopGraceMs);
      this.state = 'stopped';
      return result;
    } finally {
      // a timed-out run stays 'running': its thread is still inside the actor
      if (this.state === 'running' && this.taskEnded) this.state = 'released';
    }
  }

  ping(): Promise<true> {
    return this.call('ping', () => this.remote.ping(), this.opts.callTimeoutMs);
  }

  release(): Promise<void> {
    this.releasing ??= this.doRelease();
    return this.releasing;
  }

  private async doRelease(): Promise<void> {
    const budget = this.opts.callTimeoutMs;
    const deadline = Date.now() + budget;
    if (!this.taskEnded && !this.disposed) {
      try {
        await this.call('release', () => this.remote.release(), budget);
      } catch (e) {
        // ActorEndedError: the task's completion arrived before the call's answer (piscina#133)
        if (!(e instanceof ActorEndedError) && !(e instanceof ActorDeadError)) this.error ??= String(e);
      }
    }
    // Our port closing also ends the host's task (it listens for 'close').
    this.dispose();
    if (!this.taskEnded) {
      // One budget for the whole release; a few ms at least for the task's completion message.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.ended.catch(() => {}),
        new Promise<void>((r) => (timer = setTimeout(r, Math.max(50, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      if (!this.taskEnded) {
        this.abandoned = true;
        this.error ??= `release(): thread did not return to the pool within ${budget} ms`;
      }
    }
    if (this.state !== 'dead' && this.taskEnded) this.state = 'released';
  }
}

export class ActorPool {
  private piscina: Piscina<ActorHostTask, void>;
  private sizeNow: number;
  private readonly url: URL;
  private readonly defaults: Defaults;
  private handles: PoolActorHandle[] = [];
  private destroying = false;
  private destroyed = false;
  /** Pools created internally because the current one was too small or had lost threads. */
  recreations = 0;
  /** Threads that died while hosting an actor, over the pool's life. */
  deaths = 0;
  /** Errors piscina emitted outside any task (a thread that died while idle). */
  readonly poolErrors: string[] = [];

  constructor(opts: ActorPoolOptions = {}) {
    this.sizeNow = Math.max(1, opts.size ?? 4);
    this.url = opts.worker ?? workerUrl('../../workers/actor-host', import.meta.url);
    this.defaults = {
      startTimeoutMs: opts.startTimeoutMs ?? 30_000,
      callTimeoutMs: opts.callTimeoutMs ?? 5_000,
      stopGraceMs: opts.stopGraceMs ?? 10_000,
      runTimeoutMs: opts.runTimeoutMs ?? Infinity,
    };
    this.piscina = this.createPiscina(this.sizeNow);
  }

  private createPiscina(size: number): Piscina<ActorHostTask, void> {
    const p = new Piscina<ActorHostTask, void>({
      ...piscinaOptions(this.url),
      minThreads: size,
      maxThreads: size,
      idleTimeout: DAY_MS,
      atomics: 'disabled', // idle threads must keep servicing MessagePorts (pitfall 7)
      concurrentTasksPerWorker: 1, // one actor per thread
    });
    // An 'error' event without a listener would crash the process.
    p.on('error', (e: unknown) => this.poolErrors.push(e instanceof Error ? e.message : String(e)));
    return p;
  }

  get size(): number {
    return this.sizeNow;
  }

  /** The ids of the pool's live threads (they change only when one dies or the pool is recreated). */
  threadIds(): number[] {
    return this.piscina.threads.map((w) => w.threadId);
  }

  /** Handles whose task still holds a thread. */
  private live(): PoolActorHandle[] {
    this.handles = this.handles.filter((h) => !h.taskEnded);
    return this.handles;
  }

  /**
   * Start one actor per spec, each on its own pool thread, and configure it. Resolves when every
   * actor is configured (not yet running: call `run()` on each). Grows an idle pool to fit; throws if
   * the previous batch still holds the threads needed.
   */
  async startActors(init: ActorInit, specs: ActorSpec[]): Promise<ActorHandle[]> {
    if (this.destroyed || this.destroying) throw new Error('ActorPool: startActors() after destroy()');
    const live = this.live();
    const abandoned = live.filter((h) => h.abandoned);
    // piscina stops replacing threads if a replacement dies while starting up (workerFailsDuringBootstrap).
    const lostThreads = this.piscina.threads.length < this.sizeNow;
    if (live.length + specs.length > this.sizeNow || lostThreads) {
      if (live.length > abandoned.length) {
        throw new Error(
          `ActorPool: ${specs.length} actors requested but only ${this.sizeNow - live.length} of ${this.sizeNow} threads are free` +
            (abandoned.length > 0 ? ` (${abandoned.length} held by actors that never returned after release())` : '') +
            '; release the previous batch first, or create the pool with a larger size',
        );
      }
      // Idle, or held only by abandoned actors: replace the pool (terminating those threads).
      for (const h of abandoned) h.killedBy = 'recreate';
      const old = this.piscina;
      this.sizeNow = Math.max(this.sizeNow, specs.length);
      this.piscina = this.createPiscina(this.sizeNow);
      this.recreations++;
      await old.destroy();
    }
    const handles = specs.map(
      (spec) => new PoolActorHandle(this.piscina, spec, init, this.defaults),
    );
    this.handles.push(...handles);
    const configured = await Promise.allSettled(handles.map((h) => h.configure()));
    const failed = configured.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      await Promise.all(handles.map((h) => h.release()));
      this.countDeaths(handles);
      const reason = (configured[failed] as PromiseRejectedResult).reason as unknown;
      throw new Error(`ActorPool: starting actor ${specs[failed]!.name} failed: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    for (const h of handles) void this.watchDeath(h);
    return handles;
  }

  private countDeaths(handles: PoolActorHandle[]): void {
    for (const h of handles) if (h.dead && h.killedBy === undefined) this.deaths++;
  }

  private async watchDeath(h: PoolActorHandle): Promise<void> {
    await h.settled();
    if (h.dead && h.killedBy === undefined) this.deaths++;
  }

  /** Release the comlink proxies, then tear the threads down (destroy, not close: piscina#575). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroying = true;
    for (const h of this.handles) {
      h.killedBy = 'destroy';
      h.dispose();
    }
    this.handles = [];
    await this.piscina.destroy();
    this.destroyed = true;
  }
}
