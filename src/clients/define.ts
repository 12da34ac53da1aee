/**
 * defineClient(): how a GUP user is written — pinlab's built-in DIO, RDMA, ODP and GET clients and
 * any client of your own. A client is three plain synchronous functions over a ClientContext:
 * `setup(ctx)` once on the actor's thread (returns the client's state), `step(ctx, state)` once per
 * operation until the run stops (or an explore trial's step budget is spent), and `teardown(ctx,
 * state)` to release whatever it still holds. The same code runs in stress mode (real threads) and
 * explore mode (every shared access a scheduling point).
 */
import type * as KernelApi from '../kernel/api.js';
import type { MmStruct } from '../kernel/mm.js';

/** The kernel API a client calls: `pinlab/kernel`, with its pins seen by the oracles (see ClientContext.kernel). */
export type ClientKernel = typeof KernelApi;

/** What a client's region is: the mapping the coordinator made for it before the run (scenario fields). */
export interface ClientRegion {
  /** First byte address of the region in the client's mm. */
  readonly addr: number;
  /** Pages in the region. */
  readonly pages: number;
  readonly mapping: 'anon' | 'file' | 'cma' | 'hugetlb';
  /** File id (mapping 'file'). */
  readonly file: number;
  /** File page of the region's first page (mapping 'file'). */
  readonly offset: number;
  /** The scenario's per-request size in pages (a DIO request, an RDMA memory region). */
  readonly bufferPages: number;
  /** The scenario's hold time in operations (RDMA). */
  readonly holdOps: number;
  /** The scenario's fraction of writing operations. */
  readonly writeRatio: number;
  /** The scenario's choice of gup-fast (true) or the mmap_lock slow path. */
  readonly fast: boolean;
  /** The mm id the client runs in. */
  readonly mm: number;
}

/** Event kinds a client may record in its event ring (reported with every violation). */
export type ClientEventName =
  | 'pin'
  | 'unpin'
  | 'dma_write'
  | 'dma_read'
  | 'get'
  | 'put'
  | 'gup_fail'
  | 'register'
  | 'deregister'
  | 'odp_fault'
  | 'odp_retry'
  | 'odp_install'
  | 'odp_access'
  | 'invalidate'
  | 'revoked'
  | 'fork'
  | 'exit'
  | 'user_write'
  | 'user_read'
  | 'buffered_read'
  | 'buffered_write';

/** Per-actor counters a client may add to (shown in the report's actor table). */
export type ClientStatName =
  | 'pins'
  | 'unpins'
  | 'gets'
  | 'puts'
  | 'dma_writes'
  | 'dma_reads'
  | 'gup_fails'
  | 'registrations'
  | 'odp_faults'
  | 'odp_retries'
  | 'odp_accesses';

/**
 * Everything a client gets. All of it acts on the actor's own thread and machine; nothing may be
 * kept across runs.
 */
export interface ClientContext {
  /** The actor's name, e.g. `uring#0` (the client's name and its index among the same entry's actors). */
  readonly name: string;
  /** The actor's index in the run (its lab block and data word). */
  readonly actor: number;
  /**
   * The kernel model's API (`pinlab/kernel`), bound to this actor's thread. Its pin functions
   * (`pin_user_pages*`, `pin_longterm_pages*`) record what they pinned in the actor's ghost ledger
   * after the pin, and its unpin functions (`unpin_user_page(s)`, `unpin_user_pages_dirty_lock`,
   * `put_user_page(s)`) clear the ledger before the unpin, so the oracles (O1 no false negative,
   * O2 conservation, O3 data integrity) see this client's pins exactly as they see the built-ins'.
   * `get_user_pages*` references and their `put_page` are tracked for the use-after-free check.
   * Pins, unpins and GUP failures are also counted and written to the event ring. Call the kernel
   * through this object, not through a second import of `pinlab/kernel` in the client module:
   * that import is another module instance, not bound to the actor's machine.
   */
  readonly kernel: ClientKernel;
  /** The mm the client runs in (its region is mapped there). */
  readonly mm: MmStruct;
  /** The client's region. */
  readonly region: ClientRegion;
  /** The scenario entry's `params` (free-form client settings; default `{}`). */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  /** The actor's seeded random stream (derived from the run seed and the actor index). */
  readonly random: {
    /** Uniform integer in [from, to] (both inclusive). */
    int(from: number, to: number): number;
    /** true with probability p (p <= 0: never; p >= 1: always). */
    chance(p: number): boolean;
  };
  /** Byte address of page `pageInRegion` of the region. Throws RangeError outside the region. */
  addr(pageInRegion: number): number;
  /**
   * The device's side. `write(pfn)` DMA-writes this actor's next pattern value into its data word
   * of the page and returns the value; O3 checks that the frame is still the one the client pinned
   * (or got) — a write into a freed or reused frame is a use-after-free — and, for a file region,
   * expects the value on the backing store at the end (lost-write check). `read(pfn)` returns the
   * actor's data word of the page.
   */
  readonly dma: { write(pfn: number): number; read(pfn: number): number };
  /** The CPU's side: plain (Atomics) loads and stores of this actor's data word of a page it holds; no oracle bookkeeping. */
  readonly cpu: { load(pfn: number): number; store(pfn: number, value: number): void };
  /** Record an event in the actor's ring (page: a pfn or a page index; arg: free). */
  event(kind: ClientEventName, page: number, arg?: number): void;
  /** Say what the client is doing now (O5 names it when the actor stalls). */
  doing(kind: ClientEventName, page: number): void;
  /** Add `delta` (default 1) to one of the actor's counters. */
  stat(name: ClientStatName, delta?: number): void;
  /** Whether the fault `name` of the fault catalogue is enabled in this run. */
  fault(name: string): boolean;
}

/** A client: what `defineClient` takes and returns. */
export interface ClientDefinition<S = unknown> {
  /** Name of the client (actors are named `<name>#<i>`): letters, digits, `_` and `-`, starting with a letter. */
  readonly name: string;
  /** Called once on the actor's thread before the first step; its result is the state passed to step and teardown. Default: no state. */
  readonly setup?: (ctx: ClientContext) => S;
  /** One operation. Synchronous; it must not block without bound (the run's stop is checked between steps). */
  readonly step: (ctx: ClientContext, state: S) => void;
  /**
   * Policy `revoke` (a layout-lease analogue): writeback asks the client to release the pins it
   * holds, as it asks RDMA to deregister. Called on the actor's thread between steps, once per
   * request; the request is acknowledged when it returns. Default: none (the client is never asked).
   */
  readonly revoke?: (ctx: ClientContext, state: S) => void;
  /** Release everything the client still holds (pins, references). Called once, also after a step threw. Default: nothing. */
  readonly teardown?: (ctx: ClientContext, state: S) => void;
}

/** Marks a value as made by defineClient (checked when a module is loaded). */
export const CLIENT_BRAND: unique symbol = Symbol.for('pinlab.client');

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** Why a value is not a client definition, or null if it is one. */
export function clientShapeProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object')
    return `expected an object made by defineClient({ name, setup, step, teardown }), got ${value === null ? 'null' : typeof value}`;
  const d = value as Record<string, unknown>;
  if (typeof d['name'] !== 'string' || !NAME_RE.test(d['name'])) {
    return `name: expected 1-32 letters, digits, '_' or '-' starting with a letter, got ${JSON.stringify(d['name'])}`;
  }
  if (typeof d['step'] !== 'function') return `step: expected a function (ctx, state) => void, got ${typeof d['step']}`;
  for (const f of ['setup', 'teardown', 'revoke']) {
    if (d[f] !== undefined && typeof d[f] !== 'function') return `${f}: expected a function or nothing, got ${typeof d[f]}`;
  }
  return null;
}

/**
 * Define a client. Returns the definition, frozen and branded; a module that a scenario names in
 * a client entry (`{ kind: 'custom', module: './my-client.ts' }`) default-exports it.
 * Throws TypeError when the definition is malformed (bad name, no step function, setup or
 * teardown not functions). The functions must be synchronous: returning a promise is an error at
 * run time.
 */
export function defineClient<S>(def: ClientDefinition<S>): ClientDefinition<S> {
  const problem = clientShapeProblem(def);
  if (problem !== null) throw new TypeError(`defineClient: ${problem}`);
  return Object.freeze({ ...def, [CLIENT_BRAND]: true });
}
