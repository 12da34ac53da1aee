/**
 * Stress mode's store buffer for the coordinator's plain stores (faults only).
 *
 * A plain store of a fault (Mem.plainStore, e.g. plain-pte-clear's write-protect of a PTE) may sit
 * in the CPU's store buffer while the same thread's later plain load runs: x86-TSO allows the
 * store-buffering outcome. On this machine a bare litmus shows it, but in the model the
 * coordinator's pin check runs some hundred instructions after the PTE store (the O1 bracket,
 * the era's predicate), long after a real store buffer has drained — so stress mode would never
 * see the bug. Under delay injection, this hook makes the window as wide as TSO permits: a plain
 * store is kept in a thread-local FIFO, invisible to other threads, until this thread's next
 * Atomics access (load, store or RMW) drains it first; this thread's plain loads see its own
 * newest buffered value. These are the rules of explore mode's TSO model (src/sched/scheduler.ts),
 * without its random flushes. Delay injection then applies to the drain: before it, the thread
 * spins a seeded random while (0 to `maxSpins` iterations), so the store stays invisible for as
 * long as an actor's injected delay lasts. Without plain accesses nothing is ever buffered, and
 * nothing is delayed.
 */
import { type Delay } from '../clients/types.js';
import { ACCESS, type AccessHook, type AccessKind, type Mem } from '../mem/mem.js';

export class StoreBufferHook implements AccessHook {
  private readonly index: number[] = [];
  private readonly value: number[] = [];
  /** Plain stores buffered so far (a counter for reports and tests). */
  buffered = 0;
  private x: number;
  private sink = 0;

  constructor(
    private readonly mem: Mem,
    private readonly maxSpins = 0,
    seed = 1,
  ) {
    this.x = seed | 0 || 0x2545f491;
  }

  before(kind: AccessKind): void {
    if (kind <= ACCESS.RMW && this.index.length !== 0) {
      if (this.maxSpins > 0) this.spin();
      this.drain();
    }
  }

  /** The injected delay before a drain (xorshift32, as the actors' delay hook). */
  private spin(): void {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x;
    const spins = (x >>> 8) % this.maxSpins;
    for (let i = 0; i < spins; i++) this.sink = (this.sink + i) | 0;
  }

  plainStore(index: number, value: number): boolean {
    this.index.push(index);
    this.value.push(value);
    this.buffered++;
    return true;
  }

  plainLoad(index: number): number | undefined {
    for (let k = this.index.length - 1; k >= 0; k--) if (this.index[k] === index) return this.value[k];
    return undefined;
  }

  /** Make every buffered store visible, oldest first. */
  drain(): void {
    const i32 = this.mem.i32;
    for (let k = 0; k < this.index.length; k++) Atomics.store(i32, this.index[k]!, this.value[k]!);
    this.index.length = 0;
    this.value.length = 0;
  }

  /** Drain and take the hook off its Mem (it must be the one installed). */
  uninstall(): void {
    this.drain();
    if (this.mem.hook === this) this.mem.hook = null;
  }
}

/** Spins before a drain, by delay profile (the actors' maximum spin for a delayed access). */
const DRAIN_SPINS: Record<Exclude<Delay, 'off'>, number> = { light: 256, heavy: 4096 };

/**
 * Install a store buffer on `mem` (the coordinator's, in stress mode, when no hook is installed),
 * its drains delayed as `delay` says.
 */
export function installStoreBuffer(mem: Mem, delay: Delay = 'off', seed = 1): StoreBufferHook | null {
  if (mem.hook !== null) return null;
  const h = new StoreBufferHook(mem, delay === 'off' ? 0 : DRAIN_SPINS[delay], seed);
  mem.hook = h;
  return h;
}
