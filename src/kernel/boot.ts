/**
 * Booting a machine (main thread) and attaching to it (workers): the SAB, the boot-time setup
 * of hugetlb pools and DAX pages, and this thread's KernelContext installed as `current`.
 */
import { type Era, type MachineConfig } from '../mem/layout.js';
import { CURRENT_ERA, resolveEra } from './era/index.js';
import { attachMem, createMem } from '../mem/mem.js';
import { setup_machine } from './alloc.js';
import { KernelContext } from './context.js';
import { set_current } from './current.js';

export interface ContextOptions {
  /** The kernel to run (default: the current era, v6.18); old names such as `seed-2019` are accepted. */
  era?: Era | string;
  /** This thread's per-cpu slot (0 is conventionally the coordinator). */
  cpu?: number;
  /** Faults of the fault catalogue enabled in this thread. */
  faults?: Iterable<string>;
  /**
   * The era's native bugs (EraSpec.native) are on unless this is false: false gives the era with
   * those bugs fixed, a what-if that no release was (the property tests' reference model).
   */
  nativeBugs?: boolean;
}


/** Create and set up a machine, and make it this thread's `current`. */
export function boot(config: Partial<MachineConfig> = {}, opts: ContextOptions = {}): KernelContext {
  const mem = createMem(config);
  setup_machine(mem);
  const k = new KernelContext(mem, resolveEra(opts.era ?? CURRENT_ERA), opts.cpu ?? 0, new Set(opts.faults ?? []), opts.nativeBugs ?? true);
  set_current(k);
  return k;
}

/** Attach this thread to a machine booted elsewhere and make it `current`. */
export function attach(sab: SharedArrayBuffer, config: MachineConfig, opts: ContextOptions = {}): KernelContext {
  const mem = attachMem(sab, config);
  const k = new KernelContext(mem, resolveEra(opts.era ?? CURRENT_ERA), opts.cpu ?? 0, new Set(opts.faults ?? []), opts.nativeBugs ?? true);
  set_current(k);
  return k;
}
