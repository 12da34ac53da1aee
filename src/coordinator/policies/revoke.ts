/**
 * `revoke` (a layout-lease analogue): with the page unlocked and redirtied, ask every RDMA actor
 * (or custom client with a revoke handler) whose ledger holds a pin on it to deregister — Atomics.add on its REVOKE_REQ — and wait up to
 * mm.waitTimeoutMs for each REVOKE_ACK to reach the value asked and the page to read unpinned;
 * then write it (once), else skip it. No kernel does this for page-cache writeback: layout leases
 * for fsdax (Ira Weiny 2019) were not merged; ODP-style invalidation is the nearest relative.
 * Reclaim keeps a pinned page in every era.
 */
import { compound_head } from '../../kernel/page.js';
import { current } from '../../kernel/current.js';
import { page_maybe_dma_pinned } from '../../kernel/pin.js';
import { ACTOR_STAT, EVENT } from '../../oracle/lab.js';
import { pinHolders } from '../../oracle/o1.js';
import { type PolicyHost, RELEASE_THEN_WRITE, WAIT_POLL_MS, type WritebackPolicy, pollUntil } from './policy.js';

export const REVOKE: WritebackPolicy = {
  name: 'revoke',
  summary: 'ask the longterm (RDMA) holder to release its pin, wait (mm.waitTimeoutMs), then write; else skip',
  history: 'no kernel does; layout leases for fsdax (Ira Weiny 2019, not merged), ODP-style invalidation',
  ...RELEASE_THEN_WRITE,
  release(page: number, host: PolicyHost): boolean {
    const lab = host.lab;
    const holders = pinHolders(lab, current.layout, compound_head(page)).filter((a) => host.actorKinds[a] === 'rdma' || host.revocable[a] === true);
    const asked: { ack: number; req: number }[] = [];
    for (const a of holders) {
      const req = lab.add(lab.actorBase(a) + ACTOR_STAT.REVOKE_REQ, 1) + 1;
      asked.push({ ack: lab.actorBase(a) + ACTOR_STAT.REVOKE_ACK, req });
      lab.event(host.coordActor, EVENT.REVOKED, page, a);
      host.bump('revoke:requested');
    }
    let acked = false;
    const ok = pollUntil(host, () => (acked = asked.every((x) => lab.load(x.ack) - x.req >= 0)) && !page_maybe_dma_pinned(page), WAIT_POLL_MS);
    host.bump(ok ? 'revoke:ok' : acked ? 'revoke:still-pinned' : 'revoke:timeout');
    return ok;
  },
  releaseFailed: 'revoke-failed',
};
