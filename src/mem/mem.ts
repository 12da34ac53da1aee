import { HDR, LAYOUT_MAGIC, LAYOUT_VERSION, computeLayout, type Layout, type MachineConfig } from './layout.js';
import { futexWait } from './futex.js';

/** What kind of shared access reached a scheduling point (explore mode hooks in here). */
export const ACCESS = { LOAD: 0, STORE: 1, RMW: 2, PLAIN_LOAD: 3, PLAIN_STORE: 4, EVENT: 5 } as const;
export type AccessKind = (typeof ACCESS)[keyof typeof ACCESS];

/**
 * Called before every shared access when set. Stress mode leaves it null (one field load and a
 * branch per access); the deterministic scheduler installs one to make every access, or every
 * labelled event, a scheduling point.
 */
export interface AccessHook {
  before(kind: AccessKind, index: number, label?: string): void;
  /** Plain accesses of a named fault: the hook may model a store buffer (TSO). */
  plainStore?(index: number, value: number): boolean;
  plainLoad?(index: number): number | undefined;
}

/**
 * The one way to touch the SharedArrayBuffer: every method is an `Atomics` operation
 * (sequentially consistent), so the store-buffering argument that makes gup-fast sound holds.
 * The two `plain*` methods exist only for faults of the fault catalogue, which name themselves.
 */
export class Mem {
  readonly i32: Int32Array;
  hook: AccessHook | null = null;
  /**
   * The write map of this buffer on this thread, if someone tracks writes (trackWrites): every
   * write marks its chunk. Read once here: a buffer is tracked before any Mem over it is made.
   */
  readonly dirty: Uint8Array | null;

  constructor(
    readonly sab: SharedArrayBuffer,
    readonly layout: Layout,
  ) {
    this.i32 = new Int32Array(sab);
    this.dirty = writeMapOf(sab);
  }

  load(i: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.LOAD, i);
    return Atomics.load(this.i32, i);
  }
  store(i: number, v: number): void {
    if (this.hook !== null) this.hook.before(ACCESS.STORE, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    Atomics.store(this.i32, i, v);
  }
  /** Returns the old value, as Atomics.add does. */
  add(i: number, v: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.RMW, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    return Atomics.add(this.i32, i, v);
  }
  sub(i: number, v: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.RMW, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    return Atomics.sub(this.i32, i, v);
  }
  or(i: number, v: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.RMW, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    return Atomics.or(this.i32, i, v);
  }
  and(i: number, v: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.RMW, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    return Atomics.and(this.i32, i, v);
  }
  /** compareExchange: returns the value found (== expected on success). */
  cas(i: number, expected: number, replacement: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.RMW, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    return Atomics.compareExchange(this.i32, i, expected, replacement);
  }
  xchg(i: number, v: number): number {
    if (this.hook !== null) this.hook.before(ACCESS.RMW, i);
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    return Atomics.exchange(this.i32, i, v);
  }
  /** A labelled domain event ("pte cleared", "ref taken"): a scheduling point, no memory effect. */
  event(label: string, index: number): void {
    if (this.hook !== null) this.hook.before(ACCESS.EVENT, index, label);
  }
  /** Block until word i is no longer `v` (or timeout). Never call on the main thread's hot path. */
  wait(i: number, v: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    return futexWait(this.i32, i, v, timeoutMs); // explore mode routes this to its scheduler
  }
  notify(i: number, count = Infinity): number {
    return Atomics.notify(this.i32, i, count);
  }

  /**
   * A plain (non-Atomics) load. Only a fault of the fault catalogue may call this; `fault` names it.
   */
  plainLoad(i: number, fault: string): number {
    if (this.hook !== null) {
      this.hook.before(ACCESS.PLAIN_LOAD, i, fault);
      const v = this.hook.plainLoad?.(i);
      if (v !== undefined) return v;
    }
    return this.i32[i]!;
  }
  /** A plain (non-Atomics) store. Only a fault of the fault catalogue may call this. */
  plainStore(i: number, v: number, fault: string): void {
    if (this.hook !== null) {
      this.hook.before(ACCESS.PLAIN_STORE, i, fault);
      if (this.hook.plainStore?.(i, v)) return;
    }
    if (this.dirty !== null) this.dirty[i >>> WRITE_CHUNK_SHIFT] = 1;
    this.i32[i] = v;
  }

  /** Copy `n` words out (each through Atomics.load). */
  readWords(src: number, n: number, out: Int32Array | number[] = new Int32Array(n)): Int32Array | number[] {
    for (let k = 0; k < n; k++) out[k] = this.load(src + k);
    return out;
  }
  copyWords(dst: number, src: number, n: number): void {
    for (let k = 0; k < n; k++) this.store(dst + k, this.load(src + k));
  }
  fillWords(dst: number, n: number, v: number): void {
    for (let k = 0; k < n; k++) this.store(dst + k, v);
  }
}

/** Words per chunk of a write map (trackWrites): 2^6 = 64 words, 256 bytes. */
export const WRITE_CHUNK_SHIFT = 6;

// One registry per thread (every copy of this module on the thread shares it: the in-thread
// explore engine runs a second, stepped copy beside this one).
const WRITE_MAPS = Symbol.for('pinlab.mem.writeMaps');
const writeMaps = (): WeakMap<SharedArrayBuffer, Uint8Array> =>
  ((globalThis as { [WRITE_MAPS]?: WeakMap<SharedArrayBuffer, Uint8Array> })[WRITE_MAPS] ??= new WeakMap());

let trackingNew = 0;

/**
 * The write map of `sab` on this thread, or null if its writes are not tracked. Inside
 * withNewBuffersTracked, a buffer seen for the first time is tracked from then on.
 */
export function writeMapOf(sab: SharedArrayBuffer): Uint8Array | null {
  return writeMaps().get(sab) ?? (trackingNew > 0 ? trackWrites(sab) : null);
}

/**
 * Run `fn` with every buffer that a Mem or Lab is first made over inside it tracked (trackWrites)
 * from its first write on: the map then tells which chunks a boot wrote (the others are still 0).
 */
export function withNewBuffersTracked<T>(fn: () => T): T {
  trackingNew++;
  try {
    return fn();
  } finally {
    trackingNew--;
  }
}

/**
 * Track the writes to `sab` made on this thread: from now on every Mem made over it marks, at each
 * store, RMW or plain store, the byte of its 2^WRITE_CHUNK_SHIFT-word chunk in the returned map
 * (1 = written). Only writes made on this thread are seen: the in-thread explore engine uses it to
 * restore a machine to its booted state by copying back only the chunks a trial wrote
 * (src/explore/machine-pool.ts). Mems made before the call do not mark.
 */
export function trackWrites(sab: SharedArrayBuffer): Uint8Array {
  let map = writeMaps().get(sab);
  if (map === undefined) {
    map = new Uint8Array(((sab.byteLength >>> 2) >>> WRITE_CHUNK_SHIFT) + 1);
    writeMaps().set(sab, map);
  }
  return map;
}

/** Allocate and initialise a machine's SharedArrayBuffer. Throws RangeError on a bad config. */
export function createMem(config: Partial<MachineConfig> = {}): Mem {
  const layout = computeLayout(config);
  const sab = new SharedArrayBuffer(layout.totalWords * 4);
  const mem = new Mem(sab, layout);
  mem.store(layout.headerOff + HDR.MAGIC, LAYOUT_MAGIC);
  mem.store(layout.headerOff + HDR.VERSION, LAYOUT_VERSION);
  return mem;
}

/** Attach to a machine created elsewhere (a worker receives the SAB and the config). */
export function attachMem(sab: SharedArrayBuffer, config: MachineConfig): Mem {
  const layout = computeLayout(config);
  if (sab.byteLength !== layout.totalWords * 4) {
    throw new RangeError(`attachMem: buffer is ${sab.byteLength} bytes, layout needs ${layout.totalWords * 4}`);
  }
  const mem = new Mem(sab, layout);
  if (mem.load(layout.headerOff + HDR.MAGIC) !== LAYOUT_MAGIC) throw new Error('attachMem: not a pinlab buffer');
  return mem;
}
