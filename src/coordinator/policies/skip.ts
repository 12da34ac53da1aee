/**
 * `skip`: leave a pinned page dirty and skip it (redirty_page_for_writepage). No kernel does this;
 * Jan Kara's RFC "Writeback handling of pinned pages" (Feb 2023) proposed it for memory-cleaning
 * writeback and was not merged (kernel-notes 4.2, §6). Reclaim keeps a pinned page in every era:
 * the policy assumes d824ec2a1546, the part of that work that did merge.
 */
import { type WritebackPolicy } from './policy.js';

export const SKIP: WritebackPolicy = {
  name: 'skip',
  summary: 'leave a pinned page dirty and skip it',
  history: 'no kernel does; Jan Kara\'s 2023 RFC "Writeback handling of pinned pages" (not merged)',
  reclaim: 'keeps a pinned page in every era (d824ec2a1546 assumed)',
  asksPins: true,
  onPinned: 'skip',
  snapshotIo: false,
  stablePinned: true,
  reclaimKeepsPinned: () => true,
  safeOn: () => true,
};
