/**
 * `wait`: with the page unlocked and redirtied, poll page_maybe_dma_pinned() until it reads false
 * or mm.waitTimeoutMs pass, then write it (once); else skip it. No kernel does this: "block or
 * wait" was rejected for longterm pins (Jan Kara 2018, kernel-notes §6). Reclaim keeps a pinned
 * page in every era.
 */
import { page_maybe_dma_pinned } from '../../kernel/pin.js';
import { type PolicyHost, type WritebackPolicy, pollUntil } from './policy.js';

const WAIT_POLL_MS = 0.2;

export const WAIT: WritebackPolicy = {
  name: 'wait',
  summary: 'wait until the page is unpinned (mm.waitTimeoutMs), then write it; else skip it',
  history: 'no kernel does; "block or wait", rejected for longterm pins (Jan Kara 2018)',
  reclaim: 'keeps a pinned page in every era (d824ec2a1546 assumed)',
  asksPins: true,
  onPinned: 'release',
  snapshotIo: false,
  stablePinned: true,
  reclaimKeepsPinned: () => true,
  safeOn: () => true,
  release(page: number, host: PolicyHost): boolean {
    const ok = pollUntil(host, () => !page_maybe_dma_pinned(page), WAIT_POLL_MS);
    host.bump(ok ? 'wait:ok' : 'wait:timeout');
    return ok;
  },
  releaseFailed: 'wait-timeout',
};
