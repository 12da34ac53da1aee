/**
 * `bounce`: every writeback I/O writes the snapshot of the page taken at I/O start (a bounce
 * buffer); a pinned page is left dirty, and a page changed during the I/O is redirtied for the
 * next writeback. No kernel does this in page-cache writeback; the 2023 RFC bounced pinned folios
 * for data-integrity writeback, and bouncing DIO to stable-write devices is reported merged for
 * v7.0 (kernel-notes 4.2, not verified). Reclaim keeps a pinned page in every era.
 */
import { type WritebackPolicy } from './policy.js';

export const BOUNCE: WritebackPolicy = {
  name: 'bounce',
  summary: 'write a snapshot copy taken at I/O start; leave a pinned page dirty',
  history: "no kernel does for writeback; the 2023 RFC's integrity-writeback bounce, v7.0's DIO bounce for stable-write devices (reported)",
  reclaim: 'keeps a pinned page in every era (d824ec2a1546 assumed)',
  asksPins: true,
  onPinned: 'bounce',
  snapshotIo: true,
  stablePinned: true,
  reclaimKeepsPinned: () => true,
  safeOn: () => true,
};
