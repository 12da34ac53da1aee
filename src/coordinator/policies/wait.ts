/**
 * `wait`: with the page unlocked and redirtied, poll page_maybe_dma_pinned() until it reads false
 * or mm.waitTimeoutMs pass, then write it (once); else skip it. No kernel does this: "block or
 * wait" was rejected for longterm pins (Jan Kara 2018, kernel-notes §6). Reclaim keeps a pinned
 * page in every era.
 */
import { page_maybe_dma_pinned } from '../../kernel/pin.js';
import { type PolicyHost, RELEASE_THEN_WRITE, WAIT_POLL_MS, type WritebackPolicy, pollUntil } from './policy.js';

export const WAIT: WritebackPolicy = {
  name: 'wait',
  summary: 'wait until the page is unpinned (mm.waitTimeoutMs), then write it; else skip it',
  history: 'no kernel does; "block or wait", rejected for longterm pins (Jan Kara 2018)',
  ...RELEASE_THEN_WRITE,
  release(page: number, host: PolicyHost): boolean {
    const ok = pollUntil(host, () => !page_maybe_dma_pinned(page), WAIT_POLL_MS);
    host.bump(ok ? 'wait:ok' : 'wait:timeout');
    return ok;
  },
  releaseFailed: 'wait-timeout',
};
