import { KernelContext } from './context.js';

/**
 * The kernel's `current`: the context of the thread running kernel code. Each thread sets it
 * once (an actor worker at start, the coordinator on the main thread), so page-level calls read
 * as in the kernel: `put_page(page)`, `unpin_user_page(page)`.
 */
export let current: KernelContext = undefined as unknown as KernelContext;

export function set_current(k: KernelContext): KernelContext {
  const prev = current;
  current = k;
  return prev;
}

/** Run fn with `current` switched to k (tests that act as several threads in turn). */
export function with_current<T>(k: KernelContext, fn: () => T): T {
  const prev = set_current(k);
  try {
    return fn();
  } finally {
    set_current(prev);
  }
}
