/**
 * `ignore`: the kernel before d824ec2a1546 as a writeback design. Writeback asks about pins and
 * writes the pinned page anyway; reclaim strips a pinned page's buffers in every era (no
 * folio_maybe_dma_pinned() check in shrink_folio_list), so a pin holder's later
 * set_page_dirty_lock() dirties a page without buffers and ->writepage drops it (kernel-notes 4.1).
 * Expected to lose writes.
 */
import { type WritebackPolicy } from './policy.js';

export const IGNORE: WritebackPolicy = {
  name: 'ignore',
  summary: 'ask about pins, then write the pinned page anyway',
  history: 'the pre-d824ec2a1546 kernel (v5.7 and before): pins are known but neither writeback nor reclaim acts on them',
  reclaim: "strips a pinned page's buffers in every era (no d824ec2a1546): the 4.1 lost write",
  asksPins: true,
  onPinned: 'write',
  snapshotIo: false,
  stablePinned: false,
  reclaimKeepsPinned: () => false,
  safeOn: () => false,
};
