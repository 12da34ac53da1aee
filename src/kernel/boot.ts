/**
 * Booting a machine (main thread) and attaching to it (workers): the SAB, the boot-time setup
 * of hugetlb pools and DAX pages, and this thread's KernelContext installed as `current`.
 */
import { type Era, ERAS, type MachineConfig } from '../mem/layout.js';
import { attachMem, createMem } from '../mem/mem.js';
import { setup_machine } from './alloc.js';
import { KernelContext } from './context.js';
import { set_current } from './current.js';

export interface ContextOptions {
  era?: Era;
  /** This thread's per-cpu slot (0 is conventionally the coordinator). */
  cpu?: number;
  /** Faults of the fault catalogue enabled in this thread. */
  faults?: Iterable<string>;
}

function checkEra(era: string): Era {
  if (!(ERAS as readonly string[]).includes(era)) throw new RangeError(`era must be one of ${ERAS.join(', ')}, got ${era}`);
  return era as Era;
}

/** Create and set up a machine, and make it this thread's `current`. */
export function boot(config: Partial<MachineConfig> = {}, opts: ContextOptions = {}): KernelContext {
  const mem = createMem(config);
  setup_machine(mem);
  const k = new KernelContext(mem, checkEra(opts.era ?? 'v6.3'), opts.cpu ?? 0, new Set(opts.faults ?? []));
  set_current(k);
  return k;
}

/** Attach this thread to a machine booted elsewhere and make it `current`. */
export function attach(sab: SharedArrayBuffer, config: MachineConfig, opts: ContextOptions = {}): KernelContext {
  const mem = attachMem(sab, config);
  const k = new KernelContext(mem, checkEra(opts.era ?? 'v6.3'), opts.cpu ?? 0, new Set(opts.faults ?? []));
  set_current(k);
  return k;
}
