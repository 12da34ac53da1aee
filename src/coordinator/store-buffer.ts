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
 * without its random flushes. Without plain accesses nothing is ever buffered.
 */
import { ACCESS, type AccessHook, type AccessKind, type Mem } from '../mem/mem.js';

export class StoreBufferHook implements AccessHook {
  private readonly index: number[] = [];
  private readonly value: number[] = [];
  /** Plain stores buffered so far (a counter for reports and tests). */
  buffered = 0;

  constructor(private readonly mem: Mem) {}

  before(kind: AccessKind): void {
    if (kind <= ACCESS.RMW && this.index.length !== 0) this.drain();
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

/** Install a store buffer on `mem` (the coordinator's, in stress mode, when no hook is installed). */
export function installStoreBuffer(mem: Mem): StoreBufferHook | null {
  if (mem.hook !== null) return null;
  const h = new StoreBufferHook(mem);
  mem.hook = h;
  return h;
}
