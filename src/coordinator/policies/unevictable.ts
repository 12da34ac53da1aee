/**
 * `unevictable`: Matthew Wilcox's proposal (linux-mm, Jan 2023,
 * lkml.iu.edu/hypermail/linux/kernel/2301.2/10017.html): a pinned page-cache folio goes to the
 * unevictable list and is made dirty and active again on unpin — "There's no point in writing back
 * a pinned page since it can be written to at any instant without any part of the kernel knowing."
 * Writeback leaves a pinned page alone (outcome `unevictable`, counted apart from `skip`'s
 * skipped-pinned) until the unpin (unpin_user_pages_dirty_lock) dirties it again; reclaim never
 * takes it. Not merged. The model still write-protects the PTEs before it asks (the mm half of the
 * store-buffering pair), where the proposal would decide at pin time.
 */
import { type WritebackPolicy } from './policy.js';

export const UNEVICTABLE: WritebackPolicy = {
  name: 'unevictable',
  summary: 'keep a pinned page-cache page off writeback and reclaim (unevictable) until it is unpinned',
  history: 'no kernel does; Matthew Wilcox\'s Jan 2023 proposal (pinned folios on the unevictable list), not merged',
  reclaim: 'never reclaims a pinned page, every era (unevictable)',
  asksPins: true,
  onPinned: 'skip',
  skipOutcome: 'unevictable',
  snapshotIo: false,
  stablePinned: true,
  reclaimKeepsPinned: () => true,
  safeOn: () => true,
};
